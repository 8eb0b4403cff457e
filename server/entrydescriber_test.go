package server

import (
	"context"
	"io/fs"
	"path"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/signetsmb/signet/internal/fscc"
	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
	"github.com/signetsmb/signet/vfs"
	"github.com/signetsmb/signet/vfs/memfs"
)

// describingFS counts the by-name Stat calls for entries of "d" and
// gives its directory handles vfs.EntryDescriber, counting those calls.
type describingFS struct {
	vfs.FS
	byName, byHandle atomic.Int32
}

func (d *describingFS) Stat(ctx context.Context, name string) (vfs.FileInfo, error) {
	if strings.HasPrefix(name, "d/") {
		d.byName.Add(1)
	}
	return d.FS.Stat(ctx, name)
}

func (d *describingFS) OpenFile(ctx context.Context, name string, flag int, perm fs.FileMode) (vfs.File, error) {
	f, err := d.FS.OpenFile(ctx, name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &describingDir{File: f, fs: d, dir: name}, nil
}

type describingDir struct {
	vfs.File
	fs  *describingFS
	dir string
}

func (f *describingDir) StatEntry(name string) (vfs.FileInfo, error) {
	f.fs.byHandle.Add(1)
	return f.fs.FS.Stat(context.Background(), path.Join(f.dir, name))
}
func (f *describingDir) EntryMeta(string) ([]byte, error) { return nil, nil }
func (f *describingDir) EntryEAs(string) ([]vfs.EA, error) {
	return nil, nil
}

// TestListingDescribesThroughHandle: a listing describes its entries
// through the open directory when the backend offers
// vfs.EntryDescriber, not by a lookup from the share root per entry.
func TestListingDescribesThroughHandle(t *testing.T) {
	dfs := &describingFS{FS: memfs.New(memfs.Options{})}
	tc := newTester(t, &testerConfig{FS: dfs})
	tc.negotiate(wire.Dialect311)
	tc.mustSessionSetup("alice", "pw")
	tc.mustTreeConnect("share")
	dir := tc.populate("d", "a", "b", "c", "sub/")
	dfs.byName.Store(0)
	names, st := tc.listDir(dir, fscc.FileIDBothDirectoryInformation, "*", 64<<10)
	if st != ntstatus.NoMoreFiles || len(names) != 6 {
		t.Fatalf("listing: %v, %v", names, st)
	}
	if n := dfs.byHandle.Load(); n != 4 {
		t.Errorf("%d entries described through the directory handle, want 4", n)
	}
	if n := dfs.byName.Load(); n != 0 {
		t.Errorf("%d entries looked up by name from the root", n)
	}
}
