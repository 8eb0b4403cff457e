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

// Named streams are kept with their file in two ways:
//
//   - small streams (at most inlineStreamMax bytes) in an extended attribute
//     of the file, streamXattrPrefix+name, holding the stream's bytes. They
//     follow the file across renames and hard links and vanish with it,
//     with no bookkeeping, and are reached through a descriptor of the file
//     opened inside the root, so no stream name (CheckStreamName keeps them
//     free of '/', '\\', ':' and NUL) can name anything outside it. Windows
//     and Finder metadata (Zone.Identifier, AFP_AfpInfo: 60 bytes) lives
//     here. The limit leaves room in the one 4 KiB block ext4 gives all the
//     attributes of a file (without ea_inode), and a small stream is read
//     and rewritten whole on each write, which is cheap at this size;
//   - larger streams in a sidecar file (sidecar.go): the file gets an id
//     (attribute sidecarIDXattr), the stream a marker attribute
//     largeXattrPrefix+name, and its bytes live in
//     sidecarDir/<id>/<hash of name>, a hidden directory at the share root
//     that clients cannot name. A write that takes a small stream past the
//     limit moves it there. Remove and a replacing Rename of the file's last
//     link remove its sidecars; a file deleted by other means than this FS
//     leaves them behind.
const (
	streamXattrPrefix = "user.signet.stream."
	largeXattrPrefix  = "user.signet.lstream."
	inlineStreamMax   = 3 << 10
	maxStreamSize     = 1 << 40 // bounds offsets; disk space bounds the rest
	maxEAValue        = 64 << 10
	xattrNameMax      = 255 // XATTR_NAME_MAX
)

// streamLocks serialise the read-modify-write of a stream's attribute,
// striped by inode number. Leaf locks.
var streamLocks [64]sync.Mutex

func streamLock(ino uint64) *sync.Mutex { return &streamLocks[ino%uint64(len(streamLocks))] }

var _ vfs.StreamFS = (*FS)(nil)

// streamFile is an open named stream: a descriptor of its file (opened
// read-only inside the root), the stream's name and, once the stream is
// found in a sidecar, the sidecar file.
type streamFile struct {
	fs     *FS
	base   *file
	stream string
	attr   string // the small stream's attribute
	flag   int
	ino    uint64
	closed atomic.Bool

	mu   sync.Mutex // guards side
	side *os.File   // the sidecar, once the stream lives there
}

var _ vfs.File = (*streamFile)(nil)

