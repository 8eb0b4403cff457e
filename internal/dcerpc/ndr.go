package dcerpc

import (
	"encoding/binary"
	"fmt"
	"unicode/utf16"
)

// NDR20 (C706 chapter 14) little-endian marshalling, limited to what the
// srvsvc and wkssvc operations need: 32-bit integers, unique pointers with
// referent ids, and conformant varying UTF-16 strings ([string] wchar_t*).
// Alignment is relative to the start of the stub, which is how DCE/RPC
// aligns NDR octet streams (the stub starts 8-byte aligned in the PDU).

// firstReferentID is the first referent id the writer hands out. Windows
// and Samba use 0x00020000 and step by 4; any non-zero value is valid.
const firstReferentID = 0x00020000

// maxNDRStringChars caps the UTF-16 code units accepted in one decoded
// string. Names in these interfaces are far shorter (NNLEN is 80, DNS names
// 255); the stub length already bounds it, the cap only keeps errors clear.
const maxNDRStringChars = 4096

// errNDR is wrapped by every decoding error.
const errNDR Error = "dcerpc: malformed NDR stub"

// ndrWriter builds an NDR20 octet stream.
type ndrWriter struct {
	buf     []byte
	nextRef uint32
}

func newNDRWriter(sizeHint int) *ndrWriter {
	return &ndrWriter{buf: make([]byte, 0, sizeHint), nextRef: firstReferentID}
}

func (w *ndrWriter) bytes() []byte { return w.buf }

// align pads with zero octets to a multiple of n (a power of two).
func (w *ndrWriter) align(n int) {
	for len(w.buf)&(n-1) != 0 {
		w.buf = append(w.buf, 0)
	}
}

func (w *ndrWriter) uint32(v uint32) {
	w.align(4)
	w.buf = binary.LittleEndian.AppendUint32(w.buf, v)
}

// pointer writes a unique/full pointer: a fresh referent id, or 0 for NULL.
func (w *ndrWriter) pointer(present bool) {
	if !present {
		w.uint32(0)
		return
	}
	w.uint32(w.nextRef)
	w.nextRef += 4
}

// str writes the referent of a [string] wchar_t*: maximum count, offset 0,
// actual count (all in UTF-16 code units including the terminating NUL),
// then the code units. Each invalid UTF-8 byte is written as U+FFFD.
func (w *ndrWriter) str(s string) {
	units := make([]uint16, 0, len(s)+1)
	for _, r := range s {
		units = utf16.AppendRune(units, r)
	}
	n := uint32(len(units) + 1)
	w.uint32(n)
	w.uint32(0)
	w.uint32(n)
	for _, u := range units {
		w.buf = binary.LittleEndian.AppendUint16(w.buf, u)
	}
	w.buf = append(w.buf, 0, 0)
}

// ndrStrings collects the referents of embedded string pointers. NDR defers
// the referent of a pointer embedded in a structure or array until the
// structure (or the whole array) has been written; callers write the flat
// part with stringPtr, then call flush.
type ndrStrings []string

// stringPtr writes a non-NULL pointer to s and queues s.
func (w *ndrWriter) stringPtr(s string, deferred *ndrStrings) {
	w.pointer(true)
	*deferred = append(*deferred, s)
}

// flush writes the queued referents in order and empties the queue.
func (w *ndrWriter) flush(deferred *ndrStrings) {
	for _, s := range *deferred {
		w.str(s)
	}
	*deferred = (*deferred)[:0]
}

// ndrStringSize is the number of octets str(s) writes when starting
// 4-byte aligned, including the padding that realigns the stream.
func ndrStringSize(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return 12 + (2*(n+1)+3)&^3
}

// ndrReader decodes an NDR20 octet stream. The first error sticks: later
// reads return zero values, and err reports the first failure.
type ndrReader struct {
	buf []byte
	off int
	err error
}

func newNDRReader(b []byte) *ndrReader { return &ndrReader{buf: b} }

func (r *ndrReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s at offset %d", errNDR, fmt.Sprintf(format, args...), r.off)
	}
}

// need reports whether n more octets are available, failing otherwise.
func (r *ndrReader) need(n int, what string) bool {
	if r.err != nil {
		return false
	}
	if n < 0 || n > len(r.buf)-r.off {
		r.fail("truncated %s: need %d octets, have %d", what, n, len(r.buf)-r.off)
		return false
	}
	return true
}

// align skips padding up to a multiple of n. Padding content is not
// checked: impacket, for one, pads with 0xAB.
func (r *ndrReader) align(n int) {
	pad := (n - r.off&(n-1)) & (n - 1)
	if r.need(pad, "alignment padding") {
		r.off += pad
	}
}

func (r *ndrReader) uint32() uint32 {
	r.align(4)
	if !r.need(4, "uint32") {
		return 0
	}
	v := binary.LittleEndian.Uint32(r.buf[r.off:])
	r.off += 4
	return v
}

// pointer reads a unique pointer's referent id; 0 means NULL.
func (r *ndrReader) pointer() uint32 { return r.uint32() }

// str reads the referent of a [string] wchar_t*. The terminating NUL and
// anything after an embedded NUL are dropped; a missing terminator is
// tolerated (impacket callers often omit it).
func (r *ndrReader) str() string {
	maxCount := r.uint32()
	offset := r.uint32()
	actual := r.uint32()
	if r.err != nil {
		return ""
	}
	switch {
	case offset != 0:
		r.fail("string offset %d, want 0", offset)
		return ""
	case actual > maxCount:
		r.fail("string actual count %d exceeds maximum count %d", actual, maxCount)
		return ""
	case actual > maxNDRStringChars:
		r.fail("string of %d code units exceeds the limit of %d", actual, maxNDRStringChars)
		return ""
	}
	n := int(actual)
	if !r.need(2*n, "string data") {
		return ""
	}
	units := make([]uint16, 0, n)
	for i := 0; i < n; i++ {
		u := binary.LittleEndian.Uint16(r.buf[r.off+2*i:])
		if u == 0 {
			break
		}
		units = append(units, u)
	}
	r.off += 2 * n
	return string(utf16.Decode(units))
}

// uniqueStr reads a unique pointer to a string and, when non-NULL, its
// referent (valid for top-level [unique, string] parameters, whose referent
// immediately follows the pointer).
func (r *ndrReader) uniqueStr() (s string, present bool) {
	if r.pointer() == 0 {
		return "", false
	}
	return r.str(), r.err == nil
}
