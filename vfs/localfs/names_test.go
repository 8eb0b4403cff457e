package localfs_test

import (
	"context"
	"errors"
	"fmt"
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
	want := []string{"A", "b", "c.txt", "d"}
	fsys, d := folderOf(t, want)
	ctx := context.Background()
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

// TestFindFold: a name is found ignoring case, in a folder larger than one
// getdents buffer too; a missing name is not; a listing under way is
// neither disturbed nor needed, and one started after starts at the
// first entry.
func TestFindFold(t *testing.T) {
	names := []string{"Alpha", "beta.TXT", "Gamma"}
	for i := range 3000 {
		names = append(names, fmt.Sprintf("file-%04d-Ω", i))
	}
	fsys, d := folderOf(t, names)
	ctx := context.Background()
	ff, ok := d.(vfs.FoldFinder)
	if !ok {
		t.Fatal("localfs directory is not a vfs.FoldFinder")
	}
	check := func(when string) {
		t.Helper()
		for q, want := range map[string]string{"ALPHA": "Alpha", "Beta.txt": "beta.TXT", "gamma": "Gamma",
			"FILE-2999-ω": "file-2999-Ω", "file-0000-Ω": "file-0000-Ω", "nope": "", ".": "", "..": "", "a/b": ""} {
			got, found, err := ff.FindFold(q)
			if err != nil || got != want || found != (want != "") {
				t.Errorf("%s: FindFold(%q) = %q, %v, %v; want %q", when, q, got, found, err, want)
			}
		}
	}
	check("fresh")
	all, err := d.ReadDir(0)
	if err != nil || len(all) != len(names) {
		t.Fatalf("ReadDir after FindFold: %d entries of %d, %v", len(all), len(names), err)
	}
	if err := d.RewindDir(); err != nil {
		t.Fatal(err)
	}
	first, err := d.ReadDir(2)
	if err != nil || len(first) != 2 {
		t.Fatal(len(first), err)
	}
	check("during a listing")
	rest, err := d.ReadDir(0)
	if err != nil || len(rest) != len(names)-2 || rest[0].Name <= first[1].Name {
		t.Fatalf("listing after FindFold: %d entries, %v", len(rest), err)
	}
	f, err := fsys.OpenFile(ctx, "Alpha", os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, _, err := f.(vfs.FoldFinder).FindFold("x"); !errors.Is(err, vfs.ErrNotDir) {
		t.Fatalf("FindFold on a file: %v", err)
	}
}

// folderOf makes a share holding empty files of the given names and
// returns it with its root open (closed when the test ends).
func folderOf(t *testing.T, names []string) (vfs.FS, vfs.File) {
	t.Helper()
	dir := t.TempDir()
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fsys := mustNew(t, dir)
	d, err := fsys.OpenFile(context.Background(), ".", os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return fsys, d
}
