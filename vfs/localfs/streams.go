//go:build linux

package localfs

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/signetsmb/signet/vfs"
)

// Named streams are kept in extended attributes of their file, one
// attribute per stream named streamXattrPrefix+name, holding the stream's
// bytes. They follow the file across renames and hard links and vanish
// with it, with no bookkeeping, and reading or writing one never touches a
// path: the attribute is reached through a descriptor of the file opened
// inside the root, so a stream name (which CheckStreamName keeps free of
// '/', '\\', ':' and NUL) can never name anything outside it.
//
// The cost is size: an attribute value is bounded by the file system
// (ext4 without ea_inode: all attributes of a file share one block, about
// 4 KiB; XFS and Btrfs: 64 KiB per value, the Linux limit), and localfs
// refuses a stream larger than maxStreamSize with vfs.ErrNoSpace, as the
// file system does earlier when its own limit is lower. Windows clients
// and Finder keep small metadata in streams (Zone.Identifier,
// AFP_AfpInfo: 60 bytes), which fits; large resource forks do not. A
// stream's bytes are read and rewritten whole on each write, which is
// fine at these sizes.
const (
	streamXattrPrefix = "user.signet.stream."
	maxStreamSize     = 64 << 10
	xattrNameMax      = 255 // XATTR_NAME_MAX
)

// streamLocks serialise the read-modify-write of a stream's attribute,
// striped by inode number. Leaf locks.
var streamLocks [64]sync.Mutex

func streamLock(ino uint64) *sync.Mutex { return &streamLocks[ino%uint64(len(streamLocks))] }

var _ vfs.StreamFS = (*FS)(nil)

// streamFile is an open named stream: a descriptor of its file (opened
// read-only inside the root) and the stream's attribute name.
type streamFile struct {
	base   *file
	attr   string
	flag   int
	ino    uint64
	closed atomic.Bool
}

var _ vfs.File = (*streamFile)(nil)

