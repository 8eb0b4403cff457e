package main

import (
	"context"
	"io"
	"io/fs"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/signetsmb/signet/vfs"
)

// nullFS is the share of the bound measurement (bound.go): a flat folder
// whose files keep a size and no data. A write is accepted and dropped; a
// read reports the bytes it was asked for without writing them, so the
// server sends whatever its response buffer held. It lets a server signing
// and verifying as usual show what the clients can move when storing and
// fetching the data costs nothing. For this benchmark only: it hands out
// stale buffer contents.
type nullFS struct {
	mu     sync.Mutex
	files  map[string]*nullNode
	nextID uint64
	born   time.Time
}

type nullNode struct {
	id   uint64
	size int64
	mod  time.Time
}

func newNullFS() *nullFS {
	return &nullFS{files: map[string]*nullNode{}, nextID: 2, born: time.Now()}
}

// setSize makes (or resizes) a file, as placing the payload would.
func (n *nullFS) setSize(name string, size int64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	nd := n.files[name]
	if nd == nil {
		nd = &nullNode{id: n.nextID}
		n.nextID++
		n.files[name] = nd
	}
	nd.size, nd.mod = size, time.Now()
}

func (n *nullFS) rootInfo() vfs.FileInfo {
	return vfs.FileInfo{Name: ".", Mode: fs.ModeDir | 0o755, ModTime: n.born, ChangeTime: n.born,
		AccessTime: n.born, BirthTime: n.born, FileID: 1, Nlink: 2}
}

func (n *nullFS) info(name string, nd *nullNode) vfs.FileInfo {
	return vfs.FileInfo{Name: name, Size: nd.size, Mode: 0o644, ModTime: nd.mod, ChangeTime: nd.mod,
		AccessTime: nd.mod, BirthTime: n.born, FileID: nd.id, Nlink: 1, AllocationSize: nd.size}
}

func (n *nullFS) OpenFile(ctx context.Context, name string, flag int, perm fs.FileMode) (vfs.File, error) {
	if err := vfs.CheckOpenFlag(flag); err != nil {
		return nil, err
	}
	if name == "." || name == "" {
		if flag&(os.O_WRONLY|os.O_RDWR|os.O_CREATE) != 0 {
			return nil, &fs.PathError{Op: "open", Path: name, Err: vfs.ErrIsDir}
		}
		return &nullFile{fs: n, name: ".", dir: true}, nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	nd := n.files[name]
	switch {
	case nd == nil && flag&os.O_CREATE == 0:
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	case nd != nil && flag&(os.O_CREATE|os.O_EXCL) == os.O_CREATE|os.O_EXCL:
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrExist}
	case nd == nil:
		nd = &nullNode{id: n.nextID, mod: time.Now()}
		n.nextID++
		n.files[name] = nd
	}
	if flag&os.O_TRUNC != 0 {
		nd.size, nd.mod = 0, time.Now()
	}
	return &nullFile{fs: n, name: name, node: nd}, nil
}

func (n *nullFS) Stat(ctx context.Context, name string) (vfs.FileInfo, error) {
	if name == "." || name == "" {
		return n.rootInfo(), nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	nd := n.files[name]
	if nd == nil {
		return vfs.FileInfo{}, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
	}
	return n.info(name, nd), nil
}

func (n *nullFS) Mkdir(ctx context.Context, name string, perm fs.FileMode) error {
	return &fs.PathError{Op: "mkdir", Path: name, Err: vfs.ErrNotSupported}
}

func (n *nullFS) Remove(ctx context.Context, name string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.files[name] == nil {
		return &fs.PathError{Op: "remove", Path: name, Err: fs.ErrNotExist}
	}
	delete(n.files, name)
	return nil
}

func (n *nullFS) Rename(ctx context.Context, oldName, newName string, replace bool) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	nd := n.files[oldName]
	if nd == nil {
		return &os.LinkError{Op: "rename", Old: oldName, New: newName, Err: fs.ErrNotExist}
	}
	if n.files[newName] != nil && !replace && newName != oldName {
		return &os.LinkError{Op: "rename", Old: oldName, New: newName, Err: fs.ErrExist}
	}
	delete(n.files, oldName)
	n.files[newName] = nd
	return nil
}

func (n *nullFS) StatFS(ctx context.Context) (vfs.FSInfo, error) {
	return vfs.FSInfo{TotalBytes: 1 << 40, FreeBytes: 1 << 40, AvailBytes: 1 << 40, BlockSize: 4096,
		FSName: "null", MaxNameLen: 255, CaseSensitive: true}, nil
}

// nullFile is an open file (or the root folder) of a nullFS.
type nullFile struct {
	fs   *nullFS
	name string
	dir  bool
	node *nullNode
	snap []vfs.FileInfo // the listing's entries not yet returned
}

func (f *nullFile) ReadAt(p []byte, off int64) (int, error) {
	if f.dir {
		return 0, vfs.ErrIsDir
	}
	f.fs.mu.Lock()
	size := f.node.size
	f.fs.mu.Unlock()
	if off >= size {
		return 0, io.EOF
	}
	if rest := size - off; int64(len(p)) > rest {
		return int(rest), io.EOF
	}
	return len(p), nil // the bytes are left as they were: see nullFS
}

func (f *nullFile) WriteAt(p []byte, off int64) (int, error) {
	if f.dir {
		return 0, vfs.ErrIsDir
	}
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if end := off + int64(len(p)); end > f.node.size {
		f.node.size = end
	}
	f.node.mod = time.Now()
	return len(p), nil
}

func (f *nullFile) Close() error { return nil }

func (f *nullFile) Stat() (vfs.FileInfo, error) {
	if f.dir {
		return f.fs.rootInfo(), nil
	}
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	return f.fs.info(f.name, f.node), nil
}

func (f *nullFile) Truncate(size int64) error {
	if f.dir {
		return vfs.ErrIsDir
	}
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	f.node.size, f.node.mod = size, time.Now()
	return nil
}

func (f *nullFile) Sync() error { return nil }

func (f *nullFile) ReadDir(n int) ([]vfs.FileInfo, error) {
	if !f.dir {
		return nil, vfs.ErrNotDir
	}
	if f.snap == nil {
		f.fs.mu.Lock()
		f.snap = []vfs.FileInfo{}
		for name, nd := range f.fs.files {
			f.snap = append(f.snap, f.fs.info(name, nd))
		}
		f.fs.mu.Unlock()
		sort.Slice(f.snap, func(i, j int) bool { return f.snap[i].Name < f.snap[j].Name })
	}
	if n <= 0 {
		out := f.snap
		f.snap = f.snap[len(f.snap):]
		return out, nil
	}
	if len(f.snap) == 0 {
		return nil, io.EOF
	}
	k := min(n, len(f.snap))
	out := f.snap[:k]
	f.snap = f.snap[k:]
	return out, nil
}

func (f *nullFile) RewindDir() error {
	if !f.dir {
		return vfs.ErrNotDir
	}
	f.snap = nil
	return nil
}
