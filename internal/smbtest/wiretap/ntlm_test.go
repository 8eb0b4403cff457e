package wiretap

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/signetsmb/signet/auth/ntlm"
)

// MS-NLMP 4.2.4 NTLMv2 example (SIGNING.md 13.3): User "User", domain
// "Domain", password "Password", ServerChallenge 0123456789abcdef.
const (
	nlmpChallenge   = "0123456789abcdef"
	nlmpTemp        = "01010000000000000000000000000000aaaaaaaaaaaaaaaa0000000002000c0044006f006d00610069006e0001000c005300650072007600650072000000000000000000"
	nlmpNTProofStr  = "68cd0ab851e51c96aabc927bebef6a1c"
	nlmpLMv2        = "86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa"
	nlmpEncKey      = "c5dad2544fc9799094ce1ce90bc9d03e"
	nlmpSessionBase = "8de40ccadbc14a82f15cb0ad0de95ca3"
)

func utf16le(s string) []byte {
	var b []byte
	for _, r := range s {
		b = binary.LittleEndian.AppendUint16(b, uint16(r))
	}
	return b
}

// buildAuthenticate lays out an AUTHENTICATE_MESSAGE [MS-NLMP 2.2.1.3].
func buildAuthenticate(flags uint32, lm, nt, domain, user, ws, encKey []byte) []byte {
	m := make([]byte, 88)
	copy(m, "NTLMSSP\x00")
	binary.LittleEndian.PutUint32(m[8:], 3)
	binary.LittleEndian.PutUint32(m[60:], flags)
	for _, f := range []struct {
		at int
		b  []byte
	}{{28, domain}, {36, user}, {44, ws}, {12, lm}, {20, nt}, {52, encKey}} {
		binary.LittleEndian.PutUint16(m[f.at:], uint16(len(f.b)))
		binary.LittleEndian.PutUint16(m[f.at+2:], uint16(len(f.b)))
		binary.LittleEndian.PutUint32(m[f.at+4:], uint32(len(m)))
		m = append(m, f.b...)
	}
	return m
}

func nlmpAuthenticate(t testing.TB, flags uint32, user string) []byte {
	nt := append(unhex(t, nlmpNTProofStr), unhex(t, nlmpTemp)...)
	return buildAuthenticate(flags, unhex(t, nlmpLMv2), nt, utf16le("Domain"), utf16le(user), utf16le("COMPUTER"), unhex(t, nlmpEncKey))
}

// TestExportedSessionKeyNLMPVector reproduces MS-NLMP 4.2.4: with KEY_EXCH
// the exported key is the client's RandomSessionKey (16 x 0x55), without it
// SessionBaseKey; the user name is upper-cased for NTOWFv2 whatever its case
// on the wire; the message is found behind SPNEGO bytes and a decoy.
func TestExportedSessionKeyNLMPVector(t *testing.T) {
	var chal [8]byte
	copy(chal[:], unhex(t, nlmpChallenge))
	nt := ntlm.NTHash("Password")
	for _, tc := range []struct {
		flags uint32
		user  string
		want  string
	}{
		{0xe2888215, "User", "55555555555555555555555555555555"},
		{0xe2888215, "USER", "55555555555555555555555555555555"},
		{0xe2888215 &^ ntlmFlagKeyExch, "user", nlmpSessionBase},
	} {
		msg := nlmpAuthenticate(t, tc.flags, tc.user)
		// SPNEGO-ish prefix with a decoy NEGOTIATE_MESSAGE, trailing mechListMIC.
		buf := append([]byte("\xa1\x82\x01\x00NTLMSSP\x00\x01\x00\x00\x00"), msg...)
		buf = append(buf, "\xa3\x12\x04\x10mechListMIC....."...)
		a, err := parseAuthenticate(buf)
		if err != nil || a == nil {
			t.Fatalf("parse: %v", err)
		}
		if a.userName() != tc.user || a.domainName() != "Domain" {
			t.Errorf("names %q %q", a.userName(), a.domainName())
		}
		key, err := a.exportedSessionKey(nt, chal)
		if err != nil || hex.EncodeToString(key) != tc.want {
			t.Errorf("flags %#x user %q: key %x (%v), want %s", tc.flags, tc.user, key, err, tc.want)
		}
	}
}

