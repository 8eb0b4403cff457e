package server

import (
	"github.com/signetsmb/signet/internal/state"
	"github.com/signetsmb/signet/internal/wire"
)

// Entries lost with the node's etcd lease (docs/cluster.md, "Lease
// expired while cut off"): when the node was cut off from etcd for longer
// than its lease, the other nodes stopped seeing its share modes and
// locks and may have granted conflicting ones. At its return the node
// writes its entries again; one that now conflicts with another node's is
// dropped and reported here. The open it belonged to is closed on this
// node, as CTDB has Samba do with the opens of a banned node: requests on
// its FileId then fail with STATUS_FILE_CLOSED, and its client reopens
// (and meets the other node's share mode or lock) instead of going on
// under a share mode or lock that no longer holds cluster-wide. A lost
// lock closes its open too: the open's locks on this node are no longer
// exclusive of the other node's.

// clusterLostNotifier is a Cluster that reports lost entries
// (*cluster.Node).
type clusterLostNotifier interface {
	SetOnLost(func(table, file, owner string))
}

// hookClusterLost makes the server act on its Cluster's lost entries.
// Called by New.
func (s *Server) hookClusterLost() {
	if n, ok := s.opts.Cluster.(clusterLostNotifier); ok {
		n.SetOnLost(s.clusterLost)
	}
}

// clusterLost closes the open that held the entry of owner on file (from
// the cluster's renewal goroutine); a parked durable open is purged.
func (s *Server) clusterLost(table, file, owner string) {
	if table == clusterCachingTable {
		s.clusterCachingLost(file) // cluster_lease.go
		return
	}
	match := func(o *open) bool {
		co := o.cl
		return co != nil && co.owner == owner && co.file == file
	}
	var live []*open
	s.files.Range(func(_ state.FileID, o *open) bool {
		if match(o) {
			live = append(live, o)
		}
		return true
	})
	var parked []state.FileID
	s.durables.Range(func(id state.FileID, o *open) bool {
		if match(o) {
			parked = append(parked, id)
		}
		return true
	})
	for _, o := range live {
		o.mu.Lock()
		p := o.path
		o.mu.Unlock()
		tree, _ := o.owner()
		share := ""
		if tree != nil {
			share = tree.shareName()
		}
		s.log.Error("cluster: open closed: its "+lostWhat(table)+" was lost with the node's etcd lease and another node holds a conflicting one",
			"share", share, "path", p)
		s.forgetOpen(o)
		cancelOpenEverywhere(o)
		if tree != nil {
			tree.removeOpen(o)
		}
		o.release()
	}
	for _, id := range parked {
		s.log.Error("cluster: durable open dropped: its "+lostWhat(table)+" was lost with the node's etcd lease", "file", file)
		s.purgeDurable(wire.FileID(id))
	}
}

func lostWhat(table string) string {
	if table == clusterLocks {
		return "byte-range lock"
	}
	return "share mode"
}
