package cluster

import (
	"context"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// mirror is a copy of one table's entries of the other nodes, kept by a
// watch, so that questions asked on every I/O (is this range locked by
// another node?) need no etcd round trip. It lags etcd by the watch's
// delivery time (docs/cluster.md).
//
// Ownership: the Node's mirror goroutine writes it; mu guards files.
type mirror struct {
	table string
	mu    sync.RWMutex
	files map[string]map[string][]byte // escaped file -> key -> value
}

// Others reports whether pred holds for a value of an entry of another
// node on file in table, as far as the node's mirror of the table knows. Tables that
// are not mirrored (Config.Mirror) have no entries here.
func (n *Node) Others(table, file string, pred func(val []byte) bool) bool {
	m := n.mirrors[table]
	if m == nil {
		return false
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, entry := range m.files[escape(file)] {
		vals, ok := decodeVals(entry)
		if !ok {
			return true // an entry that cannot be read: be safe
		}
		for _, v := range vals {
			if pred(v) {
				return true
			}
		}
	}
	return false
}

// split returns the escaped file and node of a key of the table.
func (n *Node) split(table, key string) (file, node string, ok bool) {
	rest, ok := strings.CutPrefix(key, n.prefix+table+"/")
	if !ok {
		return "", "", false
	}
	parts := strings.SplitN(rest, "/", 3)
	if len(parts) < 3 {
		return "", "", false
	}
	return parts[0], parts[1], true
}

// follow keeps m up to date until ctx ends: a full read, then a watch
// from the revision after it; a watch that fails (compaction, lost
// connection) starts over with a full read.
func (n *Node) follow(ctx context.Context, m *mirror) {
	dir := n.prefix + m.table + "/"
	for ctx.Err() == nil {
		gr, err := n.cli.Get(ctx, dir, clientv3.WithPrefix())
		if err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(n.cfg.RequestTimeout):
			}
			continue
		}
		files := map[string]map[string][]byte{}
		for _, kv := range gr.Kvs {
			m.apply(n, files, string(kv.Key), kv.Value, false)
		}
		m.mu.Lock()
		m.files = files
		m.mu.Unlock()
		wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
		for wr := range n.cli.Watch(wctx, dir, clientv3.WithPrefix(), clientv3.WithRev(gr.Header.Revision+1)) {
			if wr.Err() != nil {
				break
			}
			m.mu.Lock()
			for _, ev := range wr.Events {
				m.apply(n, m.files, string(ev.Kv.Key), ev.Kv.Value, ev.Type == clientv3.EventTypeDelete)
			}
			m.mu.Unlock()
		}
		cancel()
	}
}

// apply records one put or delete in files (m.mu held when files is
// m.files).
func (m *mirror) apply(n *Node, files map[string]map[string][]byte, key string, val []byte, del bool) {
	file, node, ok := n.split(m.table, key)
	if !ok || node == n.cfg.Node {
		return
	}
	if del {
		if f := files[file]; f != nil {
			delete(f, key)
			if len(f) == 0 {
				delete(files, file)
			}
		}
		return
	}
	if files[file] == nil {
		files[file] = map[string][]byte{}
	}
	files[file][key] = val
}
