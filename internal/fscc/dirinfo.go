package fscc

import "encoding/binary"

// shortNameUnits is the size of the ShortName field in UTF-16 units.
const shortNameUnits = 12

// DirEntryMinSize returns the size of the fixed part of one directory
// entry of class (the offset of FileName), and false when class is not a
// directory class this package encodes. MS-FSA 2.1.5.6.3 fails a
// QUERY_DIRECTORY whose OutputBufferLength cannot hold a single entry with
// STATUS_INFO_LENGTH_MISMATCH.
func DirEntryMinSize(class InfoClass) (int, bool) {
	switch class {
	case FileDirectoryInformation:
		return 64, true
	case FileFullDirectoryInformation:
		return 68, true
	case FileBothDirectoryInformation:
		return 94, true
	case FileNamesInformation:
		return 12, true
	case FileIDBothDirectoryInformation:
		return 104, true
	case FileIDFullDirectoryInformation:
		return 80, true
	case FileIDExtdDirectoryInformation:
		return 88, true
	}
	return 0, false
}

// DirEntrySize returns the encoded size of fi's entry of class, without
// alignment padding.
func DirEntrySize(class InfoClass, fi *FileInfo) (int, error) {
	fixed, ok := DirEntryMinSize(class)
	if !ok {
		return 0, ErrInvalidInfoClass
	}
	return fixed + 2*UTF16Len(fi.Name), nil
}

// AppendDirEntry appends one QUERY_DIRECTORY entry of class for fi, laid
// out as in MS-FSCC 2.4, with NextEntryOffset 0 and no alignment padding.
// Supported classes: FileDirectoryInformation, FileFullDirectoryInformation,
// FileBothDirectoryInformation, FileNamesInformation,
// FileIdBothDirectoryInformation, FileIdFullDirectoryInformation and
// FileIdExtdDirectoryInformation; others return ErrInvalidInfoClass.
//
// A ShortName longer than the 12 UTF-16 units of the ShortName field is
// truncated. FileIdExtd carries FileID in the low 8 bytes of its 128-bit
// FileId and ReparsePointTag 0.
func AppendDirEntry(dst []byte, class InfoClass, fi *FileInfo) ([]byte, error) {
	if _, ok := DirEntryMinSize(class); !ok {
		return dst, ErrInvalidInfoClass
	}
	nameLen := uint32(2 * UTF16Len(fi.Name))
	dst = appendU32(dst, 0) // NextEntryOffset
	dst = appendU32(dst, fi.FileIndex)
	if class == FileNamesInformation {
		dst = appendU32(dst, nameLen)
		return appendUTF16(dst, fi.Name), nil
	}
	dst = appendTimes(dst, fi)
	dst = appendU64(dst, uint64(fi.EndOfFile))
	dst = appendU64(dst, uint64(fi.AllocationSize))
	dst = appendU32(dst, fi.EffectiveAttributes())
	dst = appendU32(dst, nameLen)
	dst = appendDirTail(dst, class, fi)
	return appendUTF16(dst, fi.Name), nil
}

// appendDirTail appends the class-specific fields between FileNameLength
// and FileName.
func appendDirTail(dst []byte, class InfoClass, fi *FileInfo) []byte {
	switch class {
	case FileFullDirectoryInformation:
		dst = appendU32(dst, fi.EaSize)
	case FileIDFullDirectoryInformation:
		dst = appendU32(dst, fi.EaSize)
		dst = appendU32(dst, 0) // Reserved
		dst = appendU64(dst, fi.FileID)
	case FileBothDirectoryInformation:
		dst = appendU32(dst, fi.EaSize)
		dst = appendShortName(dst, fi.ShortName)
	case FileIDBothDirectoryInformation:
		dst = appendU32(dst, fi.EaSize)
		dst = appendShortName(dst, fi.ShortName)
		dst = appendU16(dst, 0) // Reserved2
		dst = appendU64(dst, fi.FileID)
	case FileIDExtdDirectoryInformation:
		dst = appendU32(dst, fi.EaSize)
		dst = appendU32(dst, 0) // ReparsePointTag
		dst = appendU64(dst, fi.FileID)
		dst = appendU64(dst, 0) // high half of the 128-bit FileId
	}
	return dst
}

