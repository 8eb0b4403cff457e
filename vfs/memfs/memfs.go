// Package memfs is an in-memory vfs.FS with the same semantics as the local
// disk backend: inodes with stable FileIDs, POSIX link counts, four
// timestamps, open files that survive rename and removal, and atomic
// no-replace renames. It is meant for tests, examples and fuzzing the server
// end to end.
//
// Differences from a disk file system, all deliberate:
//   - There are no symbolic links, hard links or special files.
//   - Permission bits are stored and reported but never enforced, and no
//     umask applies.
//   - Reads do not update the access time (as with the noatime mount option).
//   - Files are stored densely, holes included. File data, holes and
//     Allocate reservations are charged against Options.Capacity, and
//     exceeding it fails with vfs.ErrNoSpace before any memory is allocated,
//     so a hostile client cannot exhaust memory with a sparse write at a
//     huge offset.
//
// All state is guarded by one mutex per FS, which makes every operation
// atomic and the FS safe for concurrent use.
//
// Besides vfs.FS and vfs.File, memfs implements the optional capabilities
// vfs.TimeSetter and vfs.Notifier on FS, and vfs.FileTimeSetter and
// vfs.Allocator on its Files.
package memfs

import (
	"context"
	"io/fs"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/signetsmb/signet/vfs"
)

// Defaults for Options fields left zero.
const (
	DefaultCapacity = 1 << 30 // 1 GiB
	maxNameLen      = 255
)

// Options configure an FS. The zero value is valid.
type Options struct {
	// Now returns the current time for timestamps; time.Now if nil.
	// Inject a fake clock for reproducible tests.
	Now func() time.Time
	// Capacity is the number of bytes of file data the FS holds;
	// DefaultCapacity if zero or negative.
	Capacity int64
}

// FS is an in-memory file system. Create it with New.
type FS struct {
	now      func() time.Time
	capacity int64

	mu sync.Mutex
	// Guarded by mu.
	root     *node
	lastID   uint64
	used     int64 // sum of node footprints
	watchers map[*watcher]struct{}
}

// Compile-time checks of the capabilities FS provides.
var (
	_ vfs.FS         = (*FS)(nil)
	_ vfs.TimeSetter = (*FS)(nil)
	_ vfs.Notifier   = (*FS)(nil)
)

