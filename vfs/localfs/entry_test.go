//go:build linux

package localfs_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/signetsmb/signet/vfs"
)

// TestEntryDescriber: describing entries through an open directory
// (vfs.EntryDescriber, what a folder listing uses) gives what the
// by-name calls give: FS.Stat (links inside the root by their target,
// dangling ones by themselves), MetaFS.Meta and EAFS.EAsOf; names that
// are not plain entries of the directory are refused.
func TestEntryDescriber(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	fsys := mustNew(t, dir)
	if err := fsys.Mkdir(ctx, "d", 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := fsys.OpenFile(ctx, "d/file", os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("hello"), 0)
	xattrs := true
	if err := f.(vfs.MetaFile).SetMeta([]byte{7, 8, 9}); errors.Is(err, vfs.ErrNotSupported) {
		xattrs = false
	} else if err != nil {
		t.Fatal(err)
	}
	if xattrs {
		if err := f.(vfs.EAFile).SetEA("Colour", 0, []byte("blue")); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	if err := fsys.Mkdir(ctx, "d/sub", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("file", filepath.Join(dir, "d", "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/nowhere", filepath.Join(dir, "d", "dangling")); err != nil {
		t.Fatal(err)
	}
	d, err := fsys.OpenFile(ctx, "d", os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ed, ok := d.(vfs.EntryDescriber)
	if !ok {
		t.Fatal("a localfs directory is not a vfs.EntryDescriber")
	}
	for _, name := range []string{"file", "sub", "link", "dangling"} {
		want, werr := fsys.Stat(ctx, "d/"+name)
		got, gerr := ed.StatEntry(name)
		if (werr == nil) != (gerr == nil) || !reflect.DeepEqual(got, want) {
			t.Errorf("StatEntry(%q) = %+v, %v; Stat gives %+v, %v", name, got, gerr, want, werr)
		}
		wm, werr := fsys.Meta(ctx, "d/"+name)
		gm, gerr := ed.EntryMeta(name)
		if (werr == nil) != (gerr == nil) || !reflect.DeepEqual(gm, wm) {
			t.Errorf("EntryMeta(%q) = %v, %v; Meta gives %v, %v", name, gm, gerr, wm, werr)
		}
		we, werr := fsys.EAsOf(ctx, "d/"+name)
		ge, gerr := ed.EntryEAs(name)
		if (werr == nil) != (gerr == nil) || !reflect.DeepEqual(ge, we) {
			t.Errorf("EntryEAs(%q) = %v, %v; EAsOf gives %v, %v", name, ge, gerr, we, werr)
		}
	}
	if xattrs {
		if m, _ := ed.EntryMeta("file"); len(m) != 3 {
			t.Errorf("EntryMeta(file) = %v, want the record written", m)
		}
		if e, _ := ed.EntryEAs("file"); len(e) != 1 {
			t.Errorf("EntryEAs(file) = %v, want the EA written", e)
		}
	}
	if _, err := ed.StatEntry("missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing entry: %v", err)
	}
	for _, bad := range []string{"", ".", "..", "../d", "sub/../file"} {
		if _, err := ed.StatEntry(bad); !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("StatEntry(%q): %v, want fs.ErrInvalid", bad, err)
		}
		if _, err := ed.EntryMeta(bad); !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("EntryMeta(%q): %v, want fs.ErrInvalid", bad, err)
		}
	}
	if _, err := f.(vfs.EntryDescriber).StatEntry("x"); err == nil {
		t.Error("StatEntry on a file (or a closed handle) succeeded")
	}
}
