//go:build linux

package localfs

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"path"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/signetsmb/signet/vfs"
)

// metaXattr is the extended attribute holding the vfs.MetaFile record.
const metaXattr = "user.signet.meta"

var (
	_ vfs.MetaFile = (*file)(nil)
	_ vfs.MetaFS   = (*FS)(nil)
)

// Meta implements vfs.MetaFile with fgetxattr(2).
func (f *file) Meta() ([]byte, error) {
	if err := f.check("getmeta", anyAccess); err != nil {
		return nil, err
	}
	var out []byte
	err := withFD(f.f, func(fd int) error {
		var err error
		out, err = getMeta(func(b []byte) (int, error) { return unix.Fgetxattr(fd, metaXattr, b) })
		return err
	})
	if err != nil {
		return nil, pathErr("getmeta", f.name, metaErr(err))
	}
	return out, nil
}

// SetMeta implements vfs.MetaFile with fsetxattr(2).
func (f *file) SetMeta(data []byte) error {
	if err := f.check("setmeta", anyAccess); err != nil {
		return err
	}
	if len(data) > vfs.MaxMetaSize {
		return pathErr("setmeta", f.name, fs.ErrInvalid)
	}
	err := withFD(f.f, func(fd int) error {
		if len(data) == 0 {
			if err := unix.Fremovexattr(fd, metaXattr); err != nil && err != unix.ENODATA {
				return err
			}
			return nil
		}
		return unix.Fsetxattr(fd, metaXattr, data, 0)
	})
	if err != nil {
		return pathErr("setmeta", f.name, metaErr(err))
	}
	return nil
}

// Meta implements vfs.MetaFS: lgetxattr(2) on the entry, reached through
// the descriptor of its parent directory so that the lookup stays inside
// the root.
func (l *FS) Meta(ctx context.Context, name string) ([]byte, error) {
	clean, err := prepare(ctx, name)
	if err != nil {
		return nil, &fs.PathError{Op: "getmeta", Path: name, Err: err}
	}
	var out []byte
	if clean == vfs.Root {
		err = withFD(l.dir, func(fd int) error {
			var err error
			out, err = getMeta(func(b []byte) (int, error) { return unix.Fgetxattr(fd, metaXattr, b) })
			return err
		})
		if err != nil {
			return nil, pathErr("getmeta", name, metaErr(err))
		}
		return out, nil
	}
	parent, base := path.Split(clean)
	d, release, err := l.openDir(parent)
	if err != nil {
		return nil, rootErr("getmeta", name, err)
	}
	defer release()
	err = withFD(d, func(fd int) (err error) {
		out, err = metaAt(fd, base)
		return err
	})
	if err != nil {
		return nil, pathErr("getmeta", name, metaErr(err))
	}
	return out, nil
}

// metaAt reads the record of the entry base of the directory dirfd
// (links are not followed).
func metaAt(dirfd int, base string) ([]byte, error) {
	return getMeta(func(b []byte) (int, error) { return lgetxattrAt(dirfd, base, metaXattr, b) })
}

// getMeta reads the attribute with get, mapping "no attribute" (and, for
// symbolic links, "not permitted") to no record.
func getMeta(get func([]byte) (int, error)) ([]byte, error) {
	buf := metaBufs.Get().(*[vfs.MaxMetaSize]byte)
	defer metaBufs.Put(buf)
	n, err := get(buf[:])
	switch {
	case err == unix.ENODATA, err == unix.EPERM:
		return nil, nil
	case err == unix.ERANGE:
		return nil, nil // not ours: larger than any record we write
	case err != nil:
		return nil, err
	}
	return bytes.Clone(buf[:n]), nil
}

// metaBufs holds the buffers records are read into: most files have none,
// and a folder listing reads one per entry.
var metaBufs = sync.Pool{New: func() any { return new([vfs.MaxMetaSize]byte) }}

// metaErr maps "extended attributes unsupported" to vfs.ErrNotSupported.
func metaErr(err error) error {
	if errors.Is(err, unix.ENOTSUP) {
		return vfs.ErrNotSupported
	}
	return err
}
