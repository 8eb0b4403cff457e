package server

import (
	"context"
	"encoding/binary"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
)

// Cluster is the state a server shares with the other nodes of a cluster
// (docs/cluster.md): per-file tables of entries that a node may add only
// when no entry of another node conflicts. *cluster.Node implements it.
// Options.Cluster nil (the default) is a single server: none of this
// file's hooks does anything then.
type Cluster interface {
	// Name is this node's name in the cluster.
	Name() string
	// Owner returns a fresh owner name, unique on this node (one per open).
	Owner() string
	// Acquire adds vals, as one entry of owner on file in table, unless
	// a value of another node's entries conflicts with one of them
	// (conflict(mine, other)), and returns the entry's key. A refusal
	// because of a conflict is an error with a method Conflict() bool
	// that returns true; any other error means the cluster could not be
	// consulted.
	Acquire(ctx context.Context, table, file, owner string, vals [][]byte, conflict func(mine, other []byte) bool) (string, error)
	// Shrink replaces the values of an entry by fewer (none deletes it).
	Shrink(ctx context.Context, key string, vals [][]byte) error
	// ReleaseOwner deletes every entry of owner on file in table.
	ReleaseOwner(ctx context.Context, table, file, owner string) error
	// Others reports whether pred holds for a value of an entry of
	// another node on file in table, from a local copy kept up to date by a watch (for
	// the tables in ClusterMirrorTables); it makes no etcd request.
	Others(table, file string, pred func(val []byte) bool) bool

	// Durable handles reclaimable on any node and PreviousSessionId
	// teardown across nodes (server/cluster_durable.go,
	// cluster/durable.go). Errors meaning "no such record" have a method
	// NotFound() bool that returns true.
	DurableSave(ctx context.Context, id string, timeout time.Duration, file, owner string, share, data []byte) error
	DurablePark(ctx context.Context, id string) error
	DurableUnpark(ctx context.Context, oldID, newID string) error
	DurableDelete(ctx context.Context, id string) error
	DurableFind(ctx context.Context, id string, wait time.Duration, match func(data []byte) bool) ([]byte, string, error)
	DurableClaim(ctx context.Context, token, file, owner string, share []byte,
		shareConflict, lockConflict func(mine, other []byte) bool) (locks [][]byte, lockKey string, err error)
	DurableLocks(ctx context.Context, id string, ver uint64, locks [][]byte) error
	SessionTeardown(ctx context.Context, id uint64, account string) error
	WatchDurable(gone func(id string), endSession func(id uint64, account string) bool)

	// Oplock and lease caching across nodes (cluster_lease.go).
	// SetCaching publishes the caching state (lease R/H/W bits) the node
	// grants on file, 0 for none; with exclusive, only if no other node
	// has an entry in the opens table on file (else an error with
	// Conflict() true), by check-and-set.
	SetCaching(ctx context.Context, file string, state byte, exclusive bool) error
	// Caching returns the other nodes' caching states on file, by node,
	// read from etcd.
	Caching(ctx context.Context, file string) (map[string]byte, error)
	// RequestBreak sends node holder a break request for file; with wait
	// it returns when the holder answered, is gone, or ctx ends.
	RequestBreak(ctx context.Context, holder, file string, req []byte, wait bool) error
	// ServeBreaks has handle called for each break request addressed to
	// this node (concurrently); returning answers the request.
	ServeBreaks(handle func(ctx context.Context, file string, req []byte))
}

// ClusterMirrorTables are the tables a Cluster must keep a local copy of
// for Others: the byte-range locks, checked on every READ and WRITE, and
// the nodes' caching states, looked at on every WRITE (cluster_lease.go).
var ClusterMirrorTables = []string{clusterLocks, clusterCachingTable}

// The cluster tables the server uses.
const (
	clusterOpens = "opens" // one entry per open: access, share access
	clusterLocks = "locks" // one entry per byte-range lock
)

// clusterOpen is what the server remembers of an open's cluster entries.
type clusterOpen struct {
	c           Cluster
	file, owner string
	// locks are the open's lock entries (one per LOCK request) by key,
	// with the locks of each still held; detached is set when the open
	// was released (a LOCK that commits after that deletes its own
	// entry). Both guarded by clusterTable.mu.
	locks    map[string][]clusterLockKey
	detached bool
	// durID is the open's durable record, if any; handedOver is set when
	// another node reclaimed it, so that its release touches no entry
	// (cluster_durable.go). Guarded by clusterTable.mu.
	durID      string
	handedOver bool
	parking    chan struct{} // closed when the record is marked parked
	lockVer    uint64        // counts the changes of locks, for DurableLocks
	// noW: the open may be granted no W caching (another node has an
	// open of the file; cluster_lease.go). Set by its CREATE before the
	// grant.
	noW bool
	// othersSeen: when the open was registered, another node had an open
	// of the file (cluster_lease.go). Set before publication.
	othersSeen bool
}

type clusterLockKey struct {
	off, n    uint64
	exclusive bool
}

