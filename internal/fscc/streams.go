package fscc

// StreamEntry is one entry of FileStreamInformation [MS-FSCC 2.4.49].
type StreamEntry struct {
	// Name is the stream name without the ":" prefix and ":$DATA"
	// suffix; "" is the unnamed data stream ("::$DATA").
	Name           string
	Size           int64
	AllocationSize int64
}

// AppendStreamEntries appends FileStreamInformation for entries: each
// entry starts on an 8-byte boundary, NextEntryOffset links them and is 0
// in the last; the names are ":name:$DATA". No entries (a directory
// without named streams) append nothing. Pass the result through
// FitFileInfo.
func AppendStreamEntries(dst []byte, entries []StreamEntry) []byte {
	for i, e := range entries {
		start := len(dst)
		name := ":" + e.Name + ":$DATA"
		dst = appendU32(dst, 0) // NextEntryOffset, patched below
		dst = appendU32(dst, uint32(2*UTF16Len(name)))
		dst = appendU64(dst, uint64(e.Size))
		dst = appendU64(dst, uint64(e.AllocationSize))
		dst = appendUTF16(dst, name)
		if i == len(entries)-1 {
			break
		}
		for (len(dst)-start)%8 != 0 {
			dst = append(dst, 0)
		}
		next := uint32(len(dst) - start)
		dst[start], dst[start+1], dst[start+2], dst[start+3] = byte(next), byte(next>>8), byte(next>>16), byte(next>>24)
	}
	return dst
}
