// Package cluster keeps the state that several Signet nodes serving one
// shared file system must agree on in etcd (docs/cluster.md): node
// membership, and per-file tables of entries (share modes, byte-range
// locks) that a node may add only when no entry of another node
// conflicts with it.
//
// Every entry is attached to its node's etcd lease, so the entries of a
// node that dies vanish when its lease expires. Every check-and-set is
// one etcd transaction conditioned on the file's entries being unchanged
// since they were read (optimistic concurrency, retried); nothing is
// written on the strength of an earlier unguarded read.
//
// Ownership and locking: a Node guards its fields with mu, a leaf (no
// etcd call is made while it is held). The keepalive goroutine is owned
// by the Node, started by Join and ended by Close, which waits for it.
package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// Config is the [cluster] section of the configuration.
type Config struct {
	// Endpoints are the etcd client URLs ("http://10.0.0.1:2379").
	Endpoints []string
	// Node names this node; unique in the cluster.
	Node string
	// Prefix is the root of Signet's keys in etcd; default "/signet/".
	Prefix string
	// CA, Cert, Key: PEM files for TLS to etcd. CA alone verifies the
	// servers; Cert and Key (together) authenticate this node.
	CA, Cert, Key string
	// DialTimeout bounds connecting to etcd (default 5s), RequestTimeout
	// each etcd request (default 3s), LeaseTTL the node's lease
	// (default 10s, at least 2s): after a node stops renewing it, its
	// entries vanish within LeaseTTL.
	DialTimeout, RequestTimeout, LeaseTTL time.Duration
	// Logger receives the membership events. Default slog.Default().
	Logger *slog.Logger
	// OnLost, when set, is called (from the renewal goroutine) for each
	// entry the node held that it could not write again under a new lease
	// because another node took a conflicting one meanwhile.
	OnLost func(table, file, owner string)
	// Mirror lists the tables of which the node keeps a copy of the other
	// nodes' entries, for Others.
	Mirror []string
	// Username and Password authenticate the node to etcd (etcd's
	// user/password authentication), when Username is set.
	Username, Password string
}

var errRegistered = errors.New("cluster: node key exists")

// Errors of Acquire.
var (
	// ErrConflict: an entry of another node conflicts. It has a method
	// Conflict() bool (true), by which the server recognises it.
	ErrConflict error = conflictError{}
	// ErrUnavailable: the node cannot reach a quorum of etcd, or has lost
	// its lease; it must refuse new state rather than risk split-brain.
	ErrUnavailable = errors.New("cluster: etcd unavailable or node lease lost")
)

// heldEntry is one entry this node holds.
type heldEntry struct {
	table, file, owner string
	vals               [][]byte
	conflict           func(mine, other []byte) bool
}

// Node is this server's membership of the cluster.
type Node struct {
	cfg    Config
	cli    *clientv3.Client
	log    *slog.Logger
	prefix string
	seq    atomic.Uint64
	waited bool // Join logged that it waits (Join's goroutine only)

	mu      sync.Mutex
	lease   clientv3.LeaseID
	healthy bool
	// retryKeys and retryPrefixes are syncs that failed (etcd
	// unreachable), redone at each successful renewal.
	retryKeys, retryPrefixes map[string]bool
	// held are the entries this node holds, by owner prefix
	// (<dir><node>/<owner>/) and key, so that they can be written again
	// under a new lease after the old one expired.
	held map[string]map[string]heldEntry
	stop chan struct{}
	done chan struct{}

	// mirrors (read-only after Join) are followed by one goroutine each,
	// ended by Close through mirrorStop and waited for with mirrorWG.
	mirrors    map[string]*mirror
	mirrorCtx  context.Context // ends at Close (also for ServeBreaks: caching.go)
	mirrorStop context.CancelFunc
	mirrorWG   sync.WaitGroup

	// onLost replaces Config.OnLost when set (SetOnLost, lost.go).
	onLost atomic.Pointer[func(table, file, owner string)]

	// own and hooks: durable records and their callbacks (durable.go);
	// guarded by mu.
	own   map[string]ownDurable
	hooks DurableHooks
	dmu   sync.Mutex // serialises the rewrites of own records (not a leaf: held across etcd calls)
}

