package memfs

import (
	"io/fs"
	"maps"
	"slices"
	"time"

	"github.com/signetsmb/signet/vfs"
)

// blockSize is the allocation unit reported by memfs.
const blockSize = 4096

// node is an inode: a regular file or a directory. All fields are guarded by
// the owning FS's mu.
type node struct {
	id   uint64
	mode fs.FileMode

	data     []byte             // regular files: contents
	reserved int64              // regular files: bytes reserved by Allocate
	sparse   bool               // regular files: the sparse flag (sparse.go)
	holes    map[int64]struct{} // regular files: punched blocks (sparse.go)
	sd       []byte             // vfs.SecurityFile descriptor (security.go)
	children map[string]*node   // directories: entries by name

	// streams are the named streams of a file or directory; base is the
	// file of a stream node (streams.go).
	streams map[string]*node
	base    *node

	// eas are the extended attributes, sorted by name, and eaBytes their
	// charged size (ea.go).
	eas     []vfs.EA
	eaBytes int64

	// parent and name locate a linked node; parent is nil for the root and
	// for unlinked nodes. memfs has no hard links, so there is one of each.
	parent *node
	name   string

	nlink uint64 // links: 1 for files, 2+subdirectories for directories
	opens int    // open Files referring to the node

	atime, mtime, ctime, btime time.Time
}

func (n *node) isDir() bool { return n.mode.IsDir() }

// footprint is the storage charged against the FS capacity.
func (n *node) footprint() int64 {
	return max(int64(len(n.data)), n.reserved)
}

// info describes n under the given name.
func (n *node) info(name string) vfs.FileInfo {
	size := int64(len(n.data))
	if n.isDir() {
		size = 0
	}
	t := n
	if n.base != nil {
		t = n.base // a stream: its file's identity and times
	}
	return vfs.FileInfo{
		Name:           name,
		Size:           size,
		Mode:           n.mode.Type() | t.mode.Perm(),
		ModTime:        t.mtime,
		AccessTime:     t.atime,
		ChangeTime:     t.ctime,
		BirthTime:      t.btime,
		FileID:         t.id,
		Nlink:          t.nlink,
		AllocationSize: roundUp(n.footprint(), blockSize),
	}
}

// sortedNames returns the names of a directory's entries in byte order.
func (n *node) sortedNames() []string {
	return slices.Sorted(maps.Keys(n.children))
}

// isAncestorOf reports whether n is d or one of d's ancestors.
func (n *node) isAncestorOf(d *node) bool {
	for p := d; p != nil; p = p.parent {
		if p == n {
			return true
		}
	}
	return false
}

// touch sets the modification and change times to now.
func (n *node) touch(now time.Time) {
	if n.base != nil {
		n = n.base // writing a stream modifies its file
	}
	n.mtime = now
	n.ctime = now
}

func roundUp(n, unit int64) int64 {
	return (n + unit - 1) / unit * unit
}
