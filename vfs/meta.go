package vfs

import "context"

// MaxMetaSize is the largest metadata record a backend must be able to
// store with MetaFile.SetMeta.
const MaxMetaSize = 256

// MetaFile is an optional File capability: a small opaque record stored
// with the file itself (localfs keeps it in an extended attribute), so that
// it follows the file across renames and disappears with it. The server
// uses it for what a POSIX file system cannot hold, such as a creation time
// set by a client.
type MetaFile interface {
	// Meta returns the file's record, or nil and no error if it has none.
	//
	// Errors: fs.ErrClosed; ErrNotSupported if the file system cannot
	// store records.
	Meta() ([]byte, error)

	// SetMeta replaces the file's record; an empty data removes it. data
	// is at most MaxMetaSize bytes (else fs.ErrInvalid).
	//
	// Errors: fs.ErrClosed; fs.ErrPermission; ErrNoSpace;
	// ErrNotSupported if the file system cannot store records.
	SetMeta(data []byte) error
}

// MetaFS is an optional FS capability: reading the record of MetaFile by
// name, as a directory listing needs, without opening each file.
type MetaFS interface {
	// Meta returns the record of the named file, or nil and no error if it
	// has none. A final symbolic link is not followed; links have no
	// record.
	//
	// Errors: as for FS.Stat; ErrNotSupported if the backend cannot
	// store records.
	Meta(ctx context.Context, name string) ([]byte, error)
}
