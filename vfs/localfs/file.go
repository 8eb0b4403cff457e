//go:build linux

package localfs

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/signetsmb/signet/vfs"
)

// file is an open localfs file or directory.
type file struct {
	f     *os.File
	fs    *FS
	name  string // base name at open time
	path  string // clean name at open time, to resolve links in ReadDir
	flag  int
	isDir bool

	closed atomic.Bool

	mu      sync.Mutex // guards the ReadDir state below
	listing []string   // sorted names; valid when listed
	listed  bool
	pos     int // next index into listing
}

// Compile-time checks of the capabilities file provides.
var (
	_ vfs.File           = (*file)(nil)
	_ vfs.FileTimeSetter = (*file)(nil)
	_ vfs.Allocator      = (*file)(nil)
)

// access selects the checks begin performs.
type access int

const (
	anyAccess access = iota
	readData         // needs a regular file opened for reading
	writeData        // needs a regular file opened for writing
	dirOnly          // needs a directory
)

// check returns the error op must fail with before reaching the kernel, so
// that localfs reports the same sentinels as other backends.
func (f *file) check(op string, acc access) error {
	var err error
	switch {
	case f.closed.Load():
		err = fs.ErrClosed
	case acc == dirOnly && !f.isDir:
		err = vfs.ErrNotDir
	case (acc == readData || acc == writeData) && f.isDir:
		err = vfs.ErrIsDir
	case acc == readData && !vfs.Readable(f.flag),
		acc == writeData && !vfs.Writable(f.flag):
		err = fs.ErrPermission
	}
	if err != nil {
		return &fs.PathError{Op: op, Path: f.name, Err: err}
	}
	return nil
}

// ReadAt implements io.ReaderAt.
func (f *file) ReadAt(p []byte, off int64) (int, error) {
	if err := f.check("read", readData); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, pathErr("read", f.name, fs.ErrInvalid)
	}
	n, err := f.f.ReadAt(p, off)
	if err != nil && err != io.EOF {
		err = pathErr("read", f.name, err)
	}
	return n, err
}

// WriteAt implements io.WriterAt.
func (f *file) WriteAt(p []byte, off int64) (int, error) {
	if err := f.check("write", writeData); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, pathErr("write", f.name, fs.ErrInvalid)
	}
	n, err := f.f.WriteAt(p, off)
	if err != nil {
		err = pathErr("write", f.name, err)
	}
	return n, err
}

// Close implements io.Closer.
func (f *file) Close() error {
	if f.closed.Swap(true) {
		return &fs.PathError{Op: "close", Path: f.name, Err: fs.ErrClosed}
	}
	if err := f.f.Close(); err != nil {
		return pathErr("close", f.name, err)
	}
	return nil
}

// Stat implements vfs.File.
func (f *file) Stat() (vfs.FileInfo, error) {
	if err := f.check("stat", anyAccess); err != nil {
		return vfs.FileInfo{}, err
	}
	var fi vfs.FileInfo
	err := withFD(f.f, func(fd int) (err error) {
		fi, err = statAt(fd, "", unix.AT_EMPTY_PATH, f.name)
		return err
	})
	if err != nil {
		return vfs.FileInfo{}, pathErr("stat", f.name, err)
	}
	return fi, nil
}

// Truncate implements vfs.File.
func (f *file) Truncate(size int64) error {
	if err := f.check("truncate", writeData); err != nil {
		return err
	}
	if size < 0 {
		return pathErr("truncate", f.name, fs.ErrInvalid)
	}
	if err := f.f.Truncate(size); err != nil {
		return pathErr("truncate", f.name, err)
	}
	return nil
}

// Sync implements vfs.File with fsync(2).
func (f *file) Sync() error {
	if err := f.check("sync", anyAccess); err != nil {
		return err
	}
	if err := f.f.Sync(); err != nil {
		return pathErr("sync", f.name, err)
	}
	return nil
}

// ReadDir implements vfs.File.
func (f *file) ReadDir(n int) ([]vfs.FileInfo, error) {
	if err := f.check("readdir", dirOnly); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.snapshot(); err != nil {
		return nil, err
	}
	out, err := f.nextEntries(n)
	if err != nil {
		return nil, pathErr("readdir", f.name, err)
	}
	if n > 0 && len(out) == 0 {
		return nil, io.EOF
	}
	return out, nil
}

// snapshot takes the sorted listing of the directory's names on the
// first ReadDir or ReadDirNames after open or RewindDir. The caller holds
// f.mu.
func (f *file) snapshot() error {
	if f.listed {
		return nil
	}
	names, err := f.f.Readdirnames(-1)
	if err != nil {
		return pathErr("readdir", f.name, err)
	}
	names = slices.DeleteFunc(names, func(n string) bool { return hiddenEntry(f.path, n) }) // sidecar.go
	slices.Sort(names)
	f.listing, f.listed, f.pos = names, true, 0
	return nil
}

// nextEntries describes up to n (all if n <= 0) further names of the
// listing, skipping names that no longer exist. The caller holds f.mu.
func (f *file) nextEntries(n int) ([]vfs.FileInfo, error) {
	var out []vfs.FileInfo
	err := withFD(f.f, func(fd int) error {
		for f.pos < len(f.listing) && (n <= 0 || len(out) < n) {
			name := f.listing[f.pos]
			fi, err := f.entry(fd, name)
			if err != nil && !errors.Is(err, unix.ENOENT) {
				return err
			}
			f.pos++
			if err == nil {
				out = append(out, fi)
			}
		}
		return nil
	})
	return out, err
}

