package vfs

import (
	"context"
	"strings"
	"unicode/utf8"
)

// StreamFS is an optional FS capability: named data streams ("alternate
// data streams") of files and directories. The unnamed stream is the file
// itself; StreamFS never sees it.
//
// Stream names are byte strings compared exactly; a server that wants
// Windows' case-insensitive stream names looks them up with Streams first.
// CheckStreamName gives the names every backend must accept or refuse.
// A stream belongs to its file: it follows the file across renames and
// goes away when the file is removed.
type StreamFS interface {
	// OpenStream opens stream of the file or directory name. flag is as
	// for FS.OpenFile (O_CREATE creates the stream, not the file). The
	// File is a regular file: its Stat reports the stream's size, the
	// file's base name, FileID, mode and times.
	//
	// Errors: as for FS.Stat on name; fs.ErrNotExist if the stream is
	// missing without O_CREATE; fs.ErrExist with O_CREATE|O_EXCL;
	// ErrInvalidName for a name CheckStreamName refuses; ErrNoSpace when
	// the backend cannot hold more streams or a larger one;
	// ErrNotSupported if the file system cannot store streams.
	OpenStream(ctx context.Context, name, stream string, flag int) (File, error)

	// Streams lists the named streams of name, sorted by name.
	//
	// Errors: as for FS.Stat; ErrNotSupported.
	Streams(ctx context.Context, name string) ([]StreamInfo, error)

	// RemoveStream removes stream of name. Open Files of the stream keep
	// working until closed.
	//
	// Errors: as for FS.Stat; fs.ErrNotExist if the stream is missing.
	RemoveStream(ctx context.Context, name, stream string) error

	// RenameStream renames stream oldStream of name to newStream. An
	// existing newStream fails with fs.ErrExist unless replace is set.
	//
	// Errors: as for FS.Stat; fs.ErrNotExist if oldStream is missing;
	// fs.ErrExist; ErrInvalidName.
	RenameStream(ctx context.Context, name, oldStream, newStream string, replace bool) error
}

// StreamInfo describes a named stream.
type StreamInfo struct {
	Name           string
	Size           int64
	AllocationSize int64
}

// MaxStreamNameLen is the longest stream name in bytes a backend must
// accept (the NTFS limit is 255 UTF-16 code units).
const MaxStreamNameLen = 255

// CheckStreamName validates a stream name: not empty, valid UTF-8, at most
// MaxStreamNameLen bytes, and none of NUL, '/', '\\' or ':' (so that no
// stream name can be read as a path or as a second stream suffix). Errors:
// ErrInvalidName, ErrNameTooLong.
func CheckStreamName(stream string) error {
	switch {
	case stream == "" || !utf8.ValidString(stream) || strings.ContainsAny(stream, "\x00/\\:"):
		return ErrInvalidName
	case len(stream) > MaxStreamNameLen:
		return ErrNameTooLong
	}
	return nil
}
