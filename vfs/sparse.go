package vfs

// SparseFS is an optional FS capability: its files implement SparseFile.
// A server announces sparse-file support (FILE_SUPPORTS_SPARSE_FILES) only
// for an FS that has it.
type SparseFS interface {
	// SupportsSparse reports whether the files of the FS can keep holes
	// and the sparse flag.
	SupportsSparse() bool
}

// SparseFile is an optional File capability: a sparse flag kept with the
// file, deallocating ranges (holes that read as zeros) and listing the
// ranges that hold data. The flag changes nothing in the backend's
// behaviour; the server uses it to decide whether zeroing a range may
// leave a hole.
type SparseFile interface {
	// Sparse reports whether the file carries the sparse flag.
	//
	// Errors: fs.ErrClosed; ErrNotSupported.
	Sparse() (bool, error)

	// SetSparse sets or clears the sparse flag. Any open File may change
	// it; it follows the file across renames.
	//
	// Errors: fs.ErrClosed; ErrIsDir for a directory; ErrNotSupported.
	SetSparse(sparse bool) error

	// PunchHole makes [off, off+length) read as zeros without changing
	// the file size, releasing the storage of the whole allocation units
	// inside the range (bytes of partial units are zeroed). The part of
	// the range past the end of the file is ignored.
	//
	// Errors: fs.ErrInvalid for a negative off or length; fs.ErrPermission
	// without write access; ErrIsDir; ErrNotSupported.
	PunchHole(off, length int64) error

	// DataRanges returns the ranges of [off, off+length) that hold data
	// (allocated storage) and lie before the end of the file, in order,
	// adjacent ranges merged, at most max of them (the first ones). A
	// backend that cannot tell holes reports the whole part before the end
	// of the file as data.
	//
	// Errors: fs.ErrInvalid for a negative off or length or a max below 1;
	// fs.ErrPermission without read access; ErrIsDir; ErrNotSupported.
	DataRanges(off, length int64, max int) ([]Range, error)
}

// Range is a byte range of a file.
type Range struct {
	Off, Len int64
}

// End is the offset just past the range.
func (r Range) End() int64 { return r.Off + r.Len }
