package admin

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func serveTest(t *testing.T, h Handler) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "a.sock")
	l, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { Serve(ctx, l, h, slog.New(slog.NewTextHandler(io.Discard, nil))) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	return path
}

func TestCall(t *testing.T) {
	path := serveTest(t, func(_ context.Context, r Request) (any, error) {
		if r.Op == "fail" {
			return nil, errors.New("it failed")
		}
		return map[string]any{"op": r.Op, "set": r.Set}, nil
	})
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode %v %v", fi.Mode(), err)
	}
	var out struct {
		Op  string
		Set []string
	}
	if err := Call(context.Background(), path, Request{Op: "status", Set: []string{"a=b"}}, &out); err != nil {
		t.Fatal(err)
	}
	if out.Op != "status" || len(out.Set) != 1 {
		t.Errorf("result %+v", out)
	}
	if err := Call(context.Background(), path, Request{Op: "fail"}, nil); err == nil || err.Error() != "it failed" {
		t.Errorf("error %v", err)
	}
	// A second server on the same socket is refused.
	if _, err := Listen(path); err == nil || !strings.Contains(err.Error(), "another signet server") {
		t.Errorf("second Listen: %v", err)
	}
	// Garbage gets an error, not a crash.
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("{not json\n"))
	b, _ := io.ReadAll(c)
	c.Close()
	if !strings.Contains(string(b), "malformed request") {
		t.Errorf("garbage answered %q", b)
	}
	c, _ = net.Dial("unix", path)
	go c.Write([]byte(strings.Repeat("x", maxRequest+10)))
	b, _ = io.ReadAll(c)
	c.Close()
	if !strings.Contains(string(b), "too large") {
		t.Errorf("huge request answered %q", b)
	}
}

func TestStaleSocketReplaced(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	l2, err := Listen(path)
	if err != nil {
		t.Fatalf("stale socket: %v", err)
	}
	l2.Close()
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(path); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("regular file: %v", err)
	}
	if err := Call(context.Background(), filepath.Join(t.TempDir(), "none.sock"), Request{Op: "status"}, nil); err == nil ||
		!strings.Contains(err.Error(), "no running server") {
		t.Errorf("no server: %v", err)
	}
}