// New returns an empty FS whose root is a directory with mode 0777.
func New(opts Options) *FS {
	m := &FS{
		now:      opts.Now,
		capacity: opts.Capacity,
		watchers: make(map[*watcher]struct{}),
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.capacity <= 0 {
		m.capacity = DefaultCapacity
	}
	m.root = m.newNode(fs.ModeDir|0o777, m.now())
	m.root.name = vfs.Root
	return m
}

// newNode allocates an unlinked node with a fresh FileID. Directories start
// with a link count of 2 ("." and the entry in the parent), files with 1.
func (m *FS) newNode(mode fs.FileMode, now time.Time) *node {
	m.lastID++
	n := &node{id: m.lastID, mode: mode, nlink: 1,
		atime: now, mtime: now, ctime: now, btime: now}
	if mode.IsDir() {
		n.children = make(map[string]*node)
		n.nlink = 2
	}
	return n
}

// OpenFile implements vfs.FS.
func (m *FS) OpenFile(ctx context.Context, name string, flag int, perm fs.FileMode) (vfs.File, error) {
	clean, err := prepare(ctx, name)
	if err == nil {
		err = vfs.CheckOpenFlag(flag)
	}
	if err != nil {
		return nil, pathErr("open", name, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.openNode(clean, flag, perm)
	if err != nil {
		return nil, pathErr("open", name, err)
	}
	n.opens++
	return &file{fs: m, n: n, name: path.Base(clean), flag: flag}, nil
}

// openNode finds or creates the node an OpenFile call refers to.
func (m *FS) openNode(name string, flag int, perm fs.FileMode) (*node, error) {
	parent, base, n, err := m.lookupEntry(name)
	if err != nil {
		return nil, err
	}
	if n == nil {
		if flag&os.O_CREATE == 0 {
			return nil, fs.ErrNotExist
		}
		n = m.newNode(perm&fs.ModePerm, m.now())
		m.link(parent, base, n)
		m.notify(parent, base, vfs.OpCreate)
		return n, nil
	}
	if flag&(os.O_CREATE|os.O_EXCL) == os.O_CREATE|os.O_EXCL {
		return nil, fs.ErrExist
	}
	if n.isDir() && (vfs.Writable(flag) || flag&os.O_CREATE != 0) {
		return nil, vfs.ErrIsDir
	}
	if flag&os.O_TRUNC != 0 {
		if err := m.resize(n, 0, 0); err != nil {
			return nil, err
		}
		n.touch(m.now())
		m.notifyNode(n, vfs.OpModify)
	}
	return n, nil
}

// Stat implements vfs.FS.
func (m *FS) Stat(ctx context.Context, name string) (vfs.FileInfo, error) {
	clean, err := prepare(ctx, name)
	if err != nil {
		return vfs.FileInfo{}, pathErr("stat", name, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.lookup(clean)
	if err != nil {
		return vfs.FileInfo{}, pathErr("stat", name, err)
	}
	return n.info(path.Base(clean)), nil
}

// Mkdir implements vfs.FS.
func (m *FS) Mkdir(ctx context.Context, name string, perm fs.FileMode) error {
	clean, err := prepare(ctx, name)
	if err != nil {
		return pathErr("mkdir", name, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	parent, base, n, err := m.lookupEntry(clean)
	switch {
	case err != nil:
		return pathErr("mkdir", name, err)
	case n != nil:
		return pathErr("mkdir", name, fs.ErrExist)
	}
	m.link(parent, base, m.newNode(fs.ModeDir|perm&fs.ModePerm, m.now()))
	m.notify(parent, base, vfs.OpCreate)
	return nil
}

// Remove implements vfs.FS.
func (m *FS) Remove(ctx context.Context, name string) error {
	clean, err := prepare(ctx, name)
	if err != nil {
		return pathErr("remove", name, err)
	}
	if clean == vfs.Root {
		return pathErr("remove", name, fs.ErrPermission)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	parent, base, n, err := m.lookupEntry(clean)
	switch {
	case err != nil:
		return pathErr("remove", name, err)
	case n == nil:
		return pathErr("remove", name, fs.ErrNotExist)
	case n.isDir() && len(n.children) > 0:
		return pathErr("remove", name, vfs.ErrNotEmpty)
	}
	m.unlink(parent, base)
	m.notify(parent, base, vfs.OpRemove)
	return nil
}

// Rename implements vfs.FS. It is atomic: the replace=false check and the
// move happen under one lock.
func (m *FS) Rename(ctx context.Context, oldName, newName string, replace bool) error {
	oldClean, err := prepare(ctx, oldName)
	if err != nil {
		return linkErr(oldName, newName, err)
	}
	newClean, err := prepare(ctx, newName)
	if err != nil {
		return linkErr(oldName, newName, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.rename(oldClean, newClean, replace); err != nil {
		return linkErr(oldName, newName, err)
	}
	return nil
}

// rename moves oldName to newName, both clean. The caller holds m.mu.
//
// The checks run in the order Linux applies them, so that memfs and localfs
// report the same error when several apply: both parents are resolved, then
// the source must exist, then the target is checked against replace and the
// types, then a directory may not move into its own subtree.
func (m *FS) rename(oldName, newName string, replace bool) error {
	if oldName == vfs.Root || newName == vfs.Root {
		return fs.ErrPermission
	}
	oldParent, oldBase, n, err := m.lookupEntry(oldName)
	if err != nil {
		return err
	}
	newParent, newBase, target, err := m.lookupEntry(newName)
	switch {
	case err != nil:
		return err
	case n == nil:
		return fs.ErrNotExist
	case target == n:
		return nil // same name: nothing to do
	case target != nil:
		if err := checkReplace(n, target, replace); err != nil {
			return err
		}
	}
	if n.isAncestorOf(newParent) {
		return fs.ErrInvalid
	}
	if target != nil {
		m.unlink(newParent, newBase)
	}
	m.move(oldParent, oldBase, newParent, newBase)
	m.notifyRename(oldParent, oldBase, newParent, newBase)
	return nil
}

// checkReplace reports whether n may replace the existing target.
func checkReplace(n, target *node, replace bool) error {
	switch {
	case !replace, target.isDir():
		return fs.ErrExist
	case n.isDir():
		return vfs.ErrNotDir
	}
	return nil
}

// StatFS implements vfs.FS.
func (m *FS) StatFS(ctx context.Context) (vfs.FSInfo, error) {
	if err := ctx.Err(); err != nil {
		return vfs.FSInfo{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	free := uint64(m.capacity - m.used)
	return vfs.FSInfo{
		TotalBytes:    uint64(m.capacity),
		FreeBytes:     free,
		AvailBytes:    free,
		BlockSize:     blockSize,
		FSName:        "memfs",
		MaxNameLen:    maxNameLen,
		CaseSensitive: true,
	}, nil
}

// SetTimes implements vfs.TimeSetter.
func (m *FS) SetTimes(ctx context.Context, name string, atime, mtime time.Time) error {
	clean, err := prepare(ctx, name)
	if err != nil {
		return pathErr("chtimes", name, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.lookup(clean)
	if err != nil {
		return pathErr("chtimes", name, err)
	}
	m.setTimes(n, atime, mtime)
	return nil
}

// setTimes applies SetTimes to n. The caller holds m.mu.
func (m *FS) setTimes(n *node, atime, mtime time.Time) {
	if n.base != nil {
		n = n.base // a stream's times are its file's
	}
	if !atime.IsZero() {
		n.atime = atime
	}
	if !mtime.IsZero() {
		n.mtime = mtime
	}
	n.ctime = m.now()
	m.notifyNode(n, vfs.OpAttrib)
}

// prepare checks ctx and validates name, returning its clean form.
func prepare(ctx context.Context, name string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	clean, err := vfs.CleanName(name)
	if err != nil {
		return "", err
	}
	for c := range strings.SplitSeq(clean, "/") {
		if len(c) > maxNameLen {
			return "", vfs.ErrNameTooLong
		}
	}
	return clean, nil
}

func pathErr(op, name string, err error) error {
	return &fs.PathError{Op: op, Path: name, Err: err}
}

func linkErr(oldName, newName string, err error) error {
	return &os.LinkError{Op: "rename", Old: oldName, New: newName, Err: err}
}
