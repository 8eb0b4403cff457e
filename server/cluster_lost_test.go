package server

import (
	"context"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/signetsmb/signet/internal/ntstatus"
)

// TestClusterLostEntriesCloseOpens: node A's lease is lost (revoked behind
// its back, as an expiry while A was cut off from etcd would do), and B
// takes a conflicting open and a conflicting lock meanwhile. When A
// registers again, the open whose share mode B's open now conflicts with,
// and the open whose lock B's lock now conflicts with, are closed on A
// (STATUS_FILE_CLOSED, logged); A's other open keeps its share mode
// cluster-wide and stays usable.
func TestClusterLostEntriesCloseOpens(t *testing.T) {
	ec, n := clusterNodes(t, 1, 2)
	a, b := n[0], n[1]
	fa, st := a.openShare("lost", rwAccess, 0)
	if st != ntstatus.Success {
		t.Fatal(st)
	}
	fk, st := a.openShare("kept", rwAccess, 0)
	if st != ntstatus.Success {
		t.Fatal(st)
	}
	fl, st := a.openShare("locked", rwAccess, shareAll)
	if st != ntstatus.Success {
		t.Fatal(st)
	}
	if st := a.lock(fl, excl(0, 10)); st != ntstatus.Success {
		t.Fatal(st)
	}

	cli, err := clientv3.New(clientv3.Config{Endpoints: ec.Endpoints(), DialTimeout: 2 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx := context.Background()
	revokeA := func() {
		t.Helper()
		gr, err := cli.Get(ctx, "/signet/nodes/a")
		if err != nil || len(gr.Kvs) != 1 {
			t.Fatalf("node key of a: %v %v", gr, err)
		}
		if _, err := cli.Revoke(ctx, clientv3.LeaseID(gr.Kvs[0].Lease)); err != nil {
			t.Fatal(err)
		}
	}
	healthyA := func() {
		t.Helper()
		eventually(t, "A: accepting new opens again", func() bool {
			_, st := a.openShare("probe", readAccess, shareAll)
			return st == ntstatus.Success
		})
	}
	// takeover revokes A's lease and has B do what conflicts with A's
	// entry; when A's renewal (every 667 ms) happens to write its entries
	// again before B, B is refused with refused: A is left to settle and
	// the whole is tried again.
	takeover := func(what string, refused ntstatus.Status, do func() ntstatus.Status) {
		t.Helper()
		for try := 0; ; try++ {
			revokeA()
			st := do()
			if st == ntstatus.Success {
				return
			}
			if st != refused || try == 4 {
				t.Fatalf("B: %s after A's lease went: %v", what, st)
			}
			healthyA()
		}
	}

	takeover("open", ntstatus.SharingViolation, func() ntstatus.Status {
		_, st := b.openShare("lost", rwAccess, shareAll)
		return st
	})
	eventually(t, "A: the open whose share mode was lost is closed", func() bool {
		_, st := a.write(fa, 0, []byte("x"))
		return st == ntstatus.FileClosed
	})
	healthyA()
	gb, st := b.openShare("locked", rwAccess, shareAll)
	if st != ntstatus.Success {
		t.Fatalf("B: open of the locked file: %v", st)
	}
	takeover("lock", ntstatus.LockNotGranted, func() ntstatus.Status { return b.lock(gb, excl(0, 10)) })
	eventually(t, "A: the open whose lock was lost is closed", func() bool {
		_, st := a.read(fl, 0, 1)
		return st == ntstatus.FileClosed
	})
	healthyA()
	if _, st := a.write(fk, 0, []byte("x")); st != ntstatus.Success {
		t.Fatalf("A: write on the open that kept its share mode: %v", st)
	}
	if _, st := b.openShare("kept", rwAccess, shareAll); st != ntstatus.SharingViolation {
		t.Fatalf("B: open over A's restored share mode: %v", st)
	}
	logs := a.logs()
	for _, want := range []string{
		"cluster: open closed: its share mode was lost with the node's etcd lease",
		"cluster: open closed: its byte-range lock was lost with the node's etcd lease",
	} {
		if !strings.Contains(logs, want) {
			t.Fatalf("A's log lacks %q:\n%s", want, logs)
		}
	}
	// A's client reopens and meets B's share mode.
	if _, st := a.openShare("lost", rwAccess, 0); st != ntstatus.SharingViolation {
		t.Fatalf("A: reopen over B's open: %v", st)
	}
}
