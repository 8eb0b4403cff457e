package cluster_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signetsmb/signet/cluster"
	"github.com/signetsmb/signet/cluster/etcdtest"
)

// exclusive: values "x" conflict with everything, "s" only with "x".
func conflict(mine, other []byte) bool {
	return string(mine) == "x" || string(other) == "x"
}

// syncBuf is a log sink safe for the keepalive goroutine.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func join(t *testing.T, eps []string, name string, ttl time.Duration, log io.Writer) *cluster.Node {
	t.Helper()
	if log == nil {
		log = io.Discard
	}
	n, err := cluster.Join(context.Background(), cluster.Config{
		Endpoints: eps, Node: name, LeaseTTL: ttl, RequestTimeout: time.Second,
		Logger: slog.New(slog.NewTextHandler(log, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestAcquireAcrossNodes(t *testing.T) {
	ec := etcdtest.Start(t, 1)
	a := join(t, ec.Endpoints(), "a", 2*time.Second, nil)
	defer a.Close()
	b := join(t, ec.Endpoints(), "b", 2*time.Second, nil)
	defer b.Close()
	ctx := context.Background()

	if _, err := cluster.Join(ctx, cluster.Config{Endpoints: ec.Endpoints(), Node: "a", LeaseTTL: 2 * time.Second, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}); err == nil {
		t.Fatal("a second live node named a joined")
	}
	oa := a.Owner()
	keys, err := a.Acquire(ctx, "opens", "share/12", oa, [][]byte{[]byte("x")}, conflict)
	if err != nil {
		t.Fatal(err)
	}
	// The same node's own entries are not checked (the server does that).
	if _, err := a.Acquire(ctx, "opens", "share/12", a.Owner(), [][]byte{[]byte("x")}, conflict); err != nil {
		t.Fatalf("own entries checked: %v", err)
	}
	if _, err := b.Acquire(ctx, "opens", "share/12", b.Owner(), [][]byte{[]byte("s")}, conflict); !errors.Is(err, cluster.ErrConflict) {
		t.Fatalf("b acquired over a's exclusive entry: %v", err)
	}
	// Another file, another table: no conflict.
	if _, err := b.Acquire(ctx, "opens", "share/13", b.Owner(), [][]byte{[]byte("x")}, conflict); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Acquire(ctx, "locks", "share/12", b.Owner(), [][]byte{[]byte("x")}, conflict); err != nil {
		t.Fatal(err)
	}
	if err := a.Release(ctx, keys); err != nil {
		t.Fatal(err)
	}
	if err := a.ReleaseOwner(ctx, "opens", "share/12", oa); err != nil {
		t.Fatal(err)
	}
	// a still holds the second entry (other owner).
	if _, err := b.Acquire(ctx, "opens", "share/12", b.Owner(), [][]byte{[]byte("s")}, conflict); !errors.Is(err, cluster.ErrConflict) {
		t.Fatalf("b acquired over a's second entry: %v", err)
	}
}

// TestAcquireRace: many concurrent exclusive acquires of one file from
// two nodes; exactly one node wins (the transactions never both commit).
func TestAcquireRace(t *testing.T) {
	ec := etcdtest.Start(t, 1)
	a := join(t, ec.Endpoints(), "a", 2*time.Second, nil)
	defer a.Close()
	b := join(t, ec.Endpoints(), "b", 2*time.Second, nil)
	defer b.Close()
	for round := 0; round < 5; round++ {
		file := "s/race" + string(rune('0'+round))
		var wg sync.WaitGroup
		var mu sync.Mutex
		won := map[string]int{}
		for i := 0; i < 8; i++ {
			for _, n := range []*cluster.Node{a, b} {
				wg.Add(1)
				go func(n *cluster.Node) {
					defer wg.Done()
					_, err := n.Acquire(context.Background(), "opens", file, n.Owner(), [][]byte{[]byte("x")}, conflict)
					if err == nil {
						mu.Lock()
						won[n.Name()]++
						mu.Unlock()
					} else if !errors.Is(err, cluster.ErrConflict) {
						t.Error(err)
					}
				}(n)
			}
		}
		wg.Wait()
		if len(won) != 1 {
			t.Fatalf("round %d: winners %v, want one node", round, won)
		}
	}
}

// TestDeadNodeEntriesVanish: a node that stops renewing (here: its etcd
// member... its process "dies" by never closing) loses its entries after
// its lease TTL; a node that closes loses them at once.
func TestDeadNodeEntriesVanish(t *testing.T) {
	ec := etcdtest.Start(t, 1)
	a := join(t, ec.Endpoints(), "a", 2*time.Second, nil)
	b := join(t, ec.Endpoints(), "b", 2*time.Second, nil)
	defer b.Close()
	ctx := context.Background()
	if _, err := a.Acquire(ctx, "locks", "f", a.Owner(), [][]byte{[]byte("x")}, conflict); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Acquire(ctx, "locks", "f", b.Owner(), [][]byte{[]byte("x")}, conflict); !errors.Is(err, cluster.ErrConflict) {
		t.Fatalf("want conflict, got %v", err)
	}
	a.Close() // revokes the lease
	if _, err := b.Acquire(ctx, "locks", "f", b.Owner(), [][]byte{[]byte("x")}, conflict); err != nil {
		t.Fatalf("a's entry outlived its close: %v", err)
	}
}

// TestQuorum is must-show 3 at the package level: with one of three
// members killed the nodes keep acquiring; with quorum lost they refuse
// (ErrUnavailable) and log it; when quorum returns they acquire again.
func TestQuorum(t *testing.T) {
	if testing.Short() {
		t.Skip("quorum loss takes seconds")
	}
	ec := etcdtest.Start(t, 3)
	var log syncBuf
	a := join(t, ec.Endpoints(), "a", 3*time.Second, &log)
	defer a.Close()
	ctx := context.Background()
	acquire := func(file string) error {
		_, err := a.Acquire(ctx, "opens", file, a.Owner(), [][]byte{[]byte("s")}, conflict)
		return err
	}
	ec.Stop(2)
	// The member stopped may have been the leader: while the other two
	// elect a new one (about a second, longer on a loaded machine) a
	// request may time out. After that the cluster must serve.
	deadline := time.Now().Add(8 * time.Second)
	for {
		err := acquire("one-down")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("one member down: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	ec.Stop(1)
	if err := acquire("quorum-lost"); !errors.Is(err, cluster.ErrUnavailable) {
		t.Fatalf("quorum lost: got %v, want ErrUnavailable", err)
	}
	// The keepalive notices within the TTL and the node refuses at once.
	deadline = time.Now().Add(6 * time.Second)
	for a.Healthy() && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if a.Healthy() {
		t.Fatal("node still healthy without quorum")
	}
	if !strings.Contains(log.String(), "refusing new opens") {
		t.Fatalf("no log line; log:\n%s", log.String())
	}
	ec.Start(1)
	ec.WaitHealthy(1)
	deadline = time.Now().Add(10 * time.Second)
	for !a.Healthy() && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if err := acquire("back"); err != nil {
		t.Fatalf("quorum back: %v", err)
	}
	if !strings.Contains(log.String(), "accepting new opens") {
		t.Fatalf("no recovery log line; log:\n%s", log.String())
	}
}
