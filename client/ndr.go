package client

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf16"
)

// A minimal NDR20 [C706 14, MS-RPCE 2.2.5] encoder and decoder: just what
// srvsvc NetrShareEnum level 1 needs. Little-endian, 4-byte alignment for
// the 32-bit types used here.

// ndrWriter encodes NDR into a byte slice.
type ndrWriter struct {
	buf   []byte
	refID uint32 // last referent id handed out
}

func (w *ndrWriter) align4() {
	for len(w.buf)%4 != 0 {
		w.buf = append(w.buf, 0)
	}
}

func (w *ndrWriter) uint32(v uint32) {
	w.align4()
	w.buf = binary.LittleEndian.AppendUint32(w.buf, v)
}

// pointer writes a unique pointer's referent id (0 for NULL).
func (w *ndrWriter) pointer(present bool) {
	if !present {
		w.uint32(0)
		return
	}
	w.refID += 4
	w.uint32(0x00020000 + w.refID)
}

// wstring writes a conformant varying UTF-16 string with its terminator
// ([string] wchar_t*): MaxCount, Offset 0, ActualCount, characters.
func (w *ndrWriter) wstring(s string) {
	u := append(utf16.Encode([]rune(s)), 0)
	w.uint32(uint32(len(u)))
	w.uint32(0)
	w.uint32(uint32(len(u)))
	for _, c := range u {
		w.buf = binary.LittleEndian.AppendUint16(w.buf, c)
	}
}

// errNDR reports malformed NDR data.
var errNDR = errors.New("malformed NDR data")

// ndrReader decodes NDR; the first error sticks and later reads return
// zero values.
type ndrReader struct {
	buf []byte
	off int
	err error
}

func (r *ndrReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s at offset %d", errNDR, fmt.Sprintf(format, args...), r.off)
	}
}

func (r *ndrReader) align4() {
	r.off = (r.off + 3) &^ 3
}

func (r *ndrReader) uint32() uint32 {
	if r.err != nil {
		return 0
	}
	r.align4()
	if r.off+4 > len(r.buf) {
		r.fail("truncated uint32")
		return 0
	}
	v := binary.LittleEndian.Uint32(r.buf[r.off:])
	r.off += 4
	return v
}

// remaining returns the bytes left to read.
func (r *ndrReader) remaining() int { return max(len(r.buf)-r.off, 0) }

// wstring reads a conformant varying UTF-16 string and drops its
// terminator.
func (r *ndrReader) wstring() string {
	maxCount, offset, actual := r.uint32(), r.uint32(), r.uint32()
	if r.err != nil {
		return ""
	}
	if offset != 0 || actual > maxCount || int(actual)*2 > r.remaining() {
		r.fail("bad string header (max %d, offset %d, actual %d)", maxCount, offset, actual)
		return ""
	}
	u := make([]uint16, actual)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(r.buf[r.off+2*i:])
	}
	r.off += 2 * int(actual)
	if len(u) > 0 && u[len(u)-1] == 0 {
		u = u[:len(u)-1]
	}
	return string(utf16.Decode(u))
}

// optionalWString reads the deferred string of a pointer that was
// present.
func (r *ndrReader) optionalWString(ref uint32) string {
	if ref == 0 {
		return ""
	}
	return r.wstring()
}