func (c *Config) defaults() error {
	if len(c.Endpoints) == 0 {
		return errors.New("cluster: no endpoints")
	}
	if c.Node == "" || strings.ContainsAny(c.Node, "/ \t\n") {
		return fmt.Errorf("cluster: bad node name %q (non-empty, no '/' or spaces)", c.Node)
	}
	if c.Prefix == "" {
		c.Prefix = "/signet/"
	}
	if !strings.HasSuffix(c.Prefix, "/") {
		c.Prefix += "/"
	}
	if c.DialTimeout <= 0 {
		c.DialTimeout = 5 * time.Second
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 3 * time.Second
	}
	if c.LeaseTTL <= 0 {
		c.LeaseTTL = 10 * time.Second
	}
	if c.LeaseTTL < 2*time.Second {
		return fmt.Errorf("cluster: lease TTL %v below 2s", c.LeaseTTL)
	}
	if (c.Cert == "") != (c.Key == "") {
		return errors.New("cluster: cert and key go together")
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}

func (c *Config) tlsConfig() (*tls.Config, error) {
	if c.CA == "" && c.Cert == "" {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.CA != "" {
		pem, err := os.ReadFile(c.CA)
		if err != nil {
			return nil, fmt.Errorf("cluster: ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("cluster: ca %s: no certificate", c.CA)
		}
		tc.RootCAs = pool
	}
	if c.Cert != "" {
		kp, err := tls.LoadX509KeyPair(c.Cert, c.Key)
		if err != nil {
			return nil, fmt.Errorf("cluster: cert/key: %w", err)
		}
		tc.Certificates = []tls.Certificate{kp}
	}
	return tc, nil
}

// Join connects to etcd, takes a lease and registers the node under
// <prefix>nodes/<node>; it fails if a live node of that name exists.
// The returned Node keeps its lease alive until Close.
func Join(ctx context.Context, cfg Config) (*Node, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	tc, err := cfg.tlsConfig()
	if err != nil {
		return nil, err
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:            cfg.Endpoints,
		DialTimeout:          cfg.DialTimeout,
		DialKeepAliveTime:    cfg.LeaseTTL / 3,
		DialKeepAliveTimeout: cfg.RequestTimeout,
		TLS:                  tc,
		Username:             cfg.Username,
		Password:             cfg.Password,
		Logger:               zap.NewNop(),
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	n := &Node{cfg: cfg, cli: cli, log: cfg.Logger, prefix: cfg.Prefix,
		stop: make(chan struct{}), done: make(chan struct{})}
	// A node restarted within its lease TTL finds its previous
	// incarnation's key: it waits for that lease to expire (a live node of
	// the same name renews its key, so the wait ends in an error). etcd
	// revokes an expired lease on its own schedule, later than the TTL on
	// a busy server (seen: more than TTL + 1 s), so the wait allows twice
	// the TTL.
	deadline := time.Now().Add(2*cfg.LeaseTTL + time.Second)
	for {
		err := n.register(ctx)
		if err == nil {
			break
		}
		if err != errRegistered || time.Now().After(deadline) {
			cli.Close()
			if err == errRegistered {
				err = fmt.Errorf("cluster: node %q is already registered by a live node (two nodes with one name?)", cfg.Node)
			}
			return nil, err
		}
		if !n.waited {
			n.log.Warn("cluster: node name registered by a previous run; waiting for its lease to expire", "node", cfg.Node)
			n.waited = true
		}
		select {
		case <-ctx.Done():
			cli.Close()
			return nil, ctx.Err()
		case <-time.After(cfg.LeaseTTL / 4):
		}
	}
	n.setHealthy(true, "")
	go n.keepAlive()
	mctx, mstop := context.WithCancel(context.Background())
	n.mirrorCtx, n.mirrorStop = mctx, mstop
	n.mirrors = map[string]*mirror{}
	for _, table := range cfg.Mirror {
		m := &mirror{table: table}
		n.mirrors[table] = m
		n.mirrorWG.Go(func() { n.follow(mctx, m) })
	}
	n.startDurable(mctx) // durable.go
	n.log.Info("cluster: joined", "node", cfg.Node, "lease", fmt.Sprintf("%x", n.leaseID()), "ttl", cfg.LeaseTTL)
	return n, nil
}

// register takes a fresh lease and creates the node key under it, in a
// transaction that fails if the key exists (another live node of that
// name).
func (n *Node) register(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.DialTimeout)
	defer cancel()
	lr, err := n.cli.Grant(ctx, int64((n.cfg.LeaseTTL+time.Second-1)/time.Second))
	if err != nil {
		return fmt.Errorf("cluster: lease: %w", err)
	}
	key := n.prefix + "nodes/" + n.cfg.Node
	tr, err := n.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, strconv.FormatInt(time.Now().Unix(), 10), clientv3.WithLease(lr.ID))).
		Commit()
	if err == nil && !tr.Succeeded {
		err = errRegistered
	}
	if err != nil {
		n.cli.Revoke(context.Background(), lr.ID)
		return err
	}
	n.mu.Lock()
	n.lease = lr.ID
	n.mu.Unlock()
	return nil
}

func (n *Node) leaseID() clientv3.LeaseID {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.lease
}

// Healthy reports whether the node holds its lease and last renewed it
// less than a TTL ago.
func (n *Node) Healthy() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.healthy
}

