package spnego

import (
	"bytes"
	"fmt"

	"github.com/signetsmb/signet/auth"
)

// DER tags used by SPNEGO [RFC 4178 4.2, X.690].
const (
	tagBitString     = 0x03
	tagOctetString   = 0x04
	tagOID           = 0x06
	tagEnumerated    = 0x0a
	tagGeneralString = 0x1b
	tagSequence      = 0x30
	tagApplication0  = 0x60 // [APPLICATION 0] constructed: InitialContextToken
	tagContext0      = 0xa0 // [0] constructed; [n] is tagContext0 + n
)

// maxLengthOctets bounds long-form lengths; SMB security buffers are far
// below 4 GiB.
const maxLengthOctets = 4

// errInvalid wraps auth.ErrInvalidToken with a reason.
func errInvalid(reason string) error {
	return fmt.Errorf("spnego: %s: %w", reason, auth.ErrInvalidToken)
}

// element is one DER TLV. body and raw alias the parsed buffer; raw is the
// whole encoding (tag, length and body) and is nil for an absent element.
type element struct {
	tag  byte
	body []byte
	raw  []byte
}

// present reports whether the element was in the input.
func (e element) present() bool { return e.raw != nil }

// readElement reads one TLV from the start of b and returns it and the bytes
// after it. Single-octet tags only (SPNEGO needs no others). Lengths may be
// short or long form, the latter with up to four octets; long forms need not
// be minimal, as in Samba's and Windows' BER readers. The indefinite form
// and lengths beyond b are rejected.
func readElement(b []byte) (element, []byte, error) {
	if len(b) < 2 {
		return element{}, nil, errInvalid("truncated DER element")
	}
	if b[0]&0x1f == 0x1f {
		return element{}, nil, errInvalid("multi-octet DER tag")
	}
	n, hdr, err := readLength(b[1:])
	if err != nil {
		return element{}, nil, err
	}
	hdr++ // the tag octet
	if n > uint64(len(b)-hdr) {
		return element{}, nil, errInvalid("DER length beyond the buffer")
	}
	end := hdr + int(n)
	return element{tag: b[0], body: b[hdr:end], raw: b[:end]}, b[end:], nil
}

// readLength decodes a DER length at the start of b, returning the length
// and the number of octets it used.
func readLength(b []byte) (uint64, int, error) {
	first := b[0]
	if first < 0x80 {
		return uint64(first), 1, nil
	}
	k := int(first & 0x7f)
	switch {
	case k == 0:
		return 0, 0, errInvalid("indefinite DER length")
	case k > maxLengthOctets:
		return 0, 0, errInvalid("DER length too large")
	case len(b) < 1+k:
		return 0, 0, errInvalid("truncated DER length")
	}
	var n uint64
	for _, c := range b[1 : 1+k] {
		n = n<<8 | uint64(c)
	}
	return n, 1 + k, nil
}

// readOnly parses b as exactly one element with the given tag.
func readOnly(b []byte, tag byte) (element, error) {
	e, rest, err := readElement(b)
	if err != nil {
		return element{}, err
	}
	if e.tag != tag {
		return element{}, errInvalid(fmt.Sprintf("DER tag %#02x, want %#02x", e.tag, tag))
	}
	if len(rest) != 0 {
		return element{}, errInvalid("trailing bytes after DER element")
	}
	return e, nil
}

// explicitFields parses the body of a SEQUENCE whose members are all
// OPTIONAL and EXPLICITly context-tagged [0]..[n-1]. Members must appear in
// ascending tag order, at most once, each wrapping exactly one element. The
// result holds the wrapped elements by tag number; absent ones are zero.
func explicitFields(b []byte, n int) ([]element, error) {
	fields := make([]element, n)
	next := 0
	for len(b) > 0 {
		e, rest, err := readElement(b)
		if err != nil {
			return nil, err
		}
		num := int(e.tag) - tagContext0
		if num < next || num >= n {
			return nil, errInvalid(fmt.Sprintf("unexpected or out-of-order field tag %#02x", e.tag))
		}
		inner, after, err := readElement(e.body)
		if err != nil {
			return nil, err
		}
		if len(after) != 0 {
			return nil, errInvalid("trailing bytes in context-tagged field")
		}
		fields[num] = inner
		next = num + 1
		b = rest
	}
	return fields, nil
}

// expect checks the tag of an optional element; absent elements pass.
func expect(e element, tag byte, what string) error {
	if e.present() && e.tag != tag {
		return errInvalid(fmt.Sprintf("%s has tag %#02x, want %#02x", what, e.tag, tag))
	}
	return nil
}

// appendElement appends the DER encoding of tag, len(body), body.
func appendElement(dst []byte, tag byte, body []byte) []byte {
	dst = append(dst, tag)
	dst = appendLength(dst, len(body))
	return append(dst, body...)
}

// appendLength appends a minimal DER length.
func appendLength(dst []byte, n int) []byte {
	if n < 0x80 {
		return append(dst, byte(n))
	}
	var be []byte
	for v := n; v > 0; v >>= 8 {
		be = append(be, byte(v))
	}
	dst = append(dst, 0x80|byte(len(be)))
	for i := len(be) - 1; i >= 0; i-- {
		dst = append(dst, be[i])
	}
	return dst
}

// wrap returns the element with the given tag whose body is the
// concatenation of parts.
func wrap(tag byte, parts ...[]byte) []byte {
	return appendElement(nil, tag, bytes.Join(parts, nil))
}

// explicit returns the [n] EXPLICIT wrapping of an encoded element.
func explicit(n int, inner []byte) []byte {
	return wrap(byte(tagContext0+n), inner)
}