// clusterTable guards the mutable fields of every open's clusterOpen.
//
// Ownership: mu is a leaf, and no cluster call is made while it is held.
type clusterTable struct {
	mu        orderedMutex[rankLeaf]
	teardowns teardownLimit       // cluster_durable.go
	pending   clusterPendingMarks // cluster_pending.go
}

// clusterFile names a file (or one of its named streams) cluster-wide:
// the share's name, the file id the backend gives (an inode number on a
// shared POSIX file system, the same on every node) and the stream name.
func clusterFile(o *open, key nodeKey) string {
	f := strings.ToLower(o.tree.share.Name) + "/" + strconv.FormatUint(key.id, 16)
	if key.stream != "" {
		f += ":" + key.stream
	}
	return f
}

// isClusterConflict reports whether a Cluster error is a conflict.
func isClusterConflict(err error) bool {
	var c interface{ Conflict() bool }
	return errors.As(err, &c) && c.Conflict()
}

// clusterRefused logs and maps an error of the cluster that is not a
// conflict: the node could not consult etcd, so it refuses rather than
// risk two nodes granting conflicting state.
func (s *Server) clusterRefused(what string, err error) error {
	s.log.Error("cluster: refusing "+what+": cluster state unavailable", "err", err)
	return ntstatus.InsufficientResources
}

func encodeShareEntry(access, share uint32) []byte {
	return binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, access), share)
}

// shareEntryConflict applies shareConflict to two encoded open entries.
func shareEntryConflict(mine, other []byte) bool {
	if len(mine) != 8 || len(other) != 8 {
		return true // an entry we cannot read: be safe
	}
	le := binary.LittleEndian
	return shareConflict(le.Uint32(other), le.Uint32(other[4:]), le.Uint32(mine), le.Uint32(mine[4:]))
}

// clusterAttach registers a newly attached open cluster-wide, checking
// the share modes of the file's opens on the other nodes [MS-FSA
// 2.1.5.1.2]. On failure the open is detached from its node again and
// the error is the status for the client.
func (s *Server) clusterAttach(ctx context.Context, o *open, key nodeKey) error {
	c := s.opts.Cluster
	if c == nil || o.tree == nil {
		return nil
	}
	co := &clusterOpen{c: c, file: clusterFile(o, key), owner: c.Owner()}
	var pending atomic.Bool                                                    // cluster_pending.go
	conflict, seen := seeingOthers(pendingAware(shareEntryConflict, &pending)) // cluster_lease.go
	_, err := c.Acquire(ctx, clusterOpens, co.file, co.owner,
		[][]byte{encodeShareEntry(o.access, o.share)}, conflict)
	if isClusterConflict(err) && !pending.Load() && s.clusterBreakHandles(ctx, o, co) { // cluster_lease.go
		_, err = c.Acquire(ctx, clusterOpens, co.file, co.owner,
			[][]byte{encodeShareEntry(o.access, o.share)}, conflict)
	}
	co.othersSeen = seen.Load()
	if err != nil {
		o.mu.Lock()
		p := o.path
		o.mu.Unlock()
		s.nodes.detach(o, p)
		if isClusterConflict(err) {
			return clusterOpenStatus(&pending)
		}
		return s.clusterRefused("open", err)
	}
	o.cl = co // before publication (publishOpen)
	return nil
}

// clusterDetach drops an open's cluster entries, its share mode and any
// byte-range locks (at its release).
func (s *Server) clusterDetach(o *open) {
	co := o.cl
	if co == nil {
		return
	}
	c := co.c
	s.cluster.mu.Lock()
	co.detached = true
	hadLocks := co.locks != nil
	durID, handedOver := co.durID, co.handedOver
	s.cluster.mu.Unlock()
	ctx := context.Background()
	if handedOver {
		s.clusterSyncCaching(ctx, co, o.node.key) // cluster_lease.go
		return                                    // another node holds its entries now (cluster_durable.go)
	}
	if durID != "" {
		if err := c.DurableDelete(ctx, durID); err != nil {
			s.log.Warn("cluster: deleting the durable record of a closed open (retried)", "err", err)
		}
	}
	if hadLocks {
		if err := c.ReleaseOwner(ctx, clusterLocks, co.file, co.owner); err != nil {
			s.log.Warn("cluster: releasing locks of a closed open (retried)", "err", err)
		}
	}
	if err := c.ReleaseOwner(ctx, clusterOpens, co.file, co.owner); err != nil {
		s.log.Warn("cluster: releasing a closed open (retried)", "err", err)
	}
	s.clusterSyncCaching(ctx, co, o.node.key) // cluster_lease.go
}

func encodeLockEntry(off, n uint64, exclusive bool) []byte {
	b := binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, off), n)
	if exclusive {
		return append(b, 1)
	}
	return append(b, 0)
}

// lockEntryConflict: two locks of different nodes conflict when they
// overlap and one is exclusive [MS-FSA 2.1.5.7].
func lockEntryConflict(mine, other []byte) bool {
	if len(mine) != 17 || len(other) != 17 {
		return true
	}
	le := binary.LittleEndian
	return overlaps(le.Uint64(mine), le.Uint64(mine[8:]), le.Uint64(other), le.Uint64(other[8:])) &&
		(mine[16] == 1 || other[16] == 1)
}

