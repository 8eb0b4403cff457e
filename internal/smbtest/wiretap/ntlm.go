package wiretap

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rc4"
	"encoding/binary"
	"errors"
	"unicode"
	"unicode/utf16"
)

// NTLM message layout [MS-NLMP 2.2.1.2, 2.2.1.3]; SIGNING.md 11.1.
const (
	ntlmSignature    = "NTLMSSP\x00"
	ntlmChallenge    = 2
	ntlmAuthenticate = 3

	challengeServerChalAt = 24 // 8-byte ServerChallenge
	authenticateMinLen    = 64 // through NegotiateFlags
	authFieldLM           = 12
	authFieldNT           = 20
	authFieldDomain       = 28
	authFieldUser         = 36
	authFieldSessionKey   = 52
	authFlagsAt           = 60

	ntlmFlagUnicode uint32 = 0x00000001
	ntlmFlagKeyExch uint32 = 0x40000000

	ntProofLen = 16
	// ntlmv2MinResponse: an NtChallengeResponse of at most 24 bytes is
	// NTLMv1 [MS-NLMP 3.3.1].
	ntlmv2MinResponse = 24
)

// Reasons a session key cannot be reconstructed.
var (
	errAnonymous    = errors.New("anonymous NTLM logon: no session key")
	errNTLMv1       = errors.New("NTLMv1 response: only NTLMv2 keys are reconstructed")
	errWrongPass    = errors.New("password does not reproduce the NTLMv2 response (NTProofStr mismatch): wrong password?")
	errNoChallenge  = errors.New("no NTLM CHALLENGE seen before the AUTHENTICATE")
	errBadAuthToken = errors.New("malformed NTLM AUTHENTICATE message")
)

// findNTLM returns the NTLM message of type msgType in a SESSION_SETUP
// security buffer: raw NTLMSSP or wrapped in SPNEGO. The NTLM message is
// located by its "NTLMSSP\0" signature and runs to the end of buf; the
// bytes after it (the rest of the SPNEGO token, e.g. a mechListMIC) are
// harmless because NTLM payload fields are addressed by offset from the
// signature. It returns nil when there is none.
func findNTLM(buf []byte, msgType uint32) []byte {
	for off := 0; off < len(buf); {
		i := bytes.Index(buf[off:], []byte(ntlmSignature))
		if i < 0 {
			return nil
		}
		m := buf[off+i:]
		if len(m) >= 12 && binary.LittleEndian.Uint32(m[8:]) == msgType {
			return m
		}
		off += i + 1
	}
	return nil
}

// serverChallenge extracts ServerChallenge from the CHALLENGE_MESSAGE in a
// security buffer.
func serverChallenge(buf []byte) (chal [8]byte, ok bool) {
	m := findNTLM(buf, ntlmChallenge)
	if len(m) < challengeServerChalAt+8 {
		return chal, false
	}
	copy(chal[:], m[challengeServerChalAt:])
	return chal, true
}

// ntlmAuth is what the tap needs from an AUTHENTICATE_MESSAGE. Slices are
// copies, so the record outlives the frame buffer.
type ntlmAuth struct {
	user, domain []byte // as sent: UTF-16LE, or OEM without NEGOTIATE_UNICODE
	lm, nt       []byte // LmChallengeResponse, NtChallengeResponse
	encKey       []byte // EncryptedRandomSessionKey
	flags        uint32
}

// parseAuthenticate finds and decodes the AUTHENTICATE_MESSAGE in a
// security buffer. It returns nil, nil when the buffer has none.
func parseAuthenticate(buf []byte) (*ntlmAuth, error) {
	m := findNTLM(buf, ntlmAuthenticate)
	if m == nil {
		return nil, nil
	}
	if len(m) < authenticateMinLen {
		return nil, errBadAuthToken
	}
	field := func(at int) ([]byte, error) {
		n := uint64(binary.LittleEndian.Uint16(m[at:]))
		off := uint64(binary.LittleEndian.Uint32(m[at+4:]))
		if n == 0 {
			return nil, nil
		}
		if off+n > uint64(len(m)) {
			return nil, errBadAuthToken
		}
		return bytes.Clone(m[off : off+n]), nil
	}
	a := &ntlmAuth{flags: binary.LittleEndian.Uint32(m[authFlagsAt:])}
	for _, f := range []struct {
		at  int
		dst *[]byte
	}{
		{authFieldLM, &a.lm}, {authFieldNT, &a.nt}, {authFieldDomain, &a.domain},
		{authFieldUser, &a.user}, {authFieldSessionKey, &a.encKey},
	} {
		b, err := field(f.at)
		if err != nil {
			return nil, err
		}
		*f.dst = b
	}
	return a, nil
}

