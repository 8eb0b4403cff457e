package cluster

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Oplock and lease caching across nodes (docs/cluster.md, "Caching").
//
// Each node keeps one entry per file on which it grants caching, in the
// table CachingTable, on its lease: caching/<file>/<node>/c/0, whose one
// value is the union of the R, H and W bits (lease bits; an oplock mapped
// to them) the node grants on the file, followed by the node's name (so
// that a mirror of the table tells which node to ask for a break). W is
// written only by a check-and-set that no other node has an entry in
// OpensTable for the file.
//
// A node that needs another node's caching broken writes a break request
// breaks/<holder>/<file>/<node>/<n> on its own lease; the holder, which
// watches breaks/<holder>/, runs its local break and deletes the request
// when it is done (acknowledged, closed or timed out). The requester
// watches the request's key (and the holder's node key: a dead holder's
// entries go with its lease) until it is deleted.

// The tables caching uses.
const (
	CachingTable = "caching"
	OpensTable   = "opens"
)

// Caching bits, as in a lease state [MS-SMB2 2.2.13.2.8].
const (
	CacheRead   = 1
	CacheHandle = 2
	CacheWrite  = 4
)

func (n *Node) cachingKey(file string) string {
	return n.fileDir(CachingTable, file) + n.cfg.Node + "/c/0"
}

// cachingConflict is the rule used when entries are written again after a
// lost lease: a W entry conflicts with any other node's caching.
func cachingConflict(mine, other []byte) bool {
	return len(mine) == 0 || len(other) == 0 || (mine[0]|other[0])&CacheWrite != 0
}

// SetCaching records the caching state this node grants on file (state 0
// deletes the entry). With exclusive (a state with W) it is a
// check-and-set: it commits only if no other node has an entry of
// OpensTable on the file, and returns ErrConflict otherwise; the opens
// are read and the entry written in one transaction conditioned on the
// file's opens being unchanged since the read.
func (n *Node) SetCaching(ctx context.Context, file string, state byte, exclusive bool) error {
	key := n.cachingKey(file)
	prefix := key[:strings.LastIndexByte(key, '/')+1]
	val := [][]byte{append([]byte{state}, n.cfg.Node...)}
	if state == 0 {
		n.mu.Lock()
		n.forgetLocked(key)
		n.mu.Unlock()
		return n.sync(ctx, []string{key}, nil)
	}
	if !exclusive {
		n.hold(prefix, key, heldEntry{table: CachingTable, file: file, owner: "c", vals: val, conflict: cachingConflict})
		return n.sync(ctx, []string{key}, nil)
	}
	if !n.Healthy() {
		return ErrUnavailable
	}
	ctx, cancel := context.WithTimeout(ctx, n.cfg.RequestTimeout)
	defer cancel()
	dir := n.fileDir(OpensTable, file)
	mine := dir + n.cfg.Node + "/"
	nodeKey := n.prefix + "nodes/" + n.cfg.Node
	for {
		lease := n.leaseID()
		gr, err := n.cli.Get(ctx, dir, clientv3.WithPrefix(), clientv3.WithKeysOnly())
		if err != nil {
			return fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		for _, kv := range gr.Kvs {
			if !strings.HasPrefix(string(kv.Key), mine) {
				return ErrConflict
			}
		}
		tr, err := n.cli.Txn(ctx).If(
			clientv3.Compare(clientv3.ModRevision(dir), "<", gr.Header.Revision+1).WithPrefix(),
			clientv3.Compare(clientv3.LeaseValue(nodeKey), "=", lease),
		).Then(clientv3.OpPut(key, string(encodeVals(val)), clientv3.WithLease(lease))).Commit()
		if err != nil {
			return fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		if tr.Succeeded {
			n.hold(prefix, key, heldEntry{table: CachingTable, file: file, owner: "c", vals: val, conflict: cachingConflict})
			return nil
		}
		if n.leaseID() == lease {
			nr, err := n.cli.Get(ctx, nodeKey)
			if err != nil {
				return fmt.Errorf("%w: %v", ErrUnavailable, err)
			}
			if len(nr.Kvs) == 0 || clientv3.LeaseID(nr.Kvs[0].Lease) != lease {
				n.setHealthy(false, "node key lost")
				return ErrUnavailable
			}
		}
	}
}

// hold records an entry the node holds.
func (n *Node) hold(prefix, key string, e heldEntry) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.held == nil {
		n.held = map[string]map[string]heldEntry{}
	}
	if n.held[prefix] == nil {
		n.held[prefix] = map[string]heldEntry{}
	}
	n.held[prefix][key] = e
}

// Caching returns the caching state other nodes grant on file, by node,
// read from etcd (linearizable: it includes every entry committed before
// the call).
func (n *Node) Caching(ctx context.Context, file string) (map[string]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.RequestTimeout)
	defer cancel()
	dir := n.fileDir(CachingTable, file)
	gr, err := n.cli.Get(ctx, dir, clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	var out map[string]byte
	for _, kv := range gr.Kvs {
		_, node, ok := n.split(CachingTable, string(kv.Key))
		if !ok || node == n.cfg.Node {
			continue
		}
		vals, ok := decodeVals(kv.Value)
		st := byte(CacheRead | CacheHandle | CacheWrite) // unreadable: assume all
		if ok && len(vals) == 1 && len(vals[0]) > 0 {
			st = vals[0][0]
		}
		if out == nil {
			out = map[string]byte{}
		}
		out[node] |= st
	}
	return out, nil
}

// CachingNode returns the state and node name of a value of the caching
// table (as Others passes it).
func CachingNode(val []byte) (byte, string) {
	if len(val) == 0 {
		return CacheRead | CacheHandle | CacheWrite, ""
	}
	return val[0], string(val[1:])
}

// RequestBreak asks node holder to break its caching of file, describing
// the cause in req (the server's encoding). With wait, it returns when the
// holder has done so (deleted the request), when the holder is gone (its
// node key deleted with its lease), or when ctx ends (the request is then
// withdrawn); it watches the keys, it does not poll.
func (n *Node) RequestBreak(ctx context.Context, holder, file string, req []byte, wait bool) error {
	key := n.prefix + "breaks/" + holder + "/" + escape(file) + "/" + n.cfg.Node + "/" + strconv.FormatUint(n.seq.Add(1), 36)
	holderKey := n.prefix + "nodes/" + holder
	pctx, cancel := context.WithTimeout(ctx, n.cfg.RequestTimeout)
	tr, err := n.cli.Txn(pctx).If(
		clientv3.Compare(clientv3.CreateRevision(holderKey), ">", 0),
	).Then(clientv3.OpPut(key, string(req), clientv3.WithLease(n.leaseID()))).Commit()
	cancel()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if !tr.Succeeded || !wait {
		return nil // the holder is gone, and its caching with it
	}
	rev := tr.Header.Revision + 1
	wctx, wcancel := context.WithCancel(ctx)
	defer wcancel()
	reqW := n.cli.Watch(wctx, key, clientv3.WithRev(rev))
	nodeW := n.cli.Watch(wctx, holderKey, clientv3.WithRev(rev))
	for {
		select {
		case wr, ok := <-reqW:
			if !ok || wr.Err() != nil {
				return n.withdraw(key, ctx.Err())
			}
			for _, ev := range wr.Events {
				if ev.Type == clientv3.EventTypeDelete {
					return nil
				}
			}
		case wr, ok := <-nodeW:
			if !ok || wr.Err() != nil {
				return n.withdraw(key, ctx.Err())
			}
			for _, ev := range wr.Events {
				if ev.Type == clientv3.EventTypeDelete {
					return n.withdraw(key, nil)
				}
			}
		}
	}
}

// withdraw deletes a break request no one will answer.
func (n *Node) withdraw(key string, err error) error {
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.RequestTimeout)
	defer cancel()
	n.cli.Delete(ctx, key)
	if err != nil {
		return err
	}
	return nil
}

