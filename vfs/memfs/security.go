package memfs

import (
	"context"
	"io/fs"

	"github.com/signetsmb/signet/vfs"
)

var (
	_ vfs.SecurityFile = (*file)(nil)
	_ vfs.SecurityFS   = (*FS)(nil)
)

// Security implements vfs.SecurityFile.
func (f *file) Security() ([]byte, error) {
	if err := f.begin("getsecurity", anyAccess); err != nil {
		return nil, err
	}
	defer f.fs.mu.Unlock()
	return clone(f.n.sd), nil
}

// SetSecurity implements vfs.SecurityFile. The descriptor is charged
// against nothing: it is bounded by vfs.MaxSecuritySize per node.
func (f *file) SetSecurity(sd []byte) error {
	if len(sd) > vfs.MaxSecuritySize {
		return pathErr("setsecurity", f.name, fs.ErrInvalid)
	}
	if err := f.begin("setsecurity", anyAccess); err != nil {
		return err
	}
	defer f.fs.mu.Unlock()
	f.n.sd = clone(sd)
	f.n.ctime = f.fs.now()
	return nil
}

// Security implements vfs.SecurityFS.
func (m *FS) Security(ctx context.Context, name string) ([]byte, error) {
	clean, err := prepare(ctx, name)
	if err != nil {
		return nil, pathErr("getsecurity", name, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.lookup(clean)
	if err != nil {
		return nil, pathErr("getsecurity", name, err)
	}
	return clone(n.sd), nil
}

// clone copies b; empty is nil.
func clone(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}