// unicode reports whether names are UTF-16LE (NTLMSSP_NEGOTIATE_UNICODE).
func (a *ntlmAuth) unicode() bool { return a.flags&ntlmFlagUnicode != 0 }

// userName and domainName decode the names for display and lookup.
func (a *ntlmAuth) userName() string   { return a.decode(a.user) }
func (a *ntlmAuth) domainName() string { return a.decode(a.domain) }

func (a *ntlmAuth) decode(b []byte) string {
	if !a.unicode() {
		return string(b)
	}
	units := make([]uint16, len(b)/2)
	for i := range units {
		units[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(units))
}

// utf16Name returns a name as UTF-16LE, converting OEM names (taken as
// Latin-1, which is what they are in practice) when needed.
func (a *ntlmAuth) utf16Name(b []byte) []byte {
	if a.unicode() {
		return b
	}
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = binary.LittleEndian.AppendUint16(out, uint16(c))
	}
	return out
}

// anonymous reports an anonymous AUTHENTICATE_MESSAGE: empty user name and
// empty NtChallengeResponse [MS-NLMP 3.2.5.1.2].
func (a *ntlmAuth) anonymous() bool { return len(a.user) == 0 && len(a.nt) == 0 }

// exportedSessionKey reconstructs ExportedSessionKey from the user's NT hash
// the way the server does [MS-NLMP 3.2.5.1.2, 3.3.2] (SIGNING.md 11.4):
//
//	ResponseKeyNT  = HMAC_MD5(NTHash, UTF16LE(Upper(User)) || UTF16LE(Domain))
//	                 (the domain as sent, then an empty domain)
//	NTProofStr     = HMAC_MD5(ResponseKeyNT, ServerChallenge || temp) must
//	                 equal NtChallengeResponse[0:16]
//	SessionBaseKey = HMAC_MD5(ResponseKeyNT, NTProofStr) = KeyExchangeKey
//	Exported       = RC4(KeyExchangeKey, EncryptedRandomSessionKey) with
//	                 NEGOTIATE_KEY_EXCH and a 16-byte encrypted key,
//	                 else KeyExchangeKey.
func (a *ntlmAuth) exportedSessionKey(ntHash [16]byte, chal [8]byte) ([]byte, error) {
	if a.anonymous() {
		return nil, errAnonymous
	}
	if len(a.nt) <= ntlmv2MinResponse {
		return nil, errNTLMv1
	}
	user := upperUTF16(a.utf16Name(a.user))
	proof, temp := a.nt[:ntProofLen], a.nt[ntProofLen:]
	domains := [][]byte{a.utf16Name(a.domain)}
	if len(a.domain) > 0 {
		domains = append(domains, nil)
	}
	for _, dom := range domains {
		rk := hmacMD5(ntHash[:], user, dom)
		if !hmac.Equal(hmacMD5(rk, chal[:], temp), proof) {
			continue
		}
		base := hmacMD5(rk, proof)
		if a.flags&ntlmFlagKeyExch == 0 || len(a.encKey) != 16 {
			return base, nil
		}
		c, err := rc4.NewCipher(base)
		if err != nil { // a 16-byte key is always accepted
			return nil, err
		}
		key := make([]byte, 16)
		c.XORKeyStream(key, a.encKey)
		return key, nil
	}
	return nil, errWrongPass
}

// hmacMD5 returns HMAC_MD5(key, parts...).
func hmacMD5(key []byte, parts ...[]byte) []byte {
	h := hmac.New(md5.New, key)
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

// upperUTF16 upper-cases UTF-16LE text one code unit at a time, as Windows
// does for NTOWFv2's Upper(User): surrogates and units whose upper case
// leaves the BMP are kept, so the length never changes.
func upperUTF16(b []byte) []byte {
	out := make([]byte, len(b)&^1)
	for i := 0; i+1 < len(b); i += 2 {
		u := binary.LittleEndian.Uint16(b[i:])
		if !utf16.IsSurrogate(rune(u)) {
			if up := unicode.ToUpper(rune(u)); up <= 0xFFFF && !utf16.IsSurrogate(up) {
				u = uint16(up)
			}
		}
		binary.LittleEndian.PutUint16(out[i:], u)
	}
	return out
}