// maxBreakHandlers bounds the break requests a node serves at once; more
// wait in the watch.
const maxBreakHandlers = 256

// ServeBreaks starts following the break requests addressed to this node:
// handle is called for each (in its own goroutine, at most
// maxBreakHandlers at once, with a context that ends at Close), and the
// request is deleted when it returns. Call it once.
func (n *Node) ServeBreaks(handle func(ctx context.Context, file string, req []byte)) {
	n.mirrorWG.Go(func() { n.serveBreaks(n.mirrorCtx, handle) })
}

func (n *Node) serveBreaks(ctx context.Context, handle func(ctx context.Context, file string, req []byte)) {
	dir := n.prefix + "breaks/" + n.cfg.Node + "/"
	sem := make(chan struct{}, maxBreakHandlers)
	var mu sync.Mutex
	active := map[string]bool{} // keys being handled
	var wg sync.WaitGroup
	defer wg.Wait()
	start := func(key string, val []byte) {
		rest, _ := strings.CutPrefix(key, dir)
		file, _, ok := strings.Cut(rest, "/")
		if !ok {
			return
		}
		mu.Lock()
		if active[key] {
			mu.Unlock()
			return
		}
		active[key] = true
		mu.Unlock()
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		wg.Go(func() {
			defer func() { <-sem }()
			handle(ctx, unescape(file), val)
			dctx, cancel := context.WithTimeout(context.Background(), n.cfg.RequestTimeout)
			n.cli.Delete(dctx, key)
			cancel()
			mu.Lock()
			delete(active, key)
			mu.Unlock()
		})
	}
	for ctx.Err() == nil {
		gr, err := n.cli.Get(ctx, dir, clientv3.WithPrefix())
		if err != nil {
			select {
			case <-ctx.Done():
			case <-timeAfter(n.cfg.RequestTimeout):
			}
			continue
		}
		for _, kv := range gr.Kvs {
			start(string(kv.Key), kv.Value)
		}
		wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
		for wr := range n.cli.Watch(wctx, dir, clientv3.WithPrefix(), clientv3.WithRev(gr.Header.Revision+1)) {
			if wr.Err() != nil {
				break
			}
			for _, ev := range wr.Events {
				if ev.Type == clientv3.EventTypePut && ev.IsCreate() {
					start(string(ev.Kv.Key), ev.Kv.Value)
				}
			}
		}
		cancel()
	}
}

var timeAfter = time.After
