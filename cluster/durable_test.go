package cluster

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/signetsmb/signet/cluster/etcdtest"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// TestDurableRecordOutlivesRestart: a durable record written by node a
// survives a's death with its share-mode copy (another node's conflicting
// entry is refused after a's lease expired); a restarted a (same name)
// makes it free at start and can claim it like any node; the claim
// replaces the copy by the claimer's entry, and a second claim fails.
func TestDurableRecordOutlivesRestart(t *testing.T) {
	ec := etcdtest.Start(t, 1)
	ctx := context.Background()
	cfg := Config{Endpoints: ec.Endpoints(), LeaseTTL: 2 * time.Second, RequestTimeout: time.Second}
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
	all := func(mine, other []byte) bool { return true }
	owner := a.Owner()
	if _, err := a.Acquire(ctx, "opens", "f", owner, [][]byte{{1}}, all); err != nil {
		t.Fatal(err)
	}
	if err := a.DurableSave(ctx, "id1", 30*time.Second, "f", owner, []byte{1}, []byte("rec")); err != nil {
		t.Fatal(err)
	}
	a.Kill()
	time.Sleep(3 * time.Second) // a's lease is gone
	if _, err := b.Acquire(ctx, "opens", "f", b.Owner(), [][]byte{{2}}, all); !errors.Is(err, ErrConflict) {
		t.Fatalf("b's entry beside a dead node's durable handle: %v, want a conflict", err)
	}
	cfg.Node = "a"
	a2, err := Join(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a2.Close()
	data, token, err := a2.DurableFind(ctx, "id1", time.Second, func(d []byte) bool { return string(d) == "rec" })
	if err != nil || string(data) != "rec" {
		t.Fatalf("find on the restarted node: %q %v", data, err)
	}
	if _, _, err := a2.DurableClaim(ctx, token, "f", a2.Owner(), []byte{1}, all, all); err != nil {
		t.Fatalf("claim on the restarted node: %v", err)
	}
	if _, _, err := b.DurableClaim(ctx, token, "f", b.Owner(), []byte{1}, all, all); !errors.Is(err, ErrDurableNotFound) {
		t.Fatalf("second claim: %v, want not found", err)
	}
	if _, _, err := b.DurableFind(ctx, "id1", time.Second, func([]byte) bool { return true }); !errors.Is(err, ErrDurableNotFound) {
		t.Fatalf("find after the claim: %v", err)
	}
	// The claimer's entry now holds the share mode.
	if _, err := b.Acquire(ctx, "opens", "f", b.Owner(), [][]byte{{2}}, all); !errors.Is(err, ErrConflict) {
		t.Fatalf("b's entry beside the claimed open: %v, want a conflict", err)
	}
	gr, err := b.cli.Get(ctx, b.prefix+"opens/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range gr.Kvs {
		if string(kv.Key) == a2.durableCopyKey("f", "a", owner) {
			t.Fatal("the dead run's share-mode copy outlived the claim")
		}
	}
}
