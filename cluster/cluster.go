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
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

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
}

// Errors of Acquire.
var (
	// ErrConflict: an entry of another node conflicts. It has a method
	// Conflict() bool (true), by which the server recognises it.
	ErrConflict error = conflictError{}
	// ErrUnavailable: the node cannot reach a quorum of etcd, or has lost
	// its lease; it must refuse new state rather than risk split-brain.
	ErrUnavailable = errors.New("cluster: etcd unavailable or node lease lost")
)

// Node is this server's membership of the cluster.
type Node struct {
	cfg    Config
	cli    *clientv3.Client
	log    *slog.Logger
	prefix string
	seq    atomic.Uint64

	mu      sync.Mutex
	lease   clientv3.LeaseID
	healthy bool
	retry   []clientv3.Op // deletes that failed, retried at each renewal
	stop    chan struct{}
	done    chan struct{}
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
		Logger:               zap.NewNop(),
		Context:              ctx,
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	n := &Node{cfg: cfg, cli: cli, log: cfg.Logger, prefix: cfg.Prefix,
		stop: make(chan struct{}), done: make(chan struct{})}
	if err := n.register(ctx); err != nil {
		cli.Close()
		return nil, err
	}
	go n.keepAlive()
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
		err = fmt.Errorf("cluster: node %q is already registered (another live node of that name?)", n.cfg.Node)
	}
	if err != nil {
		n.cli.Revoke(context.Background(), lr.ID)
		return err
	}
	n.mu.Lock()
	n.lease, n.healthy = lr.ID, true
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
// is replaced by a new one and the node registered again (its earlier
// entries are gone: the server re-registers nothing, see docs/cluster.md).
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
			n.retryDeletes()
		case isLeaseGone(err):
			n.setHealthy(false, "lease expired")
			if rerr := n.register(context.Background()); rerr == nil {
				last = time.Now()
				n.log.Warn("cluster: lease had expired; node registered again under a new lease", "node", n.cfg.Node)
			}
		default:
			if time.Since(last) > n.cfg.LeaseTTL-period {
				n.setHealthy(false, err.Error())
			}
		}
	}
}

func isLeaseGone(err error) bool {
	return err != nil && strings.Contains(err.Error(), "requested lease not found")
}

// Close revokes the lease (the node's entries vanish at once) and
// disconnects.
func (n *Node) Close() error {
	close(n.stop)
	<-n.done
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

// Acquire adds vals as entries of owner on file in table, all or none,
// if no entry of another node on the file conflicts with any of them
// (conflict(mine, other)); entries of this node are not checked (the
// server checks its own). It returns the keys of the entries added.
//
// The entries' values are read and the new entries written in one
// transaction conditioned on no entry of the file having changed since
// the read and on the node's key still being held by its lease; a
// transaction that loses a race is retried.
func (n *Node) Acquire(ctx context.Context, table, file, owner string, vals [][]byte, conflict func(mine, other []byte) bool) ([]string, error) {
	if !n.Healthy() {
		return nil, ErrUnavailable
	}
	ctx, cancel := context.WithTimeout(ctx, n.cfg.RequestTimeout)
	defer cancel()
	dir := n.fileDir(table, file)
	mine := dir + n.cfg.Node + "/"
	nodeKey := n.prefix + "nodes/" + n.cfg.Node
	for {
		lease := n.leaseID()
		gr, err := n.cli.Get(ctx, dir, clientv3.WithPrefix())
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		for _, kv := range gr.Kvs {
			if strings.HasPrefix(string(kv.Key), mine) {
				continue
			}
			for _, v := range vals {
				if conflict(v, kv.Value) {
					return nil, ErrConflict
				}
			}
		}
		keys := make([]string, len(vals))
		ops := make([]clientv3.Op, len(vals))
		for i, v := range vals {
			keys[i] = mine + owner + "/" + strconv.FormatUint(n.seq.Add(1), 36)
			ops[i] = clientv3.OpPut(keys[i], string(v), clientv3.WithLease(lease))
		}
		tr, err := n.cli.Txn(ctx).If(
			clientv3.Compare(clientv3.ModRevision(dir), "<", gr.Header.Revision+1).WithPrefix(),
			clientv3.Compare(clientv3.LeaseValue(nodeKey), "=", lease),
		).Then(ops...).Commit()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		if tr.Succeeded {
			return keys, nil
		}
		if n.leaseID() == lease {
			// The file's entries changed, or the node key is not ours
			// any more; find out which by reading again.
			nr, err := n.cli.Get(ctx, nodeKey)
			if err != nil {
				return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
			}
			if len(nr.Kvs) == 0 || clientv3.LeaseID(nr.Kvs[0].Lease) != lease {
				n.setHealthy(false, "node key lost")
				return nil, ErrUnavailable
			}
		}
	}
}

// Release deletes entries by key (as Acquire returned them).
func (n *Node) Release(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, n.cfg.RequestTimeout)
	defer cancel()
	ops := make([]clientv3.Op, len(keys))
	for i, k := range keys {
		ops[i] = clientv3.OpDelete(k)
	}
	return n.delete(ctx, ops)
}

// delete runs the deletes in one transaction; if etcd cannot be reached
// they are kept and retried at each lease renewal, so that an entry of a
// live node never outlives what it stood for.
func (n *Node) delete(ctx context.Context, ops []clientv3.Op) error {
	_, err := n.cli.Txn(ctx).Then(ops...).Commit()
	if err != nil {
		n.mu.Lock()
		n.retry = append(n.retry, ops...)
		n.mu.Unlock()
	}
	return err
}

func (n *Node) retryDeletes() {
	n.mu.Lock()
	ops := n.retry
	n.retry = nil
	n.mu.Unlock()
	if len(ops) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.RequestTimeout)
	defer cancel()
	n.delete(ctx, ops)
}

// ReleaseOwner deletes every entry of owner on file in table.
func (n *Node) ReleaseOwner(ctx context.Context, table, file, owner string) error {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.RequestTimeout)
	defer cancel()
	return n.delete(ctx, []clientv3.Op{clientv3.OpDelete(n.fileDir(table, file)+n.cfg.Node+"/"+owner+"/", clientv3.WithPrefix())})
}

type conflictError struct{}

func (conflictError) Error() string  { return "cluster: conflicting entry on another node" }
func (conflictError) Conflict() bool { return true }
