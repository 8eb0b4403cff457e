package server

import (
	"context"
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"

	"github.com/signetsmb/signet/internal/wire"
)

// Oplocks and leases on cluster nodes (docs/cluster.md, "Caching across
// nodes"). A node publishes, per file, the union of the caching it grants
// (lease R/H/W bits; a batch oplock counts as RWH, exclusive as RW, level
// II as R) in the cluster's caching table: W only by a check-and-set
// that no other node has an open of the file (else the grant is
// downgraded: RWH becomes RH, batch becomes level II). A CREATE, a write
// or a rename/delete on another node that would break that caching on a
// single server sends the holder node a break request; the holder runs
// its ordinary local break (breakOplocks, breakLevelII,
// breakHandleLeases) for a stand-in open with the requester's access,
// share access and options, waits for the acknowledgments up to
// oplockBreakTimeout (then revokes, as locally), writes its new caching
// state and answers. The requester of an open waits for the answer; a
// writer does not (R-only breaks need no acknowledgment).
//
// Every hook here returns at once when the server is not clustered
// (open.cl nil, Options.Cluster nil).

// clusterCachingTable is the table of the nodes' caching entries; the
// cluster keeps a copy of it for Others (ClusterMirrorTables), so that a
// WRITE costs no etcd request when no other node caches the file.
const clusterCachingTable = "caching"

// Kinds of break request.
const (
	breakForOpen   = 'o' // a new open: the holder breaks as for a local CREATE
	breakForWrite  = 'w' // a write, size change or lock: R goes, no waiting
	breakForHandle = 'h' // a rename or delete: H goes, with acknowledgment
)

// clusterBreakMargin is how much longer than oplockBreakTimeout a
// requester waits for the holder's answer before it proceeds anyway.
const clusterBreakMargin = 5 * time.Second

// clusterCacheTable lists the files on which this node has published
// caching, by cluster file name (so that a break request finds the node's
// file).
//
// Ownership: mu is a leaf guarding files; each clusterCacheFile's mu
// serialises the writes of that file's entry and is held across etcd
// calls, taken with no other mutex held (nodeTable.mu is taken inside).
type clusterCacheTable struct {
	mu    orderedMutex[rankLeaf]
	files map[string]*clusterCacheFile
}

type clusterCacheFile struct {
	mu      sync.Mutex
	key     nodeKey
	written uint32 // the state last written to the cluster; mu
	dead    bool   // removed from the table; mu
	// serving counts the break requests of other nodes being served for
	// the file; no W is granted meanwhile (a CREATE registered before the
	// requester's open must not keep or gain W behind the break). mu.
	serving int
}

// lockFile returns the file's entry with its mu held, created if need be
// (create) or nil.
func (ct *clusterCacheTable) lockFile(file string, key nodeKey, create bool) *clusterCacheFile {
	for {
		ct.mu.Lock()
		cf := ct.files[file]
		if cf == nil {
			if !create {
				ct.mu.Unlock()
				return nil
			}
			if ct.files == nil {
				ct.files = map[string]*clusterCacheFile{}
			}
			cf = &clusterCacheFile{key: key}
			ct.files[file] = cf
		}
		ct.mu.Unlock()
		cf.mu.Lock()
		if !cf.dead {
			return cf
		}
		cf.mu.Unlock()
	}
}

// unlockFile releases cf, dropping it from the table when nothing is
// published any more.
func (ct *clusterCacheTable) unlockFile(file string, cf *clusterCacheFile) {
	if cf.written == 0 && cf.serving == 0 {
		cf.dead = true
		ct.mu.Lock()
		if ct.files[file] == cf {
			delete(ct.files, file)
		}
		ct.mu.Unlock()
	}
	cf.mu.Unlock()
}

// cachingOf is the caching an open's lease or oplock grants, the target of
// an outstanding break (the requester waits for that break itself).
// nodeTable.mu held.
func cachingOf(h *open) uint32 {
	if h.op.closed {
		return 0
	}
	if l := h.lease; l != nil {
		if l.breaking {
			return l.breakTo
		}
		return l.state
	}
	lvl := h.op.level
	if h.op.breaking {
		lvl = h.op.breakTo
	}
	switch lvl {
	case wire.OplockBatch:
		return leaseRWH
	case wire.OplockExclusive:
		return wire.LeaseRead | wire.LeaseWrite
	case wire.OplockLevelII:
		return wire.LeaseRead
	}
	return 0
}

