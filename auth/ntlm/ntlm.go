// Package ntlm implements NTLMv2 authentication [MS-NLMP] for SMB2/SMB3, both
// the server (acceptor) and the client (initiator) side.
//
// Both sides are pure state machines: bytes in, bytes out, a session key and
// an identity when done. They do no I/O, keep no state beyond one handshake
// and take their randomness and clock from the configuration, so recorded
// exchanges can be replayed byte for byte.
//
// Only NTLMv2 with extended session security is supported. NTLMv1 and LM
// responses are refused by the server and never produced by the client.
//
// A Server or Client is not safe for concurrent use; one goroutine owns a
// handshake.
package ntlm

import (
	"bytes"
	"encoding/binary"
	"time"
	"unicode/utf16"

	"golang.org/x/crypto/md4"

	"github.com/signetsmb/signet/auth"
)

// signature starts every NTLM message [MS-NLMP 2.2.1].
const signature = "NTLMSSP\x00"

// MessageType values [MS-NLMP 2.2.1.1-2.2.1.3].
const (
	typeNegotiate    = 1
	typeChallenge    = 2
	typeAuthenticate = 3
)

// NegotiateFlags bits [MS-NLMP 2.2.2.5].
const (
	flagUnicode                 uint32 = 0x00000001
	flagOEM                     uint32 = 0x00000002
	flagRequestTarget           uint32 = 0x00000004
	flagSign                    uint32 = 0x00000010
	flagSeal                    uint32 = 0x00000020
	flagLMKey                   uint32 = 0x00000080
	flagNTLM                    uint32 = 0x00000200
	flagAnonymous               uint32 = 0x00000800
	flagAlwaysSign              uint32 = 0x00008000
	flagTargetTypeDomain        uint32 = 0x00010000
	flagTargetTypeServer        uint32 = 0x00020000
	flagExtendedSessionSecurity uint32 = 0x00080000
	flagTargetInfo              uint32 = 0x00800000
	flagVersion                 uint32 = 0x02000000
	flag128                     uint32 = 0x20000000
	flagKeyExch                 uint32 = 0x40000000
	flag56                      uint32 = 0x80000000
)

// Our VERSION structure [MS-NLMP 2.2.2.10]: Windows 10.0, build 0,
// NTLMSSP_REVISION_W2K3 (0x0F). It is informational only.
const (
	versionMajor    = 10
	versionMinor    = 0
	versionBuild    = 0
	versionRevision = 0x0F
)

// filetimeEpochOffset is the number of 100 ns intervals between 1601-01-01
// (the FILETIME epoch) and 1970-01-01.
const filetimeEpochOffset = 116444736000000000

// NTHash returns NTOWFv1(password) = MD4(UTF-16LE(password)) [MS-NLMP 3.3.1],
// the value a credential store keeps for NTLM.
func NTHash(password string) [16]byte {
	h := md4.New()
	h.Write(encodeUTF16(password))
	var out [16]byte
	copy(out[:], h.Sum(nil))
	return out
}

// IsNTLMSSP reports whether b starts with the NTLM message signature
// "NTLMSSP\0" [MS-NLMP 2.2.1], i.e. is a raw NTLM token rather than SPNEGO.
func IsNTLMSSP(b []byte) bool {
	return bytes.HasPrefix(b, []byte(signature))
}

// appendVersion appends our 8-byte VERSION structure [MS-NLMP 2.2.2.10].
func appendVersion(dst []byte) []byte {
	dst = append(dst, versionMajor, versionMinor)
	dst = binary.LittleEndian.AppendUint16(dst, versionBuild)
	return append(dst, 0, 0, 0, versionRevision)
}

// encodeUTF16 returns s as UTF-16LE without a terminator.
func encodeUTF16(s string) []byte {
	units := utf16.Encode([]rune(s))
	out := make([]byte, 0, 2*len(units))
	for _, u := range units {
		out = binary.LittleEndian.AppendUint16(out, u)
	}
	return out
}

// decodeUTF16 decodes UTF-16LE; an odd length reports false. Unpaired
// surrogates become U+FFFD, so the result is for display and lookup only;
// hashing uses the received bytes.
func decodeUTF16(b []byte) (string, bool) {
	if len(b)%2 != 0 {
		return "", false
	}
	units := make([]uint16, len(b)/2)
	for i := range units {
		units[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(units)), true
}

// upperUTF16 upper-cases UTF-16LE text one code unit at a time, as Windows
// does for NTOWFv2's ToUpper(User) [MS-NLMP 3.3.2]: surrogates and units whose
// upper case lies outside the BMP are kept, so the length never changes and
// malformed input is hashed as received. auth.UpperRune is the mapping, so
// this is the same fold as auth.FoldName on account names.
func upperUTF16(b []byte) []byte {
	out := make([]byte, len(b)&^1)
	for i := 0; i+1 < len(b); i += 2 {
		u := binary.LittleEndian.Uint16(b[i:])
		binary.LittleEndian.PutUint16(out[i:], uint16(auth.UpperRune(rune(u))))
	}
	return out
}

// filetime converts t to a Windows FILETIME (100 ns units since 1601-01-01).
// Times before 1601 map to 0.
func filetime(t time.Time) uint64 {
	ft := t.Unix()*1e7 + int64(t.Nanosecond()/100) + filetimeEpochOffset
	if ft < 0 {
		return 0
	}
	return uint64(ft)
}
