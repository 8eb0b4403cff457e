// Package vfstest is the conformance suite for vfs backends: one set of
// tests, run unchanged against every vfs.FS implementation, in the spirit of
// x/net/webdav's file system tests.
//
// A backend's test calls Run with a constructor:
//
//	func TestConformance(t *testing.T) {
//		vfstest.Run(t, func(t *testing.T) vfs.FS { return memfs.New(memfs.Options{}) })
//	}
//
// Each subtest gets a fresh, empty FS from newFS; the constructor should
// register any cleanup with t.Cleanup. Optional capabilities (vfs.TimeSetter,
// vfs.FileTimeSetter, vfs.Allocator, vfs.Notifier) are tested when the FS or
// its Files implement them and skipped otherwise; a capability that returns
// vfs.ErrNotSupported is skipped too.
package vfstest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/signetsmb/signet/vfs"
)

// Run runs the conformance suite against the FS returned by newFS, calling
// it once per subtest.
func Run(t *testing.T, newFS func(t *testing.T) vfs.FS) {
	tests := []struct {
		name string
		fn   func(h *tester)
	}{
		{"OpenFlags", testOpenFlags},
		{"OpenDirectory", testOpenDirectory},
		{"OpenThroughFile", testOpenThroughFile},
		{"ReadWriteAt", testReadWriteAt},
		{"SparseWrite", testSparseWrite},
		{"Truncate", testTruncate},
		{"StatFields", testStatFields},
		{"FileIDStable", testFileIDStable},
		{"ClosedFile", testClosedFile},
		{"Mkdir", testMkdir},
		{"Remove", testRemove},
		{"RemoveOpenFile", testRemoveOpenFile},
		{"RenameFile", testRenameFile},
		{"RenameDir", testRenameDir},
		{"RenameNoReplace", testRenameNoReplace},
		{"RenameReplace", testRenameReplace},
		{"RenameErrors", testRenameErrors},
		{"RenameOpenFile", testRenameOpenFile},
		{"ReadDir", testReadDir},
		{"ReadDirPaging", testReadDirPaging},
		{"ReadDirSnapshot", testReadDirSnapshot},
		{"ReadDirNotDir", testReadDirNotDir},
		{"Sync", testSync},
		{"StatFS", testStatFS},
		{"UnicodeNames", testUnicodeNames},
		{"NameTooLong", testNameTooLong},
		{"EscapeAttempts", testEscapeAttempts},
		{"CanceledContext", testCanceledContext},
		{"ConcurrentWriters", testConcurrentWriters},
		{"ConcurrentSameFile", testConcurrentSameFile},
		{"SetTimes", testSetTimes},
		{"FileSetTimes", testFileSetTimes},
		{"Allocate", testAllocate},
		{"Watch", testWatch},
		{"Security", testSecurity}, // security.go
		{"Sparse", testSparse},
		{"Streams", testStreams},
		{"StreamEscape", testStreamEscape},
		{"LargeStreams", testLargeStreams},
		{"EAs", testEAs},
		{"EAsOf", testEAsOf},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(&tester{t: t, fs: newFS(t), ctx: t.Context()})
		})
	}
}

// tester bundles the state of one subtest with fatal-on-error helpers.
type tester struct {
	t   *testing.T
	fs  vfs.FS
	ctx context.Context
}

// open opens name and closes it when the test ends.
func (h *tester) open(name string, flag int) vfs.File {
	h.t.Helper()
	f, err := h.fs.OpenFile(h.ctx, name, flag, 0o644)
	if err != nil {
		h.t.Fatalf("OpenFile(%q, %#x): %v", name, flag, err)
	}
	h.t.Cleanup(func() { f.Close() })
	return f
}

// create creates (or truncates) name with the given contents.
func (h *tester) create(name string, data string) {
	h.t.Helper()
	f, err := h.fs.OpenFile(h.ctx, name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		h.t.Fatalf("create %q: %v", name, err)
	}
	if _, err := f.WriteAt([]byte(data), 0); err != nil {
		h.t.Fatalf("write %q: %v", name, err)
	}
	if err := f.Close(); err != nil {
		h.t.Fatalf("close %q: %v", name, err)
	}
}

// read returns the contents of name.
func (h *tester) read(name string) string {
	h.t.Helper()
	f, err := h.fs.OpenFile(h.ctx, name, os.O_RDONLY, 0)
	if err != nil {
		h.t.Fatalf("open %q: %v", name, err)
	}
	defer f.Close()
	return h.readAll(f)
}

// readAll returns the contents of an open file.
func (h *tester) readAll(f vfs.File) string {
	h.t.Helper()
	fi, err := f.Stat()
	if err != nil {
		h.t.Fatalf("Stat: %v", err)
	}
	buf := make([]byte, fi.Size+1)
	n, err := f.ReadAt(buf, 0)
	if err != io.EOF {
		h.t.Fatalf("ReadAt(whole file) = %d, %v; want io.EOF", n, err)
	}
	return string(buf[:n])
}

// mkdir creates directory name.
func (h *tester) mkdir(name string) {
	h.t.Helper()
	if err := h.fs.Mkdir(h.ctx, name, 0o755); err != nil {
		h.t.Fatalf("Mkdir(%q): %v", name, err)
	}
}

// stat describes name.
func (h *tester) stat(name string) vfs.FileInfo {
	h.t.Helper()
	fi, err := h.fs.Stat(h.ctx, name)
	if err != nil {
		h.t.Fatalf("Stat(%q): %v", name, err)
	}
	return fi
}

// list returns the names in directory dir, in ReadDir order.
func (h *tester) list(dir string) []string {
	h.t.Helper()
	f, err := h.fs.OpenFile(h.ctx, dir, os.O_RDONLY, 0)
	if err != nil {
		h.t.Fatalf("open dir %q: %v", dir, err)
	}
	defer f.Close()
	infos, err := f.ReadDir(-1)
	if err != nil {
		h.t.Fatalf("ReadDir(%q): %v", dir, err)
	}
	names := make([]string, len(infos))
	for i, fi := range infos {
		names[i] = fi.Name
	}
	return names
}

// wantNotExist fails unless Stat(name) reports fs.ErrNotExist.
func (h *tester) wantNotExist(name string) {
	h.t.Helper()
	_, err := h.fs.Stat(h.ctx, name)
	wantErr(h.t, err, os.ErrNotExist, "Stat("+name+")")
}

// wantContent fails unless name holds want.
func (h *tester) wantContent(name, want string) {
	h.t.Helper()
	if got := h.read(name); got != want {
		h.t.Errorf("content of %q = %q, want %q", name, got, want)
	}
}

// wantErr fails unless errors.Is(err, target).
func wantErr(t *testing.T, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: error %v, want %v", what, err, target)
	}
}

// noErr fails the test at once if err is not nil.
func noErr(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// equalStrings reports whether a and b hold the same strings in order.
func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// zeros reports whether b holds only zero bytes.
func zeros(b []byte) bool {
	return len(bytes.Trim(b, "\x00")) == 0
}