// cachingUnion is the caching the node's opens of a file grant.
func (t *nodeTable) cachingUnion(key nodeKey) uint32 {
	t.mu.Lock()
	defer t.mu.Unlock()
	var u uint32
	if n := t.nodes[key]; n != nil {
		for _, h := range n.opens {
			u |= cachingOf(h)
		}
	}
	return u
}

func (t *nodeTable) node(key nodeKey) *fileNode {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.nodes[key]
}

// syncCachingLocked writes the file's caching entry when what the node
// grants changed. cf.mu held.
func (s *Server) syncCachingLocked(ctx context.Context, c Cluster, file string, cf *clusterCacheFile) {
	now := s.nodes.cachingUnion(cf.key)
	if now == cf.written {
		return
	}
	excl := now&wire.LeaseWrite != 0 && cf.written&wire.LeaseWrite == 0
	if err := c.SetCaching(ctx, file, byte(now), excl); err != nil {
		// A failed write is redone by the cluster at its next renewal;
		// a W that was never claimed cannot happen (clusterGrantCaching).
		s.log.Warn("cluster: publishing caching state", "file", file, "state", now, "err", err)
	}
	cf.written = now
}

// clusterSyncCaching publishes the node's caching of o's file after a
// change (a close), if the node published any.
func (s *Server) clusterSyncCaching(ctx context.Context, co *clusterOpen, key nodeKey) {
	ct := &s.clCache
	cf := ct.lockFile(co.file, key, false)
	if cf == nil {
		return
	}
	s.syncCachingLocked(ctx, co.c, co.file, cf)
	ct.unlockFile(co.file, cf)
}

func noop() {}

// seeingOthers wraps the conflict rule given to Cluster.Acquire so that
// it records being called: Acquire calls it for every value of another
// node's entries it read, so when it was never called in a successful
// Acquire, no other node had an open of the file when the open was
// registered (the transaction commits only if the file's entries did not
// change since that read), and then no other node can hold caching of it
// (its caching entry, if any, is stale: W is claimed only by a node with
// an open, and any caching goes with the node's last open).
func seeingOthers(conflict func(mine, other []byte) bool) (func(mine, other []byte) bool, *atomic.Bool) {
	seen := new(atomic.Bool)
	return func(mine, other []byte) bool {
		seen.Store(true)
		return conflict(mine, other)
	}, seen
}

// clusterGrantCaching is called before a CREATE grants its lease or
// oplock: when the request could get W (a lease with W, a batch or
// exclusive oplock), the node claims W for the file by check-and-set, and
// marks the open so that it is granted no W when another node has an
// open of the file. The returned function, called after the grant,
// publishes what the node grants now.
func (s *Server) clusterGrantCaching(ctx context.Context, o *open, cc *createCall) func() {
	co := o.cl
	if co == nil || o.isDir {
		return noop
	}
	ct := &s.clCache
	cf := ct.lockFile(co.file, o.node.key, true)
	wantW := cc.lease != nil && cc.lease.ctx.State&wire.LeaseWrite != 0 ||
		cc.lease == nil && (cc.req.RequestedOplockLevel == wire.OplockBatch || cc.req.RequestedOplockLevel == wire.OplockExclusive)
	if wantW && (co.othersSeen || cf.serving > 0) {
		// Another node had an open a moment ago, or is waiting for a
		// break: no W, and no etcd request.
		co.noW = true
	} else if wantW && cf.written&wire.LeaseWrite == 0 {
		claim := cf.written | leaseRWH
		if err := co.c.SetCaching(ctx, co.file, byte(claim), true); err != nil {
			co.noW = true // another node has an open (or etcd is unreachable): no W
		} else {
			cf.written = claim
		}
	}
	return func() {
		s.syncCachingLocked(ctx, co.c, co.file, cf)
		ct.unlockFile(co.file, cf)
	}
}