// entry describes the entry name of the directory dirfd. A symbolic link
// that resolves inside the root is described by its target; any other link
// by itself. Links are resolved through the os.Root by the name the
// directory was opened under, so after the directory is renamed they may
// be described as dangling (never as anything outside the root). Errors
// are raw errnos.
func (f *file) entry(dirfd int, name string) (vfs.FileInfo, error) {
	fi, err := statAt(dirfd, name, unix.AT_SYMLINK_NOFOLLOW, name)
	if err != nil || fi.Mode&fs.ModeSymlink == 0 {
		return fi, err
	}
	if info, err := f.fs.root.Stat(path.Join(f.path, name)); err == nil {
		return fromOSInfo(info, name), nil
	}
	return fi, nil
}

// RewindDir implements vfs.File.
func (f *file) RewindDir() error {
	if err := f.check("rewinddir", dirOnly); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.listing, f.listed, f.pos = nil, false, 0
	if _, err := f.f.Seek(0, io.SeekStart); err != nil {
		return pathErr("rewinddir", f.name, err)
	}
	return nil
}

// SetTimes implements vfs.FileTimeSetter with futimens(2).
func (f *file) SetTimes(atime, mtime time.Time) error {
	if err := f.check("chtimes", anyAccess); err != nil {
		return err
	}
	ts := [2]unix.Timespec{utimeSpec(atime), utimeSpec(mtime)}
	err := withFD(f.f, func(fd int) error {
		// utimensat with a NULL path is futimens; x/sys/unix has no
		// wrapper for it on Linux.
		_, _, errno := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), 0,
			uintptr(unsafe.Pointer(&ts[0])), 0, 0, 0)
		if errno != 0 {
			return errno
		}
		return nil
	})
	if err != nil {
		return pathErr("chtimes", f.name, err)
	}
	return nil
}

// utimeSpec converts t for utimensat; the zero time leaves the time as is.
func utimeSpec(t time.Time) unix.Timespec {
	if t.IsZero() {
		return unix.Timespec{Nsec: unix.UTIME_OMIT}
	}
	// Not UnixNano: it overflows past 2262, and clients set such times.
	return unix.Timespec{Sec: t.Unix(), Nsec: int64(t.Nanosecond())}
}

// Allocate implements vfs.Allocator with fallocate(2) and
// FALLOC_FL_KEEP_SIZE.
func (f *file) Allocate(off, length int64) error {
	if err := f.check("allocate", writeData); err != nil {
		return err
	}
	if off < 0 || length <= 0 {
		return pathErr("allocate", f.name, fs.ErrInvalid)
	}
	err := withFD(f.f, func(fd int) error {
		return unix.Fallocate(fd, unix.FALLOC_FL_KEEP_SIZE, off, length)
	})
	if err != nil {
		return pathErr("allocate", f.name, err)
	}
	return nil
}

// Chmod sets the permission bits of the open file with fchmod(2). The
// server stores FILE_ATTRIBUTE_READONLY as the absence of write bits.
func (f *file) Chmod(perm fs.FileMode) error {
	if err := f.check("chmod", anyAccess); err != nil {
		return err
	}
	err := withFD(f.f, func(fd int) error {
		return unix.Fchmod(fd, uint32(perm&fs.ModePerm))
	})
	if err != nil {
		return pathErr("chmod", f.name, err)
	}
	return nil
}

var _ vfs.EntryDescriber = (*file)(nil)

// entryOp runs fn with the descriptor of the open directory f for its
// entry name, a base name.
func (f *file) entryOp(op, name string, fn func(fd int) error) error {
	if err := f.check(op, dirOnly); err != nil {
		return err
	}
	if name == "" || name == "." || name == ".." || strings.ContainsRune(name, '/') || hiddenName(path.Join(f.path, name)) {
		return &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	return withFD(f.f, fn)
}

// entryErr is the error of op on the entry name: entryOp's own refusals
// as they are, a raw errno as a *fs.PathError naming the entry.
func (f *file) entryErr(op, name string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return err
	}
	return pathErr(op, path.Join(f.path, name), err)
}

// StatEntry implements vfs.EntryDescriber with fstatat(2) on the open
// directory. As FS.Stat, a symbolic link is followed through the root: a
// link to something outside the share, or dangling, is an error.
func (f *file) StatEntry(name string) (vfs.FileInfo, error) {
	var fi vfs.FileInfo
	err := f.entryOp("stat", name, func(fd int) (err error) {
		fi, err = statAt(fd, name, unix.AT_SYMLINK_NOFOLLOW, name)
		return err
	})
	if err != nil {
		return vfs.FileInfo{}, f.entryErr("stat", name, err)
	}
	if fi.Mode&fs.ModeSymlink != 0 {
		clean := path.Join(f.path, name)
		info, err := f.fs.root.Stat(clean)
		if err != nil {
			return vfs.FileInfo{}, rootErr("stat", clean, err)
		}
		fi = fromOSInfo(info, name)
	}
	return fi, nil
}

// EntryMeta implements vfs.EntryDescriber.
func (f *file) EntryMeta(name string) ([]byte, error) {
	var out []byte
	err := f.entryOp("getmeta", name, func(fd int) (err error) {
		out, err = metaAt(fd, name)
		return err
	})
	if err != nil {
		return nil, f.entryErr("getmeta", name, metaErr(err))
	}
	return out, nil
}

// EntryEAs implements vfs.EntryDescriber.
func (f *file) EntryEAs(name string) ([]vfs.EA, error) {
	var out []vfs.EA
	err := f.entryOp("eas", name, func(fd int) (err error) {
		out, err = easAt(fd, name)
		return err
	})
	if err != nil {
		return nil, f.entryErr("eas", name, streamErr(err))
	}
	return out, nil
}
