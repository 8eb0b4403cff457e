package localfs

import (
	"io"

	"github.com/signetsmb/signet/vfs"
)

var _ vfs.NameReader = (*file)(nil)

// ReadDirNames implements vfs.NameReader: the names of the listing ReadDir
// walks (sorted, taken once per listing), without the statx per entry that
// describing them costs.
func (f *file) ReadDirNames(n int) ([]string, error) {
	if err := f.check("readdir", dirOnly); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.snapshot(); err != nil {
		return nil, err
	}
	end := len(f.listing)
	if n > 0 {
		end = min(end, f.pos+n)
	}
	out := f.listing[f.pos:end:end] // never written to: callers may keep it
	f.pos = end
	if n > 0 && len(out) == 0 {
		return nil, io.EOF
	}
	return out, nil
}