func encodeBreakRequest(kind byte, o *open, overwrite bool) []byte {
	b := make([]byte, 14)
	le := binary.LittleEndian
	le.PutUint32(b, o.access)
	le.PutUint32(b[4:], o.share)
	le.PutUint32(b[8:], o.options)
	b[12] = kind
	if overwrite {
		b[13] = 1
	}
	return b
}

// clusterBreakRemote is called when a CREATE has registered its open
// cluster-wide: the other nodes whose caching the open would break on a
// single server (W unless a stat open; everything for an overwrite; H for
// delete-on-close) are asked to break, and the open waits for them. The
// read of their caching follows the open's registration, so a W granted
// before it is seen and none can be granted after it.
func (s *Server) clusterBreakRemote(ctx context.Context, o *open, overwrite bool) error {
	co := o.cl
	if co == nil || o.isDir {
		return nil // no caching on directories in a cluster
	}
	doc := o.options&wire.FileDeleteOnClose != 0
	if !co.othersSeen || !overwrite && !doc && leaseStatOpen(o.access) && oplockStatOpen(o.access) {
		return nil
	}
	states, err := co.c.Caching(ctx, co.file)
	if err != nil {
		return s.clusterRefused("open", err) // cannot know what to break
	}
	var holders []string
	for node, st := range states {
		if uint32(st)&wire.LeaseWrite != 0 || overwrite && st != 0 || doc && uint32(st)&wire.LeaseHandle != 0 {
			holders = append(holders, node)
		}
	}
	s.requestBreaks(ctx, co, holders, encodeBreakRequest(breakForOpen, o, overwrite))
	return nil
}

// clusterWouldWait reports, from the node's copy of the caching table,
// whether a new open will wait for another node's break, so that its
// CREATE goes asynchronous as for a local break. It only decides that:
// clusterBreakRemote reads etcd itself after the open is registered.
func (s *Server) clusterWouldWait(o *open, key nodeKey, overwrite bool) bool {
	c := s.opts.Cluster
	if c == nil || o.tree == nil || o.isDir {
		return false
	}
	doc := o.options&wire.FileDeleteOnClose != 0
	if !overwrite && !doc && leaseStatOpen(o.access) && oplockStatOpen(o.access) {
		return false
	}
	return c.Others(clusterCachingTable, clusterFile(o, key), func(v []byte) bool {
		if len(v) == 0 {
			return true
		}
		st := uint32(v[0])
		return st&wire.LeaseWrite != 0 || overwrite && st != 0 || doc && st&wire.LeaseHandle != 0
	})
}

// requestBreaks asks holders to break and waits for their answers, at
// most oplockBreakTimeout and a margin (each holder enforces the timeout
// itself).
func (s *Server) requestBreaks(ctx context.Context, co *clusterOpen, holders []string, req []byte) {
	if len(holders) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, oplockBreakTimeout+clusterBreakMargin)
	defer cancel()
	for _, h := range holders {
		if err := co.c.RequestBreak(ctx, h, co.file, req, true); err != nil {
			s.log.Warn("cluster: break request unanswered", "holder", h, "file", co.file, "err", err)
		}
	}
}

// clusterBreakHandles is called when an open conflicts with another
// node's opens: as on a single server, the conflicting holders' handle
// caching is broken first (they may close their cached handles). It
// reports whether a break was requested, so that the open is tried again.
func (s *Server) clusterBreakHandles(ctx context.Context, o *open, co *clusterOpen) bool {
	states, err := co.c.Caching(ctx, co.file)
	if err != nil {
		return false
	}
	var holders []string
	for node, st := range states {
		if uint32(st)&wire.LeaseHandle != 0 {
			holders = append(holders, node)
		}
	}
	s.requestBreaks(ctx, co, holders, encodeBreakRequest(breakForOpen, o, false))
	return len(holders) > 0
}

// clusterBreakRead breaks the read caching other nodes hold on a file
// that writer changes, without waiting (MS-FSA 2.1.4.12), from the node's
// copy of the caching table: no etcd request when no one caches.
func (s *Server) clusterBreakRead(writer *open) {
	co := writer.cl
	if co == nil {
		return
	}
	var holders []string
	co.c.Others(clusterCachingTable, co.file, func(v []byte) bool {
		if len(v) == 0 || uint32(v[0])&wire.LeaseRead != 0 {
			holders = append(holders, string(v[min(1, len(v)):]))
		}
		return false
	})
	for _, h := range holders {
		if err := co.c.RequestBreak(context.Background(), h, co.file, encodeBreakRequest(breakForWrite, writer, false), false); err != nil {
			s.log.Warn("cluster: read-caching break request", "holder", h, "file", co.file, "err", err)
		}
	}
}

