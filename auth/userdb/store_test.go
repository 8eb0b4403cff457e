package userdb

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newTestStore(t *testing.T, path string) (*Store, *fakeClock, *syncBuffer) {
	t.Helper()
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	logs := &syncBuffer{}
	s, err := OpenStore(path, StoreOptions{Now: clock.Now, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return s, clock, logs
}

func TestStoreReloadsOnChange(t *testing.T) {
	path := usersPath(t)
	s, clock, _ := newTestStore(t, path) // file does not exist yet
	if _, ok := s.Lookup("alice"); ok {
		t.Fatal("user found in a missing file")
	}
	if err := Add(path, "alice", "pw1"); err != nil {
		t.Fatal(err)
	}
	// Within the interval the file is not looked at.
	clock.Advance(500 * time.Millisecond)
	if _, ok := s.Lookup("alice"); ok {
		t.Error("file re-read before the check interval passed")
	}
	clock.Advance(600 * time.Millisecond)
	if a, ok := s.Lookup("ALICE"); !ok || a.NTHash != NTHash("pw1") {
		t.Fatalf("after add: Lookup = %x, %v", a.NTHash, ok)
	}

	if err := Add(path, "alice", "pw2"); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	if a, _ := s.Lookup("alice"); a.NTHash != NTHash("pw2") {
		t.Errorf("password change not picked up")
	}

	if err := Delete(path, "alice"); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	if _, ok := s.Lookup("alice"); ok {
		t.Error("deleted user still found")
	}
	if err := Add(path, "bob", "pw"); err != nil {
		t.Fatal(err)
	}
	os.Remove(path)
	clock.Advance(time.Second)
	if users := s.Users(); len(users) != 0 {
		t.Errorf("users after the file was removed: %v", users)
	}
}

func TestStoreKeepsUsersOnBadFile(t *testing.T) {
	path := usersPath(t)
	if err := Add(path, "alice", "pw"); err != nil {
		t.Fatal(err)
	}
	s, clock, logs := newTestStore(t, path)

	writeFile(t, path, "alice:"+strings.Repeat("a", 32)+"\ngarbage\n", 0o600)
	for range 3 {
		clock.Advance(time.Second)
		if a, ok := s.Lookup("alice"); !ok || a.NTHash != NTHash("pw") {
			t.Fatalf("bad file replaced the users: %x, %v", a.NTHash, ok)
		}
	}
	if n := strings.Count(logs.String(), "users file rejected"); n != 1 {
		t.Errorf("rejection logged %d times, want once:\n%s", n, logs)
	}
	if !strings.Contains(logs.String(), path+":2: missing ':'") {
		t.Errorf("rejection does not give the line:\n%s", logs)
	}

	// World-writable: rejected; fixing only the mode is noticed.
	writeFile(t, path, "carol:"+strings.Repeat("c", 32)+"\n", 0o666)
	clock.Advance(time.Second)
	if _, ok := s.Lookup("carol"); ok {
		t.Error("world-writable file was loaded")
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	if _, ok := s.Lookup("carol"); !ok {
		t.Errorf("file not reloaded after chmod 600:\n%s", logs)
	}
}

func TestOpenStoreRejectsBadFile(t *testing.T) {
	path := usersPath(t)
	writeFile(t, path, "x\n", 0o600)
	if _, err := OpenStore(path, StoreOptions{Logger: slog.New(slog.DiscardHandler)}); err == nil {
		t.Error("OpenStore accepted a broken file")
	}
}

func TestNewStoreLoadsLazily(t *testing.T) {
	path := usersPath(t)
	s := NewStore(path) // missing: no users, no error
	if _, ok := s.Lookup("alice"); ok {
		t.Fatal("user found in a missing file")
	}
	if err := Add(path, "alice", "pw"); err != nil {
		t.Fatal(err)
	}
	s = NewStore(path)
	if a, ok := s.Lookup("Alice"); !ok || a.NTHash != NTHash("pw") {
		t.Errorf("first Lookup did not load the file: %x, %v", a.NTHash, ok)
	}
	if s.Path() != path {
		t.Errorf("Path() = %q", s.Path())
	}
}

func TestStoreConcurrentLookup(t *testing.T) {
	path := usersPath(t)
	if err := Add(path, "alice", "pw"); err != nil {
		t.Fatal(err)
	}
	s, err := OpenStore(path, StoreOptions{CheckInterval: time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 200 {
				if _, ok := s.Lookup("alice"); !ok {
					t.Error("alice missing during reloads")
					return
				}
			}
		})
	}
	for i := range 20 {
		if err := Add(path, "alice", "pw"+string(rune('a'+i))); err != nil {
			t.Error(err)
		}
	}
	wg.Wait()
}

// TestStoreOnReload: OnReload runs after each replacement of the users,
// from a Lookup or from Reload, and not when nothing changed.
func TestStoreOnReload(t *testing.T) {
	path := usersPath(t)
	if err := Add(path, "alice", "pw"); err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	var calls atomic.Int32
	var s *Store
	s, err := OpenStore(path, StoreOptions{Now: clock.Now, Logger: slog.New(slog.DiscardHandler),
		OnReload: func() {
			s.Reload() // would deadlock if the Store's lock were held
			if _, ok := s.Lookup("alice"); ok {
				t.Error("OnReload saw the old users")
			}
			calls.Add(1)
		}})
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	s.Lookup("alice") // unchanged file
	if err := Delete(path, "alice"); err != nil {
		t.Fatal(err)
	}
	s.Reload() // within the interval: Reload looks anyway
	if calls.Load() != 1 {
		t.Fatalf("OnReload called %d times after Reload, want 1", calls.Load())
	}
	if err := Add(path, "bob", "pw"); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	s.Lookup("bob")
	s.Reload() // unchanged since
	if calls.Load() != 2 {
		t.Fatalf("OnReload called %d times, want 2", calls.Load())
	}
}

// TestStoreWatch: with Watch running, a deletion is seen without any
// Lookup.
func TestStoreWatch(t *testing.T) {
	path := usersPath(t)
	if err := Add(path, "alice", "pw"); err != nil {
		t.Fatal(err)
	}
	reloaded := make(chan struct{}, 10)
	s, err := OpenStore(path, StoreOptions{CheckInterval: time.Hour, Logger: slog.New(slog.DiscardHandler),
		OnReload: func() { reloaded <- struct{}{} }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Watch(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Watch: %v", err)
		}
	}()
	time.Sleep(50 * time.Millisecond) // let the watcher register
	if err := Delete(path, "alice"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-reloaded:
	case <-time.After(5 * time.Second):
		t.Fatal("no reload after the file changed")
	}
	if _, ok := s.db.Load().Lookup("alice"); ok {
		t.Error("deleted user still there after the watched reload")
	}
}
