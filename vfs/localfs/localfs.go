//go:build linux

// Package localfs is the local-disk vfs.FS backend. It serves one directory
// tree (the share root) through an os.Root, and needs Linux: it uses
// openat-style resolution, statx, renameat2, utimensat and fallocate.
//
// Besides vfs.FS and vfs.File it implements vfs.TimeSetter on FS and
// vfs.FileTimeSetter and vfs.Allocator on its Files. It does not implement
// vfs.Notifier.
//
// # Semantics
//
//   - Symbolic links inside the share that resolve inside the share are
//     followed, as os.Root does: opening, stating and listing see the
//     target. Links that resolve outside the share (or are absolute) fail
//     with vfs.ErrEscapesRoot; dangling links fail with fs.ErrNotExist.
//     Remove and Rename act on a link itself, never on its target.
//     ReadDir reports an entry that is a followable link with its target's
//     FileInfo, and any other link with the link's own FileInfo
//     (fs.ModeSymlink set), so that nothing outside the share is described.
//   - Only regular files and directories can be opened; FIFOs, sockets and
//     device nodes fail with vfs.ErrNotSupported (they are still listed and
//     can be stated, removed and renamed).
//   - Permission bits passed to OpenFile and Mkdir are subject to the
//     process umask; access checks are the kernel's, for the server
//     process's credentials. os.Root opens every directory on a path for
//     reading, so a directory the server may search but not read makes
//     everything below it fail with fs.ErrPermission.
//   - FileID is the inode number. It is unique only per device: a share
//     that spans mount points may report colliding FileIDs.
//   - Rename with replace=false is atomic (renameat2 RENAME_NOREPLACE). On
//     file systems without RENAME_NOREPLACE it falls back to a
//     check-then-rename, which can overwrite a target created concurrently
//     by another process between the check and the rename.
//   - Rename with replace=true checks that the target is not a directory
//     before renaming; a directory created at the target in between may be
//     replaced if it is empty.
//   - BirthTime comes from statx and is zero where the file system does not
//     record it, and for entries reached through a symbolic link.
//   - FSInfo.CaseSensitive is always true: localfs does not detect
//     case-folding directories.
//
// # THREAT_MODEL
//
// The adversary is an SMB client: it chooses every name and every byte of
// data, and may hold several sessions racing each other. It cannot run code
// on the server host. localfs guarantees that such a client can neither
// read, write, create, remove, rename nor describe (Stat, ReadDir, SetTimes)
// anything outside the share root.
//
// Defended:
//   - Path traversal with "..": names are validated lexically by
//     vfs.CleanName, and any ".." component is refused with
//     vfs.ErrInvalidName before the file system is touched. os.Root would
//     refuse escapes again.
//   - Absolute names ("/etc/passwd") and names containing NUL bytes are
//     refused with vfs.ErrInvalidName. A NUL would otherwise truncate the
//     name at the system call boundary.
//   - Symbolic links pointing outside the share, whether created by a local
//     user or reached through a link inside the share: every operation
//     resolves names through os.Root, which walks the path one component
//     at a time with openat(O_NOFOLLOW) relative to file descriptors it
//     holds, and follows a link only if its target stays inside the root.
//     This holds for opening (including O_CREATE through a dangling link),
//     Stat, Mkdir, Remove, SetTimes, listing and both sides of Rename, whose
//     parent directories are opened through the os.Root and then used as
//     renameat2 directory descriptors with single-component names.
//   - Races that swap a directory for a symbolic link during resolution:
//     because each step is relative to an already-open descriptor and never
//     re-resolves a path string, a swap cannot redirect an operation outside
//     the root. (os.Root documents one residual race on Unix, for
//     Chmod/Chown/Chtimes: if the final component is swapped for a link the
//     operation may apply to the link itself, which is inside the root.)
//   - Moving the share directory itself while serving: the os.Root holds a
//     descriptor and keeps serving the directory in its new place.
//   - Blocking on FIFOs and acquiring terminals: files are opened with
//     O_NONBLOCK|O_NOCTTY and anything other than a regular file or a
//     directory is closed again and refused.
//
// Not defended (deployment concerns):
//   - Hard links: a local user who can write into the share can hard-link a
//     file from elsewhere on the same file system into it, and the server
//     will serve it like any other file. os.Root cannot tell.
//   - Other local users with write access to the share directory can change
//     anything in it, including replacing files the server is working on.
//     Run the server as a dedicated user and give the share to that user.
//   - Resource exhaustion: disk space, quotas, inode counts, the number of
//     open descriptors and huge directories are not limited here; the
//     server must bound open handles and the kernel or quotas must bound
//     space (errors surface as vfs.ErrNoSpace).
//   - Special files: opening a device node (even only to refuse it) can
//     have side effects in its driver. Device nodes cannot be created over
//     SMB, but mount the share with nodev (and nosuid, noexec) so that none
//     placed there by other means is usable.
//   - Mount points and bind mounts inside the share are traversed (os.Root
//     does not stop at file system boundaries), and /proc-like file systems
//     mounted inside the share would be exposed.
//   - Confidentiality of metadata on the same device: FileIDs are inode
//     numbers and reveal allocation patterns.
package localfs

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/signetsmb/signet/vfs"
)

