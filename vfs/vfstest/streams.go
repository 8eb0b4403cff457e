package vfstest

import (
	"errors"
	"io"
	"io/fs"
	"os"

	"github.com/signetsmb/signet/vfs"
)

// streamNames returns the names Streams lists for name.
func (h *tester) streamNames(sfs vfs.StreamFS, name string) []string {
	h.t.Helper()
	ss, err := sfs.Streams(h.ctx, name)
	noErr(h.t, err, "Streams "+name)
	var out []string
	for _, s := range ss {
		out = append(out, s.Name)
	}
	return out
}

func (h *tester) streamFS() vfs.StreamFS {
	sfs, ok := h.fs.(vfs.StreamFS)
	if !ok {
		h.t.Skip("FS does not implement vfs.StreamFS")
	}
	return sfs
}

// testStreams covers vfs.StreamFS: create, write, read back through
// another open, list, rename, remove; streams follow their file across a
// rename and go away with it; directories have streams too.
func testStreams(h *tester) {
	t := h.t
	sfs := h.streamFS()
	h.create("f", "main")
	s, err := sfs.OpenStream(h.ctx, "f", "one", os.O_RDWR|os.O_CREATE|os.O_EXCL)
	if errors.Is(err, vfs.ErrNotSupported) {
		t.Skip("file system cannot store streams")
	}
	noErr(t, err, "OpenStream create")
	_, err = s.WriteAt([]byte("hello"), 0)
	noErr(t, err, "WriteAt")
	_, err = s.WriteAt([]byte("!"), 7)
	noErr(t, err, "WriteAt past the end")
	fi, err := s.Stat()
	noErr(t, err, "Stat")
	base := h.stat("f")
	if fi.Size != 8 || fi.FileID != base.FileID || !fi.IsRegular() || fi.Name != "f" {
		t.Fatalf("stream Stat = %+v, file %+v", fi, base)
	}
	h.wantContent("f", "main") // the main stream is untouched
	r, err := sfs.OpenStream(h.ctx, "f", "one", os.O_RDONLY)
	noErr(t, err, "OpenStream")
	if got := h.readAll(r); got != "hello\x00\x00!" {
		t.Fatalf("stream content %q", got)
	}
	buf := make([]byte, 4)
	if n, err := r.ReadAt(buf, 6); n != 2 || err != io.EOF {
		t.Fatalf("ReadAt at the end = %d, %v", n, err)
	}
	_, err = r.WriteAt([]byte("x"), 0)
	wantErr(t, err, fs.ErrPermission, "WriteAt on a read-only stream")
	noErr(t, s.Truncate(2), "Truncate")
	if got := h.readAll(r); got != "he" {
		t.Fatalf("after Truncate %q", got)
	}
	_, err = sfs.OpenStream(h.ctx, "f", "one", os.O_RDWR|os.O_CREATE|os.O_EXCL)
	wantErr(t, err, fs.ErrExist, "OpenStream O_EXCL on an existing stream")
	_, err = sfs.OpenStream(h.ctx, "f", "missing", os.O_RDONLY)
	wantErr(t, err, fs.ErrNotExist, "OpenStream of a missing stream")
	_, err = sfs.OpenStream(h.ctx, "nofile", "one", os.O_RDWR|os.O_CREATE)
	wantErr(t, err, fs.ErrNotExist, "OpenStream on a missing file")

	t2, err := sfs.OpenStream(h.ctx, "f", "Two", os.O_RDWR|os.O_CREATE)
	noErr(t, err, "OpenStream second")
	noErr(t, t2.Close(), "Close")
	if got := h.streamNames(sfs, "f"); !equalStrings(got, []string{"Two", "one"}) {
		t.Fatalf("Streams = %q", got)
	}
	ss, _ := sfs.Streams(h.ctx, "f")
	if ss[1].Size != 2 {
		t.Fatalf("Streams size of one = %d", ss[1].Size)
	}
	wantErr(t, sfs.RenameStream(h.ctx, "f", "one", "Two", false), fs.ErrExist, "RenameStream onto an existing stream")
	noErr(t, sfs.RenameStream(h.ctx, "f", "one", "three", false), "RenameStream")
	if got := h.streamNames(sfs, "f"); !equalStrings(got, []string{"Two", "three"}) {
		t.Fatalf("Streams after rename = %q", got)
	}
	noErr(t, sfs.RenameStream(h.ctx, "f", "three", "Two", true), "RenameStream replacing")
	if got := h.streamNames(sfs, "f"); !equalStrings(got, []string{"Two"}) {
		t.Fatalf("Streams after replacing rename = %q", got)
	}
	wantErr(t, sfs.RenameStream(h.ctx, "f", "gone", "x", false), fs.ErrNotExist, "RenameStream of a missing stream")

	// Streams follow the file.
	noErr(t, h.fs.Rename(h.ctx, "f", "g", false), "Rename")
	if got := h.streamNames(sfs, "g"); !equalStrings(got, []string{"Two"}) {
		t.Fatalf("Streams after file rename = %q", got)
	}
	noErr(t, sfs.RemoveStream(h.ctx, "g", "Two"), "RemoveStream")
	wantErr(t, sfs.RemoveStream(h.ctx, "g", "Two"), fs.ErrNotExist, "RemoveStream twice")
	if got := h.streamNames(sfs, "g"); len(got) != 0 {
		t.Fatalf("Streams after remove = %q", got)
	}
	x, err := sfs.OpenStream(h.ctx, "g", "x", os.O_RDWR|os.O_CREATE)
	noErr(t, err, "OpenStream")
	noErr(t, x.Close(), "Close")
	noErr(t, h.fs.Remove(h.ctx, "g"), "Remove")
	h.create("g", "")
	if got := h.streamNames(sfs, "g"); len(got) != 0 {
		t.Fatalf("a new file inherits streams %q", got)
	}

	// Directories have streams too.
	h.mkdir("d")
	ds, err := sfs.OpenStream(h.ctx, "d", "ds", os.O_RDWR|os.O_CREATE)
	noErr(t, err, "OpenStream on a directory")
	if fi, _ := ds.Stat(); !fi.IsRegular() {
		t.Fatalf("directory stream Stat mode %v", fi.Mode)
	}
	_, err = ds.ReadDir(-1)
	wantErr(t, err, vfs.ErrNotDir, "ReadDir on a stream")
	noErr(t, ds.Close(), "Close")
	noErr(t, r.Close(), "Close")
	noErr(t, s.Close(), "Close")
	_, err = s.ReadAt(buf, 0)
	wantErr(t, err, fs.ErrClosed, "ReadAt after Close")
}

