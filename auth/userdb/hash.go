package userdb

import (
	"unicode/utf16"

	"golang.org/x/crypto/md4"
)

// NTHash returns the NT hash of password (NTOWFv1 in [MS-NLMP] 3.3.1):
// MD4 of the password encoded as UTF-16LE.
func NTHash(password string) [16]byte {
	units := utf16.Encode([]rune(password))
	b := make([]byte, 2*len(units))
	for i, u := range units {
		b[2*i] = byte(u)
		b[2*i+1] = byte(u >> 8)
	}
	h := md4.New()
	h.Write(b)
	var out [16]byte
	h.Sum(out[:0])
	return out
}
