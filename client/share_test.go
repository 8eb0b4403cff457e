package client

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"slices"
	"testing"
	"testing/fstest"
)

// TestShareFSConformance runs testing/fstest over a populated share.
func TestShareFSConformance(t *testing.T) {
	srv := newFakeServer(t, fakeOptions{})
	s := dialFake(t, srv, testDialer())
	sh := mountFake(t, s)
	for _, d := range []string{"a", "a/b", "empty"} {
		if err := sh.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, sh, "top.txt", []byte("top"))
	writeFile(t, sh, "a/one.txt", []byte("one"))
	writeFile(t, sh, "a/b/two.bin", randomBytes(t, 3000))
	if err := fstest.TestFS(sh, "top.txt", "a/one.txt", "a/b/two.bin", "empty"); err != nil {
		t.Fatal(err)
	}
}

// TestFileOffsetsAndModes covers Read, Seek, Write, O_APPEND, Truncate,
// ReadDir(n) and use after Close.
func TestFileOffsetsAndModes(t *testing.T) {
	srv := newFakeServer(t, fakeOptions{})
	sh := mountFake(t, dialFake(t, srv, testDialer()))
	f, err := sh.Create("f")
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, f, "hello world")
	if pos, err := f.Seek(-5, io.SeekEnd); pos != 6 || err != nil {
		t.Fatalf("Seek end: %d, %v", pos, err)
	}
	buf := make([]byte, 10)
	if n, err := f.Read(buf); n != 5 || err != nil || string(buf[:n]) != "world" {
		t.Fatalf("Read: %q, %v", buf[:n], err)
	}
	if n, err := f.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("Read at EOF: %d, %v", n, err)
	}
	if err := f.Truncate(5); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := f.Read(buf); !errors.Is(err, fs.ErrClosed) {
		t.Fatalf("Read after Close: %v", err)
	}
	if err := f.Close(); !errors.Is(err, fs.ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}

	a, err := sh.OpenFile("f", os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, a, "!")
	if _, err := a.Read(buf); !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("Read on O_WRONLY: %v", err)
	}
	if _, err := a.WriteAt([]byte("x"), 0); err == nil {
		t.Fatal("WriteAt on O_APPEND succeeded")
	}
	a.Close()
	if got, _ := sh.ReadFile("f"); string(got) != "hello!" {
		t.Fatalf("after append: %q", got)
	}
	r, _ := sh.Open("f")
	if _, err := r.(*File).Write([]byte("x")); !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("Write on O_RDONLY: %v", err)
	}
	r.Close()
}

func mustWrite(t *testing.T, f *File, s string) {
	t.Helper()
	if n, err := f.Write([]byte(s)); n != len(s) || err != nil {
		t.Fatalf("Write: %d, %v", n, err)
	}
}

