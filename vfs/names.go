package vfs

// NameReader is an optional File capability of directories: listing entry
// names without describing the entries. The server uses it where only
// names matter (finding a name that differs only in case), so that a
// backend that must stat every entry to describe it (localfs) is spared
// one stat per entry of the folder.
type NameReader interface {
	// ReadDirNames returns up to n (all, if n <= 0) further entry names of
	// the directory, "." and ".." excluded, continuing the same listing
	// as ReadDir (the two may be mixed). At the end it returns no names
	// and io.EOF when n > 0. A name may already have been removed.
	//
	// Errors: ErrNotDir for a file that is not a directory; fs.ErrClosed.
	ReadDirNames(n int) ([]string, error)
}

// FoldFinder is an optional File capability of directories: finding the
// entry whose name equals name ignoring case (strings.EqualFold), which
// every CREATE of a name that does not exist asks. Without it the server
// walks ReadDirNames, which on localfs takes and sorts a snapshot of the
// whole folder first; creating n files in a folder then costs n of them.
type FoldFinder interface {
	// FindFold returns the entry's name and true, or false when no entry
	// matches. It does not disturb a ReadDir or ReadDirNames listing.
	//
	// Errors: ErrNotDir for a file that is not a directory; fs.ErrClosed.
	FindFold(name string) (string, bool, error)
}
