//go:build linux

package localfs

import (
	"context"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"

	"github.com/signetsmb/signet/vfs"
)

// securityXattr is the extended attribute holding the vfs.SecurityFile
// descriptor. It is in the user namespace because the server runs
// unprivileged: trusted.* and security.* need CAP_SYS_ADMIN. It is not
// Samba's security.NTACL, whose value is an NDR blob with a hash of the
// POSIX ACL: writing our raw descriptor there would make Samba misread
// it, and a share served by both would have to agree on one format.
const securityXattr = "user.signet.sd"

var (
	_ vfs.SecurityFile = (*file)(nil)
	_ vfs.SecurityFS   = (*FS)(nil)
)

// Security implements vfs.SecurityFile with fgetxattr(2).
func (f *file) Security() ([]byte, error) {
	if err := f.check("getsecurity", anyAccess); err != nil {
		return nil, err
	}
	var out []byte
	err := withFD(f.f, func(fd int) error {
		var err error
		out, err = getSecurity(fd)
		return err
	})
	if err != nil {
		return nil, pathErr("getsecurity", f.name, metaErr(err))
	}
	return out, nil
}

// SetSecurity implements vfs.SecurityFile with fsetxattr(2).
func (f *file) SetSecurity(sd []byte) error {
	if err := f.check("setsecurity", anyAccess); err != nil {
		return err
	}
	if len(sd) > vfs.MaxSecuritySize {
		return pathErr("setsecurity", f.name, fs.ErrInvalid)
	}
	err := withFD(f.f, func(fd int) error {
		if len(sd) == 0 {
			if err := unix.Fremovexattr(fd, securityXattr); err != nil && err != unix.ENODATA {
				return err
			}
			return nil
		}
		err := unix.Fsetxattr(fd, securityXattr, sd, 0)
		if err == unix.E2BIG || err == unix.ERANGE {
			return vfs.ErrNoSpace // larger than the file system keeps per file
		}
		return err
	})
	if err != nil {
		return pathErr("setsecurity", f.name, metaErr(err))
	}
	return nil
}

// Security implements vfs.SecurityFS: the file is opened (read-only, the
// lookup confined to the root as for OpenFile) and its attribute read.
func (l *FS) Security(ctx context.Context, name string) ([]byte, error) {
	f, err := l.OpenFile(ctx, name, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.(*file).Security()
}

// getSecurity reads the descriptor attribute of fd; none stored is nil.
func getSecurity(fd int) ([]byte, error) {
	for size := 512; ; size *= 4 {
		buf := make([]byte, size)
		n, err := unix.Fgetxattr(fd, securityXattr, buf)
		switch {
		case err == unix.ENODATA:
			return nil, nil
		case err == unix.ERANGE && size < vfs.MaxSecuritySize:
			continue
		case err == unix.ERANGE:
			return nil, nil // not ours: larger than any descriptor we write
		case err != nil:
			return nil, err
		}
		return buf[:n], nil
	}
}
