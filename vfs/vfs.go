// Package vfs defines the storage contract of the Signet file server: a small,
// context-first file system interface with os and io/fs semantics, plus
// optional capabilities discovered by type assertion.
//
// vfs knows nothing about SMB. Backends see slash-separated paths, contexts
// and io/fs errors; the server alone translates errors into protocol status
// codes.
//
// # Names
//
// Every name passed to an FS method is slash-separated and relative to the
// share root; "" and "." denote the root itself. Callers are expected to
// normalise names first, but backends must not trust them: CleanName is the
// reference validator and rejects NUL bytes, absolute names and ".."
// components with ErrInvalidName. Empty and "." components are dropped.
// Names are case-sensitive byte strings; no Unicode normalisation is done.
//
// # Errors
//
// Errors satisfy errors.Is with the io/fs sentinels (fs.ErrNotExist,
// fs.ErrExist, fs.ErrPermission, fs.ErrInvalid, fs.ErrClosed) or with the
// vfs sentinels (ErrNotEmpty, ErrIsDir, ErrNotDir, ErrNotSupported,
// ErrNoSpace, ErrInvalidName, ErrNameTooLong, ErrEscapesRoot). When ctx is
// done before an FS method starts, the method returns an error matching
// ctx.Err(). Methods document the sentinel for each failure they define;
// other failures (I/O errors) are returned as the backend reports them.
//
// # Optional capabilities
//
// An FS may also implement TimeSetter and Notifier; a File may implement
// FileTimeSetter and Allocator. Unsupported and UnsupportedFile are
// embeddable bases for wrappers that must expose an optional method but may
// not be able to honour it.
package vfs

import (
	"context"
	"io"
	"io/fs"
	"time"
)

// FS is a hierarchical file system rooted at a share root.
//
// Implementations must be safe for concurrent use by multiple goroutines.
type FS interface {
	// OpenFile opens the named file or directory with the given flags and,
	// when it is created, permission bits perm (perm&fs.ModePerm only;
	// backends may apply a umask).
	//
	// flag is a combination of exactly one of os.O_RDONLY, os.O_WRONLY or
	// os.O_RDWR, and any of os.O_CREATE, os.O_EXCL, os.O_TRUNC and
	// os.O_SYNC; see CheckOpenFlag. Other flags, and O_TRUNC without write
	// access, fail with fs.ErrInvalid.
	//
	// Errors: fs.ErrNotExist if the file (without O_CREATE) or its parent
	// is missing; fs.ErrExist with O_CREATE|O_EXCL on an existing name;
	// ErrIsDir when opening a directory for writing or with O_CREATE
	// (without O_EXCL); ErrNotDir when a parent component is not a
	// directory; ErrNotSupported for file types other than regular files
	// and directories; fs.ErrPermission when access is denied.
	OpenFile(ctx context.Context, name string, flag int, perm fs.FileMode) (File, error)

	// Stat describes the named file. Symbolic links that stay inside the
	// root are followed.
	//
	// Errors: fs.ErrNotExist, ErrNotDir (a parent component is a file),
	// ErrEscapesRoot, fs.ErrPermission.
	Stat(ctx context.Context, name string) (FileInfo, error)

	// Mkdir creates a directory with permission bits perm.
	//
	// Errors: fs.ErrExist if name exists (whatever its type, including the
	// root); fs.ErrNotExist if the parent is missing; ErrNotDir if a parent
	// component is a file.
	Mkdir(ctx context.Context, name string, perm fs.FileMode) error

	// Remove removes the named file or empty directory. A symbolic link is
	// removed itself, never its target. Open Files on the removed name keep
	// working until closed (POSIX unlink semantics).
	//
	// Errors: fs.ErrNotExist; ErrNotEmpty for a directory with entries;
	// fs.ErrPermission for the root.
	Remove(ctx context.Context, name string) error

	// Rename moves oldName to newName. Open Files keep referring to the
	// moved file, and its FileID does not change.
	//
	// If newName exists: with replace false Rename fails with fs.ErrExist
	// and changes nothing, atomically where the backend can (see the
	// backend's documentation); with replace true an existing
	// non-directory is replaced atomically, while an existing directory is
	// never replaced and yields fs.ErrExist. Renaming a name to itself
	// succeeds without effect if it exists.
	//
	// Errors: fs.ErrNotExist if oldName or newName's parent is missing;
	// fs.ErrExist as above; ErrNotDir when a directory would replace a
	// non-directory or a parent component is a file; fs.ErrInvalid when
	// moving a directory into its own subtree; fs.ErrPermission when oldName
	// or newName is the root.
	Rename(ctx context.Context, oldName, newName string, replace bool) error

	// StatFS describes the file system holding the root.
	StatFS(ctx context.Context) (FSInfo, error)
}

