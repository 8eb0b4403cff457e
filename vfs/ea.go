package vfs

import "context"

// EAFS is an optional FS capability: its files implement EAFile. A
// server announces extended-attribute support
// (FILE_SUPPORTS_EXTENDED_ATTRIBUTES) only for an FS that has it.
type EAFS interface {
	// SupportsEAs reports whether the files of the FS can keep extended
	// attributes.
	SupportsEAs() bool

	// EAsOf returns the extended attributes of the named file sorted by
	// name, as EAFile.EAs does, without opening it (a directory listing
	// reports their size). A final symbolic link is not followed.
	//
	// Errors: as for FS.Stat; ErrNotSupported.
	EAsOf(ctx context.Context, name string) ([]EA, error)
}

// EAFile is an optional File capability: extended attributes (name/value
// pairs in the sense of OS/2 and NTFS, MS-FSCC 2.4.15) kept with the
// file. They follow the file across renames and go away with it. Names
// are byte strings compared exactly; the server chooses their case.
type EAFile interface {
	// EAs returns the file's extended attributes sorted by name.
	//
	// Errors: fs.ErrClosed; ErrNotSupported.
	EAs() ([]EA, error)

	// SetEA sets the named attribute; an empty value removes it (removing
	// a missing one is not an error). name is 1 to 255 bytes without NUL.
	//
	// Errors: fs.ErrClosed; fs.ErrInvalid for a bad name; ErrNoSpace when
	// the backend cannot hold it; ErrNotSupported.
	SetEA(name string, flags uint8, value []byte) error
}

// EA is one extended attribute.
type EA struct {
	Name  string
	Flags uint8
	Value []byte
}
