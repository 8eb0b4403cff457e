package server

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"sync/atomic"
	"testing"

	"github.com/signetsmb/signet/internal/fscc"
	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
	"github.com/signetsmb/signet/vfs"
	"github.com/signetsmb/signet/vfs/localfs"
	"github.com/signetsmb/signet/vfs/memfs"
)

// nameList is a vfs.NameReader over a fixed listing.
type nameList struct {
	names []string
	pos   int
	calls int
}

func (l *nameList) ReadDirNames(n int) ([]string, error) {
	l.calls++
	end := min(len(l.names), l.pos+n)
	out := l.names[l.pos:end]
	l.pos = end
	if len(out) == 0 {
		return nil, io.EOF
	}
	return out, nil
}

// TestFoldNames: a name is found whatever its case, past the first batch,
// with Unicode case folding; a missing name reads the whole listing once.
func TestFoldNames(t *testing.T) {
	names := make([]string, 3000)
	for i := range names {
		names[i] = fmt.Sprintf("file%04d", i)
	}
	names[2500] = "Ärger.TXT"
	if got, ok := foldNames(&nameList{names: names}, "äRGER.txt"); !ok || got != "Ärger.TXT" {
		t.Fatalf("found %q, %v", got, ok)
	}
	l := &nameList{names: names}
	if got, ok := foldNames(l, "absent"); ok {
		t.Fatalf("found %q for a missing name", got)
	}
	if l.pos != len(names) || l.calls != 4 {
		t.Fatalf("missing name: read %d names in %d calls", l.pos, l.calls)
	}
}

// TestCreateCaseInsensitiveLocalfs is TestCreateCaseInsensitive on
// localfs, whose folders list names without describing entries.
func TestCreateCaseInsensitiveLocalfs(t *testing.T) {
	fsys, err := localfs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer fsys.Close()
	tc := newSessionTester(t, &testerConfig{FS: fsys}, wire.Dialect311)
	tc.mustMkdir("Dir")
	tc.closeFile(tc.mustCreate(`Dir\MixedCase.TXT`))
	id, st := tc.openFile(`DIR\mixedcase.txt`, wire.FileOpen, 0)
	if st != ntstatus.Success {
		t.Fatalf("open with other case: %v", st)
	}
	name, _ := tc.queryInfo(id, wire.InfoFile, uint8(fscc.FileNameInformation), 256, 0)
	if len(name) < 4 || wire.DecodeUTF16(name[4:]) != `\Dir\MixedCase.TXT` {
		t.Fatalf("FileNameInformation %q", name)
	}
	if _, st := tc.openFile(`dir\other.txt`, wire.FileOpen, 0); st != ntstatus.ObjectNameNotFound {
		t.Fatalf("missing name: %v", st)
	}
}

// namesFS is a backend whose folders list names (vfs.NameReader) and
// count the ReadDir calls that describe entries.
type namesFS struct {
	vfs.FS
	readDirs atomic.Int64
}

func (f *namesFS) OpenFile(ctx context.Context, name string, flag int, perm fs.FileMode) (vfs.File, error) {
	file, err := f.FS.OpenFile(ctx, name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &namesFile{File: file, fs: f}, nil
}

type namesFile struct {
	vfs.File
	fs *namesFS
}

func (f *namesFile) ReadDir(n int) ([]vfs.FileInfo, error) {
	f.fs.readDirs.Add(1)
	return f.File.ReadDir(n)
}

func (f *namesFile) ReadDirNames(n int) ([]string, error) {
	ents, err := f.File.ReadDir(n)
	names := make([]string, len(ents))
	for i, e := range ents {
		names[i] = e.Name
	}
	return names, err
}

// TestCreateLooksUpNamesOnly: creating a new file, and opening one by a
// name in another case, read the folder's names without describing its
// entries when the backend can (on localfs, describing costs a statx per
// entry).
func TestCreateLooksUpNamesOnly(t *testing.T) {
	fsys := &namesFS{FS: memfs.New(memfs.Options{})}
	tc := newSessionTester(t, &testerConfig{FS: fsys}, wire.Dialect311)
	for i := range 20 {
		tc.closeFile(tc.mustCreate(fmt.Sprintf("other%d", i)))
	}
	tc.closeFile(tc.mustCreate("New.txt"))
	id, st := tc.openFile("NEW.TXT", wire.FileOpen, 0)
	if st != ntstatus.Success {
		t.Fatalf("open with other case: %v", st)
	}
	tc.closeFile(id)
	if n := fsys.readDirs.Load(); n != 0 {
		t.Fatalf("%d ReadDir calls for lookups ignoring case", n)
	}
}