// File is an open file or directory.
//
// Methods are safe for concurrent use (ReadAt and WriteAt at independent
// offsets may run in parallel). After Close every method fails with
// fs.ErrClosed.
type File interface {
	// ReadAt follows io.ReaderAt: it returns io.EOF when fewer than
	// len(p) bytes are available. Reading a file opened without read
	// access fails with fs.ErrPermission, reading a directory with ErrIsDir
	// and a negative offset with fs.ErrInvalid.
	io.ReaderAt

	// WriteAt follows io.WriterAt. Writing past the end extends the file;
	// the gap reads as zeros. Writing a file opened without write access
	// fails with fs.ErrPermission, a negative offset with fs.ErrInvalid and
	// a full backend with ErrNoSpace.
	io.WriterAt

	// Close releases the File. Closing twice returns fs.ErrClosed.
	io.Closer

	// Stat describes the open file, even after it was renamed or removed.
	// Name is the base name the file was opened under.
	Stat() (FileInfo, error)

	// Truncate changes the size of the file; growing adds zeros. It needs
	// write access (else fs.ErrPermission). A negative size fails with
	// fs.ErrInvalid and a directory with ErrIsDir.
	Truncate(size int64) error

	// Sync commits the file's data and metadata to stable storage.
	Sync() error

	// ReadDir reads the entries of a directory in byte-wise name order,
	// excluding "." and "..". It takes a snapshot of the names on the
	// first call after open or RewindDir, and pages through it: with n > 0
	// it returns at most n entries and, at the end, an empty slice and
	// io.EOF; with n <= 0 it returns all remaining entries and a nil error.
	// Entries removed after the snapshot are skipped. Calling it on a
	// non-directory fails with ErrNotDir.
	ReadDir(n int) ([]FileInfo, error)

	// RewindDir discards the ReadDir snapshot, so that the next ReadDir
	// starts a fresh listing from the first name. It fails with ErrNotDir
	// on a non-directory.
	RewindDir() error
}

// FileInfo describes a file. It is a plain value: cheap to copy and
// compare, and filled completely by the backend.
//
// Times that the backend cannot provide are the zero time.Time.
type FileInfo struct {
	// Name is the base name of the file ("." for the root).
	Name string
	// Size is the length in bytes of a regular file; for other types it
	// is backend-dependent.
	Size int64
	// Mode holds the type bits (fs.ModeDir, fs.ModeSymlink, ...) and the
	// permission bits.
	Mode fs.FileMode
	// ModTime is the time the file's data last changed.
	ModTime time.Time
	// AccessTime is the time the file was last read; backends may update
	// it lazily or never.
	AccessTime time.Time
	// ChangeTime is the time the file's data or metadata last changed.
	ChangeTime time.Time
	// BirthTime is the creation time, zero if unknown.
	BirthTime time.Time
	// FileID identifies the file uniquely within the FS and stays the same
	// across renames for as long as the file exists (the inode number).
	FileID uint64
	// Nlink is the number of hard links (directories count their "." and
	// their subdirectories' "..", as on POSIX).
	Nlink uint64
	// AllocationSize is the number of bytes of storage allocated to the
	// file.
	AllocationSize int64
}

// IsDir reports whether fi describes a directory.
func (fi FileInfo) IsDir() bool { return fi.Mode.IsDir() }

// IsRegular reports whether fi describes a regular file.
func (fi FileInfo) IsRegular() bool { return fi.Mode.IsRegular() }

// FSInfo describes the file system backing an FS.
type FSInfo struct {
	// TotalBytes is the capacity of the file system.
	TotalBytes uint64
	// FreeBytes is the free space, including space reserved for the
	// super-user.
	FreeBytes uint64
	// AvailBytes is the free space available to the server.
	AvailBytes uint64
	// BlockSize is the allocation unit in bytes.
	BlockSize uint32
	// FSName is a short name of the file system type, such as "ext4".
	FSName string
	// MaxNameLen is the maximum length in bytes of one path component.
	MaxNameLen int
	// CaseSensitive reports whether names differing only in case denote
	// different files.
	CaseSensitive bool
}