func (n *Node) setHealthy(v bool, why string) {
	n.mu.Lock()
	was := n.healthy
	n.healthy = v
	n.mu.Unlock()
	if was && !v {
		n.log.Error("cluster: node lost etcd; refusing new opens and locks until it returns", "node", n.cfg.Node, "reason", why)
	} else if !was && v {
		n.log.Info("cluster: node has etcd again; accepting new opens and locks", "node", n.cfg.Node)
	}
}

// keepAlive renews the lease every TTL/3. A renewal that fails makes the
// node unhealthy once the last success is older than the TTL minus one
// renewal period (entries may be gone at the TTL); a lease found expired
// is replaced by a new one, the node registered again and its entries
// written again (reacquire) before it is healthy again.
func (n *Node) keepAlive() {
	defer close(n.done)
	period := n.cfg.LeaseTTL / 3
	t := time.NewTicker(period)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-n.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), n.cfg.RequestTimeout)
		_, err := n.cli.KeepAliveOnce(ctx, n.leaseID())
		cancel()
		switch {
		case err == nil:
			last = time.Now()
			n.setHealthy(true, "")
			n.retrySync()
		case isLeaseGone(err):
			n.setHealthy(false, "lease expired")
			if rerr := n.register(context.Background()); rerr == nil {
				last = time.Now()
				kept, lost := n.reacquire()
				n.renewDurables() // durable.go
				n.log.Warn("cluster: lease had expired; node registered again under a new lease",
					"node", n.cfg.Node, "entries_kept", kept, "entries_lost", lost)
				n.setHealthy(true, "")
			}
		default:
			if time.Since(last) > n.cfg.LeaseTTL-period {
				n.setHealthy(false, err.Error())
			}
		}
	}
}

func isLeaseGone(err error) bool {
	return errors.Is(err, rpctypes.ErrLeaseNotFound) ||
		err != nil && strings.Contains(err.Error(), "requested lease not found")
}

