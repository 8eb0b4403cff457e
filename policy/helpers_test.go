package policy

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// fixture is a folder holding a config file and a share folder "data".
type fixture struct {
	dir  string
	path string // dir/signet.toml
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	return fixture{dir: dir, path: filepath.Join(dir, "signet.toml")}
}

// write replaces the config file in place.
func (f fixture) write(t *testing.T, text string) {
	t.Helper()
	if err := os.WriteFile(f.path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// replace swaps in new content atomically, as editors do.
func (f fixture) replace(t *testing.T, text string) {
	t.Helper()
	tmp := filepath.Join(f.dir, ".signet.toml.tmp")
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, f.path); err != nil {
		t.Fatal(err)
	}
}

func (f fixture) load(t *testing.T, text string) (*Config, []Warning) {
	t.Helper()
	f.write(t, text)
	c, warns, err := Load(f.path)
	if err != nil {
		t.Fatalf("Load: %v\n%s", err, text)
	}
	return c, warns
}

// loadAllowUnknown is load with LoadAllowUnknown.
func (f fixture) loadAllowUnknown(t *testing.T, text string) (*Config, []Warning) {
	t.Helper()
	f.write(t, text)
	c, warns, err := LoadAllowUnknown(f.path)
	if err != nil {
		t.Fatalf("LoadAllowUnknown: %v\n%s", err, text)
	}
	return c, warns
}

// loadErr loads text that must be rejected and returns the error.
func (f fixture) loadErr(t *testing.T, text string) error {
	t.Helper()
	f.write(t, text)
	c, _, err := Load(f.path)
	if err == nil {
		t.Fatalf("Load accepted invalid config (%+v):\n%s", c, text)
	}
	if c != nil {
		t.Errorf("Load returned a Config with error %v", err)
	}
	return err
}

const shareData = "\n[[share]]\nname = \"data\"\npath = \"data\"\n"

// fieldErrors flattens an error from Load into its FieldErrors.
func fieldErrors(err error) []*FieldError {
	var out []*FieldError
	var fe *FieldError
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			out = append(out, fieldErrors(e)...)
		}
		return out
	}
	if errors.As(err, &fe) {
		out = append(out, fe)
	}
	return out
}

func warningKeys(ws []Warning) []string {
	var keys []string
	for _, w := range ws {
		keys = append(keys, w.Key)
	}
	return keys
}

func findWarning(ws []Warning, key string) (Warning, bool) {
	for _, w := range ws {
		if w.Key == key {
			return w, true
		}
	}
	return Warning{}, false
}

// syncBuffer is a goroutine-safe log sink.
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
