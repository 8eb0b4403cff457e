//go:build linux

package localfs

import (
	"io/fs"
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
