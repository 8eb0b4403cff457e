//go:build linux

package localfs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signetsmb/signet/vfs"
)

// TestSidecars: a large stream lives in the hidden sidecar directory,
// which clients can neither list nor name, and which goes with the file's
// last link (Remove, and Rename replacing it).
func TestSidecars(t *testing.T) {
	dir := t.TempDir()
	l, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx := t.Context()
	write := func(name string) {
		f, err := l.OpenFile(ctx, name, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		s, err := l.OpenStream(ctx, name, "AFP_Resource", os.O_RDWR|os.O_CREATE)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.WriteAt(make([]byte, 10000), 0); err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	write("a")
	ids, _ := os.ReadDir(filepath.Join(dir, sidecarDir))
	if len(ids) != 1 {
		t.Fatalf("%d sidecar directories", len(ids))
	}
	root, _ := l.OpenFile(ctx, ".", os.O_RDONLY, 0)
	ents, _ := root.ReadDir(-1)
	if len(ents) != 1 || ents[0].Name != "a" {
		t.Fatalf("root lists %v", ents)
	}
	// The names alone, first on a fresh listing, leave it out too.
	if err := root.RewindDir(); err != nil {
		t.Fatal(err)
	}
	if names, err := root.(vfs.NameReader).ReadDirNames(-1); err != nil || len(names) != 1 || names[0] != "a" {
		t.Fatalf("root's names %q, %v", names, err)
	}
	if err := root.RewindDir(); err != nil { // FindFold reads the folder itself
		t.Fatal(err)
	}
	if n, found, err := root.(vfs.FoldFinder).FindFold(strings.ToUpper(sidecarDir)); found || err != nil {
		t.Fatalf("FindFold finds the sidecar folder: %q, %v", n, err)
	}
	root.Close()
	for _, name := range []string{sidecarDir, sidecarDir + "/" + ids[0].Name(), sidecarDir + "/x"} {
		if _, err := l.OpenFile(ctx, name, os.O_RDONLY, 0); !errors.Is(err, vfs.ErrInvalidName) {
			t.Errorf("OpenFile %q: %v", name, err)
		}
		if _, err := l.Stat(ctx, name); !errors.Is(err, vfs.ErrInvalidName) {
			t.Errorf("Stat %q: %v", name, err)
		}
		if err := l.Remove(ctx, name); !errors.Is(err, vfs.ErrInvalidName) {
			t.Errorf("Remove %q: %v", name, err)
		}
	}
	if err := l.Rename(ctx, "a", sidecarDir+"/x", false); !errors.Is(err, vfs.ErrInvalidName) {
		t.Errorf("Rename into the sidecars: %v", err)
	}
	if err := l.Remove(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if ids, _ := os.ReadDir(filepath.Join(dir, sidecarDir)); len(ids) != 0 {
		t.Fatalf("sidecars left after Remove: %d", len(ids))
	}
	write("b")
	write("c")
	if err := l.Rename(ctx, "c", "b", true); err != nil {
		t.Fatal(err)
	}
	if ids, _ := os.ReadDir(filepath.Join(dir, sidecarDir)); len(ids) != 1 {
		t.Fatalf("sidecars after a replacing rename: %d, want 1", len(ids))
	}
	ss, err := l.Streams(ctx, "b")
	if err != nil || len(ss) != 1 || ss[0].Size != 10000 {
		t.Fatalf("streams of the survivor: %+v %v", ss, err)
	}
	if err := l.Mkdir(ctx, "d", 0o755); err != nil {
		t.Fatal(err)
	}
	s, err := l.OpenStream(ctx, "d", "big", os.O_RDWR|os.O_CREATE)
	if err != nil {
		t.Fatal(err)
	}
	s.WriteAt(make([]byte, 5000), 0)
	s.Close()
	if ids, _ := os.ReadDir(filepath.Join(dir, sidecarDir)); len(ids) != 2 {
		t.Fatalf("sidecars with a directory's stream: %d, want 2", len(ids))
	}
	if err := l.Remove(ctx, "d"); err != nil {
		t.Fatal(err)
	}
	if ids, _ := os.ReadDir(filepath.Join(dir, sidecarDir)); len(ids) != 1 {
		t.Fatalf("sidecars after removing the directory: %d, want 1", len(ids))
	}
}