// FS serves a directory tree from local disk. Create it with New; it is safe
// for concurrent use.
type FS struct {
	root *os.Root
	dir  *os.File // the root directory itself, for StatFS and top-level renames
}

// Compile-time checks of the capabilities FS provides.
var (
	_ vfs.FS           = (*FS)(nil)
	_ vfs.TimeSetter   = (*FS)(nil)
	_ vfs.SerialWriter = (*FS)(nil)
)

// WritesSerialized reports true: Linux runs the buffered writes to one
// regular file one at a time (each takes the inode's lock).
func (fsys *FS) WritesSerialized() bool { return true }

// New returns an FS serving the directory dir, which must exist. The FS
// holds a descriptor for dir; call Close to release it.
//
// Errors: fs.ErrNotExist, vfs.ErrNotDir if dir is not a directory,
// fs.ErrPermission.
func New(dir string) (*FS, error) {
	// Checked first so that a FIFO is not opened, and for the error class:
	// os.OpenRoot reports a non-directory with an untyped error.
	if info, err := os.Stat(dir); err != nil {
		return nil, pathErr("openroot", dir, err)
	} else if !info.IsDir() {
		return nil, &fs.PathError{Op: "openroot", Path: dir, Err: vfs.ErrNotDir}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, pathErr("openroot", dir, err)
	}
	d, err := root.OpenFile(vfs.Root, os.O_RDONLY|syscall.O_DIRECTORY, 0)
	if err != nil {
		root.Close()
		return nil, pathErr("openroot", dir, err)
	}
	return &FS{root: root, dir: d}, nil
}

// Close releases the root directory. Files opened from the FS stay usable;
// FS methods called after Close fail with fs.ErrClosed.
func (l *FS) Close() error {
	return errors.Join(l.dir.Close(), l.root.Close())
}

// OpenFile implements vfs.FS.
func (l *FS) OpenFile(ctx context.Context, name string, flag int, perm fs.FileMode) (vfs.File, error) {
	clean, err := prepare(ctx, name)
	if err == nil {
		err = vfs.CheckOpenFlag(flag)
	}
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	// O_NONBLOCK keeps open(2) of a FIFO from waiting for a peer; such
	// files are refused below. It has no effect on regular files and
	// directories.
	osf, err := l.root.OpenFile(clean, flag|syscall.O_NOCTTY|syscall.O_NONBLOCK, perm&fs.ModePerm)
	if err != nil {
		return nil, rootErr("open", name, err)
	}
	f := &file{f: osf, fs: l, name: path.Base(clean), path: clean, flag: flag}
	fi, err := f.Stat()
	if err == nil && !fi.IsRegular() && !fi.IsDir() {
		err = &fs.PathError{Op: "open", Path: name, Err: vfs.ErrNotSupported}
	}
	if err != nil {
		osf.Close()
		return nil, err
	}
	f.isDir = fi.IsDir()
	return f, nil
}

// Stat implements vfs.FS. It describes the entry with statx relative to its
// parent directory without following a final symbolic link; if the entry
// is a link, it is resolved through the os.Root instead.
func (l *FS) Stat(ctx context.Context, name string) (vfs.FileInfo, error) {
	clean, err := prepare(ctx, name)
	if err != nil {
		return vfs.FileInfo{}, &fs.PathError{Op: "stat", Path: name, Err: err}
	}
	fi, err := l.lstat(clean)
	if err == nil && fi.Mode&fs.ModeSymlink != 0 {
		var info os.FileInfo
		if info, err = l.root.Stat(clean); err == nil {
			fi = fromOSInfo(info, fi.Name)
		}
	}
	if err != nil {
		return vfs.FileInfo{}, rootErr("stat", name, err)
	}
	return fi, nil
}

