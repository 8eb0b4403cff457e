package policy

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

const signingOn = "[server]\nrequire_signing = true\n" + shareData
const signingOff = "[server]\nrequire_signing = false\n" + shareData
const invalid = "[server]\nrole = \"emperor\"\n" + shareData

func newStore(t *testing.T, text string) (fixture, *Store) {
	t.Helper()
	f := newFixture(t)
	cfg, _ := f.load(t, text)
	return f, NewStore(cfg)
}

func TestStoreReload(t *testing.T) {
	f, s := newStore(t, signingOn)
	first := s.Current()
	var calls [][2]*Config
	s.Subscribe(func(old, new *Config) { calls = append(calls, [2]*Config{old, new}) })

	f.write(t, signingOff)
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	cur := s.Current()
	if cur == first || cur.RequireSigning {
		t.Fatalf("after reload RequireSigning = %v (same snapshot: %v)", cur.RequireSigning, cur == first)
	}
	if !first.RequireSigning {
		t.Error("reload modified the old snapshot")
	}
	if cur.Path != f.path || cur.Name != first.Name {
		t.Errorf("reloaded Path=%q Name=%q", cur.Path, cur.Name)
	}
	if len(calls) != 1 || calls[0][0] != first || calls[0][1] != cur {
		t.Errorf("subscriber calls = %v", calls)
	}
}

func TestStoreRejectsInvalidReload(t *testing.T) {
	f, s := newStore(t, signingOn)
	first := s.Current()
	notified := false
	s.Subscribe(func(_, _ *Config) { notified = true })

	f.write(t, invalid)
	err := s.Reload()
	if err == nil || !strings.Contains(err.Error(), f.path+": server.role") {
		t.Fatalf("Reload() = %v, want an error naming file and key", err)
	}
	if s.Current() != first {
		t.Error("invalid config replaced the current one")
	}
	if notified {
		t.Error("subscriber notified of a rejected config")
	}

	os.Remove(f.path)
	if err := s.Reload(); err == nil || s.Current() != first {
		t.Errorf("missing file: Reload() = %v, current replaced: %v", err, s.Current() != first)
	}
}

func TestStoreReloadWithoutFileIsNoop(t *testing.T) {
	cfg, _, err := LoadDefault(filepath.Join(t.TempDir(), "state"))
	if err != nil {
		t.Fatal(err)
	}
	s := NewStore(cfg)
	called := false
	s.Subscribe(func(_, _ *Config) { called = true })
	if err := s.Reload(); err != nil || s.Current() != cfg || called {
		t.Errorf("Reload() = %v; replaced: %v; notified: %v", err, s.Current() != cfg, called)
	}
}

func TestUnsubscribe(t *testing.T) {
	f, s := newStore(t, signingOn)
	var a, b int
	unA := s.Subscribe(func(_, _ *Config) { a++ })
	s.Subscribe(func(_, _ *Config) { b++ })
	f.write(t, signingOff)
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	unA()
	unA() // idempotent
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if a != 1 || b != 2 {
		t.Errorf("calls a=%d b=%d, want 1 and 2", a, b)
	}
}

func TestReloadAndLog(t *testing.T) {
	f, s := newStore(t, signingOn)
	var buf syncBuffer
	log := slog.New(slog.NewTextHandler(&buf, nil))

	f.write(t, "[server]\nrequire_signing = false\nenable_security_signature = true\n"+shareData)
	if err := s.ReloadAndLog(log, "test"); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.Contains(out, `msg="config reloaded: server.require_signing true -> false; server.enable_security_signature - -> true"`) {
		t.Errorf("reload line missing:\n%s", out)
	}
	if !strings.Contains(out, "level=WARN") || !strings.Contains(out, "has no effect on SMB2/SMB3") {
		t.Errorf("warning line missing:\n%s", out)
	}

	f.write(t, invalid)
	if err := s.ReloadAndLog(log, "test"); err == nil {
		t.Fatal("invalid config accepted")
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	last := lines[len(lines)-1]
	if !strings.Contains(last, "level=ERROR") || !strings.Contains(last, "config rejected") || !strings.Contains(last, `unknown role \"emperor\"`) {
		t.Errorf("rejection line = %s", last)
	}
}

// Readers never see a torn or nil snapshot while reloads swap it.
func TestConcurrentCurrent(t *testing.T) {
	f, s := newStore(t, signingOn)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				c := s.Current()
				if c == nil || len(c.Shares) != 1 || c.Shares[0].Name != "data" {
					t.Errorf("bad snapshot %+v", c)
					return
				}
				_ = c.RequireSigning
			}
		})
	}
	for i := range 20 {
		text := signingOn
		if i%2 == 1 {
			text = signingOff
		}
		f.write(t, text)
		if err := s.Reload(); err != nil {
			t.Error(err)
		}
	}
	close(stop)
	wg.Wait()
}

// A reload of a file others can write keeps the previous snapshot and
// logs why; fixing the mode lets the next reload through.
func TestReloadRefusesWritableFile(t *testing.T) {
	f, s := newStore(t, signingOn)
	first := s.Current()
	var buf syncBuffer
	log := slog.New(slog.NewTextHandler(&buf, nil))

	f.write(t, signingOff)
	chmod(t, f.path, 0o666)
	if err := s.ReloadAndLog(log, "test"); err == nil {
		t.Fatal("world-writable config accepted")
	}
	if s.Current() != first || !s.Current().RequireSigning {
		t.Error("world-writable config replaced the snapshot")
	}
	out := buf.String()
	if !strings.Contains(out, "level=ERROR") || !strings.Contains(out, "config rejected, keeping the previous one: "+f.path+": refusing a world-writable config file (mode 0666)") {
		t.Errorf("rejection line:\n%s", out)
	}

	chmod(t, f.path, 0o644)
	if err := s.Reload(); err != nil || s.Current().RequireSigning {
		t.Errorf("after chmod 644: Reload() = %v, RequireSigning = %v", err, s.Current().RequireSigning)
	}
}
