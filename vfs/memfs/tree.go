package memfs

import (
	"io/fs"
	"strings"

	"github.com/signetsmb/signet/vfs"
)

// The methods in this file operate on the tree; callers hold m.mu.

// lookup returns the node a clean name refers to.
func (m *FS) lookup(name string) (*node, error) {
	_, _, n, err := m.lookupEntry(name)
	if err == nil && n == nil {
		err = fs.ErrNotExist
	}
	return n, err
}

// lookupEntry resolves the parent directory of a clean name and returns it
// with the base name and the node currently linked there, which is nil if
// the entry does not exist. For the root, parent is nil and n is the root.
//
// Errors: fs.ErrNotExist if a parent component is missing, vfs.ErrNotDir if
// one is not a directory.
func (m *FS) lookupEntry(name string) (parent *node, base string, n *node, err error) {
	if name == vfs.Root {
		return nil, vfs.Root, m.root, nil
	}
	parent = m.root
	for {
		if !parent.isDir() {
			return nil, "", nil, vfs.ErrNotDir
		}
		first, rest, more := strings.Cut(name, "/")
		if !more {
			return parent, first, parent.children[first], nil
		}
		next := parent.children[first]
		if next == nil {
			return nil, "", nil, fs.ErrNotExist
		}
		parent, name = next, rest
	}
}

// link adds the unlinked node n to directory parent under base.
func (m *FS) link(parent *node, base string, n *node) {
	parent.children[base] = n
	n.parent, n.name = parent, base
	if n.isDir() {
		parent.nlink++
	}
	parent.touch(m.now())
}

// unlink removes the entry base from directory parent, releasing the node
// once no File refers to it.
func (m *FS) unlink(parent *node, base string) {
	n := parent.children[base]
	delete(parent.children, base)
	n.parent = nil
	if n.isDir() {
		parent.nlink--
		n.nlink = 0
	} else {
		n.nlink--
	}
	now := m.now()
	n.ctime = now
	parent.touch(now)
	m.maybeRelease(n)
}

// move relinks the entry oldBase of oldParent as newBase in newParent,
// which must not exist.
func (m *FS) move(oldParent *node, oldBase string, newParent *node, newBase string) {
	n := oldParent.children[oldBase]
	delete(oldParent.children, oldBase)
	newParent.children[newBase] = n
	n.parent, n.name = newParent, newBase
	if n.isDir() && oldParent != newParent {
		oldParent.nlink--
		newParent.nlink++
	}
	now := m.now()
	n.ctime = now
	oldParent.touch(now)
	newParent.touch(now)
}

// maybeRelease frees the storage of n once it is neither linked nor open.
func (m *FS) maybeRelease(n *node) {
	if n.nlink > 0 || n.opens > 0 {
		return
	}
	m.used -= n.footprint() + n.eaBytes
	n.data, n.reserved = nil, 0
	n.eas, n.eaBytes = nil, 0
	m.releaseStreams(n)
}

// resize sets the data length and reservation of a regular file, charging
// the difference against the capacity. It fails with vfs.ErrNoSpace,
// changing nothing, if the capacity would be exceeded.
func (m *FS) resize(n *node, size, reserved int64) error {
	delta := max(size, reserved) - n.footprint()
	if delta > m.capacity-m.used {
		return vfs.ErrNoSpace
	}
	n.data = setLen(n.data, int(size))
	n.reserved = reserved
	m.used += delta
	return nil
}

// maxSlack bounds the spare capacity setLen allocates for future growth.
const maxSlack = 64 << 20

// setLen returns b with length n, zeroing any bytes it adds.
func setLen(b []byte, n int) []byte {
	switch {
	case n == 0:
		return nil
	case n <= len(b):
		return b[:n]
	}
	old := len(b)
	if n > cap(b) {
		grown := make([]byte, n, max(n, min(2*cap(b), n+maxSlack)))
		copy(grown, b)
		return grown
	}
	b = b[:n]
	clear(b[old:])
	return b
}
