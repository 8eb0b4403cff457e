package server

import (
	"strings"

	"github.com/signetsmb/signet/vfs"
)

// foldNames looks for name ignoring case among the names a directory
// lists. A name that is not there (every CREATE of a new file asks)
// costs one pass over the names, without describing each entry: on
// localfs, describing costs a statx per entry, which made creating the
// n-th file of a folder cost n system calls.
func foldNames(d vfs.NameReader, name string) (string, bool) {
	for {
		names, err := d.ReadDirNames(1024)
		for _, n := range names {
			if strings.EqualFold(n, name) {
				return n, true
			}
		}
		if err != nil || len(names) == 0 {
			return "", false
		}
	}
}
