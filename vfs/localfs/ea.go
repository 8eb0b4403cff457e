//go:build linux

package localfs

import (
	"context"
	"io/fs"
	"path"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/signetsmb/signet/vfs"
)

// Extended attributes (SMB EAs) are kept in user extended attributes named
// eaXattrPrefix+name, the value prefixed with the EA's flags byte. The
// prefix keeps SMB EAs apart from the attributes other programs and
// Signet itself (streams, metadata) store on the file, so a client neither
// sees nor overwrites those; Samba's "ea support" instead maps an EA to
// "user.<name>" directly, which exposes every user attribute of the file.
const eaXattrPrefix = "user.signet.ea."

var (
	_ vfs.EAFS   = (*FS)(nil)
	_ vfs.EAFile = (*file)(nil)
	_ vfs.EAFile = (*streamFile)(nil)
)

// SupportsEAs implements vfs.EAFS; a file system without user attributes
// makes the EAFile methods fail with vfs.ErrNotSupported.
func (l *FS) SupportsEAs() bool { return true }

// EAs implements vfs.EAFile with flistxattr(2) and fgetxattr(2).
func (f *file) EAs() ([]vfs.EA, error) {
	if err := f.check("eas", anyAccess); err != nil {
		return nil, err
	}
	var out []vfs.EA
	err := withFD(f.f, func(fd int) error {
		names, err := listXattrs(fd)
		if err != nil {
			return err
		}
		for _, a := range names {
			name, ok := strings.CutPrefix(a, eaXattrPrefix)
			if !ok || name == "" {
				continue
			}
			v := &streamFile{attr: a}
			data, err := v.get(fd)
			if err == unix.ENODATA {
				continue
			}
			if err != nil {
				return err
			}
			if len(data) < 2 {
				continue // not one of ours: an EA has a flags byte and a value
			}
			out = append(out, vfs.EA{Name: name, Flags: data[0], Value: data[1:]})
		}
		return nil
	})
	if err != nil {
		return nil, pathErr("eas", f.name, streamErr(err))
	}
	slices.SortFunc(out, func(a, b vfs.EA) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// SetEA implements vfs.EAFile with fsetxattr(2) and fremovexattr(2).
func (f *file) SetEA(name string, flags uint8, value []byte) error {
	if err := f.check("setea", anyAccess); err != nil {
		return err
	}
	if name == "" || strings.IndexByte(name, 0) >= 0 || len(eaXattrPrefix)+len(name) > xattrNameMax {
		return pathErr("setea", f.name, fs.ErrInvalid)
	}
	if len(value) >= maxEAValue {
		return pathErr("setea", f.name, vfs.ErrNoSpace)
	}
	err := withFD(f.f, func(fd int) error {
		if len(value) == 0 {
			if err := unix.Fremovexattr(fd, eaXattrPrefix+name); err != nil && err != unix.ENODATA {
				return err
			}
			return nil
		}
		return unix.Fsetxattr(fd, eaXattrPrefix+name, append([]byte{flags}, value...), 0)
	})
	if err != nil {
		return pathErr("setea", f.name, streamErr(err))
	}
	return nil
}

// EAs implements vfs.EAFile: a stream's EAs are its file's.
func (s *streamFile) EAs() ([]vfs.EA, error) {
	if s.closed.Load() {
		return nil, &fs.PathError{Op: "eas", Path: s.base.name, Err: fs.ErrClosed}
	}
	return s.base.EAs()
}

// SetEA implements vfs.EAFile on the stream's file.
func (s *streamFile) SetEA(name string, flags uint8, value []byte) error {
	if s.closed.Load() {
		return &fs.PathError{Op: "setea", Path: s.base.name, Err: fs.ErrClosed}
	}
	return s.base.SetEA(name, flags, value)
}

// EAsOf implements vfs.EAFS: llistxattr(2) and lgetxattr(2) on the entry,
// reached through the descriptor of its parent directory so that the
// lookup stays inside the root. A file without attributes costs one
// system call.
func (l *FS) EAsOf(ctx context.Context, name string) ([]vfs.EA, error) {
	clean, err := prepare(ctx, name)
	if err != nil {
		return nil, &fs.PathError{Op: "eas", Path: name, Err: err}
	}
	if clean == vfs.Root {
		root := &file{f: l.dir, fs: l, name: vfs.Root, path: vfs.Root, isDir: true}
		return root.EAs()
	}
	parent, base := path.Split(clean)
	d, release, err := l.openDir(parent)
	if err != nil {
		return nil, rootErr("eas", name, err)
	}
	defer release()
	var out []vfs.EA
	err = withFD(d, func(fd int) (err error) {
		out, err = easAt(fd, base)
		return err
	})
	if err != nil {
		return nil, pathErr("eas", name, streamErr(err))
	}
	return out, nil
}

// easAt reads the EAs of the entry base of the directory dirfd, sorted
// by name (links are not followed; xattrat.go). Errors are raw errnos.
func easAt(dirfd int, base string) ([]vfs.EA, error) {
	names, err := llistXattrs(func(b []byte) (int, error) { return llistxattrAt(dirfd, base, b) })
	if err != nil {
		return nil, err
	}
	var out []vfs.EA
	for _, a := range names {
		ea, ok := strings.CutPrefix(a, eaXattrPrefix)
		if !ok || ea == "" {
			continue
		}
		buf := make([]byte, maxEAValue+1)
		n, err := lgetxattrAt(dirfd, base, a, buf)
		if err == unix.ENODATA || err == unix.ERANGE {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n < 2 {
			continue
		}
		out = append(out, vfs.EA{Name: ea, Flags: buf[0], Value: append([]byte(nil), buf[1:n]...)})
	}
	slices.SortFunc(out, func(a, b vfs.EA) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// llistXattrs returns the attribute names list gives (llistxattr(2) of
// one entry, links not followed); links and files without attributes
// have none.
func llistXattrs(list func([]byte) (int, error)) ([]string, error) {
	for {
		n, err := list(nil)
		if err == unix.EPERM || err == unix.ENOTSUP {
			return nil, nil
		}
		if err != nil || n == 0 {
			return nil, err
		}
		buf := make([]byte, n)
		m, err := list(buf)
		if err == unix.ERANGE {
			continue
		}
		if err != nil {
			return nil, err
		}
		var out []string
		for _, b := range strings.Split(string(buf[:m]), "\x00") {
			if b != "" {
				out = append(out, b)
			}
		}
		return out, nil
	}
}
