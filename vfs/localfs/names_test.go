package localfs_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/signetsmb/signet/vfs"
)

// TestReadDirNames: names in ReadDir's order, in batches, io.EOF at the
// end, the same listing as ReadDir when mixed, and a clear error on a
// file.
func TestReadDirNames(t *testing.T) {
	dir := t.TempDir()
	want := []string{"A", "b", "c.txt", "d"}
	for _, n := range want {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fsys := mustNew(t, dir)
	ctx := context.Background()
	d, err := fsys.OpenFile(ctx, ".", os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	nr, ok := d.(vfs.NameReader)
	if !ok {
		t.Fatal("localfs directory is not a vfs.NameReader")
	}
	got, err := nr.ReadDirNames(3)
	if err != nil || !slices.Equal(got, want[:3]) {
		t.Fatalf("first batch %q, %v", got, err)
	}
	rest, err := d.ReadDir(0)
	if err != nil || len(rest) != 1 || rest[0].Name != "d" {
		t.Fatalf("ReadDir after ReadDirNames: %v, %v", rest, err)
	}
	if got, err := nr.ReadDirNames(3); len(got) != 0 || err != io.EOF {
		t.Fatalf("at the end: %q, %v", got, err)
	}
	if err := d.RewindDir(); err != nil {
		t.Fatal(err)
	}
	if got, err := nr.ReadDirNames(0); err != nil || !slices.Equal(got, want) {
		t.Fatalf("after rewind, all: %q, %v", got, err)
	}
	f, err := fsys.OpenFile(ctx, "b", os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.(vfs.NameReader).ReadDirNames(1); !errors.Is(err, vfs.ErrNotDir) {
		t.Fatalf("ReadDirNames on a file: %v", err)
	}
}
