package cluster

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/signetsmb/signet/cluster/etcdtest"
)

// crash stops the node as a dead process would: no more renewals, no
// revoke.
func (n *Node) crash() {
	close(n.stop)
	<-n.done
	n.mirrorStop()
	n.mirrorWG.Wait()
	n.cli.Close()
}

// TestCrashedNodeEntriesExpire: a node that dies without revoking loses
// its entries, and its name, when its lease TTL runs out.
func TestCrashedNodeEntriesExpire(t *testing.T) {
	ec := etcdtest.Start(t, 1)
	ctx := context.Background()
	cfg := Config{Endpoints: ec.Endpoints(), LeaseTTL: 2 * time.Second}
	cfg.Node = "a"
	a, err := Join(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Node = "b"
	b, err := Join(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	x := func(mine, other []byte) bool { return true }
	if _, err := a.Acquire(ctx, "opens", "f", a.Owner(), [][]byte{{1}}, x); err != nil {
		t.Fatal(err)
	}
	a.crash()
	start := time.Now()
	for {
		_, err := b.Acquire(ctx, "opens", "f", b.Owner(), [][]byte{{1}}, x)
		if err == nil {
			break
		}
		if !errors.Is(err, ErrConflict) {
			t.Fatal(err)
		}
		if time.Since(start) > 5*time.Second {
			t.Fatal("a's entry outlived its lease")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if d := time.Since(start); d < time.Second {
		t.Fatalf("entry gone after %v, before the lease could expire", d)
	}
	cfg.Node = "a"
	a2, err := Join(ctx, cfg)
	if err != nil {
		t.Fatalf("name a not free after its lease expired: %v", err)
	}
	// Restarted at once after a crash, a node waits for its previous
	// lease to expire instead of failing.
	a2.crash()
	start = time.Now()
	a3, err := Join(ctx, cfg)
	if err != nil {
		t.Fatalf("restart after a crash: %v", err)
	}
	if d := time.Since(start); d < time.Second {
		t.Fatalf("joined after %v, while the previous lease was alive", d)
	}
	a3.Close()
}

// TestLeaseLostEntriesRestored: when a live node's lease is lost (here
// revoked behind its back, as an expiry during a partition would), the
// node refuses new entries, registers again under a new lease and writes
// its entries again, except those another node took meanwhile, which it
// reports to OnLost.
func TestLeaseLostEntriesRestored(t *testing.T) {
	ec := etcdtest.Start(t, 1)
	ctx := context.Background()
	var lostMu sync.Mutex
	var lost []string
	cfg := Config{Endpoints: ec.Endpoints(), LeaseTTL: 2 * time.Second, Node: "a",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		OnLost: func(table, file, owner string) {
			lostMu.Lock()
			lost = append(lost, table+" "+file)
			lostMu.Unlock()
		}}
	a, err := Join(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	cfg.Node, cfg.OnLost = "b", nil
	b, err := Join(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	x := func(mine, other []byte) bool { return true }
	for _, f := range []string{"kept", "taken"} {
		if _, err := a.Acquire(ctx, "opens", f, a.Owner(), [][]byte{{1}}, x); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.cli.Revoke(ctx, a.leaseID()); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Acquire(ctx, "opens", "taken", b.Owner(), [][]byte{{1}}, x); err != nil {
		t.Fatalf("b after a's lease was revoked: %v", err)
	}
	// a notices at its next renewal (TTL/3) and restores what it can.
	deadline := time.Now().Add(5 * time.Second)
	for {
		lostMu.Lock()
		n := len(lost)
		lostMu.Unlock()
		if n > 0 && a.Healthy() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a did not restore its entries")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(lost) != 1 || lost[0] != "opens taken" {
		t.Fatalf("lost %v, want [opens taken]", lost)
	}
	if _, err := b.Acquire(ctx, "opens", "kept", b.Owner(), [][]byte{{1}}, x); !errors.Is(err, ErrConflict) {
		t.Fatalf("a's restored entry does not conflict: %v", err)
	}
	if _, err := a.Acquire(ctx, "opens", "new", a.Owner(), [][]byte{{1}}, x); err != nil {
		t.Fatalf("a after re-registering: %v", err)
	}
}