// TestDirectoryOperations covers Mkdir, MkdirAll, ReadDir, Rename,
// Remove and RemoveAll.
func TestDirectoryOperations(t *testing.T) {
	srv := newFakeServer(t, fakeOptions{})
	sh := mountFake(t, dialFake(t, srv, testDialer()))
	if err := sh.MkdirAll("x/y/z", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := sh.MkdirAll("x/y", 0o755); err != nil {
		t.Fatalf("MkdirAll of an existing dir: %v", err)
	}
	for _, n := range []string{"x/f1", "x/f2", "x/y/f3"} {
		writeFile(t, sh, n, []byte(n))
	}
	if err := sh.MkdirAll("x/f1/sub", 0o755); err == nil {
		t.Fatal("MkdirAll through a file succeeded")
	}
	d, err := sh.Open("x")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for {
		es, err := d.(fs.ReadDirFile).ReadDir(1)
		for _, e := range es {
			names = append(names, e.Name())
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	d.Close()
	slices.Sort(names)
	if !slices.Equal(names, []string{"f1", "f2", "y"}) {
		t.Fatalf("ReadDir(1) loop: %v", names)
	}
	if err := sh.Remove("x"); err == nil {
		t.Fatal("Remove of a non-empty directory succeeded")
	}
	writeFile(t, sh, "x/f2", []byte("replaced"))
	if err := sh.Rename("x/f1", "x/f2"); err != nil {
		t.Fatalf("Rename over an existing file: %v", err)
	}
	if got, _ := sh.ReadFile("x/f2"); string(got) != "x/f1" {
		t.Fatalf("renamed content %q", got)
	}
	if err := sh.RemoveAll("x"); err != nil {
		t.Fatal(err)
	}
	if _, err := sh.Stat("x"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Stat after RemoveAll: %v", err)
	}
	if err := sh.RemoveAll("x"); err != nil {
		t.Fatalf("RemoveAll of nothing: %v", err)
	}
	if err := sh.Remove("."); !errors.Is(err, fs.ErrInvalid) {
		t.Fatalf("Remove(.): %v", err)
	}
}

// TestReadFromWriteTo streams through io.Copy with a source and sink that
// hide their own ReaderFrom/WriterTo.
func TestReadFromWriteTo(t *testing.T) {
	srv := newFakeServer(t, fakeOptions{})
	d := testDialer()
	d.IOSize = 256 << 10
	d.MaxInFlight = 3
	sh := mountFake(t, dialFake(t, srv, d))
	data := randomBytes(t, 3<<20+1)
	f, err := sh.Create("s")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := f.ReadFrom(struct{ io.Reader }{bytes.NewReader(data)}); n != int64(len(data)) || err != nil {
		t.Fatalf("ReadFrom: %d, %v", n, err)
	}
	if _, err := f.Seek(1000, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if n, err := f.WriteTo(struct{ io.Writer }{&out}); n != int64(len(data)-1000) || err != nil {
		t.Fatalf("WriteTo: %d, %v", n, err)
	}
	if !bytes.Equal(out.Bytes(), data[1000:]) {
		t.Fatal("WriteTo content differs")
	}
	if pos, _ := f.Seek(0, io.SeekCurrent); pos != int64(len(data)) {
		t.Fatalf("offset after WriteTo %d", pos)
	}
	f.Close()
}

// TestShares lists shares through srvsvc over IPC$.
func TestShares(t *testing.T) {
	srv := newFakeServer(t, fakeOptions{})
	s := dialFake(t, srv, testDialer())
	shares, err := s.Shares(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []ShareInfo{
		{Name: "share", Type: ShareTypeDisk, Comment: "the fake share"},
		{Name: "IPC$", Type: ShareTypeIPC | ShareTypeSpecial, Comment: "IPC Service"},
	}
	if !slices.Equal(shares, want) {
		t.Fatalf("Shares = %+v, want %+v", shares, want)
	}
	if shares[1].TypeName() != "IPC" || shares[0].TypeName() != "Disk" {
		t.Fatalf("TypeName: %s %s", shares[0].TypeName(), shares[1].TypeName())
	}
}

// TestSessionClose: LOGOFF, then every operation fails with ErrClosed.
func TestSessionClose(t *testing.T) {
	srv := newFakeServer(t, fakeOptions{})
	s := dialFake(t, srv, testDialer())
	sh := mountFake(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := sh.Stat("."); !errors.Is(err, ErrClosed) {
		t.Fatalf("Stat after Close: %v", err)
	}
}

func TestWirePath(t *testing.T) {
	good := map[string]string{".": "", "a": "a", "a/b/c.txt": `a\b\c.txt`}
	for in, want := range good {
		if got, err := wirePath("op", in); err != nil || got != want {
			t.Errorf("wirePath(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "/a", "a/", "a/../b", `a\b`, "a:b", "./a"} {
		if _, err := wirePath("op", in); !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("wirePath(%q): %v, want fs.ErrInvalid", in, err)
		}
	}
}
