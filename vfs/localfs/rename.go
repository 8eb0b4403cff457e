//go:build linux

package localfs

import (
	"context"
	"io/fs"
	"os"
	"path"

	"golang.org/x/sys/unix"

	"github.com/signetsmb/signet/vfs"
)

// Rename implements vfs.FS.
//
// Both parent directories are opened through the os.Root, so neither side
// can escape the share, and the move itself is one renameat2 call on those
// directory descriptors with single-component names. With replace false it
// passes RENAME_NOREPLACE, which makes the existence check atomic.
func (l *FS) Rename(ctx context.Context, oldName, newName string, replace bool) error {
	oldClean, err := prepare(ctx, oldName)
	if err != nil {
		return &os.LinkError{Op: "rename", Old: oldName, New: newName, Err: err}
	}
	newClean, err := prepare(ctx, newName)
	if err != nil {
		return &os.LinkError{Op: "rename", Old: oldName, New: newName, Err: err}
	}
	var side string
	if replace && oldClean != newClean {
		side = l.lastLinkSidecars(newClean) // sidecar.go: the replaced file's
	}
	if err := l.rename(oldClean, newClean, replace); err != nil {
		return &os.LinkError{Op: "rename", Old: oldName, New: newName, Err: translateRoot(err)}
	}
	l.removeSidecars(side)
	return nil
}

// rename moves oldName to newName, both clean.
func (l *FS) rename(oldName, newName string, replace bool) error {
	if oldName == vfs.Root || newName == vfs.Root {
		return fs.ErrPermission
	}
	if oldName == newName {
		_, err := l.lstat(oldName)
		return err
	}
	oldDir, oldBase := path.Split(oldName)
	newDir, newBase := path.Split(newName)
	od, releaseOld, err := l.openDir(oldDir)
	if err != nil {
		return err
	}
	defer releaseOld()
	nd := od
	if newDir != oldDir {
		var releaseNew func()
		if nd, releaseNew, err = l.openDir(newDir); err != nil {
			return err
		}
		defer releaseNew()
	}
	return withFD(od, func(ofd int) error {
		return withFD(nd, func(nfd int) error {
			if replace {
				return renameReplace(ofd, oldBase, nfd, newBase)
			}
			return renameNoReplace(ofd, oldBase, nfd, newBase)
		})
	})
}

// renameNoReplace renames without replacing an existing target, atomically
// when the file system supports RENAME_NOREPLACE. Otherwise (EINVAL or
// ENOSYS) it checks for the target first; the check and the rename are then
// two steps, and a target created in between by another process is
// overwritten. Errors are raw errnos.
func renameNoReplace(ofd int, oldBase string, nfd int, newBase string) error {
	err := unix.Renameat2(ofd, oldBase, nfd, newBase, unix.RENAME_NOREPLACE)
	if err != unix.EINVAL && err != unix.ENOSYS {
		return err
	}
	if err := lexists(nfd, newBase); err != unix.ENOENT {
		if err == nil {
			return unix.EEXIST
		}
		return err
	}
	// EINVAL may also mean "directory into its own subtree"; renameat
	// reports it again.
	return unix.Renameat(ofd, oldBase, nfd, newBase)
}

// renameReplace renames over an existing non-directory target. A directory
// target is refused with EEXIST, as os.Rename does, rather than replaced
// when empty, as rename(2) would; a directory source over a non-directory
// target is refused with ENOTDIR before the kernel's subtree check, the
// order memfs uses. Errors are raw errnos.
func renameReplace(ofd int, oldBase string, nfd int, newBase string) error {
	var src, dst unix.Stat_t
	if err := unix.Fstatat(ofd, oldBase, &src, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	if err := unix.Fstatat(nfd, newBase, &dst, unix.AT_SYMLINK_NOFOLLOW); err == nil {
		switch {
		case isDir(dst.Mode):
			return unix.EEXIST
		case isDir(src.Mode):
			return unix.ENOTDIR
		}
	}
	return unix.Renameat(ofd, oldBase, nfd, newBase)
}

func isDir(mode uint32) bool { return mode&unix.S_IFMT == unix.S_IFDIR }

// lexists returns nil if name exists in directory dirfd, without following
// a final symbolic link, and the errno otherwise.
func lexists(dirfd int, name string) error {
	var st unix.Stat_t
	return unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
}
