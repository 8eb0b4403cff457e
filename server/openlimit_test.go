package server_test

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signetsmb/signet/client"
	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/server"
	"github.com/signetsmb/signet/vfs/memfs"
)

// createN creates files name0.. nameN-1 and returns them open.
func createN(t *testing.T, sh *client.Share, name string, n int) []io.Closer {
	t.Helper()
	var out []io.Closer
	for i := 0; i < n; i++ {
		f, err := sh.Create(fmt.Sprintf("%s%d", name, i))
		if err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
		out = append(out, f)
	}
	return out
}

func wantInsufficientResources(t *testing.T, sh *client.Share, name string) {
	t.Helper()
	_, err := sh.Create(name)
	if !errors.Is(err, ntstatus.InsufficientResources) {
		t.Fatalf("create %s past the limit: %v, want STATUS_INSUFFICIENT_RESOURCES", name, err)
	}
}

// waitOpens waits for the server to count want opens.
func waitOpens(t *testing.T, srv *server.Server, want int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for srv.Stats().Opens != want && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := srv.Stats().Opens; got != want {
		t.Fatalf("server counts %d opens, want %d", got, want)
	}
}

// TestOpenLimits: a session opening past MaxOpensPerSession, or past
// MaxOpens server-wide, gets STATUS_INSUFFICIENT_RESOURCES; closing an
// open (CLOSE, unmount, logoff) gives it back; another session is not
// held to the first one's per-session count.
func TestOpenLimits(t *testing.T) {
	addr, srv := startServerWith(t, memfs.New(memfs.Options{}), true,
		server.Limits{MaxOpensPerSession: 3, MaxOpens: 5})
	a := mountShare(t, addr)
	opensA := createN(t, a, "a", 3)
	wantInsufficientResources(t, a, "a3")
	opensA[0].Close()
	opensA[0], _ = a.Create("a3")
	if opensA[0] == nil {
		t.Fatal("no open after a CLOSE")
	}
	wantInsufficientResources(t, a, "a4")

	b := mountShare(t, addr)
	createN(t, b, "b", 2) // 3 + 2 = MaxOpens
	wantInsufficientResources(t, b, "b2")
	waitOpens(t, srv, 5)

	// Unmounting closes a's opens (TREE_DISCONNECT): b may open more.
	if err := a.Umount(); err != nil {
		t.Fatal(err)
	}
	waitOpens(t, srv, 2)
	createN(t, b, "c", 1)
	wantInsufficientResources(t, b, "c1") // MaxOpensPerSession
	waitOpens(t, srv, 3)
}

// TestOpensReleasedOnLogoff: named-pipe opens count; the opens of a
// session that ends (logoff, connection closed) are no longer counted.
// The client asks for no durable handles: those outlive the logoff
// (durable.go) and are counted until their timeout.
func TestOpensReleasedOnLogoff(t *testing.T) {
	addr, srv := startServerWith(t, memfs.New(memfs.Options{}), true, server.Limits{MaxOpens: 4})
	s, err := (&client.Dialer{User: "alice", Password: "pw", RequireSigning: true, NoDurable: true}).Dial(t.Context(), addr)
	if err != nil {
		t.Fatal(err)
	}
	sh, err := s.Mount(t.Context(), "share")
	if err != nil {
		t.Fatal(err)
	}
	createN(t, sh, "x", 3)
	if _, err := s.Shares(t.Context()); err != nil { // a pipe open on IPC$, closed again
		t.Fatal(err)
	}
	createN(t, sh, "y", 1)
	// Named pipes count too.
	if _, err := s.Shares(t.Context()); !errors.Is(err, ntstatus.InsufficientResources) {
		t.Fatalf("srvsvc pipe past MaxOpens: %v", err)
	}
	wantInsufficientResources(t, sh, "x4")
	s.Close()
	waitOpens(t, srv, 0)
	createN(t, mountShare(t, addr), "z", 4)
}

// TestOpenLimitConcurrent: CREATEs racing from several sessions never get
// more opens than MaxOpens between them.
func TestOpenLimitConcurrent(t *testing.T) {
	const limit, sessions, each = 7, 4, 6
	addr, srv := startServerWith(t, memfs.New(memfs.Options{}), true, server.Limits{MaxOpens: limit})
	var wg sync.WaitGroup
	var granted, refused atomic.Int32
	for s := 0; s < sessions; s++ {
		sh := mountShare(t, addr)
		for i := 0; i < each; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := sh.Create(fmt.Sprintf("f%d-%d", s, i))
				switch {
				case err == nil:
					granted.Add(1)
				case errors.Is(err, ntstatus.InsufficientResources):
					refused.Add(1)
				default:
					t.Error(err)
				}
			}()
		}
	}
	wg.Wait()
	if granted.Load() != limit || refused.Load() != sessions*each-limit {
		t.Fatalf("%d creates granted, %d refused; want %d granted", granted.Load(), refused.Load(), limit)
	}
	waitOpens(t, srv, limit)
}
