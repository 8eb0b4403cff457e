package server

import (
	"context"
	"sync/atomic"

	"github.com/signetsmb/signet/internal/ntstatus"
)

// Delete-pending across nodes (docs/cluster.md): while a file has a
// delete disposition on one node, an open of it on another node fails
// with STATUS_DELETE_PENDING, as on a single server [MS-FSA 2.1.5.1.2].
//
// The node that set the disposition adds a marker entry to the file's
// opens in etcd (the one-byte value pendingMark), on its lease, and
// removes it when the disposition is cleared or the file is deleted at
// its last close. Another node's CREATE meets the marker in the same
// check-and-set transaction that registers its open (clusterAttach), so
// there is no window in which a marker committed before the open is
// missed.

// pendingMark is the value of a delete-pending marker in the opens table;
// an open's entry is 8 bytes (encodeShareEntry).
var pendingMark = []byte{'P'}

func isPendingMark(v []byte) bool { return len(v) == 1 && v[0] == pendingMark[0] }

// clusterPendingMarks holds the owner name of each marker this node holds,
// by cluster file name. Guarded by clusterTable.mu (a leaf: no cluster
// call is made while it is held).
type clusterPendingMarks map[string]string

// pendingAware wraps an opens conflict rule so that a marker of another
// node conflicts with every open and is remembered in pending.
func pendingAware(conflict func(mine, other []byte) bool, pending *atomic.Bool) func(mine, other []byte) bool {
	return func(mine, other []byte) bool {
		if isPendingMark(mine) {
			return false // a marker conflicts with nothing when it is added
		}
		if isPendingMark(other) {
			pending.Store(true)
			return true
		}
		return conflict(mine, other)
	}
}

// setDeletePending sets or clears o's file's delete disposition, and on a
// cluster node publishes it before the request completes. When it cannot
// be published the disposition is left as it was and the error is the
// status for the client.
func (s *Server) setDeletePending(ctx context.Context, o *open, v bool) error {
	s.nodes.setDeletePending(o.node, v)
	c := s.opts.Cluster
	if c == nil || o.tree == nil || o.node == nil {
		return nil
	}
	file := clusterFile(o, o.node.key)
	s.cluster.mu.Lock()
	owner, marked := s.cluster.pending[file]
	if v && !marked {
		owner = c.Owner()
		if s.cluster.pending == nil {
			s.cluster.pending = clusterPendingMarks{}
		}
		s.cluster.pending[file] = owner
	} else if !v && marked {
		delete(s.cluster.pending, file)
	}
	s.cluster.mu.Unlock()
	switch {
	case v && !marked:
		if _, err := c.Acquire(ctx, clusterOpens, file, owner, [][]byte{pendingMark}, pendingAware(shareEntryConflict, new(atomic.Bool))); err != nil {
			s.cluster.mu.Lock()
			if s.cluster.pending[file] == owner {
				delete(s.cluster.pending, file)
			}
			s.cluster.mu.Unlock()
			s.nodes.setDeletePending(o.node, false)
			return s.clusterRefused("delete disposition", err)
		}
	case !v && marked:
		if err := c.ReleaseOwner(ctx, clusterOpens, file, owner); err != nil {
			s.log.Warn("cluster: clearing a delete-pending marker (retried)", "err", err)
		}
	}
	return nil
}

// clusterPendingDone drops this node's marker for o's file after its last
// open on the node closed (the file was deleted, or its disposition is
// gone with the node's state of the file).
func (s *Server) clusterPendingDone(o *open) {
	c := s.opts.Cluster
	if c == nil || o.tree == nil || o.node == nil {
		return
	}
	file := clusterFile(o, o.node.key)
	s.cluster.mu.Lock()
	owner, marked := s.cluster.pending[file]
	delete(s.cluster.pending, file)
	s.cluster.mu.Unlock()
	if marked {
		if err := c.ReleaseOwner(context.Background(), clusterOpens, file, owner); err != nil {
			s.log.Warn("cluster: clearing a delete-pending marker (retried)", "err", err)
		}
	}
}

// clusterOpenStatus maps a refused registration of an open: a marker of
// another node is STATUS_DELETE_PENDING, another conflict a sharing
// violation.
func clusterOpenStatus(pending *atomic.Bool) error {
	if pending.Load() {
		return ntstatus.DeletePending
	}
	return ntstatus.SharingViolation
}

// clusterClaimRenameTarget refuses, with STATUS_ACCESS_DENIED as for a
// target open on this node, a rename that would replace a file open on
// another node [MS-FSA 2.1.5.14.11]. The check is a check-and-set: the
// node adds a delete-pending marker to the target's opens, which commits
// only if no other node has an entry there, and holds it until the
// rename is done (release), so no other node opens the target meanwhile
// (such an open fails with STATUS_DELETE_PENDING for that moment).
func (s *Server) clusterClaimRenameTarget(ctx context.Context, o *open, targetID uint64) (release func(), err error) {
	c := s.opts.Cluster
	if c == nil || o.tree == nil {
		return func() {}, nil
	}
	file := clusterFile(o, nodeKey{fs: o.fs, id: targetID})
	owner := c.Owner()
	anyOther := func(mine, other []byte) bool { return true }
	if _, err := c.Acquire(ctx, clusterOpens, file, owner, [][]byte{pendingMark}, anyOther); err != nil {
		if isClusterConflict(err) {
			return nil, ntstatus.AccessDenied
		}
		return nil, s.clusterRefused("rename", err)
	}
	return func() {
		if err := c.ReleaseOwner(context.Background(), clusterOpens, file, owner); err != nil {
			s.log.Warn("cluster: releasing a rename target (retried)", "err", err)
		}
	}, nil
}
