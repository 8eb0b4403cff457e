package memfs

import (
	"io"
	"io/fs"
	"time"

	"github.com/signetsmb/signet/vfs"
)

// file is an open memfs file or directory. Its mutable fields are guarded by
// fs.mu, like the node it refers to.
type file struct {
	fs   *FS
	n    *node
	name string // base name at open time
	flag int

	// Guarded by fs.mu.
	closed  bool
	listing []string // ReadDir snapshot; nil before the first ReadDir
	listed  bool     // whether listing holds a snapshot
	pos     int      // next index into listing
}

// Compile-time checks of the capabilities file provides.
var (
	_ vfs.File           = (*file)(nil)
	_ vfs.FileTimeSetter = (*file)(nil)
	_ vfs.Allocator      = (*file)(nil)
)

// access selects the checks fileOp performs.
type access int

const (
	anyAccess access = iota
	readData         // needs a regular file opened for reading
	writeData        // needs a regular file opened for writing
	dirOnly          // needs a directory
)

// begin locks the FS and checks that f is open and suits acc. On success
// the caller must call f.fs.mu.Unlock.
func (f *file) begin(op string, acc access) error {
	f.fs.mu.Lock()
	err := f.check(acc)
	if err != nil {
		f.fs.mu.Unlock()
		return pathErr(op, f.name, err)
	}
	return nil
}

func (f *file) check(acc access) error {
	switch {
	case f.closed:
		return fs.ErrClosed
	case acc == dirOnly && !f.n.isDir():
		return vfs.ErrNotDir
	case (acc == readData || acc == writeData) && f.n.isDir():
		return vfs.ErrIsDir
	case acc == readData && !vfs.Readable(f.flag),
		acc == writeData && !vfs.Writable(f.flag):
		return fs.ErrPermission
	}
	return nil
}

// ReadAt implements io.ReaderAt.
func (f *file) ReadAt(p []byte, off int64) (int, error) {
	if err := f.begin("read", readData); err != nil {
		return 0, err
	}
	defer f.fs.mu.Unlock()
	switch {
	case off < 0:
		return 0, pathErr("read", f.name, fs.ErrInvalid)
	case len(p) == 0:
		return 0, nil
	case off >= int64(len(f.n.data)):
		return 0, io.EOF
	}
	n := copy(p, f.n.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// WriteAt implements io.WriterAt.
func (f *file) WriteAt(p []byte, off int64) (int, error) {
	if err := f.begin("write", writeData); err != nil {
		return 0, err
	}
	defer f.fs.mu.Unlock()
	if off < 0 || off > maxFileSize-int64(len(p)) {
		return 0, pathErr("write", f.name, fs.ErrInvalid)
	}
	if len(p) == 0 {
		return 0, nil
	}
	if end := off + int64(len(p)); end > int64(len(f.n.data)) {
		if err := f.fs.resize(f.n, end, f.n.reserved); err != nil {
			return 0, pathErr("write", f.name, err)
		}
	}
	copy(f.n.data[off:], p)
	f.n.fillHoles(off, off+int64(len(p)))
	f.n.touch(f.fs.now())
	f.fs.notifyNode(f.n, vfs.OpModify)
	return len(p), nil
}

// maxFileSize is the largest offset memfs accepts; the capacity is
// normally much smaller.
const maxFileSize = 1<<63 - 1

// Close implements io.Closer.
func (f *file) Close() error {
	if err := f.begin("close", anyAccess); err != nil {
		return err
	}
	defer f.fs.mu.Unlock()
	f.closed = true
	f.listing = nil
	f.n.opens--
	f.fs.maybeRelease(f.n)
	return nil
}

// Stat implements vfs.File.
func (f *file) Stat() (vfs.FileInfo, error) {
	if err := f.begin("stat", anyAccess); err != nil {
		return vfs.FileInfo{}, err
	}
	defer f.fs.mu.Unlock()
	return f.n.info(f.name), nil
}

// Truncate implements vfs.File. It also drops Allocate reservations
// beyond size.
func (f *file) Truncate(size int64) error {
	if err := f.begin("truncate", writeData); err != nil {
		return err
	}
	defer f.fs.mu.Unlock()
	if size < 0 {
		return pathErr("truncate", f.name, fs.ErrInvalid)
	}
	if err := f.fs.resize(f.n, size, min(f.n.reserved, size)); err != nil {
		return pathErr("truncate", f.name, err)
	}
	f.n.dropHolesFrom(size)
	f.n.touch(f.fs.now())
	f.fs.notifyNode(f.n, vfs.OpModify)
	return nil
}

// Sync implements vfs.File; memfs has nothing to flush.
func (f *file) Sync() error {
	if err := f.begin("sync", anyAccess); err != nil {
		return err
	}
	f.fs.mu.Unlock()
	return nil
}

// ReadDir implements vfs.File.
func (f *file) ReadDir(n int) ([]vfs.FileInfo, error) {
	if err := f.begin("readdir", dirOnly); err != nil {
		return nil, err
	}
	defer f.fs.mu.Unlock()
	if !f.listed {
		f.listing, f.listed, f.pos = f.n.sortedNames(), true, 0
	}
	var out []vfs.FileInfo
	for f.pos < len(f.listing) && (n <= 0 || len(out) < n) {
		name := f.listing[f.pos]
		f.pos++
		if child := f.n.children[name]; child != nil {
			out = append(out, child.info(name))
		}
	}
	if n > 0 && len(out) == 0 {
		return nil, io.EOF
	}
	return out, nil
}

// RewindDir implements vfs.File.
func (f *file) RewindDir() error {
	if err := f.begin("rewinddir", dirOnly); err != nil {
		return err
	}
	defer f.fs.mu.Unlock()
	f.listing, f.listed, f.pos = nil, false, 0
	return nil
}

// SetTimes implements vfs.FileTimeSetter.
func (f *file) SetTimes(atime, mtime time.Time) error {
	if err := f.begin("chtimes", anyAccess); err != nil {
		return err
	}
	defer f.fs.mu.Unlock()
	f.fs.setTimes(f.n, atime, mtime)
	return nil
}

// Allocate implements vfs.Allocator. The reservation lasts until a
// Truncate below it or until the file is released.
func (f *file) Allocate(off, length int64) error {
	if err := f.begin("allocate", writeData); err != nil {
		return err
	}
	defer f.fs.mu.Unlock()
	if off < 0 || length <= 0 || off > maxFileSize-length {
		return pathErr("allocate", f.name, fs.ErrInvalid)
	}
	end := max(off+length, f.n.reserved)
	if err := f.fs.resize(f.n, int64(len(f.n.data)), end); err != nil {
		return pathErr("allocate", f.name, err)
	}
	f.n.fillHoles(off, off+length)
	return nil
}
