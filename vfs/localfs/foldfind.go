//go:build linux

package localfs

import (
	"bytes"
	"encoding/binary"
	"io"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/signetsmb/signet/vfs"
)

var _ vfs.FoldFinder = (*file)(nil)

// direntBufs holds the buffers FindFold reads directory entries into.
var direntBufs = sync.Pool{New: func() any { return new([32 << 10]byte) }}

// FindFold implements vfs.FoldFinder. While a listing is under way its
// snapshot is searched; otherwise the directory's entries are read with
// getdents64(2) and compared as raw bytes, with no string made or sorted
// for the names that do not match, and the directory is rewound after.
func (f *file) FindFold(name string) (string, bool, error) {
	if err := f.check("readdir", dirOnly); err != nil {
		return "", false, err
	}
	if name == "" || name == "." || name == ".." || strings.ContainsRune(name, '/') {
		return "", false, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.listed {
		for _, n := range f.listing {
			if strings.EqualFold(n, name) {
				return n, true, nil
			}
		}
		return "", false, nil
	}
	// Seeking a directory also drops what os.File buffered of an earlier
	// Readdirnames, so the next listing starts from the first entry.
	if _, err := f.f.Seek(0, io.SeekStart); err != nil {
		return "", false, pathErr("readdir", f.name, err)
	}
	defer f.f.Seek(0, io.SeekStart)
	buf := direntBufs.Get().(*[32 << 10]byte)
	defer direntBufs.Put(buf)
	want := []byte(name)
	var found string
	err := withFD(f.f, func(fd int) error {
		for {
			n, err := unix.Getdents(fd, buf[:])
			if err == unix.EINTR {
				continue
			}
			if err != nil || n <= 0 {
				return err
			}
			for off := 0; off+19 <= n; {
				// struct linux_dirent64: d_ino, d_off (8 bytes each),
				// d_reclen (2), d_type (1), then the NUL-terminated name.
				reclen := int(binary.NativeEndian.Uint16(buf[off+16:]))
				if reclen < 19 || off+reclen > n {
					return unix.EIO
				}
				ent := buf[off+19 : off+reclen]
				if i := bytes.IndexByte(ent, 0); i >= 0 {
					ent = ent[:i]
				}
				off += reclen
				if bytes.EqualFold(ent, want) {
					if n := string(ent); !hiddenEntry(f.path, n) {
						found = n
						return nil
					}
				}
			}
		}
	})
	if err != nil {
		return "", false, pathErr("readdir", f.name, err)
	}
	return found, found != "", nil
}
