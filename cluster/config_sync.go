package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Documents replicated through etcd (docs/cluster.md, "Users file and
// policy"): each is one key, <prefix>config/<name>, holding the whole
// document; its modification revision is the document's version.
//
// A node publishes a local change with a transaction conditioned on the
// key's modification revision being the one the node last saw (never a
// read-then-write); when another node's change committed first, the
// node's transaction fails, the node logs that its change lost and takes
// the committed document instead: of two concurrent changes the first to
// commit wins, on every node alike. Every node follows the keys with a
// watch and applies each new version through Doc.Apply, which validates
// it (an invalid document is refused and logged, never applied).

// MaxDocSize bounds a replicated document (etcd's default request limit
// is 1.5 MiB).
const MaxDocSize = 1 << 20

// ErrNoLocalDoc is what Doc.Local returns when the node has no copy (its
// file is missing): the node adopts the cluster's and never publishes the
// absence.
var ErrNoLocalDoc = errors.New("no local copy")

// Doc is one replicated document as a DocSync sees it.
type Doc struct {
	// Name is the document's key under <prefix>config/ ("users", "policy").
	Name string
	// Local returns the node's current copy, in the canonical form
	// compared with etcd's (equal bytes: nothing to do).
	Local func() ([]byte, error)
	// Apply makes the node use data: it validates data and refuses an
	// invalid document with an error (nothing applied), else writes the
	// local file and reloads it as a local edit would.
	Apply func(data []byte) error
}

// docState is what the DocSync knows of one document: the version last
// seen in etcd (rev 0: none) and its content.
type docState struct {
	Doc
	data []byte
	rev  int64
}

// DocSync keeps documents identical on every node.
//
// Ownership: Start runs on the caller's goroutine; after it, the docs'
// states belong to the one goroutine run (started by Start, ended and
// waited for by Close). mu (a leaf) guards only pending, the names of
// documents changed locally and not yet published.
type DocSync struct {
	n    *Node
	log  *slog.Logger
	docs map[string]*docState

	mu      sync.Mutex
	pending map[string]bool
	kick    chan struct{}

	cancel context.CancelFunc
	done   chan struct{}
}

// NewDocSync returns the replication of docs over node n; Start begins it.
func NewDocSync(n *Node, docs ...Doc) *DocSync {
	s := &DocSync{n: n, log: n.log, docs: map[string]*docState{}, pending: map[string]bool{},
		kick: make(chan struct{}, 1), done: make(chan struct{})}
	for _, d := range docs {
		s.docs[d.Name] = &docState{Doc: d}
	}
	return s
}

func (n *Node) docKey(name string) string { return n.prefix + "config/" + name }

// Start adopts, for each document, etcd's copy when there is one (logging
// which copy the node uses) or publishes the node's own, and then follows
// the documents until Close.
func (s *DocSync) Start(ctx context.Context) error {
	var from int64
	for _, d := range s.docs {
		rev, err := s.join(ctx, d)
		if err != nil {
			return err
		}
		from = max(from, rev)
	}
	wctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go s.run(wctx, from+1)
	return nil
}

// join settles one document at start; it returns the etcd revision it
// read at.
func (s *DocSync) join(ctx context.Context, d *docState) (int64, error) {
	local, err := d.Local()
	missing := errors.Is(err, ErrNoLocalDoc)
	if err != nil && !missing {
		return 0, fmt.Errorf("cluster: %s: %w", d.Name, err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.n.cfg.RequestTimeout)
	defer cancel()
	key := s.n.docKey(d.Name)
	for {
		gr, err := s.n.cli.Get(ctx, key)
		if err != nil {
			return 0, fmt.Errorf("cluster: reading the cluster's %s: %w", d.Name, err)
		}
		if len(gr.Kvs) == 1 {
			kv := gr.Kvs[0]
			d.data, d.rev = kv.Value, kv.ModRevision
			if bytes.Equal(kv.Value, local) {
				s.log.Info("cluster: local "+d.Name+" is the cluster's", "rev", kv.ModRevision)
			} else if err := d.Apply(kv.Value); err != nil {
				s.log.Error("cluster: the cluster's "+d.Name+" is invalid; keeping the local one", "rev", kv.ModRevision, "err", err)
			} else {
				s.log.Warn("cluster: using the cluster's "+d.Name+" instead of the local one (local file rewritten)", "rev", kv.ModRevision)
			}
			return gr.Header.Revision, nil
		}
		if missing {
			s.log.Warn("cluster: neither the cluster nor this node has a " + d.Name + "; nothing to share until one is written")
			return gr.Header.Revision, nil
		}
		if len(local) > MaxDocSize {
			return 0, fmt.Errorf("cluster: %s is %d bytes, more than %d", d.Name, len(local), MaxDocSize)
		}
		tr, err := s.n.cli.Txn(ctx).
			If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
			Then(clientv3.OpPut(key, string(local))).Commit()
		if err != nil {
			return 0, fmt.Errorf("cluster: publishing %s: %w", d.Name, err)
		}
		if tr.Succeeded {
			d.data, d.rev = local, tr.Header.Revision
			s.log.Info("cluster: the cluster had no "+d.Name+"; published the local one", "rev", tr.Header.Revision)
			return tr.Header.Revision, nil
		}
		// Another node published first: adopt its copy (read again).
	}
}

// Changed tells the DocSync that the local copy of the document name
// changed (a reload of the file); it publishes it soon, on its own
// goroutine. It never blocks.
func (s *DocSync) Changed(name string) {
	s.mu.Lock()
	s.pending[name] = true
	s.mu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Close stops following and publishing.
func (s *DocSync) Close() {
	if s.cancel == nil {
		return
	}
	s.cancel()
	<-s.done
}

// run publishes local changes and applies etcd's until ctx is done. A
// watch that ends (etcd lost, history compacted) starts over from a full
// read; a publication that fails is retried every second.
func (s *DocSync) run(ctx context.Context, from int64) {
	defer close(s.done)
	prefix := s.n.prefix + "config/"
	for ctx.Err() == nil {
		wctx, wcancel := context.WithCancel(ctx)
		wch := s.n.cli.Watch(clientv3.WithRequireLeader(wctx), prefix, clientv3.WithPrefix(), clientv3.WithRev(from))
		from = s.follow(ctx, wch, from)
		wcancel()
		if ctx.Err() != nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
		if rev, ok := s.resync(ctx); ok {
			from = rev + 1
		}
	}
}

// follow handles watch events and local changes until the watch ends; it
// returns the revision to watch from next.
func (s *DocSync) follow(ctx context.Context, wch clientv3.WatchChan, next int64) int64 {
	var retry <-chan time.Time
	s.mu.Lock()
	if len(s.pending) > 0 { // left by a publication that failed before the watch ended
		retry = time.After(0)
	}
	s.mu.Unlock()
	for {
		select {
		case <-ctx.Done():
			return next
		case <-s.kick:
			if !s.publishPending(ctx) {
				retry = time.After(time.Second)
			}
		case <-retry:
			retry = nil
			if !s.publishPending(ctx) {
				retry = time.After(time.Second)
			}
		case wr, ok := <-wch:
			if !ok || wr.Err() != nil {
				if ok {
					s.log.Warn("cluster: watch of the replicated configuration ended; reading it again", "err", wr.Err())
				}
				return next
			}
			for _, ev := range wr.Events {
				if ev.Type != clientv3.EventTypePut {
					continue
				}
				name := string(ev.Kv.Key[len(s.n.prefix+"config/"):])
				if d := s.docs[name]; d != nil {
					s.remote(d, ev.Kv.Value, ev.Kv.ModRevision)
				}
			}
			next = wr.Header.Revision + 1
		}
	}
}

// remote applies a version of d seen in etcd, if newer than the last
// seen and different from it.
func (s *DocSync) remote(d *docState, data []byte, rev int64) {
	if rev <= d.rev {
		return
	}
	d.rev = rev
	if bytes.Equal(data, d.data) {
		return
	}
	d.data = data
	if local, err := d.Local(); err == nil && bytes.Equal(local, data) {
		return
	}
	if err := d.Apply(data); err != nil {
		s.log.Error("cluster: refusing the cluster's new "+d.Name+": invalid; keeping the local one", "rev", rev, "err", err)
		return
	}
	s.log.Info("cluster: applied the cluster's new "+d.Name, "rev", rev)
}

// resync reads every document after a watch ended, applying what changed.
func (s *DocSync) resync(ctx context.Context) (int64, bool) {
	ctx, cancel := context.WithTimeout(ctx, s.n.cfg.RequestTimeout)
	defer cancel()
	gr, err := s.n.cli.Get(ctx, s.n.prefix+"config/", clientv3.WithPrefix())
	if err != nil {
		return 0, false
	}
	for _, kv := range gr.Kvs {
		if d := s.docs[string(kv.Key[len(s.n.prefix+"config/"):])]; d != nil {
			s.remote(d, kv.Value, kv.ModRevision)
		}
	}
	return gr.Header.Revision, true
}

// errDocLost: another node's change committed first.
var errDocLost = errors.New("another node changed it first")

// publishPending publishes the documents changed locally; false when one
// could not reach etcd (it stays pending).
func (s *DocSync) publishPending(ctx context.Context) bool {
	s.mu.Lock()
	names := make([]string, 0, len(s.pending))
	for name := range s.pending {
		names = append(names, name)
	}
	clear(s.pending)
	s.mu.Unlock()
	ok := true
	for _, name := range names {
		d := s.docs[name]
		if d == nil {
			continue
		}
		if err := s.publish(ctx, d); err != nil && !errors.Is(err, errDocLost) {
			s.log.Warn("cluster: could not publish "+name+" (retried)", "err", err)
			s.mu.Lock()
			s.pending[name] = true
			s.mu.Unlock()
			ok = false
		}
	}
	return ok
}

// publish writes the local copy of d if it differs from the last version
// seen, conditioned on etcd's version still being that one.
func (s *DocSync) publish(ctx context.Context, d *docState) error {
	local, err := d.Local()
	if err != nil {
		s.log.Error("cluster: cannot use the local "+d.Name+"; not published", "err", err)
		return nil
	}
	if bytes.Equal(local, d.data) {
		return nil
	}
	if len(local) > MaxDocSize {
		s.log.Error("cluster: local "+d.Name+" too large to replicate; not published", "bytes", len(local), "max", MaxDocSize)
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.n.cfg.RequestTimeout)
	defer cancel()
	key := s.n.docKey(d.Name)
	tr, err := s.n.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.ModRevision(key), "=", d.rev)).
		Then(clientv3.OpPut(key, string(local))).
		Else(clientv3.OpGet(key)).Commit()
	if err != nil {
		return err
	}
	if tr.Succeeded {
		d.data, d.rev = local, tr.Header.Revision
		s.log.Info("cluster: published the local "+d.Name+" change to the cluster", "rev", d.rev)
		return nil
	}
	kvs := tr.Responses[0].GetResponseRange().Kvs
	if len(kvs) == 0 {
		// Deleted from etcd meanwhile: publish again from scratch.
		d.rev, d.data = 0, nil
		return s.publish(ctx, d)
	}
	s.log.Warn("cluster: local "+d.Name+" change lost: another node changed it first; using the cluster's",
		"rev", kvs[0].ModRevision)
	d.rev = kvs[0].ModRevision - 1 // so that remote takes it
	s.remote(d, kvs[0].Value, kvs[0].ModRevision)
	return errDocLost
}