// lstat describes a clean name without following a final symbolic link.
func (l *FS) lstat(clean string) (vfs.FileInfo, error) {
	parent, base := path.Split(clean)
	d, release, err := l.openDir(parent)
	if err != nil {
		return vfs.FileInfo{}, err
	}
	defer release()
	var fi vfs.FileInfo
	err = withFD(d, func(fd int) (err error) {
		fi, err = statAt(fd, base, unix.AT_SYMLINK_NOFOLLOW, path.Base(clean))
		return err
	})
	return fi, err
}

// Mkdir implements vfs.FS.
func (l *FS) Mkdir(ctx context.Context, name string, perm fs.FileMode) error {
	clean, err := prepare(ctx, name)
	if err != nil {
		return &fs.PathError{Op: "mkdir", Path: name, Err: err}
	}
	if err := l.root.Mkdir(clean, perm&fs.ModePerm); err != nil {
		return rootErr("mkdir", name, err)
	}
	return nil
}

// Remove implements vfs.FS.
func (l *FS) Remove(ctx context.Context, name string) error {
	clean, err := prepare(ctx, name)
	if err == nil && clean == vfs.Root {
		err = fs.ErrPermission
	}
	if err != nil {
		return &fs.PathError{Op: "remove", Path: name, Err: err}
	}
	side := l.lastLinkSidecars(clean) // sidecar.go
	if err := l.root.Remove(clean); err != nil {
		return rootErr("remove", name, err)
	}
	l.removeSidecars(side)
	return nil
}

// SetTimes implements vfs.TimeSetter.
func (l *FS) SetTimes(ctx context.Context, name string, atime, mtime time.Time) error {
	clean, err := prepare(ctx, name)
	if err != nil {
		return &fs.PathError{Op: "chtimes", Path: name, Err: err}
	}
	if err := l.root.Chtimes(clean, atime, mtime); err != nil {
		return rootErr("chtimes", name, err)
	}
	return nil
}

// StatFS implements vfs.FS.
func (l *FS) StatFS(ctx context.Context) (vfs.FSInfo, error) {
	if err := ctx.Err(); err != nil {
		return vfs.FSInfo{}, err
	}
	var st unix.Statfs_t
	err := withFD(l.dir, func(fd int) error { return unix.Fstatfs(fd, &st) })
	if err != nil {
		return vfs.FSInfo{}, pathErr("statfs", vfs.Root, err)
	}
	unit := uint64(st.Frsize)
	if unit == 0 {
		unit = uint64(st.Bsize)
	}
	return vfs.FSInfo{
		TotalBytes:    st.Blocks * unit,
		FreeBytes:     st.Bfree * unit,
		AvailBytes:    st.Bavail * unit,
		BlockSize:     uint32(st.Bsize),
		FSName:        fsName(int64(st.Type)),
		MaxNameLen:    int(st.Namelen),
		CaseSensitive: true,
	}, nil
}

// openDir opens a directory below the root, given as a clean name or as
// the directory part of path.Split (empty or ending in a slash). The
// caller must call release when done.
func (l *FS) openDir(dir string) (d *os.File, release func(), err error) {
	if dir == "" || dir == vfs.Root {
		return l.dir, func() {}, nil
	}
	d, err = l.root.OpenFile(dir, os.O_RDONLY|syscall.O_DIRECTORY, 0)
	if err != nil {
		return nil, nil, translateRoot(err)
	}
	return d, func() { d.Close() }, nil
}

// prepare checks ctx and validates name, returning its clean form.
func prepare(ctx context.Context, name string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	clean, err := vfs.CleanName(name)
	if err == nil && hiddenName(clean) {
		return "", vfs.ErrInvalidName // the sidecars of large streams (sidecar.go)
	}
	return clean, err
}

// withFD runs fn with the raw descriptor of f, without switching f to
// blocking mode as f.Fd would. It fails with fs.ErrClosed if f is closed.
func withFD(f *os.File, fn func(fd int) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var fnErr error
	if err := rc.Control(func(fd uintptr) { fnErr = fn(int(fd)) }); err != nil {
		return fs.ErrClosed
	}
	return fnErr
}
