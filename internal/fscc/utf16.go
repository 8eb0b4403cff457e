package fscc

import (
	"unicode/utf16"
	"unicode/utf8"
)

// appendUTF16 appends s encoded as UTF-16LE. Invalid UTF-8 becomes U+FFFD.
func appendUTF16(dst []byte, s string) []byte {
	for _, r := range s {
		if r >= 0x10000 {
			r1, r2 := utf16.EncodeRune(r)
			dst = append(dst, byte(r1), byte(r1>>8), byte(r2), byte(r2>>8))
			continue
		}
		dst = append(dst, byte(r), byte(r>>8))
	}
	return dst
}

// UTF16Len returns the number of UTF-16 code units in s (what appendUTF16
// writes).
func UTF16Len(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// toUTF16 returns s as UTF-16 code units.
func toUTF16(s string) []uint16 {
	u := make([]uint16, 0, len(s))
	for _, r := range s {
		u = utf16.AppendRune(u, r)
	}
	return u
}

// decodeUTF16 decodes UTF-16LE strictly: an odd length or an unpaired
// surrogate is ErrInvalidName, because such a name cannot be stored as
// UTF-8 without changing it.
func decodeUTF16(b []byte) (string, error) {
	if len(b)%2 != 0 {
		return "", ErrInvalidName
	}
	out := make([]byte, 0, len(b)/2)
	for i := 0; i < len(b); i += 2 {
		u := rune(b[i]) | rune(b[i+1])<<8
		switch {
		case utf16.IsSurrogate(u) && u < 0xDC00 && i+3 < len(b):
			lo := rune(b[i+2]) | rune(b[i+3])<<8
			r := utf16.DecodeRune(u, lo)
			if r == utf8.RuneError {
				return "", ErrInvalidName
			}
			out = utf8.AppendRune(out, r)
			i += 2
		case utf16.IsSurrogate(u):
			return "", ErrInvalidName
		default:
			out = utf8.AppendRune(out, u)
		}
	}
	return string(out), nil
}
