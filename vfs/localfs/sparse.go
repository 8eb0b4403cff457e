//go:build linux

package localfs

import (
	"io/fs"

	"golang.org/x/sys/unix"

	"github.com/signetsmb/signet/vfs"
)

// sparseXattr marks a file that a client declared sparse (FSCTL_SET_SPARSE).
// Linux has no such flag: every file may have holes. The mark only tells
// the server whether zeroing a range may leave a hole.
const sparseXattr = "user.signet.sparse"

var (
	_ vfs.SparseFS   = (*FS)(nil)
	_ vfs.SparseFile = (*file)(nil)
)

// SupportsSparse implements vfs.SparseFS: holes are punched with
// fallocate(2) and found with lseek(2) SEEK_DATA/SEEK_HOLE; a file system
// without them makes PunchHole fail with vfs.ErrNotSupported.
func (l *FS) SupportsSparse() bool { return true }

// Sparse implements vfs.SparseFile.
func (f *file) Sparse() (bool, error) {
	if err := f.check("getsparse", anyAccess); err != nil {
		return false, err
	}
	var set bool
	err := withFD(f.f, func(fd int) error {
		var b [1]byte
		_, err := unix.Fgetxattr(fd, sparseXattr, b[:])
		switch err {
		case nil:
			set = true
			return nil
		case unix.ENODATA:
			return nil
		}
		return err
	})
	if err != nil {
		return false, pathErr("getsparse", f.name, metaErr(err))
	}
	return set, nil
}

// SetSparse implements vfs.SparseFile.
func (f *file) SetSparse(sparse bool) error {
	if err := f.check("setsparse", anyAccess); err != nil {
		return err
	}
	if f.isDir {
		return pathErr("setsparse", f.name, vfs.ErrIsDir)
	}
	err := withFD(f.f, func(fd int) error {
		if sparse {
			return unix.Fsetxattr(fd, sparseXattr, []byte{1}, 0)
		}
		if err := unix.Fremovexattr(fd, sparseXattr); err != nil && err != unix.ENODATA {
			return err
		}
		return nil
	})
	if err != nil {
		return pathErr("setsparse", f.name, metaErr(err))
	}
	return nil
}

// PunchHole implements vfs.SparseFile with fallocate(2)
// FALLOC_FL_PUNCH_HOLE|FALLOC_FL_KEEP_SIZE.
func (f *file) PunchHole(off, length int64) error {
	if err := f.check("punchhole", writeData); err != nil {
		return err
	}
	if off < 0 || length < 0 || off > 1<<62 || length > 1<<62 {
		return pathErr("punchhole", f.name, fs.ErrInvalid)
	}
	if length == 0 {
		return nil
	}
	err := withFD(f.f, func(fd int) error {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			return err
		}
		end := min(off+length, st.Size)
		if end <= off {
			return nil
		}
		err := unix.Fallocate(fd, unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, off, end-off)
		if err == unix.EOPNOTSUPP {
			return vfs.ErrNotSupported
		}
		return err
	})
	if err != nil {
		return pathErr("punchhole", f.name, err)
	}
	return nil
}

// DataRanges implements vfs.SparseFile with lseek(2) SEEK_DATA and
// SEEK_HOLE. The descriptor's offset is not used by reads and writes
// (they are positional), so moving it is harmless.
func (f *file) DataRanges(off, length int64, max int) ([]vfs.Range, error) {
	if err := f.check("dataranges", readData); err != nil {
		return nil, err
	}
	if off < 0 || length < 0 || off > 1<<62 || length > 1<<62 || max < 1 {
		return nil, pathErr("dataranges", f.name, fs.ErrInvalid)
	}
	var out []vfs.Range
	err := withFD(f.f, func(fd int) error {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			return err
		}
		end := min(off+length, st.Size)
		for pos := off; pos < end && len(out) < max; {
			data, err := unix.Seek(fd, pos, unix.SEEK_DATA)
			if err == unix.ENXIO {
				break // only a hole up to the end
			}
			if err == unix.EINVAL || err == unix.EOPNOTSUPP {
				out = append(out[:0], vfs.Range{Off: off, Len: end - off})
				return nil // no hole support: all data
			}
			if err != nil {
				return err
			}
			if data >= end {
				break
			}
			hole, err := unix.Seek(fd, data, unix.SEEK_HOLE)
			if err != nil {
				return err
			}
			hole = min(hole, end)
			out = appendRange(out, vfs.Range{Off: data, Len: hole - data})
			pos = hole
		}
		return nil
	})
	if err != nil {
		return nil, pathErr("dataranges", f.name, err)
	}
	return out, nil
}

// appendRange appends r to rs, merging it with the last range when they
// touch.
func appendRange(rs []vfs.Range, r vfs.Range) []vfs.Range {
	if r.Len <= 0 {
		return rs
	}
	if n := len(rs); n > 0 && rs[n-1].End() == r.Off {
		rs[n-1].Len += r.Len
		return rs
	}
	return append(rs, r)
}