// testStreamEscape: a stream name is never a path. Names with separators,
// NUL or a second colon are refused; names like ".." create a stream of
// the file, nothing next to it; a file name escaping the root is refused
// as for OpenFile.
func testStreamEscape(h *tester) {
	t := h.t
	sfs := h.streamFS()
	h.mkdir("d")
	h.create("d/f", "x")
	for _, bad := range []string{"", "../../escape", "a/b", `..\..\escape`, "a:b", "a\x00b", "/etc/passwd"} {
		_, err := sfs.OpenStream(h.ctx, "d/f", bad, os.O_RDWR|os.O_CREATE)
		wantErr(t, err, vfs.ErrInvalidName, "OpenStream "+bad)
		wantErr(t, sfs.RenameStream(h.ctx, "d/f", "x", bad, false), vfs.ErrInvalidName, "RenameStream to "+bad)
	}
	for _, name := range []string{"../f", "/d/f", "d/../../f"} {
		_, err := sfs.OpenStream(h.ctx, name, "s", os.O_RDWR|os.O_CREATE)
		if err == nil {
			t.Errorf("OpenStream on %q succeeded", name)
		}
		if _, err := sfs.Streams(h.ctx, name); err == nil {
			t.Errorf("Streams on %q succeeded", name)
		}
	}
	for _, odd := range []string{"..", ".", "escape"} {
		s, err := sfs.OpenStream(h.ctx, "d/f", odd, os.O_RDWR|os.O_CREATE)
		if errors.Is(err, vfs.ErrNotSupported) {
			t.Skip("file system cannot store streams")
		}
		noErr(t, err, "OpenStream "+odd)
		_, err = s.WriteAt([]byte("data"), 0)
		noErr(t, err, "WriteAt")
		noErr(t, s.Close(), "Close")
	}
	if got := h.list("d"); !equalStrings(got, []string{"f"}) {
		t.Fatalf("directory after odd stream names = %q", got)
	}
	if got := h.list("."); !equalStrings(got, []string{"d"}) {
		t.Fatalf("root after odd stream names = %q", got)
	}
	h.wantContent("d/f", "x")
}

// testLargeStreams: a stream grown well past what an extended attribute
// holds reads back whole, keeps its size through Streams, a rename and a
// truncation, and goes away with its file.
func testLargeStreams(h *tester) {
	t := h.t
	sfs := h.streamFS()
	h.create("f", "main")
	s, err := sfs.OpenStream(h.ctx, "f", "big", os.O_RDWR|os.O_CREATE)
	if errors.Is(err, vfs.ErrNotSupported) {
		t.Skip("file system cannot store streams")
	}
	noErr(t, err, "OpenStream")
	_, err = s.WriteAt([]byte("head"), 0)
	noErr(t, err, "WriteAt small")
	big := make([]byte, 200<<10)
	for i := range big {
		big[i] = byte(i * 7)
	}
	_, err = s.WriteAt(big, 4)
	noErr(t, err, "WriteAt large")
	r, err := sfs.OpenStream(h.ctx, "f", "big", os.O_RDONLY)
	noErr(t, err, "OpenStream")
	got := h.readAll(r)
	if len(got) != 4+len(big) || got[:4] != "head" || got[4:] != string(big) {
		t.Fatalf("large stream reads back %d bytes", len(got))
	}
	if fi, _ := s.Stat(); fi.Size != int64(4+len(big)) {
		t.Fatalf("Stat size %d", fi.Size)
	}
	ss, err := sfs.Streams(h.ctx, "f")
	noErr(t, err, "Streams")
	if len(ss) != 1 || ss[0].Name != "big" || ss[0].Size != int64(4+len(big)) {
		t.Fatalf("Streams = %+v", ss)
	}
	noErr(t, sfs.RenameStream(h.ctx, "f", "big", "moved", false), "RenameStream")
	m, err := sfs.OpenStream(h.ctx, "f", "moved", os.O_RDWR)
	noErr(t, err, "OpenStream renamed")
	noErr(t, m.Truncate(10), "Truncate")
	if got := h.readAll(m); got != "head"+string(big[:6]) {
		t.Fatalf("after Truncate %q", got)
	}
	h.wantContent("f", "main")
	noErr(t, s.Close(), "Close")
	noErr(t, r.Close(), "Close")
	noErr(t, m.Close(), "Close")
	noErr(t, h.fs.Remove(h.ctx, "f"), "Remove")
	h.create("f", "")
	if got := h.streamNames(sfs, "f"); len(got) != 0 {
		t.Fatalf("a new file inherits streams %q", got)
	}
	if got := h.list("."); !equalStrings(got, []string{"f"}) {
		t.Fatalf("root lists %q", got)
	}
}
