package memfs

import (
	"context"
	"io/fs"
	"slices"
	"strings"

	"github.com/signetsmb/signet/vfs"
)

// Extended attributes in memfs: node.eas, charged against the capacity
// like file data. A stream's EAs are its file's.

// maxEABytes bounds the EAs of one file (NTFS allows 64 KiB).
const maxEABytes = 64 << 10

var (
	_ vfs.EAFS   = (*FS)(nil)
	_ vfs.EAFile = (*file)(nil)
)

// SupportsEAs implements vfs.EAFS.
func (m *FS) SupportsEAs() bool { return true }

// eaNode is the node whose EAs f reaches.
func (f *file) eaNode() *node {
	if f.n.base != nil {
		return f.n.base
	}
	return f.n
}

// EAs implements vfs.EAFile.
func (f *file) EAs() ([]vfs.EA, error) {
	if err := f.begin("eas", anyAccess); err != nil {
		return nil, err
	}
	defer f.fs.mu.Unlock()
	n := f.eaNode()
	out := make([]vfs.EA, 0, len(n.eas))
	for _, e := range n.eas {
		out = append(out, vfs.EA{Name: e.Name, Flags: e.Flags, Value: slices.Clone(e.Value)})
	}
	return out, nil
}

// SetEA implements vfs.EAFile.
func (f *file) SetEA(name string, flags uint8, value []byte) error {
	if err := f.begin("setea", anyAccess); err != nil {
		return err
	}
	defer f.fs.mu.Unlock()
	if name == "" || len(name) > 255 || strings.IndexByte(name, 0) >= 0 {
		return pathErr("setea", f.name, fs.ErrInvalid)
	}
	n := f.eaNode()
	i, found := slices.BinarySearchFunc(n.eas, name, func(e vfs.EA, s string) int { return strings.Compare(e.Name, s) })
	old := int64(0)
	if found {
		old = int64(len(n.eas[i].Name) + len(n.eas[i].Value))
	}
	add := int64(0)
	if len(value) > 0 {
		add = int64(len(name) + len(value))
	}
	if n.eaBytes-old+add > maxEABytes || add-old > f.fs.capacity-f.fs.used {
		return pathErr("setea", f.name, vfs.ErrNoSpace)
	}
	switch {
	case len(value) == 0 && found:
		n.eas = slices.Delete(n.eas, i, i+1)
	case len(value) == 0:
	case found:
		n.eas[i] = vfs.EA{Name: name, Flags: flags, Value: slices.Clone(value)}
	default:
		n.eas = slices.Insert(n.eas, i, vfs.EA{Name: name, Flags: flags, Value: slices.Clone(value)})
	}
	n.eaBytes += add - old
	f.fs.used += add - old
	n.ctime = f.fs.now()
	return nil
}

// EAsOf implements vfs.EAFS.
func (m *FS) EAsOf(ctx context.Context, name string) ([]vfs.EA, error) {
	clean, err := prepare(ctx, name)
	if err != nil {
		return nil, pathErr("eas", name, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.lookup(clean)
	if err != nil {
		return nil, pathErr("eas", name, err)
	}
	out := make([]vfs.EA, 0, len(n.eas))
	for _, e := range n.eas {
		out = append(out, vfs.EA{Name: e.Name, Flags: e.Flags, Value: slices.Clone(e.Value)})
	}
	return out, nil
}
