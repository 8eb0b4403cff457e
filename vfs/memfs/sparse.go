package memfs

import (
	"io/fs"

	"github.com/signetsmb/signet/vfs"
)

// Sparse files in memfs: a file's bytes are always held in full (zeros in
// a hole), and the blocks that PunchHole released are remembered in
// node.holes, so that DataRanges reports them as holes until a write
// touches them again. Holes are per blockSize block, as on a file system
// with 4 KiB allocation units.

var (
	_ vfs.SparseFS   = (*FS)(nil)
	_ vfs.SparseFile = (*file)(nil)
)

// SupportsSparse implements vfs.SparseFS.
func (m *FS) SupportsSparse() bool { return true }

// Sparse implements vfs.SparseFile.
func (f *file) Sparse() (bool, error) {
	if err := f.begin("getsparse", anyAccess); err != nil {
		return false, err
	}
	defer f.fs.mu.Unlock()
	return f.n.sparse, nil
}

// SetSparse implements vfs.SparseFile.
func (f *file) SetSparse(sparse bool) error {
	if err := f.begin("setsparse", anyAccess); err != nil {
		return err
	}
	defer f.fs.mu.Unlock()
	if f.n.isDir() {
		return pathErr("setsparse", f.name, vfs.ErrIsDir)
	}
	f.n.sparse = sparse
	return nil
}

// PunchHole implements vfs.SparseFile: the range reads as zeros, and the
// blocks it covers entirely become holes.
func (f *file) PunchHole(off, length int64) error {
	if err := f.begin("punchhole", writeData); err != nil {
		return err
	}
	defer f.fs.mu.Unlock()
	if off < 0 || length < 0 || off > maxFileSize-length {
		return pathErr("punchhole", f.name, fs.ErrInvalid)
	}
	n := f.n
	end := min(off+length, int64(len(n.data)))
	if end <= off {
		return nil
	}
	clear(n.data[off:end])
	for b := (off + blockSize - 1) / blockSize; b*blockSize < end; b++ {
		if (b+1)*blockSize > end && end < int64(len(n.data)) {
			break // a partial block before the end of the file stays
		}
		if n.holes == nil {
			n.holes = map[int64]struct{}{}
		}
		n.holes[b] = struct{}{}
	}
	n.touch(f.fs.now())
	f.fs.notifyNode(n, vfs.OpModify)
	return nil
}

// DataRanges implements vfs.SparseFile.
func (f *file) DataRanges(off, length int64, max int) ([]vfs.Range, error) {
	if err := f.begin("dataranges", readData); err != nil {
		return nil, err
	}
	defer f.fs.mu.Unlock()
	if off < 0 || length < 0 || off > maxFileSize-length || max < 1 {
		return nil, pathErr("dataranges", f.name, fs.ErrInvalid)
	}
	n := f.n
	end := min(off+length, int64(len(n.data)))
	var out []vfs.Range
	for pos := off; pos < end; {
		b := pos / blockSize
		next := min((b+1)*blockSize, end)
		if _, hole := n.holes[b]; !hole {
			if k := len(out); k > 0 && out[k-1].End() == pos {
				out[k-1].Len += next - pos
			} else if k == max {
				break
			} else {
				out = append(out, vfs.Range{Off: pos, Len: next - pos})
			}
		}
		pos = next
	}
	return out, nil
}

// fillHoles forgets the holes among the blocks of [off, end): they were
// written. The caller holds the FS lock.
func (n *node) fillHoles(off, end int64) {
	if len(n.holes) == 0 || end <= off {
		return
	}
	for b := off / blockSize; b*blockSize < end; b++ {
		delete(n.holes, b)
	}
}

// dropHolesFrom forgets the holes at or past size (after a truncation).
func (n *node) dropHolesFrom(size int64) {
	for b := range n.holes {
		if b*blockSize >= size {
			delete(n.holes, b)
		}
	}
}
