package fscc

import (
	"encoding/binary"
	"time"
)

// FileInfo is what the server knows about a file. Encoders read it and
// never modify it.
type FileInfo struct {
	Name      string // last path element, UTF-8 (encoded as UTF-16LE)
	ShortName string // 8.3 name, or "" when there is none

	CreationTime, LastAccessTime, LastWriteTime, ChangeTime time.Time // zero Time encodes as 0

	EndOfFile, AllocationSize int64
	Attributes                uint32 // FileAttribute*; see EffectiveAttributes

	FileID        uint64
	EaSize        uint32
	NumberOfLinks uint32
	DeletePending bool
	Directory     bool
	FileIndex     uint32
}

// IsDir reports whether fi describes a directory (Directory is set or
// Attributes has FileAttributeDirectory).
func (fi *FileInfo) IsDir() bool {
	return fi.Directory || fi.Attributes&FileAttributeDirectory != 0
}

// EffectiveAttributes returns the attributes as sent on the wire:
// FileAttributeDirectory is added for directories, and FileAttributeNormal
// stands alone: it is cleared when any other attribute is set and used when
// none is [MS-FSCC 2.6].
func (fi *FileInfo) EffectiveAttributes() uint32 {
	a := fi.Attributes
	if fi.Directory {
		a |= FileAttributeDirectory
	}
	if a&^FileAttributeNormal != 0 {
		return a &^ FileAttributeNormal
	}
	return FileAttributeNormal
}

// appendTimes appends the four FILETIMEs in MS-FSCC order.
func appendTimes(dst []byte, fi *FileInfo) []byte {
	dst = appendU64(dst, Filetime(fi.CreationTime))
	dst = appendU64(dst, Filetime(fi.LastAccessTime))
	dst = appendU64(dst, Filetime(fi.LastWriteTime))
	return appendU64(dst, Filetime(fi.ChangeTime))
}

func appendU8(dst []byte, v uint8) []byte   { return append(dst, v) }
func appendU16(dst []byte, v uint16) []byte { return binary.LittleEndian.AppendUint16(dst, v) }
func appendU32(dst []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(dst, v) }
func appendU64(dst []byte, v uint64) []byte { return binary.LittleEndian.AppendUint64(dst, v) }

func appendBool(dst []byte, v bool) []byte {
	if v {
		return append(dst, 1)
	}
	return append(dst, 0)
}

func appendZeros(dst []byte, n int) []byte {
	for range n {
		dst = append(dst, 0)
	}
	return dst
}

func le16(b []byte) uint16 { return binary.LittleEndian.Uint16(b) }
func le32(b []byte) uint32 { return binary.LittleEndian.Uint32(b) }
func le64(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }
