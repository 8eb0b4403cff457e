package server

import (
	"context"
	"io/fs"
	"sync"
	"time"

	"github.com/signetsmb/signet/vfs"
	"github.com/signetsmb/signet/vfs/memfs"
)

// metaFS is a memfs with the capabilities a POSIX backend such as localfs
// has and memfs lacks: a metadata record per file (vfs.MetaFile,
// vfs.MetaFS, in localfs an extended attribute) and Chmod, so that tests
// reach the server's creation-time, DOS-attribute and read-only paths
// without depending on the test machine's xattr support. Records and
// permissions are keyed by FileID, so they follow renames.
type metaFS struct {
	*memfs.FS
	mu   sync.Mutex // guards meta and perm
	meta map[uint64][]byte
	perm map[uint64]fs.FileMode
}

func newMetaFS() *metaFS {
	return &metaFS{FS: memfs.New(memfs.Options{}), meta: map[uint64][]byte{}, perm: map[uint64]fs.FileMode{}}
}

// metaFile is an open file of a metaFS.
type metaFile struct {
	vfs.File
	fs *metaFS
}

var (
	_ vfs.MetaFile = (*metaFile)(nil)
	_ vfs.MetaFS   = (*metaFS)(nil)
	_ modeSetter   = (*metaFile)(nil)
)

func (m *metaFS) OpenFile(ctx context.Context, name string, flag int, perm fs.FileMode) (vfs.File, error) {
	f, err := m.FS.OpenFile(ctx, name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &metaFile{File: f, fs: m}, nil
}

func (m *metaFS) Stat(ctx context.Context, name string) (vfs.FileInfo, error) {
	fi, err := m.FS.Stat(ctx, name)
	m.applyPerm(&fi)
	return fi, err
}

func (m *metaFS) Meta(ctx context.Context, name string) ([]byte, error) {
	fi, err := m.FS.Stat(ctx, name)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.meta[fi.FileID], nil
}

// applyPerm reports a permission set by Chmod.
func (m *metaFS) applyPerm(fi *vfs.FileInfo) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if p, ok := m.perm[fi.FileID]; ok {
		fi.Mode = fi.Mode&^fs.ModePerm | p
	}
}

func (f *metaFile) id() uint64 {
	fi, _ := f.File.Stat()
	return fi.FileID
}

func (f *metaFile) Stat() (vfs.FileInfo, error) {
	fi, err := f.File.Stat()
	f.fs.applyPerm(&fi)
	return fi, err
}

func (f *metaFile) ReadDir(n int) ([]vfs.FileInfo, error) {
	ents, err := f.File.ReadDir(n)
	for i := range ents {
		f.fs.applyPerm(&ents[i])
	}
	return ents, err
}

func (f *metaFile) Meta() ([]byte, error) {
	id := f.id()
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	return f.fs.meta[id], nil
}

func (f *metaFile) SetMeta(data []byte) error {
	if len(data) > vfs.MaxMetaSize {
		return fs.ErrInvalid
	}
	id := f.id()
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	f.fs.meta[id] = append([]byte(nil), data...)
	return nil
}

func (f *metaFile) Chmod(perm fs.FileMode) error {
	id := f.id()
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	f.fs.perm[id] = perm
	return nil
}

// SetTimes and Allocate forward memfs's optional file capabilities.
func (f *metaFile) SetTimes(atime, mtime time.Time) error {
	return f.File.(vfs.FileTimeSetter).SetTimes(atime, mtime)
}

func (f *metaFile) Allocate(off, length int64) error {
	return f.File.(vfs.Allocator).Allocate(off, length)
}
