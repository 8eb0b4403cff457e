package fscc

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"testing"
	"time"
)

// layout builds expected bytes by writing fields at the absolute offsets
// given in the specification, independently of the encoders' sequential
// appends.
type layout []byte

func newLayout(n int) layout { return make(layout, n) }

func (l layout) u8(off int, v uint8) layout { l[off] = v; return l }
func (l layout) u16(off int, v uint16) layout {
	binary.LittleEndian.PutUint16(l[off:], v)
	return l
}
func (l layout) u32(off int, v uint32) layout {
	binary.LittleEndian.PutUint32(l[off:], v)
	return l
}
func (l layout) u64(off int, v uint64) layout {
	binary.LittleEndian.PutUint64(l[off:], v)
	return l
}

// ascii writes an ASCII string as UTF-16LE.
func (l layout) ascii(off int, s string) layout {
	for i := 0; i < len(s); i++ {
		l[off+2*i] = s[i]
		l[off+2*i+1] = 0
	}
	return l
}

// unhex decodes hex with spaces and newlines ignored.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func checkBytes(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Errorf("%s:\n got %x\nwant %x", what, got, want)
	}
}

// FILETIMEs of 2000-01-01..04 00:00 UTC.
const (
	ft2000   uint64 = 125911584000000000 // 0x01bf53eb256d4000
	ftPerDay uint64 = 864000000000
)

const day = 24 * time.Hour

func sampleFile() *FileInfo {
	t0 := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	return &FileInfo{
		Name:           "a.txt",
		ShortName:      "A.TXT",
		CreationTime:   t0,
		LastAccessTime: t0.Add(day),
		LastWriteTime:  t0.Add(2 * day),
		ChangeTime:     t0.Add(3 * day),
		EndOfFile:      5,
		AllocationSize: 4096,
		Attributes:     FileAttributeArchive,
		FileID:         0x1122334455667788,
		EaSize:         3,
		NumberOfLinks:  1,
		FileIndex:      7,
	}
}

// putSampleTimes writes the four sample FILETIMEs at off.
func (l layout) sampleTimes(off int) layout {
	for i := range 4 {
		l.u64(off+8*i, ft2000+uint64(i)*ftPerDay)
	}
	return l
}
