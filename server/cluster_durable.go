package server

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/state"
	"github.com/signetsmb/signet/internal/wire"
)

// Durable handles reclaimable on any node of a cluster, and
// PreviousSessionId teardown across nodes (docs/cluster.md, "Durable
// handles and failover"; cluster/durable.go keeps the records in etcd).
//
// A durable handle granted on a cluster node is recorded in etcd with
// what is needed to open the file again elsewhere (durableRecord). A
// DHnC/DH2C that finds no parked open on its node looks the record up,
// checks it as MS-SMB2 3.3.5.9.7 and 3.3.5.9.12 require (same user, same
// share, for v2 the CreateGuid, the lease key when there was a lease),
// opens the file by its path with the recorded access and share access
// as a CREATE would, and claims the record in the transaction that
// registers the new open's share mode (cc.claim, in finishOpen) instead
// of the usual check-and-set. The reclaimed open is durable again, under
// a new record.
//
// Ownership: an open's durable record id (clusterOpen.durID) and
// handedOver are guarded by clusterTable.mu, like the rest of
// clusterOpen. The etcd watches that call clusterDurableGone and
// clusterEndSession are the cluster Node's goroutines.

// clusterReclaimWait bounds how long a reconnect on this node waits for a
// durable handle that its node has not yet given up: until that node
// parks it (its session ended by the client's PreviousSessionId) or its
// etcd lease expires (default lease_ttl 10 s, plus a request timeout).
const clusterReclaimWait = 12 * time.Second

// durableRecord is the server's part of a durable record in etcd.
type durableRecord struct {
	Share       string    `json:"share"`
	Path        string    `json:"path"` // share-relative, '/'-separated
	Access      uint32    `json:"access"`
	ShareAccess uint32    `json:"share_access"`
	Options     uint32    `json:"options"`
	V2          bool      `json:"v2"`
	CreateGuid  [16]byte  `json:"create_guid"`
	TimeoutMS   int64     `json:"timeout_ms"`
	Account     string    `json:"account"`
	Oplock      uint8     `json:"oplock,omitempty"`
	LeaseKey    *[16]byte `json:"lease_key,omitempty"`
}

// durableID names an open's record: its FileId, which the client's
// reconnect names.
func durableID(id wire.FileID) string {
	return fmt.Sprintf("%016x%016x", id.Persistent, id.Volatile)
}

func parseDurableID(s string) (wire.FileID, bool) {
	if len(s) != 32 {
		return wire.FileID{}, false
	}
	p, err1 := strconv.ParseUint(s[:16], 16, 64)
	v, err2 := strconv.ParseUint(s[16:], 16, 64)
	return wire.FileID{Persistent: p, Volatile: v}, err1 == nil && err2 == nil
}

func isClusterNotFound(err error) bool {
	var nf interface{ NotFound() bool }
	return errors.As(err, &nf) && nf.NotFound()
}

// clusterDurableGranted records a durable handle just granted on a
// cluster node; false (the handle is not granted) when etcd cannot take
// it. Opens of named streams and delete-on-close opens stay durable on
// their node only.
func (s *Server) clusterDurableGranted(o *open) bool {
	co := o.cl
	if co == nil {
		return true // not clustered
	}
	o.mu.Lock()
	p, stream := o.path, o.stream
	o.mu.Unlock()
	if stream != "" || o.options&wire.FileDeleteOnClose != 0 {
		return true
	}
	t := &s.nodes
	t.mu.Lock()
	rec := durableRecord{Share: o.tree.share.Name, Path: p, Access: o.access, ShareAccess: o.share,
		Options: o.options, V2: o.dur.v2, CreateGuid: o.dur.createGuid,
		TimeoutMS: o.dur.timeout.Milliseconds(), Account: o.dur.owner, Oplock: o.op.level}
	if o.lease != nil {
		k := o.lease.id.key
		rec.LeaseKey = &k
	}
	timeout := o.dur.timeout
	t.mu.Unlock()
	data, _ := json.Marshal(rec)
	id := durableID(o.id)
	if err := co.c.DurableSave(context.Background(), id, timeout, co.file, co.owner,
		encodeShareEntry(o.access, o.share), data); err != nil {
		s.log.Warn("cluster: durable handle not granted: cluster state unavailable", "err", err)
		t.mu.Lock()
		o.dur.v1, o.dur.v2 = false, false
		t.mu.Unlock()
		return false
	}
	s.cluster.mu.Lock()
	co.durID = id
	hasLocks := len(co.locks) > 0 // a handle reclaimed from another node
	s.cluster.mu.Unlock()
	if hasLocks {
		s.clusterDurableLocks(o)
	}
	return true
}

// clusterDurableID returns an open's record id ("" for none).
func (s *Server) clusterDurableID(o *open) string {
	if o.cl == nil {
		return ""
	}
	s.cluster.mu.Lock()
	defer s.cluster.mu.Unlock()
	return o.cl.durID
}

// clusterDurableParking is called as an open is parked; the function it
// returns, called once the open is in the parked table, marks its record
// parked, so that another node may reclaim it at once. A reconnect on
// this node that takes the open meanwhile waits for the mark before it
// takes the record back (clusterDurableUnpark), so the two transactions
// cannot cross.
func (s *Server) clusterDurableParking(o *open) func() {
	id := s.clusterDurableID(o)
	if id == "" {
		return func() {}
	}
	ch := make(chan struct{})
	s.cluster.mu.Lock()
	o.cl.parking = ch
	s.cluster.mu.Unlock()
	return func() {
		defer close(ch)
		if err := o.cl.c.DurablePark(context.Background(), id); err != nil {
			s.log.Warn("cluster: could not mark a durable handle parked (other nodes wait for this node's lease)", "err", err)
		}
	}
}

// clusterDurableUnpark takes back the record of a parked open reclaimed
// on this node, under its new FileId; another node that claimed it first
// wins (STATUS_OBJECT_NAME_NOT_FOUND here).
func (s *Server) clusterDurableUnpark(o *open) error {
	old := s.clusterDurableID(o)
	if old == "" {
		return nil
	}
	s.cluster.mu.Lock()
	parking := o.cl.parking
	s.cluster.mu.Unlock()
	if parking != nil {
		<-parking // bounded by the cluster's request timeout
	}
	id := durableID(o.id)
	err := o.cl.c.DurableUnpark(context.Background(), old, id)
	s.cluster.mu.Lock()
	if err == nil {
		o.cl.durID = id
	} else {
		o.cl.durID = ""
		o.cl.handedOver = isClusterNotFound(err) // the claimer deleted its entries
	}
	s.cluster.mu.Unlock()
	switch {
	case err == nil:
		return nil
	case isClusterNotFound(err):
		return ntstatus.ObjectNameNotFound
	default:
		return s.clusterRefused("durable reconnect", err)
	}
}

// clusterHandOver leaves the durable handle of an open that a node
// shutting down releases to the other nodes: its record is marked parked
// (claimable at once) and kept, with its share-mode and locks copies, and
// the release touches no etcd entry (the node's lease, revoked when it
// leaves the cluster, takes the others). A client that fails over
// reclaims it elsewhere; else the surviving nodes free it for its
// timeout when the node's key goes.
func (s *Server) clusterHandOver(o *open) {
	id := s.clusterDurableID(o)
	if id == "" {
		return
	}
	t := &s.nodes
	t.mu.Lock()
	ok := o.dur.on() && !o.op.breaking && (o.lease == nil || !o.lease.breaking)
	t.mu.Unlock()
	if !ok {
		return
	}
	if err := o.cl.c.DurablePark(context.Background(), id); err != nil {
		s.log.Warn("cluster: could not leave a durable handle to the other nodes at shutdown", "err", err)
		return
	}
	s.cluster.mu.Lock()
	o.cl.handedOver = true
	o.cl.durID = ""
	s.cluster.mu.Unlock()
}

// clusterDurableGone drops a parked open whose record another node
// claimed: its entries in etcd are the claimer's now, so the release
// touches none.
func (s *Server) clusterDurableGone(id string) {
	fid, ok := parseDurableID(id)
	if !ok {
		return
	}
	o, ok := s.durables.Peek(state.FileID(fid))
	if !ok || s.clusterDurableID(o) != id {
		return
	}
	if o, ok = s.durables.Take(state.FileID(fid)); !ok {
		return
	}
	s.cluster.mu.Lock()
	o.cl.handedOver = true
	o.cl.durID = ""
	s.cluster.mu.Unlock()
	s.log.Info("cluster: durable handle reclaimed on another node", "path", o.pathNow())
	o.release()
}

// clusterEndSession ends session id of account as lost (its durable
// opens parked) for a PreviousSessionId on another node.
func (s *Server) clusterEndSession(id uint64, account string) bool {
	old, ok := s.sessions.Get(id)
	if !ok || account == "" || !old.established() || old.account() != account {
		return false
	}
	if old.endSessionLost() {
		s.log.Info("previous session closed by the client's reconnect on another node", "session_id", id)
	}
	return true
}

// maxTeardowns bounds the PreviousSessionId teardown requests a node
// writes to etcd per teardownWindow (each is a key on a lease there):
// reconnects are rare, a flood of them is not let through to etcd.
const (
	maxTeardowns   = 100
	teardownWindow = 10 * time.Second
)

// teardownLimit counts the teardown requests of the current window.
//
// Ownership: mu is a leaf; no etcd call is made while it is held.
type teardownLimit struct {
	mu    orderedMutex[rankLeaf]
	start time.Time
	n     int
}

// take reports whether one more request fits in the window at now.
func (l *teardownLimit) take(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.start) >= teardownWindow {
		l.start, l.n = now, 0
	}
	if l.n >= maxTeardowns {
		return false
	}
	l.n++
	return true
}

// clusterExpirePrevious asks the other nodes to end the previous session
// of a reconnect that this node does not hold [MS-SMB2 3.3.5.5.3].
func (s *Server) clusterExpirePrevious(prev uint64, account string) {
	c := s.opts.Cluster
	if c == nil || account == "" {
		return
	}
	if !s.cluster.teardowns.take(s.opts.Now()) {
		s.log.Warn("cluster: too many PreviousSessionId teardowns; not asking the other nodes", "session_id", prev)
		return
	}
	if err := c.SessionTeardown(context.Background(), prev, account); err != nil {
		s.log.Warn("cluster: could not ask the other nodes to end a previous session", "err", err)
	}
}

// clusterWatchDurable registers the callbacks of the cluster's durable
// watches (New).
func (s *Server) clusterWatchDurable() {
	if c := s.opts.Cluster; c != nil {
		c.WatchDurable(s.clusterDurableGone, s.clusterEndSession)
	}
}

// attachCluster registers a new open cluster-wide: by the usual
// check-and-set, or for a reclaim of another node's durable handle by
// claiming its record.
func (cc *createCall) attachCluster(ctx context.Context, o *open, key nodeKey) error {
	srv := cc.r.c.srv
	if cc.claim == "" {
		return srv.clusterAttach(ctx, o, key)
	}
	c := srv.opts.Cluster
	co := &clusterOpen{c: c, file: clusterFile(o, key), owner: c.Owner()}
	locks, lockKey, err := c.DurableClaim(ctx, cc.claim, co.file, co.owner, encodeShareEntry(o.access, o.share),
		shareEntryConflict, lockEntryConflict)
	if err != nil {
		o.mu.Lock()
		p := o.path
		o.mu.Unlock()
		srv.nodes.detach(o, p)
		if isClusterNotFound(err) {
			return ntstatus.ObjectNameNotFound
		}
		return srv.clusterRefused("durable reconnect", err)
	}
	o.cl = co // before publication
	srv.reclaimLocks(o, locks, lockKey)
	return nil
}

// reclaimLocks gives a reclaimed open the byte-range locks it held on
// its old node: in this node's table and in its cluster entry (lockKey,
// written by the claim). They were held cluster-wide until the claim, so
// no other open can hold a conflicting one; one that cannot be granted
// here all the same is dropped and logged.
func (s *Server) reclaimLocks(o *open, locks [][]byte, lockKey string) {
	if len(locks) == 0 {
		return
	}
	lim := s.limits()
	var kept []clusterLockKey
	for _, v := range locks {
		if len(v) != 17 {
			continue
		}
		off, n := binary.LittleEndian.Uint64(v), binary.LittleEndian.Uint64(v[8:])
		flags := uint32(lockSharedNow)
		if v[16] == 1 {
			flags = lockExclusiveNow
		}
		if err := o.node.locks.tryLock(o, []wire.LockElement{{Offset: off, Length: n, Flags: flags}}, lim); err != nil {
			s.log.Warn("cluster: a byte-range lock of a reclaimed durable handle could not be granted; dropped", "err", err)
			continue
		}
		kept = append(kept, clusterLockKey{off, n, v[16] == 1})
	}
	s.cluster.mu.Lock()
	o.cl.locks = map[string][]clusterLockKey{lockKey: kept}
	s.cluster.mu.Unlock()
	if len(kept) != len(locks) {
		vals := make([][]byte, len(kept))
		for i, l := range kept {
			vals[i] = encodeLockEntry(l.off, l.n, l.exclusive)
		}
		if err := o.cl.c.Shrink(context.Background(), lockKey, vals); err != nil {
			s.log.Warn("cluster: releasing a lock (retried)", "err", err)
		}
	}
}

// clusterDurableLocks writes the byte-range locks of an open with a
// durable record into it (and its copy on no lease), so that they are
// reclaimed with the handle on another node.
func (s *Server) clusterDurableLocks(o *open) {
	co := o.cl
	s.cluster.mu.Lock()
	id := co.durID
	co.lockVer++
	ver := co.lockVer
	var vals [][]byte
	for _, ls := range co.locks {
		for _, l := range ls {
			vals = append(vals, encodeLockEntry(l.off, l.n, l.exclusive))
		}
	}
	s.cluster.mu.Unlock()
	if id == "" {
		return
	}
	if err := co.c.DurableLocks(context.Background(), id, ver, vals); err != nil && !isClusterNotFound(err) {
		s.log.Warn("cluster: could not record the locks of a durable handle (another node reclaiming it would not hold them)", "err", err)
	}
}

// clusterReclaim reclaims a durable handle that is not parked on this
// node from its record in etcd [MS-SMB2 3.3.5.9.7, 3.3.5.9.12].
func (cc *createCall) clusterReclaim(w *response) error {
	r := cc.r
	srv := r.c.srv
	c := srv.opts.Cluster
	d := cc.durable
	if c == nil || r.tree.ipc {
		return ntstatus.ObjectNameNotFound
	}
	account := r.sess.account()
	share := r.tree.share.Name
	denied := false
	var rec durableRecord
	data, token, err := c.DurableFind(r.ctx(), durableID(d.fileID), clusterReclaimWait, func(b []byte) bool {
		var x durableRecord
		if json.Unmarshal(b, &x) != nil || !strings.EqualFold(x.Share, share) || x.Options&wire.FileDeleteOnClose != 0 {
			return false
		}
		if d.v2 && x.CreateGuid != d.createGuid {
			return false
		}
		switch {
		case x.LeaseKey != nil:
			if cc.lease == nil || cc.lease.id.key != *x.LeaseKey {
				return false
			}
		case cc.lease != nil:
			return false
		}
		if x.Account == "" || x.Account != account {
			denied = true
			return false
		}
		return true
	})
	switch {
	case err == nil:
	case isClusterNotFound(err) && denied:
		return ntstatus.AccessDenied // another user's handle [MS-SMB2 3.3.5.9.7]
	case isClusterNotFound(err):
		return ntstatus.ObjectNameNotFound
	default:
		return srv.clusterRefused("durable reconnect", err)
	}
	if json.Unmarshal(data, &rec) != nil {
		return ntstatus.ObjectNameNotFound
	}
	if rec.LeaseKey != nil && !samePath(cc.req.Name, rec.Path) {
		return ntstatus.InvalidParameter
	}
	// The open is made again as its CREATE made it.
	q := cc.req
	q.Name = strings.ReplaceAll(rec.Path, "/", `\`)
	q.DesiredAccess, q.ShareAccess, q.CreateOptions = rec.Access, rec.ShareAccess, rec.Options
	q.CreateDisposition, q.FileAttributes, q.ImpersonationLevel = wire.FileOpen, 0, 2
	q.RequestedOplockLevel = rec.Oplock
	if rec.LeaseKey != nil {
		q.RequestedOplockLevel = wire.OplockLease
	}
	cc.durable = &durableRequest{v2: rec.V2, createGuid: rec.CreateGuid, timeout: time.Duration(rec.TimeoutMS) * time.Millisecond}
	cc.claim = token
	if err := r.reserveOpen(); err != nil {
		return err
	}
	cc.reserved = true
	defer func() {
		if !cc.async {
			cc.giveBackReservation()
		}
	}()
	for attempt := 0; ; attempt++ {
		for _, step := range []func() error{cc.resolve, cc.checkAccess, cc.dispose} {
			if err := step(); err != nil {
				return err
			}
		}
		o, err := cc.open()
		if errors.Is(err, errBreakPending) {
			return cc.goAsync(w)
		}
		if errors.Is(err, errPurged) {
			if attempt < maxPurgeRounds {
				continue
			}
			return errPurgedTooOften
		}
		if err != nil {
			return err
		}
		srv.log.Info("cluster: durable handle reclaimed from another node", "path", rec.Path)
		return cc.respond(o, w)
	}
}
