package vfs

import (
	"context"
	"strings"
	"time"
)

// TimeSetter is an optional FS capability: setting a file's times by name.
type TimeSetter interface {
	// SetTimes sets the access and modification times of the named file,
	// following symbolic links inside the root. A zero time.Time leaves
	// that time unchanged. The change time becomes the current time.
	//
	// Errors: as for FS.Stat; ErrNotSupported if the backend cannot.
	SetTimes(ctx context.Context, name string, atime, mtime time.Time) error
}

// FileTimeSetter is an optional File capability: setting the times of an
// open file, which keeps working after the file was renamed.
type FileTimeSetter interface {
	// SetTimes sets the access and modification times of the file. A zero
	// time.Time leaves that time unchanged. The change time becomes the
	// current time.
	//
	// Errors: fs.ErrClosed; ErrNotSupported if the backend cannot.
	SetTimes(atime, mtime time.Time) error
}

// Allocator is an optional File capability: reserving storage.
type Allocator interface {
	// Allocate reserves storage for the byte range [off, off+length)
	// without changing the file size, so that later writes there do not
	// fail for lack of space.
	//
	// Errors: fs.ErrInvalid for a negative off or a non-positive length;
	// fs.ErrPermission without write access; ErrIsDir for a directory;
	// ErrNoSpace; ErrNotSupported if the file system cannot preallocate.
	Allocate(off, length int64) error
}

// EntryDescriber is an optional File capability of an open directory:
// describing its entries through the directory itself, without looking
// their names up from the root. A folder listing asks this for every
// entry it returns. name is a base name in the directory (no separator,
// not "." or ".."; otherwise fs.ErrInvalid).
type EntryDescriber interface {
	// StatEntry is FS.Stat of the entry.
	StatEntry(name string) (FileInfo, error)
	// EntryMeta is MetaFS.Meta of the entry.
	EntryMeta(name string) ([]byte, error)
	// EntryEAs is EAFS.EAsOf of the entry.
	EntryEAs(name string) ([]EA, error)
}

// SerialWriter is an optional FS capability: telling the server that the
// backend runs the data writes to one file one at a time (as Linux does
// for a regular file: every buffered write takes the inode's lock). The
// server then queues concurrent WRITEs to a file itself, where they wait
// parked instead of spinning on the kernel's lock. A backend that writes
// to one file in parallel does not implement it.
type SerialWriter interface {
	// WritesSerialized reports whether writes to one file are serialized.
	WritesSerialized() bool
}

// Notifier is an optional FS capability: watching a directory for changes.
type Notifier interface {
	// Watch reports changes to the entries of directory dir, and to its
	// whole subtree if recursive is true, on the returned channel until ctx
	// is done; the channel is then closed. Event names are relative to dir.
	//
	// The channel is buffered. When the consumer falls behind, events are
	// dropped and a single Event with Op OpOverflow is delivered once there
	// is room again; the consumer should then rescan the directory.
	//
	// Errors: as for FS.Stat; ErrNotDir if dir is not a directory;
	// ErrNotSupported if the backend cannot watch.
	Watch(ctx context.Context, dir string, recursive bool) (<-chan Event, error)
}

// Event is a change reported by a Notifier.
type Event struct {
	// Name is the changed entry, slash-separated and relative to the
	// watched directory; empty for OpOverflow.
	Name string
	// Op is what happened to it.
	Op Op
}

// Op describes a change. A backend sets one bit per Event.
type Op uint32

// Op values.
const (
	// OpCreate: the entry was created, or moved in from an unwatched place.
	OpCreate Op = 1 << iota
	// OpRemove: the entry was removed, or moved out to an unwatched place.
	OpRemove
	// OpModify: the entry's data or size changed.
	OpModify
	// OpAttrib: the entry's times or other metadata changed.
	OpAttrib
	// OpRenameFrom: the entry was renamed away; an OpRenameTo follows.
	OpRenameFrom
	// OpRenameTo: the entry is the new name of a rename.
	OpRenameTo
	// OpOverflow: events were lost.
	OpOverflow
)

// String returns the names of the bits set in op, joined by "|".
func (op Op) String() string {
	var names []string
	for bit := OpCreate; bit <= OpOverflow; bit <<= 1 {
		if op&bit != 0 {
			names = append(names, bit.name())
		}
	}
	if len(names) == 0 {
		return "0"
	}
	return strings.Join(names, "|")
}

// name returns the name of a single Op bit.
func (op Op) name() string {
	switch op {
	case OpCreate:
		return "create"
	case OpRemove:
		return "remove"
	case OpModify:
		return "modify"
	case OpAttrib:
		return "attrib"
	case OpRenameFrom:
		return "rename-from"
	case OpRenameTo:
		return "rename-to"
	case OpOverflow:
		return "overflow"
	}
	return "unknown"
}

// Unsupported can be embedded in an FS implementation, typically a wrapper,
// to satisfy the optional FS capabilities it cannot provide: every method
// returns ErrNotSupported. Callers must therefore treat ErrNotSupported from
// an optional method like a failed type assertion.
type Unsupported struct{}

var (
	_ TimeSetter = Unsupported{}
	_ Notifier   = Unsupported{}
)

// SetTimes returns ErrNotSupported.
func (Unsupported) SetTimes(context.Context, string, time.Time, time.Time) error {
	return ErrNotSupported
}

// Watch returns ErrNotSupported.
func (Unsupported) Watch(context.Context, string, bool) (<-chan Event, error) {
	return nil, ErrNotSupported
}

// UnsupportedFile is the File counterpart of Unsupported.
type UnsupportedFile struct{}

var (
	_ FileTimeSetter = UnsupportedFile{}
	_ Allocator      = UnsupportedFile{}
)

// SetTimes returns ErrNotSupported.
func (UnsupportedFile) SetTimes(time.Time, time.Time) error { return ErrNotSupported }

// Allocate returns ErrNotSupported.
func (UnsupportedFile) Allocate(int64, int64) error { return ErrNotSupported }
