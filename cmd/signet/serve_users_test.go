//go:build linux

package main

import (
	"context"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signetsmb/signet/auth/userdb"
	"github.com/signetsmb/signet/client"
)

// freeAddr returns a loopback address nothing listens on (a port the
// kernel just handed out and that was closed again).
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestServeEndsDeletedUsersSessions: `signet serve` follows the users
// file, so deleting a user ends that user's live session at once (well
// within the 30 s periodic revalidation), while another user's session
// goes on; runServe returns only after everything it started has ended.
func TestServeEndsDeletedUsersSessions(t *testing.T) {
	dir := t.TempDir()
	users := filepath.Join(dir, "users")
	for _, u := range []string{"alice", "bob"} {
		if err := userdb.Add(users, u, "pw-"+u); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "share"), 0o755); err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(dir, "signet.toml")
	toml := "[server]\nrequire_signing = true\nusers_file = \"users\"\n\n[[share]]\nname = \"share\"\npath = \"share\"\n"
	if err := os.WriteFile(config, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runServe(ctx, []string{"--config", config, "--listen", addr}) }()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("runServe: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("runServe did not return after cancel")
		}
	}()

	alice := mountAs(t, addr, "alice")
	bob := mountAs(t, addr, "bob")
	if err := userdb.Delete(users, "alice"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := fs.Stat(alice, ".")
		if err != nil && strings.Contains(err.Error(), "STATUS_USER_SESSION_DELETED") {
			break
		}
		if err != nil {
			t.Fatalf("alice's request: %v, want USER_SESSION_DELETED", err)
		}
		if time.Now().After(deadline) {
			t.Fatal("deleted user's session still usable 5 s after the users file changed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := fs.Stat(bob, "."); err != nil {
		t.Fatalf("bob's session: %v", err)
	}
}

// mountAs dials addr as user (password "pw-"+user), retrying while the
// server starts, and mounts "share".
func mountAs(t *testing.T, addr, user string) *client.Share {
	t.Helper()
	d := &client.Dialer{User: user, Password: "pw-" + user, RequireSigning: true}
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s, err := d.Dial(ctx, addr)
		if err == nil {
			sh, err := s.Mount(ctx, "share")
			cancel()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return sh
		}
		cancel()
		if time.Now().After(deadline) {
			t.Fatalf("dial %s as %s: %v", addr, user, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