// appendShortName appends ShortNameLength (1 byte), Reserved (1 byte) and
// the 24-byte zero-padded ShortName field.
func appendShortName(dst []byte, name string) []byte {
	u := toUTF16(name)
	if len(u) > shortNameUnits {
		u = u[:shortNameUnits]
		if last := u[len(u)-1]; last >= 0xD800 && last < 0xDC00 {
			u = u[:len(u)-1] // do not leave half a surrogate pair
		}
	}
	dst = appendU8(dst, uint8(2*len(u)))
	dst = appendU8(dst, 0)
	for _, c := range u {
		dst = appendU16(dst, c)
	}
	return appendZeros(dst, 2*(shortNameUnits-len(u)))
}

// DirWriter builds a QUERY_DIRECTORY output buffer: it appends entries of
// one class, aligns each to 8 bytes, links them through NextEntryOffset and
// stops at the client's OutputBufferLength. Create it with NewDirWriter.
//
//	w, err := fscc.NewDirWriter(class, int(req.OutputBufferLength))
//	for _, fi := range entries {
//		if !w.Add(&fi) {
//			break // keep fi for the next QUERY_DIRECTORY
//		}
//	}
//	if w.Count() == 0 { ... STATUS_NO_MORE_FILES or STATUS_INFO_LENGTH_MISMATCH }
//	resp.Buffer = w.Bytes()
type DirWriter struct {
	class InfoClass
	max   int
	buf   []byte
	last  int // offset of the most recent entry; -1 before the first
	count int
}

// NewDirWriter returns a DirWriter for class whose output never exceeds
// maxLen bytes. It fails with ErrInvalidInfoClass for classes
// AppendDirEntry does not support and ErrInvalidParameter for a negative
// maxLen.
func NewDirWriter(class InfoClass, maxLen int) (*DirWriter, error) {
	if _, ok := DirEntryMinSize(class); !ok {
		return nil, ErrInvalidInfoClass
	}
	if maxLen < 0 {
		return nil, ErrInvalidParameter
	}
	return &DirWriter{class: class, max: maxLen, last: -1}, nil
}

// SetBuffer makes w build its output in b's capacity (from b[:0]), so a
// caller can lend it a pooled buffer; if b is shorter than the output
// grows, appending reallocates as usual. Call it before the first Add.
func (w *DirWriter) SetBuffer(b []byte) { w.buf = b[:0] }

// Add appends fi's entry and reports true, or reports false and leaves the
// buffer unchanged when the entry (after padding to an 8-byte boundary)
// would not fit in the maximum length.
func (w *DirWriter) Add(fi *FileInfo) bool {
	size, _ := DirEntrySize(w.class, fi) // class validated by NewDirWriter
	start := len(w.buf)
	if w.last >= 0 {
		start = align8(start)
	}
	if size > w.max-start {
		return false
	}
	w.buf = appendZeros(w.buf, start-len(w.buf))
	w.buf, _ = AppendDirEntry(w.buf, w.class, fi)
	if w.last >= 0 {
		binary.LittleEndian.PutUint32(w.buf[w.last:], uint32(start-w.last))
	}
	w.last = start
	w.count++
	return true
}

// Bytes returns the entries added so far. The last entry is not padded.
// The slice aliases the writer's buffer until the next Add or Reset.
func (w *DirWriter) Bytes() []byte { return w.buf }

// Len returns len(w.Bytes()).
func (w *DirWriter) Len() int { return len(w.buf) }

// Count returns the number of entries added.
func (w *DirWriter) Count() int { return w.count }

// Reset empties the writer, keeping its class, maximum and buffer.
func (w *DirWriter) Reset() {
	w.buf = w.buf[:0]
	w.last = -1
	w.count = 0
}

func align8(n int) int { return (n + 7) &^ 7 }