// reacquire writes the entries the node held again under its new lease,
// file by file, each by the check-and-set of Acquire; an entry that
// another node's entry now conflicts with is dropped, logged and passed
// to Config.OnLost.
func (n *Node) reacquire() (kept, lost int) {
	n.mu.Lock()
	byFile := map[[2]string]map[string]heldEntry{}
	for _, owned := range n.held {
		for k, e := range owned {
			f := [2]string{e.table, e.file}
			if byFile[f] == nil {
				byFile[f] = map[string]heldEntry{}
			}
			byFile[f][k] = e
		}
	}
	n.mu.Unlock()
	for f, entries := range byFile {
		k, l := n.reacquireFile(f[0], f[1], entries)
		kept += k
		lost += l
	}
	return kept, lost
}

func (n *Node) reacquireFile(table, file string, entries map[string]heldEntry) (kept, lost int) {
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.RequestTimeout)
	defer cancel()
	dir := n.fileDir(table, file)
	mine := dir + n.cfg.Node + "/"
	lease := n.leaseID()
	for {
		gr, err := n.cli.Get(ctx, dir, clientv3.WithPrefix())
		if err != nil {
			n.log.Error("cluster: could not restore entries after losing the lease", "table", table, "file", file, "err", err)
			return 0, 0
		}
		var ops []clientv3.Op
		var dropped, put []string
		for k, e := range entries {
			bad := false
			for _, kv := range gr.Kvs {
				if !strings.HasPrefix(string(kv.Key), mine) && anyConflict(e.vals, kv.Value, e.conflict) {
					bad = true
					break
				}
			}
			if bad {
				dropped = append(dropped, k)
				continue
			}
			if len(ops) == maxTxnOps {
				continue // the rest in the next round
			}
			put = append(put, k)
			ops = append(ops, clientv3.OpPut(k, string(encodeVals(e.vals)), clientv3.WithLease(lease)))
		}
		tr, err := n.cli.Txn(ctx).If(
			clientv3.Compare(clientv3.ModRevision(dir), "<", gr.Header.Revision+1).WithPrefix(),
		).Then(ops...).Commit()
		if err != nil {
			n.log.Error("cluster: could not restore entries after losing the lease", "table", table, "file", file, "err", err)
			return 0, 0
		}
		if !tr.Succeeded {
			continue
		}
		n.mu.Lock()
		for _, k := range dropped {
			n.forgetLocked(k)
		}
		n.mu.Unlock()
		for _, k := range dropped {
			e := entries[k]
			delete(entries, k)
			n.log.Error("cluster: an entry lost with the node's lease conflicts with another node's; dropped",
				"table", table, "file", file, "owner", e.owner)
			n.lost(table, file, e.owner) // lost.go
		}
		for _, k := range put {
			delete(entries, k)
		}
		kept += len(put)
		lost += len(dropped)
		if len(entries) == 0 {
			return kept, lost
		}
	}
}

// Close revokes the lease (the node's entries vanish at once) and
// disconnects.
func (n *Node) Close() error {
	close(n.stop)
	<-n.done
	n.mirrorStop()
	n.mirrorWG.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.RequestTimeout)
	defer cancel()
	n.cli.Revoke(ctx, n.leaseID())
	return n.cli.Close()
}

// Name is the node's name.
func (n *Node) Name() string { return n.cfg.Node }

// Owner returns a fresh owner name, unique on this node for its life:
// one per open.
func (n *Node) Owner() string {
	return strconv.FormatUint(n.seq.Add(1), 36)
}

// fileDir is the key prefix of one file's entries in a table.
func (n *Node) fileDir(table, file string) string {
	return n.prefix + table + "/" + escape(file) + "/"
}

// escape keeps file names from introducing key separators.
func escape(s string) string {
	return strings.NewReplacer("%", "%25", "/", "%2F").Replace(s)
}

