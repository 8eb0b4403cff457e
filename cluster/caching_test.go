package cluster

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/signetsmb/signet/cluster/etcdtest"
)

func joinTest(t *testing.T, ec *etcdtest.Cluster, name string) *Node {
	t.Helper()
	n, err := Join(context.Background(), Config{Endpoints: ec.Endpoints(), Node: name,
		LeaseTTL: 2 * time.Second, RequestTimeout: time.Second, Mirror: []string{CachingTable}})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSetCachingExclusive: W is published only while no other node has
// an open of the file; R and H whatever the others hold. Others (the
// mirror) tells the holder's name.
func TestSetCachingExclusive(t *testing.T) {
	ec := etcdtest.Start(t, 1)
	ctx := context.Background()
	a, b := joinTest(t, ec, "a"), joinTest(t, ec, "b")
	defer a.Close()
	defer b.Close()
	none := func(mine, other []byte) bool { return false }
	if _, err := a.Acquire(ctx, OpensTable, "f", a.Owner(), [][]byte{{1}}, none); err != nil {
		t.Fatal(err)
	}
	// a may claim W: its own open does not count.
	if err := a.SetCaching(ctx, "f", CacheRead|CacheHandle|CacheWrite, true); err != nil {
		t.Fatalf("a: W alone: %v", err)
	}
	if _, err := b.Acquire(ctx, OpensTable, "f", b.Owner(), [][]byte{{1}}, none); err != nil {
		t.Fatal(err)
	}
	if err := b.SetCaching(ctx, "f", CacheRead|CacheWrite, true); !errors.Is(err, ErrConflict) {
		t.Fatalf("b: W with a's open: %v, want a conflict", err)
	}
	if err := b.SetCaching(ctx, "f", CacheRead|CacheHandle, false); err != nil {
		t.Fatalf("b: RH: %v", err)
	}
	st, err := b.Caching(ctx, "f")
	if err != nil || len(st) != 1 || st["a"] != CacheRead|CacheHandle|CacheWrite {
		t.Fatalf("b sees %v %v, want a: RWH", st, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		var holders []string
		a.Others(CachingTable, "f", func(v []byte) bool {
			s, node := CachingNode(v)
			if s&CacheRead != 0 {
				holders = append(holders, node)
			}
			return false
		})
		if len(holders) == 1 && holders[0] == "b" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a's mirror: %v", holders)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := b.SetCaching(ctx, "f", 0, false); err != nil {
		t.Fatal(err)
	}
	if st, _ := a.Caching(ctx, "f"); len(st) != 0 {
		t.Fatalf("b's entry after state 0: %v", st)
	}
}

// TestRequestBreak: a break request reaches its holder's handler, and the
// requester returns when the handler has returned, not before.
func TestRequestBreak(t *testing.T) {
	ec := etcdtest.Start(t, 1)
	a, b := joinTest(t, ec, "a"), joinTest(t, ec, "b")
	defer a.Close()
	defer b.Close()
	var mu sync.Mutex
	var got []string
	release := make(chan struct{})
	a.ServeBreaks(func(ctx context.Context, file string, req []byte) {
		mu.Lock()
		got = append(got, file+"="+string(req))
		mu.Unlock()
		select {
		case <-release:
		case <-ctx.Done():
		}
	})
	done := make(chan error, 1)
	go func() { done <- b.RequestBreak(context.Background(), "a", "s/f%1", []byte("req"), true) }()
	select {
	case err := <-done:
		t.Fatalf("request answered before the handler returned: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("request not answered")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0] != "s/f%1=req" {
		t.Fatalf("handler saw %q", got)
	}
	// A request to a node that does not exist returns at once.
	if err := b.RequestBreak(context.Background(), "nobody", "f", nil, true); err != nil {
		t.Fatal(err)
	}
}

// TestRequestBreakHolderCrash: a holder that dies without answering holds
// the requester up only until its lease expires (its node key goes with
// it, as do its caching entries).
func TestRequestBreakHolderCrash(t *testing.T) {
	ec := etcdtest.Start(t, 1)
	a, b := joinTest(t, ec, "a"), joinTest(t, ec, "b")
	defer b.Close()
	ctx := context.Background()
	if err := a.SetCaching(ctx, "f", CacheRead|CacheHandle|CacheWrite, true); err != nil {
		t.Fatal(err)
	}
	a.crash() // serves no breaks, renews nothing
	start := time.Now()
	rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := b.RequestBreak(rctx, "a", "f", []byte("x"), true); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Fatalf("waited %v for a dead holder (lease 2s)", d)
	}
	if st, _ := b.Caching(ctx, "f"); len(st) != 0 {
		t.Fatalf("dead holder's caching still there: %v", st)
	}
}
