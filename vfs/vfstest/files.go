package vfstest

import (
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/signetsmb/signet/vfs"
)

func testOpenFlags(h *tester) {
	t := h.t
	_, err := h.fs.OpenFile(h.ctx, "f", os.O_RDONLY, 0)
	wantErr(t, err, fs.ErrNotExist, "open missing file")
	_, err = h.fs.OpenFile(h.ctx, "missing/f", os.O_RDWR|os.O_CREATE, 0o644)
	wantErr(t, err, fs.ErrNotExist, "create in missing dir")

	h.create("f", "hello")
	_, err = h.fs.OpenFile(h.ctx, "f", os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	wantErr(t, err, fs.ErrExist, "O_CREATE|O_EXCL on existing file")
	h.wantContent("f", "hello")

	// O_CREATE without O_EXCL opens the existing file unchanged.
	f := h.open("f", os.O_RDWR|os.O_CREATE)
	if got := h.readAll(f); got != "hello" {
		t.Errorf("O_CREATE on existing file: content %q, want %q", got, "hello")
	}

	before := h.stat("f").FileID
	h.open("f", os.O_WRONLY|os.O_TRUNC)
	if fi := h.stat("f"); fi.Size != 0 || fi.FileID != before {
		t.Errorf("after O_TRUNC: size %d id %d, want size 0 id %d", fi.Size, fi.FileID, before)
	}

	for _, flag := range []int{
		os.O_RDONLY | os.O_APPEND,
		os.O_RDONLY | os.O_TRUNC,
		os.O_WRONLY | os.O_RDWR,
	} {
		_, err := h.fs.OpenFile(h.ctx, "f", flag, 0)
		wantErr(t, err, fs.ErrInvalid, "open with invalid flag")
	}
	testAccessModes(h)
}

// testAccessModes checks that reads and writes need the matching access.
func testAccessModes(h *tester) {
	t := h.t
	h.create("g", "data")
	ro := h.open("g", os.O_RDONLY)
	_, err := ro.WriteAt([]byte("x"), 0)
	wantErr(t, err, fs.ErrPermission, "WriteAt on O_RDONLY file")
	wantErr(t, ro.Truncate(0), fs.ErrPermission, "Truncate on O_RDONLY file")

	wo := h.open("g", os.O_WRONLY)
	_, err = wo.ReadAt(make([]byte, 4), 0)
	wantErr(t, err, fs.ErrPermission, "ReadAt on O_WRONLY file")
	if _, err := wo.WriteAt([]byte("D"), 0); err != nil {
		t.Errorf("WriteAt on O_WRONLY file: %v", err)
	}
	h.wantContent("g", "Data")
}

func testOpenDirectory(h *tester) {
	t := h.t
	h.mkdir("d")
	for _, name := range []string{"", ".", "d"} {
		f := h.open(name, os.O_RDONLY)
		fi, err := f.Stat()
		noErr(t, err, "Stat")
		if !fi.IsDir() || fi.Mode&fs.ModeDir == 0 {
			t.Errorf("Stat(%q).Mode = %v, want a directory", name, fi.Mode)
		}
		_, err = f.ReadAt(make([]byte, 1), 0)
		wantErr(t, err, vfs.ErrIsDir, "ReadAt on a directory")
	}
	for _, flag := range []int{os.O_WRONLY, os.O_RDWR, os.O_RDONLY | os.O_CREATE} {
		_, err := h.fs.OpenFile(h.ctx, "d", flag, 0o644)
		wantErr(t, err, vfs.ErrIsDir, "open directory for writing or creation")
	}
	_, err := h.fs.OpenFile(h.ctx, "d", os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o644)
	wantErr(t, err, fs.ErrExist, "O_CREATE|O_EXCL on a directory")
}

func testOpenThroughFile(h *tester) {
	t := h.t
	h.create("f", "x")
	_, err := h.fs.OpenFile(h.ctx, "f/x", os.O_RDWR|os.O_CREATE, 0o644)
	wantErr(t, err, vfs.ErrNotDir, "create below a regular file")
	_, err = h.fs.Stat(h.ctx, "f/x")
	wantErr(t, err, vfs.ErrNotDir, "Stat below a regular file")
	wantErr(t, h.fs.Mkdir(h.ctx, "f/d", 0o755), vfs.ErrNotDir, "Mkdir below a regular file")
}

func testReadWriteAt(h *tester) {
	t := h.t
	f := h.open("f", os.O_RDWR|os.O_CREATE)
	for _, w := range []struct {
		off  int64
		data string
	}{{0, "hello world"}, {6, "WORLD"}, {11, "!"}} {
		n, err := f.WriteAt([]byte(w.data), w.off)
		if n != len(w.data) || err != nil {
			t.Fatalf("WriteAt(%q, %d) = %d, %v", w.data, w.off, n, err)
		}
	}
	if got := h.readAll(f); got != "hello WORLD!" {
		t.Errorf("content %q, want %q", got, "hello WORLD!")
	}
	buf := make([]byte, 5)
	if n, err := f.ReadAt(buf, 6); n != 5 || err != nil || string(buf) != "WORLD" {
		t.Errorf("ReadAt(5, 6) = %d, %v, %q", n, err, buf[:n])
	}
	if n, err := f.ReadAt(buf, 9); n != 3 || err != io.EOF || string(buf[:n]) != "LD!" {
		t.Errorf("ReadAt across EOF = %d, %v, %q; want 3, EOF, LD!", n, err, buf[:n])
	}
	if n, err := f.ReadAt(buf, 100); n != 0 || err != io.EOF {
		t.Errorf("ReadAt past EOF = %d, %v; want 0, EOF", n, err)
	}
	_, err := f.ReadAt(buf, -1)
	wantErr(t, err, fs.ErrInvalid, "ReadAt at negative offset")
	_, err = f.WriteAt(buf, -1)
	wantErr(t, err, fs.ErrInvalid, "WriteAt at negative offset")
}

func testSparseWrite(h *tester) {
	t := h.t
	const off = 1 << 20
	f := h.open("sparse", os.O_RDWR|os.O_CREATE)
	_, err := f.WriteAt([]byte("tail"), off)
	noErr(t, err, "WriteAt past EOF")
	fi, err := f.Stat()
	noErr(t, err, "Stat")
	if fi.Size != off+4 {
		t.Fatalf("size after sparse write = %d, want %d", fi.Size, off+4)
	}
	buf := make([]byte, off+4)
	n, err := f.ReadAt(buf, 0)
	if n != len(buf) || (err != nil && err != io.EOF) {
		t.Fatalf("ReadAt = %d, %v", n, err)
	}
	if !zeros(buf[:off]) || string(buf[off:]) != "tail" {
		t.Errorf("sparse file: hole is not zero or tail %q is wrong", buf[off:])
	}
}

func testTruncate(h *tester) {
	t := h.t
	f := h.open("f", os.O_RDWR|os.O_CREATE)
	_, err := f.WriteAt([]byte("0123456789"), 0)
	noErr(t, err, "WriteAt")
	noErr(t, f.Truncate(4), "Truncate shrink")
	if got := h.readAll(f); got != "0123" {
		t.Errorf("after shrink: %q, want %q", got, "0123")
	}
	// Growing again must not resurrect the truncated bytes.
	noErr(t, f.Truncate(8), "Truncate grow")
	if got := h.readAll(f); got != "0123\x00\x00\x00\x00" {
		t.Errorf("after grow: %q, want zeros after 0123", got)
	}
	if fi := h.stat("f"); fi.Size != 8 {
		t.Errorf("Stat size = %d, want 8", fi.Size)
	}
	wantErr(t, f.Truncate(-1), fs.ErrInvalid, "Truncate(-1)")

	h.mkdir("d")
	d := h.open("d", os.O_RDONLY)
	wantErr(t, d.Truncate(0), vfs.ErrIsDir, "Truncate on a directory")
}

func testStatFields(h *tester) {
	t := h.t
	h.create("a", "12345")
	h.create("b", "")
	h.mkdir("d")
	a, b, d := h.stat("a"), h.stat("b"), h.stat("d")
	if a.Name != "a" || a.Size != 5 || !a.Mode.IsRegular() || a.IsDir() {
		t.Errorf("Stat(a) = %+v, want regular file a of size 5", a)
	}
	if a.Mode.Perm()&0o400 == 0 {
		t.Errorf("Stat(a).Mode = %v, want owner read permission", a.Mode)
	}
	if a.Nlink != 1 {
		t.Errorf("Stat(a).Nlink = %d, want 1", a.Nlink)
	}
	if a.ModTime.IsZero() || a.ChangeTime.IsZero() || a.AccessTime.IsZero() {
		t.Errorf("Stat(a) has zero mtime, ctime or atime: %+v", a)
	}
	if !d.IsDir() || d.Name != "d" || d.Nlink < 2 {
		t.Errorf("Stat(d) = %+v, want directory with nlink >= 2", d)
	}
	ids := map[uint64]string{}
	for _, fi := range []vfs.FileInfo{a, b, d, h.stat(".")} {
		if fi.FileID == 0 {
			t.Errorf("Stat(%s).FileID = 0", fi.Name)
		}
		if other, dup := ids[fi.FileID]; dup {
			t.Errorf("%s and %s share FileID %d", fi.Name, other, fi.FileID)
		}
		ids[fi.FileID] = fi.Name
	}
	f := h.open("a", os.O_RDONLY)
	fi, err := f.Stat()
	noErr(t, err, "File.Stat")
	if fi.Name != "a" || fi.FileID != a.FileID || fi.Size != 5 {
		t.Errorf("File.Stat = %+v, want same file as Stat(a) %+v", fi, a)
	}
}

func testFileIDStable(h *tester) {
	t := h.t
	h.mkdir("d")
	h.create("d/f", "x")
	id, dirID := h.stat("d/f").FileID, h.stat("d").FileID
	noErr(t, h.fs.Rename(h.ctx, "d/f", "g", false), "rename file")
	if got := h.stat("g").FileID; got != id {
		t.Errorf("FileID after rename = %d, want %d", got, id)
	}
	noErr(t, h.fs.Rename(h.ctx, "d", "e", false), "rename dir")
	if got := h.stat("e").FileID; got != dirID {
		t.Errorf("directory FileID after rename = %d, want %d", got, dirID)
	}
}

func testClosedFile(h *tester) {
	t := h.t
	f := h.open("f", os.O_RDWR|os.O_CREATE)
	noErr(t, f.Close(), "Close")
	buf := make([]byte, 1)
	_, err := f.ReadAt(buf, 0)
	wantErr(t, err, fs.ErrClosed, "ReadAt after Close")
	_, err = f.WriteAt(buf, 0)
	wantErr(t, err, fs.ErrClosed, "WriteAt after Close")
	_, err = f.Stat()
	wantErr(t, err, fs.ErrClosed, "Stat after Close")
	wantErr(t, f.Truncate(0), fs.ErrClosed, "Truncate after Close")
	wantErr(t, f.Sync(), fs.ErrClosed, "Sync after Close")
	wantErr(t, f.Close(), fs.ErrClosed, "second Close")

	d := h.open(".", os.O_RDONLY)
	noErr(t, d.Close(), "Close dir")
	_, err = d.ReadDir(-1)
	wantErr(t, err, fs.ErrClosed, "ReadDir after Close")
}

func testSync(h *tester) {
	t := h.t
	f := h.open("f", os.O_RDWR|os.O_CREATE)
	_, err := f.WriteAt([]byte(strings.Repeat("s", 4096)), 0)
	noErr(t, err, "WriteAt")
	noErr(t, f.Sync(), "Sync file")
	noErr(t, h.open(".", os.O_RDONLY).Sync(), "Sync directory")
	noErr(t, h.open("f", os.O_RDONLY).Sync(), "Sync read-only file")
}

func testStatFS(h *tester) {
	t := h.t
	info, err := h.fs.StatFS(h.ctx)
	noErr(t, err, "StatFS")
	if info.TotalBytes == 0 || info.FreeBytes > info.TotalBytes || info.AvailBytes > info.FreeBytes {
		t.Errorf("StatFS sizes inconsistent: %+v", info)
	}
	if info.BlockSize == 0 || info.MaxNameLen < 255 || info.FSName == "" {
		t.Errorf("StatFS = %+v, want block size, MaxNameLen >= 255 and a name", info)
	}
}