// Acquire adds vals, as one entry of owner on file in table, if no
// value of another node's entries on the file conflicts with any of them
// (conflict(mine, other)); entries of this node are not checked (the
// server checks its own). It returns the entry's key. One entry holds
// all of vals (one LOCK request's elements) so that a request of any size
// is one key in one transaction (etcd bounds a transaction's operations).
//
// The entries' values are read and the new entry written in one
// transaction conditioned on no entry of the file having changed since
// the read and on the node's key still being held by its lease; a
// transaction that loses a race is retried.
func (n *Node) Acquire(ctx context.Context, table, file, owner string, vals [][]byte, conflict func(mine, other []byte) bool) (string, error) {
	if !n.Healthy() {
		return "", ErrUnavailable
	}
	ctx, cancel := context.WithTimeout(ctx, n.cfg.RequestTimeout)
	defer cancel()
	dir := n.fileDir(table, file)
	mine := dir + n.cfg.Node + "/"
	nodeKey := n.prefix + "nodes/" + n.cfg.Node
	enc := encodeVals(vals)
	for {
		lease := n.leaseID()
		gr, err := n.cli.Get(ctx, dir, clientv3.WithPrefix())
		if err != nil {
			return "", fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		for _, kv := range gr.Kvs {
			if !strings.HasPrefix(string(kv.Key), mine) && anyConflict(vals, kv.Value, conflict) {
				return "", ErrConflict
			}
		}
		key := mine + owner + "/" + strconv.FormatUint(n.seq.Add(1), 36)
		tr, err := n.cli.Txn(ctx).If(
			clientv3.Compare(clientv3.ModRevision(dir), "<", gr.Header.Revision+1).WithPrefix(),
			clientv3.Compare(clientv3.LeaseValue(nodeKey), "=", lease),
		).Then(clientv3.OpPut(key, string(enc), clientv3.WithLease(lease))).Commit()
		if err != nil {
			return "", fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		if tr.Succeeded {
			n.mu.Lock()
			if n.held == nil {
				n.held = map[string]map[string]heldEntry{}
			}
			prefix := mine + owner + "/"
			if n.held[prefix] == nil {
				n.held[prefix] = map[string]heldEntry{}
			}
			n.held[prefix][key] = heldEntry{table: table, file: file, owner: owner, vals: vals, conflict: conflict}
			n.mu.Unlock()
			return key, nil
		}
		if n.leaseID() == lease {
			// The file's entries changed, or the node key is not ours
			// any more; find out which by reading again.
			nr, err := n.cli.Get(ctx, nodeKey)
			if err != nil {
				return "", fmt.Errorf("%w: %v", ErrUnavailable, err)
			}
			if len(nr.Kvs) == 0 || clientv3.LeaseID(nr.Kvs[0].Lease) != lease {
				n.setHealthy(false, "node key lost")
				return "", ErrUnavailable
			}
		}
	}
}

// encodeVals joins values into one entry: each as a uvarint length and
// its bytes.
func encodeVals(vals [][]byte) []byte {
	var b []byte
	for _, v := range vals {
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	return b
}

// decodeVals splits an entry into its values.
func decodeVals(b []byte) ([][]byte, bool) {
	var out [][]byte
	for len(b) > 0 {
		l, k := binary.Uvarint(b)
		if k <= 0 || l > uint64(len(b)-k) {
			return nil, false
		}
		out = append(out, b[k:k+int(l)])
		b = b[k+int(l):]
	}
	return out, true
}

// anyConflict reports whether a value of mine conflicts with a value of
// the entry other; an entry that cannot be read conflicts.
func anyConflict(mine [][]byte, other []byte, conflict func(mine, other []byte) bool) bool {
	ov, ok := decodeVals(other)
	if !ok {
		return true
	}
	for _, m := range mine {
		for _, o := range ov {
			if conflict(m, o) {
				return true
			}
		}
	}
	return false
}

// Release deletes entries by key (as Acquire returned them).
func (n *Node) Release(ctx context.Context, keys ...string) error {
	n.mu.Lock()
	for _, k := range keys {
		n.forgetLocked(k)
	}
	n.mu.Unlock()
	return n.sync(ctx, keys, nil)
}

// Shrink replaces the values of an entry this node holds by vals, fewer
// (an unlock of one of a LOCK request's elements); none deletes it.
// Removing values never needs a conflict check.
func (n *Node) Shrink(ctx context.Context, key string, vals [][]byte) error {
	n.mu.Lock()
	prefix := key[:strings.LastIndexByte(key, '/')+1]
	if e, ok := n.held[prefix][key]; ok && len(vals) > 0 {
		e.vals = vals
		n.held[prefix][key] = e
	} else {
		n.forgetLocked(key)
	}
	n.mu.Unlock()
	return n.sync(ctx, []string{key}, nil)
}

// ReleaseOwner deletes every entry of owner on file in table.
func (n *Node) ReleaseOwner(ctx context.Context, table, file, owner string) error {
	prefix := n.fileDir(table, file) + n.cfg.Node + "/" + owner + "/"
	n.mu.Lock()
	delete(n.held, prefix)
	n.mu.Unlock()
	return n.sync(ctx, nil, []string{prefix})
}

// maxTxnOps keeps every transaction below etcd's default limit of
// operations per transaction (128).
const maxTxnOps = 64

// sync makes etcd agree with what the node holds for these keys (put
// under the current lease if held, else deleted) and deletes the
// prefixes. What cannot be done now (etcd unreachable) is kept and done
// at the next successful renewal, so that an entry of a live node never
// outlives what it stood for, nor holds more than it does.
func (n *Node) sync(ctx context.Context, keys, prefixes []string) error {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.RequestTimeout)
	defer cancel()
	var ops []clientv3.Op
	n.mu.Lock()
	lease := n.lease
	for _, k := range keys {
		prefix := k[:strings.LastIndexByte(k, '/')+1]
		if e, ok := n.held[prefix][k]; ok {
			ops = append(ops, clientv3.OpPut(k, string(encodeVals(e.vals)), clientv3.WithLease(lease)))
		} else {
			ops = append(ops, clientv3.OpDelete(k))
		}
	}
	n.mu.Unlock()
	for _, p := range prefixes {
		ops = append(ops, clientv3.OpDelete(p, clientv3.WithPrefix()))
	}
	err := ErrUnavailable
	if n.Healthy() { // else do not make a CLOSE wait for an unreachable etcd
		err = nil
		for len(ops) > 0 && err == nil {
			k := min(len(ops), maxTxnOps)
			_, err = n.cli.Txn(ctx).Then(ops[:k]...).Commit()
			if err == nil {
				ops = ops[k:]
			}
		}
	}
	if err != nil {
		n.mu.Lock()
		if n.retryKeys == nil {
			n.retryKeys, n.retryPrefixes = map[string]bool{}, map[string]bool{}
		}
		for _, k := range keys {
			n.retryKeys[k] = true
		}
		for _, p := range prefixes {
			n.retryPrefixes[p] = true
		}
		n.mu.Unlock()
	}
	return err
}

// retrySync redoes the syncs that failed.
func (n *Node) retrySync() {
	n.mu.Lock()
	keys := make([]string, 0, len(n.retryKeys))
	for k := range n.retryKeys {
		keys = append(keys, k)
	}
	prefixes := make([]string, 0, len(n.retryPrefixes))
	for p := range n.retryPrefixes {
		prefixes = append(prefixes, p)
	}
	n.retryKeys, n.retryPrefixes = nil, nil
	n.mu.Unlock()
	if len(keys)+len(prefixes) > 0 {
		n.sync(context.Background(), keys, prefixes)
	}
}

type conflictError struct{}

func (conflictError) Error() string  { return "cluster: conflicting entry on another node" }
func (conflictError) Conflict() bool { return true }

// forgetLocked drops a held entry by key. n.mu held.
func (n *Node) forgetLocked(key string) {
	prefix := key[:strings.LastIndexByte(key, '/')+1]
	if owned := n.held[prefix]; owned != nil {
		delete(owned, key)
		if len(owned) == 0 {
			delete(n.held, prefix)
		}
	}
}
