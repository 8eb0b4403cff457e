package policy

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// waitFor polls cond for up to 2 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func startWatch(t *testing.T, s *Store) *syncBuffer {
	t.Helper()
	var buf syncBuffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Watch(ctx, log) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Watch: %v", err)
			}
		case <-time.After(2 * time.Second):
			t.Error("Watch did not return after cancel")
		}
	})
	// Let the watcher register before changing files.
	time.Sleep(50 * time.Millisecond)
	return &buf
}

func TestWatchAtomicReplace(t *testing.T) {
	f, s := newStore(t, signingOn)
	changes := make(chan *Config, 10)
	s.Subscribe(func(_, new *Config) { changes <- new })
	log := startWatch(t, s)

	f.replace(t, signingOff)
	waitFor(t, "reload after rename-replace", func() bool { return !s.Current().RequireSigning })
	waitFor(t, "log line", func() bool {
		return strings.Contains(log.String(), "config reloaded: server.require_signing true -> false")
	})
	// Debounced: one atomic replace is one reload.
	time.Sleep(300 * time.Millisecond)
	if n := len(changes); n != 1 {
		t.Errorf("%d reloads for one replace, want 1\n%s", n, log.String())
	}

	// The watch survives the replace: the new inode is watched too.
	f.write(t, signingOn)
	waitFor(t, "reload after in-place write", func() bool { return s.Current().RequireSigning })
}

func TestWatchKeepsOldOnInvalid(t *testing.T) {
	f, s := newStore(t, signingOn)
	first := s.Current()
	log := startWatch(t, s)

	f.replace(t, invalid)
	waitFor(t, "rejection", func() bool { return strings.Contains(log.String(), "config rejected") })
	if s.Current() != first {
		t.Error("invalid file replaced the snapshot")
	}
	f.replace(t, signingOff)
	waitFor(t, "recovery", func() bool { return !s.Current().RequireSigning })
}

func TestWatchIgnoresOtherFiles(t *testing.T) {
	f, s := newStore(t, signingOn)
	first := s.Current()
	log := startWatch(t, s)
	if err := os.WriteFile(filepath.Join(f.dir, "other.toml"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if s.Current() != first || log.String() != "" {
		t.Errorf("reacted to another file:\n%s", log.String())
	}
}

func TestWatchWithoutFile(t *testing.T) {
	cfg, _, err := LoadDefault(filepath.Join(t.TempDir(), "state"))
	if err != nil {
		t.Fatal(err)
	}
	if err := NewStore(cfg).Watch(context.Background(), slog.New(slog.DiscardHandler)); err != nil {
		t.Errorf("Watch = %v", err)
	}
}

func TestReloadOnSignal(t *testing.T) {
	f, s := newStore(t, signingOn)
	var buf syncBuffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	sigs := make(chan os.Signal)
	done := make(chan struct{})
	go func() { s.ReloadOnSignal(context.Background(), log, sigs); close(done) }()

	f.write(t, signingOff)
	sigs <- syscall.SIGHUP
	waitFor(t, "reload on signal", func() bool { return !s.Current().RequireSigning })
	waitFor(t, "log line", func() bool { return strings.Contains(buf.String(), "trigger=\"signal hangup\"") })
	close(sigs)
	<-done
}

// Fixing the mode of a refused file is a change the watch reloads on.
func TestWatchReloadsAfterChmod(t *testing.T) {
	f, s := newStore(t, signingOn)
	first := s.Current()
	log := startWatch(t, s)

	f.write(t, signingOff)
	chmod(t, f.path, 0o666)
	waitFor(t, "rejection", func() bool { return strings.Contains(log.String(), "world-writable config file") })
	if s.Current() != first {
		t.Error("world-writable file replaced the snapshot")
	}
	chmod(t, f.path, 0o644)
	waitFor(t, "reload after chmod", func() bool { return !s.Current().RequireSigning })
}
