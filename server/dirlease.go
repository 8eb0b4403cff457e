package server

import (
	"sync/atomic"

	"github.com/signetsmb/signet/internal/wire"
	"github.com/signetsmb/signet/vfs"
)

// Directory leases (MS-SMB2 3.3.5.9.11, 3.3.4.7; MS-FSA 2.1.4.13). On the
// 3.x dialects the server offers SMB2_GLOBAL_CAP_DIRECTORY_LEASING and a
// v2 lease request on a directory open is granted read and handle caching
// (R or RH, never W: the client caches the directory's listing and its
// handle, it cannot write into the directory's data). The lease is an
// ordinary lease of the directory's node (lease.go), so a conflicting open
// of the directory itself, a rename or a delete of it break it as they
// break file leases. Besides, a change of the directory's contents breaks
// it to none without waiting for the holder [MS-FSA 2.1.4.13]: an entry
// created, deleted or renamed in or out of it, and the close of a handle
// that changed a file's data in it (the moment the new size and write time
// become what a listing shows; the writes themselves break nothing, as
// Windows). A change made through an open whose v2 lease request carried
// the directory lease's key as its ParentLeaseKey, from the same client,
// does not break that lease: the client made the change itself and keeps
// its cache right.
//
// Ownership: the index of directory leases, nodeTable.dl, is guarded by
// nodeTable.mu with the lease table (its count is atomic, read unlocked
// as a fast path); an open's dirLeaseOpen is
// set before the open is published (parent) or atomic (changed).

// dirLeaseIndex lists the leases granted on directories; an entry goes
// with the lease's last open (releaseLeaseLocked).
type dirLeaseIndex struct {
	leases map[*lease]struct{}
	count  atomic.Int32
}

// dirLeaseOpen is what an open carries for directory leases.
type dirLeaseOpen struct {
	parent    leaseID // ClientGuid and ParentLeaseKey of the open's lease request
	hasParent bool
	changed   atomic.Bool // the open changed the file's data; breaks at close
}

// dirLeaseCaps is the capability bit of a dialect's NEGOTIATE response:
// offered on 3.x to a client that announced it, as Samba does.
// Clients that do not ask for it are not told: impacket (0.10/0.11) fails
// every CREATE on a 3.x connection whose server offers it unasked.
func (c *conn) dirLeaseCaps(dialect uint16) uint32 {
	if dialect >= wire.Dialect300 && dialect != wire.DialectWildcard && !c.srv.nodes.noDirLease &&
		c.clientCaps&wire.CapDirectoryLeasing != 0 {
		return wire.CapDirectoryLeasing
	}
	return 0
}

// leaseAllowedOn reports whether a lease request may be granted on o: any
// on a file, a v2 one on a directory when the connection offered
// directory leasing [MS-SMB2 3.3.5.9.11].
func (cc *createCall) leaseAllowedOn(o *open) bool {
	if cc.lease == nil {
		return false
	}
	if !o.isDir {
		return true
	}
	return cc.lease.ctx.V2 && cc.r.c.serverCaps&wire.CapDirectoryLeasing != 0
}

// leaseStateMask is what a lease on o may cache: no W on a directory.
func leaseStateMask(o *open) uint32 {
	if o.isDir {
		return wire.LeaseRead | wire.LeaseHandle
	}
	return leaseRWH
}

// dirLeaseParent returns the parent lease key of a CREATE's v2 lease
// request, recorded on the open before it is published.
func (cc *createCall) dirLeaseParent(o *open) {
	lr := cc.lease
	if lr == nil || !lr.ctx.V2 || lr.ctx.Flags&wire.LeaseFlagParentKeySet == 0 {
		return
	}
	o.dl.parent = leaseID{client: lr.id.client, key: lr.ctx.ParentKey}
	o.dl.hasParent = true
}

// trackDirLeaseLocked records a lease granted on a directory. t.mu held.
func (t *nodeTable) trackDirLeaseLocked(l *lease, o *open) {
	if !o.isDir {
		return
	}
	if t.dl.leases == nil {
		t.dl.leases = map[*lease]struct{}{}
	}
	if _, ok := t.dl.leases[l]; !ok {
		t.dl.leases[l] = struct{}{}
		t.dl.count.Add(1)
	}
}

// untrackDirLeaseLocked forgets a lease that lost its last open. t.mu held.
func (t *nodeTable) untrackDirLeaseLocked(l *lease) {
	if _, ok := t.dl.leases[l]; ok {
		delete(t.dl.leases, l)
		t.dl.count.Add(-1)
	}
}

// dirChanged is the change-notify hook (notify.go): a change of kind to
// the entry at p (share-relative) made through o.
func (s *Server) dirChanged(o *open, p string, kind notifyKind) {
	switch kind {
	case notifyModified:
		if !o.isDir {
			o.dl.changed.Store(true)
		}
	default:
		s.breakDirLeases(o, o.fs, parentOf(p))
	}
}

// dirLeaseClose breaks the leases on the directory of a file whose data o
// changed, when o is closed.
func (s *Server) dirLeaseClose(o *open) {
	if o.dl.changed.Load() && o.fs != nil {
		s.breakDirLeases(o, o.fs, parentOf(o.pathNow()))
	}
}

// breakDirLeases breaks to none every directory lease on dir (in fsys)
// other than the one o's lease request named as its parent. It does not
// wait for acknowledgments [MS-FSA 2.1.4.13].
func (s *Server) breakDirLeases(o *open, fsys vfs.FS, dir string) {
	t := &s.nodes
	if t.dl.count.Load() == 0 {
		return
	}
	if dir == "." {
		dir = ""
	}
	// The paths of the directory opens are read with no lock held (an
	// open's mu is not taken under nodeTable.mu).
	type cand struct {
		l     *lease
		opens []*open
	}
	var cands []cand
	t.mu.Lock()
	for l := range t.dl.leases {
		if o.dl.hasParent && l.id == o.dl.parent {
			continue
		}
		cands = append(cands, cand{l, append([]*open(nil), l.opens...)})
	}
	t.mu.Unlock()
	var hits []*lease
	for _, c := range cands {
		for _, d := range c.opens {
			if d.fs == fsys && d.pathNow() == dir {
				hits = append(hits, c.l)
				break
			}
		}
	}
	if len(hits) == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, l := range hits {
		if _, live := t.dl.leases[l]; !live || l.breaking || l.state == 0 {
			continue // gone, or already on its way down (to R at least)
		}
		l.startBreakLocked(0)
	}
}

// dirRenamed breaks the leases of the directories a rename took an entry
// out of and put it into (the same one, or two).
func (s *Server) dirRenamed(o *open, from, to string) {
	s.breakDirLeases(o, o.fs, parentOf(from))
	if parentOf(to) != parentOf(from) {
		s.breakDirLeases(o, o.fs, parentOf(to))
	}
}
