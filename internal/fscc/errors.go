package fscc

import "errors"

// Sentinel errors; see the package documentation for the NTSTATUS each one
// maps to.
var (
	// ErrInvalidInfoClass reports an information class this package does
	// not encode or decode.
	ErrInvalidInfoClass = errors.New("fscc: invalid information class")
	// ErrInfoLength reports a buffer shorter than the fixed part of the
	// structure (or a variable part that runs past the buffer).
	ErrInfoLength = errors.New("fscc: information length mismatch")
	// ErrInvalidParameter reports a well-sized structure with a value the
	// object store rejects (odd name length, negative size, bad flags).
	ErrInvalidParameter = errors.New("fscc: invalid parameter")
	// ErrInvalidName reports a name or path component Windows rejects.
	ErrInvalidName = errors.New("fscc: object name invalid")
	// ErrNameTooLong reports a component longer than 255 UTF-16 units.
	ErrNameTooLong = errors.New("fscc: name too long")
	// ErrPathOutsideShare reports a ".." that would climb above the share
	// root.
	ErrPathOutsideShare = errors.New("fscc: path escapes the share root")
	// ErrStreamsNotSupported reports a named alternate data stream
	// ("file:stream" or "file:stream:$DATA").
	ErrStreamsNotSupported = errors.New("fscc: named streams not supported")
	// ErrNoShortName reports a FileAlternateNameInformation query for a
	// file without an 8.3 name.
	ErrNoShortName = errors.New("fscc: file has no short name")
	// ErrInvalidSecurityDescriptor reports a malformed security
	// descriptor, ACL, ACE or SID.
	ErrInvalidSecurityDescriptor = errors.New("fscc: invalid security descriptor")
)
