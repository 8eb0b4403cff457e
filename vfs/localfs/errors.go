//go:build linux

package localfs

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/signetsmb/signet/vfs"
)

// errnoError is an errno translated into a vfs or io/fs sentinel. It keeps
// the kernel's message but unwraps only to the sentinel: syscall.Errno's own
// Is method would make ENOTEMPTY match fs.ErrExist, which is not the vfs
// contract.
type errnoError struct {
	errno syscall.Errno
	kind  error
}

func (e *errnoError) Error() string { return e.errno.Error() }

// Unwrap returns the sentinel the errno maps to.
func (e *errnoError) Unwrap() error { return e.kind }

// errnoKind returns the sentinel for errno, or nil if there is none.
func errnoKind(errno syscall.Errno) error {
	switch errno {
	case unix.ENOENT:
		return fs.ErrNotExist
	case unix.EEXIST:
		return fs.ErrExist
	case unix.ENOTEMPTY:
		return vfs.ErrNotEmpty
	case unix.EISDIR:
		return vfs.ErrIsDir
	case unix.ENOTDIR:
		return vfs.ErrNotDir
	case unix.EACCES, unix.EPERM, unix.EROFS, unix.ETXTBSY, unix.ELOOP:
		return fs.ErrPermission
	case unix.ENAMETOOLONG:
		return vfs.ErrNameTooLong
	case unix.ENOSPC, unix.EDQUOT, unix.EFBIG:
		return vfs.ErrNoSpace
	case unix.EINVAL:
		return fs.ErrInvalid
	case unix.EOPNOTSUPP, unix.ENOSYS, unix.ENODEV, unix.ENXIO, unix.EXDEV:
		return vfs.ErrNotSupported
	}
	return nil
}

// translate maps the innermost errno of err to a vfs or io/fs sentinel,
// leaving other errors (and errnos without a sentinel) unchanged. It strips
// the *fs.PathError and *os.LinkError layers, which callers re-add with
// the caller's view of the name.
func translate(err error) error {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		if kind := errnoKind(errno); kind != nil {
			return &errnoError{errno: errno, kind: kind}
		}
		return errno
	}
	return unwrapOp(err)
}

// translateRoot is translate for errors from os.Root methods: os.Root
// reports a name that escapes the root, through ".." or a symbolic link,
// with an unexported error that is neither an errno nor fs.ErrClosed, so
// every such error is classified as vfs.ErrEscapesRoot.
func translateRoot(err error) error {
	err = translate(err)
	if classified(err) {
		return err
	}
	return vfs.ErrEscapesRoot
}

// classified reports whether err is an errno or one of the errors that
// localfs or os.Root report on purpose.
func classified(err error) bool {
	var errno syscall.Errno
	var mapped *errnoError
	return errors.As(err, &mapped) || errors.As(err, &errno) ||
		errors.Is(err, fs.ErrClosed) || errors.Is(err, fs.ErrInvalid) ||
		errors.Is(err, fs.ErrPermission) || errors.Is(err, vfs.ErrNotSupported) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// unwrapOp removes *fs.PathError, *os.LinkError and *os.SyscallError
// layers.
func unwrapOp(err error) error {
	for {
		var pe *fs.PathError
		var le *os.LinkError
		var se *os.SyscallError
		switch {
		case errors.As(err, &pe):
			err = pe.Err
		case errors.As(err, &le):
			err = le.Err
		case errors.As(err, &se):
			err = se.Err
		default:
			return err
		}
	}
}

// pathErr wraps err, translated, as an *fs.PathError for name.
func pathErr(op, name string, err error) error {
	return &fs.PathError{Op: op, Path: name, Err: translate(err)}
}

// rootErr is pathErr for errors from os.Root methods; see translateRoot.
func rootErr(op, name string, err error) error {
	return &fs.PathError{Op: op, Path: name, Err: translateRoot(err)}
}