// openBase opens the file or directory holding streams.
func (l *FS) openBase(ctx context.Context, op, name, stream string) (*file, error) {
	if err := vfs.CheckStreamName(stream); err != nil {
		return nil, &fs.PathError{Op: op, Path: name, Err: err}
	}
	if len(largeXattrPrefix)+len(stream) > xattrNameMax {
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
	sf := &streamFile{fs: l, base: bf, stream: stream, attr: streamXattrPrefix + stream, flag: flag, ino: fi.FileID}
	mu := streamLock(sf.ino)
	mu.Lock()
	defer mu.Unlock()
	err = withFD(bf.f, func(fd int) error {
		small, err := hasXattr(fd, sf.attr)
		if err != nil {
			return err
		}
		large := false
		if !small {
			if large, err = hasXattr(fd, largeXattrPrefix+stream); err != nil {
				return err
			}
		}
		switch {
		case !small && !large && flag&os.O_CREATE == 0:
			return fs.ErrNotExist
		case !small && !large:
			return unix.Fsetxattr(fd, sf.attr, nil, unix.XATTR_CREATE)
		case flag&(os.O_CREATE|os.O_EXCL) == os.O_CREATE|os.O_EXCL:
			return fs.ErrExist
		case flag&os.O_TRUNC != 0 && large:
			side, err := sf.sidecarLocked(fd)
			if err != nil {
				return err
			}
			return side.Truncate(0)
		case flag&os.O_TRUNC != 0:
			return unix.Fsetxattr(fd, sf.attr, nil, 0)
		}
		return nil
	})
	if err != nil {
		sf.closeSide()
		bf.Close()
		return nil, pathErr("openstream", name, streamErr(err))
	}
	return sf, nil
}

// hasXattr reports whether fd has the attribute.
func hasXattr(fd int, attr string) (bool, error) {
	_, err := unix.Fgetxattr(fd, attr, nil)
	switch err {
	case nil:
		return true, nil
	case unix.ENODATA:
		return false, nil
	}
	return false, err
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

// sidecarLocked returns the stream's sidecar file if the stream is large
// (its marker attribute exists), opening it once; nil and ENODATA if the
// stream is not large.
func (s *streamFile) sidecarLocked(fd int) (*os.File, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.side != nil {
		return s.side, nil
	}
	large, err := hasXattr(fd, largeXattrPrefix+s.stream)
	if err != nil {
		return nil, err
	}
	if !large {
		return nil, unix.ENODATA
	}
	p, err := s.fs.sidecarPath(fd, s.stream, false)
	if err != nil {
		return nil, err
	}
	f, err := s.fs.root.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	s.side = f
	return f, nil
}

func (s *streamFile) closeSide() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.side != nil {
		s.side.Close()
		s.side = nil
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
	var side *os.File
	err := withFD(s.base.f, func(fd int) (err error) {
		data, err = s.get(fd)
		if err == unix.ENODATA {
			side, err = s.sidecarLocked(fd)
			if err == unix.ENODATA {
				data, err = nil, nil // removed while open: reads as empty
			}
		}
		return err
	})
	if err != nil {
		return 0, pathErr("read", s.base.name, streamErr(err))
	}
	if side != nil {
		n, err := side.ReadAt(p, off)
		if err != nil && err != io.EOF {
			err = pathErr("read", s.base.name, err)
		}
		return n, err
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

// update changes the stream to end bytes long (end >= 0) or writes p at
// off: in its attribute while it fits, else in its sidecar, moving it
// there when it grows past inlineStreamMax.
func (s *streamFile) update(op string, p []byte, off, end int64, truncate bool) error {
	if err := s.check(op, true); err != nil {
		return err
	}
	if off < 0 || end < 0 {
		return pathErr(op, s.base.name, fs.ErrInvalid)
	}
	if end > maxStreamSize {
		return pathErr(op, s.base.name, vfs.ErrNoSpace)
	}
	mu := streamLock(s.ino)
	mu.Lock()
	defer mu.Unlock()
	err := withFD(s.base.f, func(fd int) error {
		data, err := s.get(fd)
		if err == unix.ENODATA {
			side, err := s.sidecarLocked(fd)
			if err == nil {
				return writeSide(side, p, off, end, truncate)
			}
			if err != unix.ENODATA {
				return err
			}
			data = nil // removed while open: recreated small
		} else if err != nil {
			return err
		}
		if end > inlineStreamMax {
			side, err := s.moveToSidecar(fd, data)
			if err != nil {
				return err
			}
			return writeSide(side, p, off, end, truncate)
		}
		switch {
		case truncate && end <= int64(len(data)):
			data = data[:end]
		case end > int64(len(data)):
			data = append(data, make([]byte, end-int64(len(data)))...)
		}
		copy(data[off:], p)
		return unix.Fsetxattr(fd, s.attr, data, 0)
	})
	if err != nil {
		return pathErr(op, s.base.name, streamErr(err))
	}
	return nil
}

// writeSide applies a write or truncation to a sidecar.
func writeSide(side *os.File, p []byte, off, end int64, truncate bool) error {
	if truncate {
		return side.Truncate(end)
	}
	_, err := side.WriteAt(p, off)
	return err
}

// moveToSidecar moves a small stream holding data into a new sidecar and
// returns it. The caller holds the inode's stream lock.
func (s *streamFile) moveToSidecar(fd int, data []byte) (*os.File, error) {
	p, err := s.fs.sidecarPath(fd, s.stream, true)
	if err != nil {
		return nil, err
	}
	f, err := s.fs.root.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	if _, err := f.WriteAt(data, 0); err != nil {
		f.Close()
		s.fs.root.Remove(p)
		return nil, err
	}
	if err := unix.Fsetxattr(fd, largeXattrPrefix+s.stream, nil, 0); err != nil {
		f.Close()
		s.fs.root.Remove(p)
		return nil, err
	}
	if err := unix.Fremovexattr(fd, s.attr); err != nil && err != unix.ENODATA {
		f.Close()
		return nil, err
	}
	s.mu.Lock()
	if s.side != nil {
		s.side.Close()
	}
	s.side = f
	s.mu.Unlock()
	return f, nil
}

// WriteAt implements io.WriterAt.
func (s *streamFile) WriteAt(p []byte, off int64) (int, error) {
	if off > maxStreamSize-int64(len(p)) {
		if err := s.check("write", true); err != nil {
			return 0, err
		}
		return 0, pathErr("write", s.base.name, vfs.ErrNoSpace)
	}
	end := off + int64(len(p))
	if len(p) == 0 {
		end = 0 // writes nothing and extends nothing
	}
	if err := s.update("write", p, off, max(end, 0), false); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Truncate implements vfs.File.
func (s *streamFile) Truncate(size int64) error {
	return s.update("truncate", nil, 0, size, true)
}

// Close implements io.Closer.
func (s *streamFile) Close() error {
	if s.closed.Swap(true) {
		return &fs.PathError{Op: "close", Path: s.base.name, Err: fs.ErrClosed}
	}
	s.closeSide()
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
	var n int64
	err = withFD(s.base.f, func(fd int) error {
		m, err := unix.Fgetxattr(fd, s.attr, nil)
		n = int64(m)
		if err == unix.ENODATA {
			n, err = 0, nil
			if side, serr := s.sidecarLocked(fd); serr == nil {
				st, err := side.Stat()
				if err != nil {
					return err
				}
				n = st.Size()
			} else if serr != unix.ENODATA {
				return serr
			}
		}
		return err
	})
	if err != nil {
		return vfs.FileInfo{}, pathErr("stat", s.base.name, streamErr(err))
	}
	fi.Mode = fi.Mode.Perm()
	fi.Size = n
	fi.AllocationSize = (n + 4095) &^ 4095
	return fi, nil
}

// Sync implements vfs.File: the attribute goes to disk with the file's
// metadata, a sidecar with its own fsync.
func (s *streamFile) Sync() error {
	if s.closed.Load() {
		return &fs.PathError{Op: "sync", Path: s.base.name, Err: fs.ErrClosed}
	}
	s.mu.Lock()
	side := s.side
	s.mu.Unlock()
	if side != nil {
		if err := side.Sync(); err != nil {
			return pathErr("sync", s.base.name, err)
		}
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
			var n int64
			sn, ok := strings.CutPrefix(a, streamXattrPrefix)
			if ok {
				m, err := unix.Fgetxattr(fd, a, nil)
				if err == unix.ENODATA {
					continue
				}
				if err != nil {
					return err
				}
				n = int64(m)
			} else if sn, ok = strings.CutPrefix(a, largeXattrPrefix); ok {
				n = l.sidecarSize(fd, sn)
			}
			if !ok || vfs.CheckStreamName(sn) != nil {
				continue
			}
			out = append(out, vfs.StreamInfo{Name: sn, Size: n, AllocationSize: (n + 4095) &^ 4095})
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
	fi, err := bf.Stat()
	if err != nil {
		return err
	}
	mu := streamLock(fi.FileID)
	mu.Lock()
	defer mu.Unlock()
	err = withFD(bf.f, func(fd int) error {
		err := unix.Fremovexattr(fd, streamXattrPrefix+stream)
		if err != unix.ENODATA {
			return err
		}
		if err := unix.Fremovexattr(fd, largeXattrPrefix+stream); err != nil {
			if err == unix.ENODATA {
				return fs.ErrNotExist
			}
			return err
		}
		if p, err := l.sidecarPath(fd, stream, false); err == nil {
			l.root.Remove(p)
		}
		return nil
	})
	if err != nil {
		return pathErr("removestream", name, streamErr(err))
	}
	return nil
}

// RenameStream implements vfs.StreamFS: under the inode's stream lock, a
// small stream is copied to its new attribute, a large one's sidecar
// renamed, then the old name removed.
func (l *FS) RenameStream(ctx context.Context, name, oldStream, newStream string, replace bool) error {
	if err := vfs.CheckStreamName(newStream); err != nil || len(largeXattrPrefix)+len(newStream) > xattrNameMax {
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
	err = withFD(bf.f, func(fd int) error {
		oldLarge, err := hasXattr(fd, largeXattrPrefix+oldStream)
		if err != nil {
			return err
		}
		oldSmall, err := hasXattr(fd, streamXattrPrefix+oldStream)
		if err != nil {
			return err
		}
		if !oldLarge && !oldSmall {
			return fs.ErrNotExist
		}
		newSmall, _ := hasXattr(fd, streamXattrPrefix+newStream)
		newLarge, _ := hasXattr(fd, largeXattrPrefix+newStream)
		if newSmall || newLarge {
			if !replace {
				return fs.ErrExist
			}
			unix.Fremovexattr(fd, streamXattrPrefix+newStream)
			if newLarge {
				unix.Fremovexattr(fd, largeXattrPrefix+newStream)
				if p, err := l.sidecarPath(fd, newStream, false); err == nil {
					l.root.Remove(p)
				}
			}
		}
		if oldSmall {
			src := &streamFile{attr: streamXattrPrefix + oldStream}
			data, err := src.get(fd)
			if err != nil {
				return err
			}
			if err := unix.Fsetxattr(fd, streamXattrPrefix+newStream, data, 0); err != nil {
				return err
			}
			return unix.Fremovexattr(fd, src.attr)
		}
		op, err := l.sidecarPath(fd, oldStream, false)
		if err != nil {
			return err
		}
		np, err := l.sidecarPath(fd, newStream, false)
		if err != nil {
			return err
		}
		if err := l.root.Rename(op, np); err != nil {
			return err
		}
		if err := unix.Fsetxattr(fd, largeXattrPrefix+newStream, nil, 0); err != nil {
			return err
		}
		return unix.Fremovexattr(fd, largeXattrPrefix+oldStream)
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