// tryLock grants the elements on the open's node and, in a cluster, on
// the other nodes: the locks granted here are withdrawn again when
// another node holds a conflicting one (LockNotGranted), or when the
// cluster cannot be consulted.
func (s *Server) tryLock(o *open, els []wire.LockElement, lim Limits) error {
	locks := &o.node.locks
	if err := locks.tryLock(o, els, lim); err != nil {
		return err
	}
	co := o.cl
	if co == nil {
		return nil // not clustered
	}
	c := co.c
	vals := make([][]byte, len(els))
	for i, e := range els {
		vals[i] = encodeLockEntry(e.Offset, e.Length, e.Flags&wire.LockFlagExclusive != 0)
	}
	key, err := c.Acquire(context.Background(), clusterLocks, co.file, co.owner, vals, lockEntryConflict)
	if err != nil {
		for _, e := range els {
			locks.unlockOne(o, e.Offset, e.Length)
		}
		if isClusterConflict(err) {
			return ntstatus.LockNotGranted
		}
		return s.clusterRefused("lock", err)
	}
	s.cluster.mu.Lock()
	if co.detached {
		// The open was released while the entry was being written: its
		// release did not see the entry, so it goes here.
		s.cluster.mu.Unlock()
		if err := c.Shrink(context.Background(), key, nil); err != nil {
			s.log.Warn("cluster: releasing a lock of a closed open (retried)", "err", err)
		}
		return nil
	}
	if co.locks == nil {
		co.locks = map[string][]clusterLockKey{}
	}
	for _, e := range els {
		co.locks[key] = append(co.locks[key], clusterLockKey{e.Offset, e.Length, e.Flags&wire.LockFlagExclusive != 0})
	}
	s.cluster.mu.Unlock()
	s.clusterDurableLocks(o) // cluster_durable.go
	return nil
}

// tryLockAgain is tryLock for a waiting LOCK woken up: in a cluster, while
// the node's copy of the other nodes' locks still shows a conflict, it
// refuses without asking etcd, so that waiting locks cost etcd nothing.
func (s *Server) tryLockAgain(o *open, els []wire.LockElement, lim Limits) error {
	if co := o.cl; co != nil && co.c.Others(clusterLocks, co.file, func(v []byte) bool {
		for _, e := range els {
			if lockEntryConflict(encodeLockEntry(e.Offset, e.Length, e.Flags&wire.LockFlagExclusive != 0), v) {
				return true
			}
		}
		return false
	}) {
		return ntstatus.LockNotGranted
	}
	return s.tryLock(o, els, lim)
}

// clusterUnlock drops the cluster entry of one lock just released on the
// node, the exclusive one first as unlockOne does [MS-FSA 2.1.5.8].
func (s *Server) clusterUnlock(o *open, off, n uint64) {
	co := o.cl
	if co == nil {
		return // not clustered
	}
	c := co.c
	var key string
	var rest [][]byte
	s.cluster.mu.Lock()
find:
	for _, excl := range []bool{true, false} {
		want := clusterLockKey{off, n, excl}
		for k, ls := range co.locks {
			if i := slices.Index(ls, want); i >= 0 {
				ls = slices.Delete(ls, i, i+1)
				key = k
				if len(ls) == 0 {
					delete(co.locks, k)
				} else {
					co.locks[k] = ls
				}
				for _, l := range ls {
					rest = append(rest, encodeLockEntry(l.off, l.n, l.exclusive))
				}
				break find
			}
		}
	}
	s.cluster.mu.Unlock()
	if key != "" {
		if err := c.Shrink(context.Background(), key, rest); err != nil {
			s.log.Warn("cluster: releasing a lock (retried)", "err", err)
		}
		s.clusterDurableLocks(o) // cluster_durable.go
	}
}

// clusterLockRetry is how often a blocking LOCK that waits retries in a
// cluster, where an unlock on another node wakes no one here; nil (never)
// on a single server.
func (s *Server) clusterLockRetry() <-chan time.Time {
	if s.opts.Cluster == nil {
		return nil
	}
	return time.After(clusterLockPoll)
}

const clusterLockPoll = 200 * time.Millisecond

// clusterCheckIO refuses a read or write that overlaps another node's
// exclusive lock, or (a write) any lock of another node, by the rules of
// fileLocks.checkIO [MS-FSA 2.1.4.10], from the node's copy of the
// cluster's locks (which lags etcd by a watch delivery).
func clusterCheckIO(o *open, off, n uint64, write bool) error {
	co := o.cl
	if co == nil || n == 0 {
		return nil
	}
	if co.c.Others(clusterLocks, co.file, func(v []byte) bool {
		if len(v) != 17 {
			return true
		}
		le := binary.LittleEndian
		ln := le.Uint64(v[8:])
		return ln != 0 && overlaps(off, n, le.Uint64(v), ln) && (write || v[16] == 1)
	}) {
		return ntstatus.FileLockConflict
	}
	return nil
}
