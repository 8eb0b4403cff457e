package vfs

import (
	"errors"
	"fmt"
	"io/fs"
)

// Sentinel errors. Backends return them wrapped (typically in an
// *fs.PathError or *fs.LinkError), so callers must test with errors.Is.
//
// Besides these, backends report the io/fs sentinels fs.ErrNotExist,
// fs.ErrExist, fs.ErrPermission, fs.ErrInvalid and fs.ErrClosed. The
// vfs sentinels are disjoint from the io/fs ones except where documented:
// ErrInvalidName and ErrNameTooLong also match fs.ErrInvalid, and
// ErrEscapesRoot also matches fs.ErrPermission, so a caller that only knows
// io/fs still classifies them sensibly. A caller that wants the finer
// classification must therefore test the vfs sentinels first.
var (
	// ErrNotEmpty reports an attempt to remove a directory that still has
	// entries (ENOTEMPTY).
	ErrNotEmpty = errors.New("directory not empty")

	// ErrIsDir reports a file operation applied to a directory, such as
	// opening a directory for writing or reading its bytes (EISDIR).
	ErrIsDir = errors.New("is a directory")

	// ErrNotDir reports a directory operation applied to a non-directory,
	// including a non-final path component that is a file (ENOTDIR).
	ErrNotDir = errors.New("not a directory")

	// ErrNotSupported reports that the backend, the underlying file system
	// or the type of the file (for example a FIFO or device node) does not
	// support the operation. Optional capabilities reached through an
	// embedded Unsupported base report it too.
	ErrNotSupported = errors.New("operation not supported")

	// ErrNoSpace reports that the storage is full, a quota is exhausted or
	// the file would exceed the maximum file size (ENOSPC, EDQUOT, EFBIG).
	ErrNoSpace = errors.New("no space left on device")

	// ErrInvalidName reports a name that violates the path contract of FS:
	// it contains a NUL byte, is absolute or has a ".." component. It also
	// matches fs.ErrInvalid.
	ErrInvalidName error = &kindError{msg: "invalid file name", parent: fs.ErrInvalid}

	// ErrNameTooLong reports a path component longer than the backend's
	// FSInfo.MaxNameLen (ENAMETOOLONG). It also matches ErrInvalidName and
	// fs.ErrInvalid.
	ErrNameTooLong error = &kindError{msg: "file name too long", parent: ErrInvalidName}

	// ErrEscapesRoot reports that resolving a name, typically through a
	// symbolic link, would leave the share root. It also matches
	// fs.ErrPermission.
	ErrEscapesRoot error = &kindError{msg: "path escapes from share root", parent: fs.ErrPermission}
)

// kindError is a sentinel that refines a broader sentinel: errors.Is
// matches both the kindError itself and, through Unwrap, its parent.
type kindError struct {
	msg    string
	parent error
}

func (e *kindError) Error() string { return e.msg }

// Unwrap returns the broader sentinel this one refines.
func (e *kindError) Unwrap() error { return e.parent }

// flagError reports an OpenFile flag rejected by CheckOpenFlag; it matches
// fs.ErrInvalid.
type flagError struct {
	flag   int
	reason string
}

func (e *flagError) Error() string {
	return fmt.Sprintf("%s (flag %#x)", e.reason, e.flag)
}

// Unwrap returns fs.ErrInvalid.
func (e *flagError) Unwrap() error { return fs.ErrInvalid }
