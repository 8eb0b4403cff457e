//go:build linux

package localfs

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/signetsmb/signet/vfs"
)

// Sidecars hold the bytes of large named streams (see streams.go):
// sidecarDir/<id>/<hash>, where <id> is a random id kept in the file's
// sidecarIDXattr and <hash> the first 128 bits of SHA-256 of the stream
// name in hex (stream names may be longer than a file name may, and may
// hold any character). sidecarDir sits at the share root; localfs refuses
// every client name under it (vfs.ErrInvalidName) and leaves it out of the
// root's listing, so a client can neither see nor reach a sidecar except
// through its stream. The directory is reached through the os.Root like
// any other name, so a link planted in its place cannot lead outside the
// share.
const (
	sidecarDir     = ".signet-streams"
	sidecarIDXattr = "user.signet.streamid"
)

// hiddenEntry reports whether name, an entry of the folder dir, is the
// sidecar directory, which listings leave out.
func hiddenEntry(dir, name string) bool {
	return dir == vfs.Root && name == sidecarDir
}

// hiddenName reports whether a clean name lies in the sidecar directory.
func hiddenName(clean string) bool {
	return clean == sidecarDir || strings.HasPrefix(clean, sidecarDir+"/")
}

// sidecarPath returns the sidecar of stream for the file open as fd,
// giving the file an id (and creating its directory) when create is set.
func (l *FS) sidecarPath(fd int, stream string, create bool) (string, error) {
	id, err := sidecarID(fd)
	if err != nil {
		return "", err
	}
	if id == "" {
		if !create {
			return "", unix.ENODATA
		}
		var b [16]byte
		rand.Read(b[:])
		id = hex.EncodeToString(b[:])
		if err := unix.Fsetxattr(fd, sidecarIDXattr, []byte(id), unix.XATTR_CREATE); err != nil {
			if err != unix.EEXIST {
				return "", err
			}
			if id, err = sidecarID(fd); err != nil || id == "" {
				return "", unix.ENODATA
			}
		}
	}
	if create {
		if err := l.root.Mkdir(sidecarDir, 0o700); err != nil && !os.IsExist(err) {
			return "", err
		}
		if err := l.root.Mkdir(sidecarDir+"/"+id, 0o700); err != nil && !os.IsExist(err) {
			return "", err
		}
	}
	h := sha256.Sum256([]byte(stream))
	return sidecarDir + "/" + id + "/" + hex.EncodeToString(h[:16]), nil
}

// sidecarID reads the file's sidecar id, "" if it has none (or a value
// that is not one of ours).
func sidecarID(fd int) (string, error) {
	var b [64]byte
	n, err := unix.Fgetxattr(fd, sidecarIDXattr, b[:])
	switch {
	case err == unix.ENODATA, err == unix.ERANGE:
		return "", nil
	case err != nil:
		return "", err
	}
	id := string(b[:n])
	if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
		return "", nil
	}
	return id, nil
}

// sidecarSize is the size of a large stream, 0 if its sidecar is missing.
func (l *FS) sidecarSize(fd int, stream string) int64 {
	p, err := l.sidecarPath(fd, stream, false)
	if err != nil {
		return 0
	}
	fi, err := l.root.Stat(p)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// lastLinkSidecars returns the sidecar id of the file or directory clean
// when removing or replacing it drops its last link, "" otherwise.
func (l *FS) lastLinkSidecars(clean string) string {
	parent, base := path.Split(clean)
	d, release, err := l.openDir(parent)
	if err != nil {
		return ""
	}
	defer release()
	var id string
	withFD(d, func(dfd int) error {
		var st unix.Stat_t
		if err := unix.Fstatat(dfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return nil
		}
		switch st.Mode & syscall.S_IFMT {
		case syscall.S_IFDIR: // a directory has no other links
		case syscall.S_IFREG:
			if st.Nlink != 1 {
				return nil
			}
		default:
			return nil
		}
		var b [64]byte
		n, err := lgetxattrAt(dfd, base, sidecarIDXattr, b[:])
		if err == nil && n == 32 && strings.Trim(string(b[:n]), "0123456789abcdef") == "" {
			id = string(b[:n])
		}
		return nil
	})
	return id
}

// removeSidecars removes the sidecar directory of a file that is gone.
// Open streams keep their sidecar descriptors (POSIX unlink semantics).
func (l *FS) removeSidecars(id string) {
	if id == "" {
		return
	}
	dir := sidecarDir + "/" + id
	d, err := l.root.OpenFile(dir, os.O_RDONLY|syscall.O_DIRECTORY, 0)
	if err != nil {
		return
	}
	names, _ := d.Readdirnames(-1)
	d.Close()
	for _, n := range names {
		l.root.Remove(dir + "/" + n)
	}
	l.root.Remove(dir)
}