// TestExportedSessionKeyErrors covers the cases without a key.
func TestExportedSessionKeyErrors(t *testing.T) {
	var chal [8]byte
	copy(chal[:], unhex(t, nlmpChallenge))
	good := nlmpAuthenticate(t, 0xe2888215, "User")
	a, _ := parseAuthenticate(good)
	if _, err := a.exportedSessionKey(ntlm.NTHash("password"), chal); !errors.Is(err, errWrongPass) {
		t.Errorf("wrong password: %v", err)
	}
	other := chal
	other[0] ^= 1
	if _, err := a.exportedSessionKey(ntlm.NTHash("Password"), other); !errors.Is(err, errWrongPass) {
		t.Errorf("wrong challenge: %v", err)
	}
	anon, _ := parseAuthenticate(buildAuthenticate(0x00000a15, []byte{0}, nil, nil, nil, nil, nil))
	if _, err := anon.exportedSessionKey(ntlm.NTHash(""), chal); !errors.Is(err, errAnonymous) || !anon.anonymous() {
		t.Errorf("anonymous: %v", err)
	}
	v1, _ := parseAuthenticate(buildAuthenticate(0xe2888215, make([]byte, 24), make([]byte, 24), nil, utf16le("u"), nil, nil))
	if _, err := v1.exportedSessionKey(ntlm.NTHash("Password"), chal); !errors.Is(err, errNTLMv1) {
		t.Errorf("NTLMv1: %v", err)
	}
	// OEM (non-Unicode) names are widened before hashing.
	oem := buildAuthenticate(0xe2888215&^ntlmFlagUnicode, nil, append(unhex(t, nlmpNTProofStr), unhex(t, nlmpTemp)...),
		[]byte("Domain"), []byte("User"), nil, unhex(t, nlmpEncKey))
	a, _ = parseAuthenticate(oem)
	if key, err := a.exportedSessionKey(ntlm.NTHash("Password"), chal); err != nil || !bytes.Equal(key, bytes.Repeat([]byte{0x55}, 16)) {
		t.Errorf("OEM names: %x %v", key, err)
	}
}

// TestParseAuthenticateGarbage: truncations and out-of-range fields are
// errors, never panics; a buffer without an AUTHENTICATE is (nil, nil).
func TestParseAuthenticateGarbage(t *testing.T) {
	msg := nlmpAuthenticate(t, 0xe2888215, "User")
	for n := 0; n < len(msg); n++ {
		// Any truncation cuts the last payload field (or the header).
		a, err := parseAuthenticate(msg[:n])
		if n < 12 && (a != nil || err != nil) || n >= 12 && !errors.Is(err, errBadAuthToken) {
			t.Errorf("truncated to %d: %v %v", n, a, err)
		}
	}
	bad := append([]byte(nil), msg...)
	binary.LittleEndian.PutUint32(bad[20+4:], 0xFFFFFFF0) // NT response offset
	if _, err := parseAuthenticate(bad); !errors.Is(err, errBadAuthToken) {
		t.Errorf("bad offset: %v", err)
	}
	if a, err := parseAuthenticate([]byte("no ntlm here")); a != nil || err != nil {
		t.Errorf("%v %v", a, err)
	}
	if _, ok := serverChallenge([]byte("NTLMSSP\x00\x02\x00\x00\x00short")); ok {
		t.Error("short CHALLENGE accepted")
	}
}

// TestUpperUTF16 checks the per-code-unit upper-casing used for NTOWFv2.
func TestUpperUTF16(t *testing.T) {
	in := utf16le("alice-ß-é")
	in = append(in, 0x3d, 0xd8, 0x00, 0xde) // a surrogate pair stays as is
	want := utf16le("ALICE-ß-É")
	want = append(want, 0x3d, 0xd8, 0x00, 0xde)
	if got := upperUTF16(in); !bytes.Equal(got, want) {
		t.Errorf("%x, want %x", got, want)
	}
	if got := upperUTF16([]byte{'a', 0, 'b'}); len(got) != 2 {
		t.Errorf("odd length: %x", got)
	}
}