// clusterBreakHandle breaks the handle caching other nodes hold on o's
// file before a rename or delete, and waits.
func (s *Server) clusterBreakHandle(ctx context.Context, o *open) {
	co := o.cl
	if co == nil || o.isDir {
		return
	}
	states, err := co.c.Caching(ctx, co.file)
	if err != nil {
		s.log.Warn("cluster: reading other nodes' caching", "file", co.file, "err", err)
		return
	}
	var holders []string
	for node, st := range states {
		if uint32(st)&wire.LeaseHandle != 0 {
			holders = append(holders, node)
		}
	}
	s.requestBreaks(ctx, co, holders, encodeBreakRequest(breakForHandle, o, false))
}

// clusterServeBreak answers a break request from another node (called by
// the Cluster, one goroutine per request): the node's opens of the file
// are broken as for a local open, write or rename by a stand-in open
// with the requester's access, share access and options; then the node's
// new caching state is published. The request is answered when this
// returns.
func (s *Server) clusterServeBreak(ctx context.Context, file string, req []byte) {
	if len(req) < 14 {
		return
	}
	ct := &s.clCache
	// Taking the file's entry waits for a grant in progress (its lease
	// is then there to be broken); serving keeps further grants from W
	// and the entry in the table until the break is done.
	cf := ct.lockFile(file, nodeKey{}, false)
	if cf == nil {
		return // nothing published: nothing to break
	}
	cf.serving++
	key := cf.key
	cf.mu.Unlock()
	le := binary.LittleEndian
	stand := &open{access: le.Uint32(req), share: le.Uint32(req[4:]), options: le.Uint32(req[8:])}
	switch req[12] {
	case breakForOpen:
		s.breakOplocks(ctx, key, stand, nil, req[13] == 1)
	case breakForWrite:
		if stand.node = s.nodes.node(key); stand.node != nil {
			s.breakLevelII(stand)
		}
	case breakForHandle:
		if stand.node = s.nodes.node(key); stand.node != nil {
			s.breakHandleLeases(ctx, stand)
		}
	}
	cf.mu.Lock()
	cf.serving--
	s.syncCachingLocked(context.Background(), s.opts.Cluster, file, cf)
	ct.unlockFile(file, cf)
}

// clusterCachingLost revokes the caching the node grants on file when
// its published caching entry was lost with the node's etcd lease and
// another node's caching now conflicts with it (clusterLost calls it from
// the cluster's renewal goroutine): every lease and oplock on the file is
// broken to none at once, without waiting for the holders (the other node
// did not wait for them either); their clients are told, and their
// acknowledgments find no break.
func (s *Server) clusterCachingLost(file string) {
	ct := &s.clCache
	cf := ct.lockFile(file, nodeKey{}, false)
	if cf == nil {
		return
	}
	t := &s.nodes
	t.mu.Lock()
	revoked := 0
	if n := t.nodes[cf.key]; n != nil {
		for _, h := range n.opens {
			if l := h.lease; l != nil {
				if !l.breaking && l.state != 0 {
					l.startBreakLocked(0)
					revoked++
				}
				if l.breaking {
					l.finishBreakLocked(0)
				}
				continue
			}
			if h.op.breaking {
				h.op.finishBreakLocked(wire.OplockNone)
			} else if h.op.level != wire.OplockNone {
				h.op.level = wire.OplockNone
				h.sendBreak(wire.OplockNone)
				revoked++
			}
		}
	}
	t.mu.Unlock()
	s.log.Error("cluster: oplocks and leases revoked: their caching was lost with the node's etcd lease and another node caches the file",
		"file", file, "revoked", revoked)
	cf.written = 0 // the cluster dropped the entry
	s.syncCachingLocked(context.Background(), s.opts.Cluster, file, cf)
	ct.unlockFile(file, cf)
}