// openBase opens the file or directory holding streams.
func (l *FS) openBase(ctx context.Context, op, name, stream string) (*file, error) {
	if err := vfs.CheckStreamName(stream); err != nil {
		return nil, &fs.PathError{Op: op, Path: name, Err: err}
	}
	if len(streamXattrPrefix)+len(stream) > xattrNameMax {
		return nil, &fs.PathError{Op: op, Path: name, Err: vfs.ErrNameTooLong}
	}
	bf, err := l.OpenFile(ctx, name, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	return bf.(*file), nil
}

// OpenStream implements vfs.StreamFS.
func (l *FS) OpenStream(ctx context.Context, name, stream string, flag int) (vfs.File, error) {
	if err := vfs.CheckOpenFlag(flag); err != nil {
		return nil, &fs.PathError{Op: "openstream", Path: name, Err: err}
	}
	bf, err := l.openBase(ctx, "openstream", name, stream)
	if err != nil {
		return nil, err
	}
	fi, err := bf.Stat()
	if err != nil {
		bf.Close()
		return nil, err
	}
	sf := &streamFile{base: bf, attr: streamXattrPrefix + stream, flag: flag, ino: fi.FileID}
	mu := streamLock(sf.ino)
	mu.Lock()
	defer mu.Unlock()
	err = withFD(bf.f, func(fd int) error {
		_, err := sf.get(fd)
		switch {
		case err == unix.ENODATA && flag&os.O_CREATE == 0:
			return fs.ErrNotExist
		case err == unix.ENODATA:
			return unix.Fsetxattr(fd, sf.attr, nil, unix.XATTR_CREATE)
		case err != nil:
			return err
		case flag&(os.O_CREATE|os.O_EXCL) == os.O_CREATE|os.O_EXCL:
			return fs.ErrExist
		case flag&os.O_TRUNC != 0:
			return unix.Fsetxattr(fd, sf.attr, nil, 0)
		}
		return nil
	})
	if err != nil {
		bf.Close()
		return nil, pathErr("openstream", name, streamErr(err))
	}
	return sf, nil
}

// get reads the whole attribute.
func (s *streamFile) get(fd int) ([]byte, error) {
	for {
		n, err := unix.Fgetxattr(fd, s.attr, nil)
		if err != nil {
			return nil, err
		}
		buf := make([]byte, n)
		m, err := unix.Fgetxattr(fd, s.attr, buf)
		if err == unix.ERANGE {
			continue // grew in between
		}
		if err != nil {
			return nil, err
		}
		return buf[:m], nil
	}
}

// streamErr maps attribute errors: no attribute support is
// ErrNotSupported, no room ErrNoSpace.
func streamErr(err error) error {
	switch {
	case errors.Is(err, unix.ENOTSUP):
		return vfs.ErrNotSupported
	case errors.Is(err, unix.ENOSPC), errors.Is(err, unix.E2BIG), errors.Is(err, unix.ERANGE):
		return vfs.ErrNoSpace
	}
	return err
}

func (s *streamFile) check(op string, write bool) error {
	var err error
	switch {
	case s.closed.Load():
		err = fs.ErrClosed
	case write && !vfs.Writable(s.flag), !write && !vfs.Readable(s.flag):
		err = fs.ErrPermission
	}
	if err != nil {
		return &fs.PathError{Op: op, Path: s.base.name, Err: err}
	}
	return nil
}

// ReadAt implements io.ReaderAt.
func (s *streamFile) ReadAt(p []byte, off int64) (int, error) {
	if err := s.check("read", false); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, pathErr("read", s.base.name, fs.ErrInvalid)
	}
	var data []byte
	err := withFD(s.base.f, func(fd int) (err error) {
		data, err = s.get(fd)
		return err
	})
	if err != nil {
		return 0, pathErr("read", s.base.name, streamErr(err))
	}
	if off >= int64(len(data)) {
		if len(p) == 0 {
			return 0, nil
		}
		return 0, io.EOF
	}
	n := copy(p, data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// modify rewrites the attribute with fn applied to its bytes.
func (s *streamFile) modify(op string, fn func([]byte) ([]byte, error)) error {
	if err := s.check(op, true); err != nil {
		return err
	}
	mu := streamLock(s.ino)
	mu.Lock()
	defer mu.Unlock()
	err := withFD(s.base.f, func(fd int) error {
		data, err := s.get(fd)
		if err == unix.ENODATA {
			data, err = nil, nil // removed while open: recreated, as POSIX unlink would not
		}
		if err != nil {
			return err
		}
		data, err = fn(data)
		if err != nil {
			return err
		}
		return unix.Fsetxattr(fd, s.attr, data, 0)
	})
	if err != nil {
		return pathErr(op, s.base.name, streamErr(err))
	}
	return nil
}

// WriteAt implements io.WriterAt.
func (s *streamFile) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 || off > maxStreamSize {
		if err := s.check("write", true); err != nil {
			return 0, err
		}
		if off < 0 {
			return 0, pathErr("write", s.base.name, fs.ErrInvalid)
		}
		return 0, pathErr("write", s.base.name, vfs.ErrNoSpace)
	}
	err := s.modify("write", func(data []byte) ([]byte, error) {
		end := off + int64(len(p))
		if end > maxStreamSize {
			return nil, vfs.ErrNoSpace
		}
		if end > int64(len(data)) {
			data = append(data, make([]byte, end-int64(len(data)))...)
		}
		copy(data[off:], p)
		return data, nil
	})
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// Truncate implements vfs.File.
func (s *streamFile) Truncate(size int64) error {
	if size < 0 {
		return pathErr("truncate", s.base.name, fs.ErrInvalid)
	}
	return s.modify("truncate", func(data []byte) ([]byte, error) {
		if size > maxStreamSize {
			return nil, vfs.ErrNoSpace
		}
		if size <= int64(len(data)) {
			return data[:size], nil
		}
		return append(data, make([]byte, size-int64(len(data)))...), nil
	})
}

// Close implements io.Closer.
func (s *streamFile) Close() error {
	if s.closed.Swap(true) {
		return &fs.PathError{Op: "close", Path: s.base.name, Err: fs.ErrClosed}
	}
	return s.base.Close()
}

// Stat implements vfs.File: the file's metadata with the stream's size.
func (s *streamFile) Stat() (vfs.FileInfo, error) {
	if s.closed.Load() {
		return vfs.FileInfo{}, &fs.PathError{Op: "stat", Path: s.base.name, Err: fs.ErrClosed}
	}
	fi, err := s.base.Stat()
	if err != nil {
		return vfs.FileInfo{}, err
	}
	var n int
	err = withFD(s.base.f, func(fd int) (err error) {
		n, err = unix.Fgetxattr(fd, s.attr, nil)
		if err == unix.ENODATA {
			n, err = 0, nil
		}
		return err
	})
	if err != nil {
		return vfs.FileInfo{}, pathErr("stat", s.base.name, streamErr(err))
	}
	fi.Mode = fi.Mode.Perm()
	fi.Size = int64(n)
	fi.AllocationSize = (fi.Size + 4095) &^ 4095
	return fi, nil
}

// Sync implements vfs.File: the attribute goes to disk with the file's
// metadata.
func (s *streamFile) Sync() error {
	if s.closed.Load() {
		return &fs.PathError{Op: "sync", Path: s.base.name, Err: fs.ErrClosed}
	}
	return s.base.Sync()
}

// ReadDir implements vfs.File: a stream is not a directory.
func (s *streamFile) ReadDir(int) ([]vfs.FileInfo, error) {
	return nil, &fs.PathError{Op: "readdir", Path: s.base.name, Err: vfs.ErrNotDir}
}

// RewindDir implements vfs.File.
func (s *streamFile) RewindDir() error {
	return &fs.PathError{Op: "rewinddir", Path: s.base.name, Err: vfs.ErrNotDir}
}

// Streams implements vfs.StreamFS with flistxattr(2).
func (l *FS) Streams(ctx context.Context, name string) ([]vfs.StreamInfo, error) {
	bf, err := l.OpenFile(ctx, name, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer bf.Close()
	var out []vfs.StreamInfo
	err = withFD(bf.(*file).f, func(fd int) error {
		names, err := listXattrs(fd)
		if err != nil {
			return err
		}
		for _, a := range names {
			sn, ok := strings.CutPrefix(a, streamXattrPrefix)
			if !ok || vfs.CheckStreamName(sn) != nil {
				continue
			}
			n, err := unix.Fgetxattr(fd, a, nil)
			if err == unix.ENODATA {
				continue
			}
			if err != nil {
				return err
			}
			out = append(out, vfs.StreamInfo{Name: sn, Size: int64(n), AllocationSize: (int64(n) + 4095) &^ 4095})
		}
		return nil
	})
	if err != nil {
		return nil, pathErr("streams", name, streamErr(err))
	}
	slices.SortFunc(out, func(a, b vfs.StreamInfo) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// listXattrs returns the attribute names of fd.
func listXattrs(fd int) ([]string, error) {
	for {
		n, err := unix.Flistxattr(fd, nil)
		if err != nil || n == 0 {
			return nil, err
		}
		buf := make([]byte, n)
		m, err := unix.Flistxattr(fd, buf)
		if err == unix.ERANGE {
			continue
		}
		if err != nil {
			return nil, err
		}
		var out []string
		for _, b := range bytes.Split(buf[:m], []byte{0}) {
			if len(b) > 0 {
				out = append(out, string(b))
			}
		}
		return out, nil
	}
}

// RemoveStream implements vfs.StreamFS.
func (l *FS) RemoveStream(ctx context.Context, name, stream string) error {
	bf, err := l.openBase(ctx, "removestream", name, stream)
	if err != nil {
		return err
	}
	defer bf.Close()
	err = withFD(bf.f, func(fd int) error {
		err := unix.Fremovexattr(fd, streamXattrPrefix+stream)
		if err == unix.ENODATA {
			return fs.ErrNotExist
		}
		return err
	})
	if err != nil {
		return pathErr("removestream", name, streamErr(err))
	}
	return nil
}

// RenameStream implements vfs.StreamFS: copy to the new attribute, then
// remove the old one, under the inode's stream lock.
func (l *FS) RenameStream(ctx context.Context, name, oldStream, newStream string, replace bool) error {
	if err := vfs.CheckStreamName(newStream); err != nil || len(streamXattrPrefix)+len(newStream) > xattrNameMax {
		if err == nil {
			err = vfs.ErrNameTooLong
		}
		return &fs.PathError{Op: "renamestream", Path: name, Err: err}
	}
	bf, err := l.openBase(ctx, "renamestream", name, oldStream)
	if err != nil {
		return err
	}
	defer bf.Close()
	if oldStream == newStream {
		return nil
	}
	fi, err := bf.Stat()
	if err != nil {
		return err
	}
	mu := streamLock(fi.FileID)
	mu.Lock()
	defer mu.Unlock()
	src := &streamFile{attr: streamXattrPrefix + oldStream}
	err = withFD(bf.f, func(fd int) error {
		data, err := src.get(fd)
		if err == unix.ENODATA {
			return fs.ErrNotExist
		}
		if err != nil {
			return err
		}
		mode := unix.XATTR_CREATE
		if replace {
			mode = 0
		}
		if err := unix.Fsetxattr(fd, streamXattrPrefix+newStream, data, mode); err != nil {
			if err == unix.EEXIST {
				return fs.ErrExist
			}
			return err
		}
		return unix.Fremovexattr(fd, src.attr)
	})
	if err != nil {
		return pathErr("renamestream", name, streamErr(err))
	}
	return nil
}

var (
	_ vfs.FileTimeSetter = (*streamFile)(nil)
	_ vfs.MetaFile       = (*streamFile)(nil)
)

// SetTimes implements vfs.FileTimeSetter: a stream's times are its
// file's.
func (s *streamFile) SetTimes(atime, mtime time.Time) error {
	if s.closed.Load() {
		return &fs.PathError{Op: "chtimes", Path: s.base.name, Err: fs.ErrClosed}
	}
	return s.base.SetTimes(atime, mtime)
}

// Meta implements vfs.MetaFile: the file's record.
func (s *streamFile) Meta() ([]byte, error) {
	if s.closed.Load() {
		return nil, &fs.PathError{Op: "getmeta", Path: s.base.name, Err: fs.ErrClosed}
	}
	return s.base.Meta()
}

// SetMeta implements vfs.MetaFile: the file's record.
func (s *streamFile) SetMeta(data []byte) error {
	if s.closed.Load() {
		return &fs.PathError{Op: "setmeta", Path: s.base.name, Err: fs.ErrClosed}
	}
	return s.base.SetMeta(data)
}

// Chmod changes the file's permission bits: a stream has none of its own
// (FILE_ATTRIBUTE_READONLY set through a stream handle applies to the
// file).
func (s *streamFile) Chmod(perm fs.FileMode) error {
	if s.closed.Load() {
		return &fs.PathError{Op: "chmod", Path: s.base.name, Err: fs.ErrClosed}
	}
	return s.base.Chmod(perm)
}
