package cluster

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/signetsmb/signet/cluster/etcdtest"
)

// crash stops the node as a dead process would: no more renewals, no
// revoke.
func (n *Node) crash() {
	close(n.stop)
	<-n.done
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
	a2.Close()
}
