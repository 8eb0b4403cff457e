//go:build linux

package localfs_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/signetsmb/signet/vfs"
	"github.com/signetsmb/signet/vfs/localfs"
	"github.com/signetsmb/signet/vfs/vfstest"
)

func TestConformance(t *testing.T) {
	vfstest.Run(t, newShare)
}

// newShare returns an FS serving <tmp>/share and checks, when the test
// ends, that nothing appeared next to the share in <tmp>.
func newShare(t *testing.T) vfs.FS {
	t.Helper()
	parent := t.TempDir()
	dir := filepath.Join(parent, "share")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	fsys, err := localfs.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		fsys.Close()
		entries, err := os.ReadDir(parent)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 || entries[0].Name() != "share" {
			t.Errorf("files appeared outside the share: %v", entries)
		}
	})
	return fsys
}

func TestNewErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := localfs.New(filepath.Join(dir, "missing"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("New(missing) = %v, want fs.ErrNotExist", err)
	}
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := localfs.New(file); !errors.Is(err, vfs.ErrNotDir) {
		t.Errorf("New(file) = %v, want vfs.ErrNotDir", err)
	}
}

func TestCloseFS(t *testing.T) {
	fsys, err := localfs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f, err := fsys.OpenFile(t.Context(), "f", os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if err := fsys.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := fsys.Stat(t.Context(), "f"); !errors.Is(err, fs.ErrClosed) {
		t.Errorf("Stat after Close = %v, want fs.ErrClosed", err)
	}
	if _, err := fsys.StatFS(t.Context()); !errors.Is(err, fs.ErrClosed) {
		t.Errorf("StatFS after Close = %v, want fs.ErrClosed", err)
	}
	if _, err := f.WriteAt([]byte("still open"), 0); err != nil {
		t.Errorf("open File after FS Close: %v", err)
	}
	f.Close()
}

func TestSpecialFilesRefused(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	fsys := mustNew(t, dir)
	for _, flag := range []int{os.O_RDONLY, os.O_WRONLY, os.O_RDWR} {
		_, err := fsys.OpenFile(t.Context(), "fifo", flag, 0)
		if !errors.Is(err, vfs.ErrNotSupported) {
			t.Errorf("OpenFile(fifo, %#x) = %v, want vfs.ErrNotSupported", flag, err)
		}
	}
	fi, err := fsys.Stat(t.Context(), "fifo")
	if err != nil || fi.Mode.Type() != fs.ModeNamedPipe {
		t.Errorf("Stat(fifo) = %v, %v; want a named pipe", fi.Mode, err)
	}
	if err := fsys.Remove(t.Context(), "fifo"); err != nil {
		t.Errorf("Remove(fifo): %v", err)
	}
}

func TestBirthTimeAndAllocation(t *testing.T) {
	fsys := mustNew(t, t.TempDir())
	f, err := fsys.OpenFile(t.Context(), "f", os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(make([]byte, 10000), 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if fi.AllocationSize < fi.Size {
		t.Errorf("AllocationSize %d < Size %d for a dense file", fi.AllocationSize, fi.Size)
	}
	info, err := fsys.StatFS(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// ext4, xfs, btrfs and tmpfs record birth times.
	if slices.Contains([]string{"ext4", "xfs", "btrfs", "tmpfs"}, info.FSName) && fi.BirthTime.IsZero() {
		t.Errorf("BirthTime is zero on %s", info.FSName)
	}
}

func mustNew(t *testing.T, dir string) *localfs.FS {
	t.Helper()
	fsys, err := localfs.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fsys.Close() })
	return fsys
}

// TestSearchOnlyDirectory pins a documented limitation: os.Root opens each
// directory on a path for reading, so a directory with search but without
// read permission hides its contents.
func TestSearchOnlyDirectory(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root bypasses directory permissions")
	}
	dir := t.TempDir()
	locked := filepath.Join(dir, "locked")
	must(t, os.Mkdir(locked, 0o755))
	must(t, os.WriteFile(filepath.Join(locked, "f"), []byte("x"), 0o644))
	must(t, os.Chmod(locked, 0o311))
	t.Cleanup(func() { os.Chmod(locked, 0o755) })
	fsys := mustNew(t, dir)
	if _, err := fsys.Stat(t.Context(), "locked/f"); !errors.Is(err, fs.ErrPermission) {
		t.Errorf("Stat(locked/f) = %v, want fs.ErrPermission", err)
	}
	if _, err := fsys.Stat(t.Context(), "locked"); err != nil {
		t.Errorf("Stat(locked) = %v", err)
	}
}

func TestFileChmod(t *testing.T) {
	fsys := newShare(t)
	ctx := t.Context()
	f, err := fsys.OpenFile(ctx, "ro.txt", os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	ch, ok := f.(interface{ Chmod(fs.FileMode) error })
	if !ok {
		t.Fatal("localfs file has no Chmod")
	}
	for _, perm := range []fs.FileMode{0o444, 0o644} {
		if err := ch.Chmod(perm); err != nil {
			t.Fatal(err)
		}
		fi, err := fsys.Stat(ctx, "ro.txt")
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode.Perm() != perm {
			t.Errorf("after Chmod(%o): mode %o", perm, fi.Mode.Perm())
		}
	}
	f.Close()
	if err := ch.Chmod(0o600); !errors.Is(err, fs.ErrClosed) {
		t.Errorf("Chmod after Close: %v, want fs.ErrClosed", err)
	}
}
