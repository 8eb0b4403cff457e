package vfs

import "context"

// MaxSecuritySize is the largest security descriptor a backend must be
// able to store with SecurityFile.SetSecurity: a self-relative descriptor
// holds an owner, a group and two ACLs of at most 64 KiB each. A backend
// may refuse a smaller one it has no room for (ErrNoSpace).
const MaxSecuritySize = 2*0xFFFF + 2*68 + 20

// SecurityFile is an optional File capability: an opaque security
// descriptor stored with the file itself (localfs keeps it in the
// extended attribute user.signet.sd), so that it follows the file across
// renames and disappears with it. The server stores self-relative
// Windows security descriptors [MS-DTYP 2.4.6] there; the backend does
// not interpret them.
//
// A backend without the capability (or one answering ErrNotSupported)
// is a file system without ACLs: the server then reports the descriptor
// it synthesises and refuses to change it, as Windows does for FAT.
type SecurityFile interface {
	// Security returns the file's descriptor, or nil and no error if none
	// is stored.
	//
	// Errors: fs.ErrClosed; ErrNotSupported if the file system cannot
	// store descriptors.
	Security() ([]byte, error)

	// SetSecurity replaces the file's descriptor; an empty sd removes it.
	// sd is at most MaxSecuritySize bytes (else fs.ErrInvalid).
	//
	// Errors: fs.ErrClosed; fs.ErrPermission; ErrNoSpace;
	// ErrNotSupported if the file system cannot store descriptors.
	SetSecurity(sd []byte) error
}

// SecurityFS is an optional FS capability: reading the descriptor of
// SecurityFile by name, as an access check before an open needs.
type SecurityFS interface {
	// Security returns the descriptor of the named file, or nil and no
	// error if none is stored. A final symbolic link is followed, as an
	// open would.
	//
	// Errors: as for FS.Stat; ErrNotSupported if the backend cannot
	// store descriptors.
	Security(ctx context.Context, name string) ([]byte, error)
}

var (
	_ SecurityFS   = Unsupported{}
	_ SecurityFile = UnsupportedFile{}
)

// Security returns ErrNotSupported.
func (Unsupported) Security(context.Context, string) ([]byte, error) { return nil, ErrNotSupported }

// Security returns ErrNotSupported.
func (UnsupportedFile) Security() ([]byte, error) { return nil, ErrNotSupported }

// SetSecurity returns ErrNotSupported.
func (UnsupportedFile) SetSecurity([]byte) error { return ErrNotSupported }
