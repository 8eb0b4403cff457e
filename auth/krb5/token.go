package krb5

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/signetsmb/signet/auth"
)

// GSS-API token identifiers of the Kerberos mechanism [RFC 4121 4.1].
const (
	tokAPReq    = 0x0100
	tokAPRep    = 0x0200
	tokKRBError = 0x0300
)

// maxToken bounds a framed token we parse; tickets with large PACs stay
// far below it (Windows caps MaxTokenSize at 48 KiB by default).
const maxToken = 64 << 10

// frame wraps an inner Kerberos message as the mechanism's token:
// [APPLICATION 0] { thisMech OID, TOK_ID, innerToken } [RFC 2743 3.1,
// RFC 4121 4.1]. The Kerberos OID is used inside the token whichever OID
// SPNEGO negotiated [MS-KILE 3.1.5.1].
func frame(tokID uint16, inner []byte) []byte {
	body := make([]byte, 0, len(auth.OIDKerberos)+2+len(inner))
	body = append(body, auth.OIDKerberos...)
	body = binary.BigEndian.AppendUint16(body, tokID)
	body = append(body, inner...)
	out := []byte{0x60}
	out = appendLength(out, len(body))
	return append(out, body...)
}

// appendLength appends a DER definite length.
func appendLength(b []byte, n int) []byte {
	switch {
	case n < 0x80:
		return append(b, byte(n))
	case n <= 0xff:
		return append(b, 0x81, byte(n))
	case n <= 0xffff:
		return append(b, 0x82, byte(n>>8), byte(n))
	default:
		return append(b, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
}

var errToken = errors.New("krb5: malformed GSS-API token")

// unframe parses a framed token and returns its TOK_ID and inner message.
// Both Kerberos OIDs are accepted inside the frame.
func unframe(b []byte) (uint16, []byte, error) {
	if len(b) > maxToken {
		return 0, nil, fmt.Errorf("%w: %d bytes", errToken, len(b))
	}
	if len(b) < 2 || b[0] != 0x60 {
		return 0, nil, errToken
	}
	n, hdr, err := readLength(b[1:])
	if err != nil || 1+hdr+n != len(b) {
		return 0, nil, errToken
	}
	body := b[1+hdr:]
	var oidLen int
	switch {
	case len(body) >= len(auth.OIDKerberos) && string(body[:len(auth.OIDKerberos)]) == auth.OIDKerberos:
		oidLen = len(auth.OIDKerberos)
	case len(body) >= len(auth.OIDMSKerberos) && string(body[:len(auth.OIDMSKerberos)]) == auth.OIDMSKerberos:
		oidLen = len(auth.OIDMSKerberos)
	default:
		return 0, nil, fmt.Errorf("%w: not the Kerberos mechanism", errToken)
	}
	body = body[oidLen:]
	if len(body) < 2 {
		return 0, nil, errToken
	}
	return binary.BigEndian.Uint16(body), body[2:], nil
}

// readLength decodes a DER length; it returns the length and the bytes it
// took.
func readLength(b []byte) (n, used int, err error) {
	if len(b) == 0 {
		return 0, 0, errToken
	}
	if b[0] < 0x80 {
		return int(b[0]), 1, nil
	}
	k := int(b[0] & 0x7f)
	if k == 0 || k > 3 || len(b) < 1+k {
		return 0, 0, errToken
	}
	for _, c := range b[1 : 1+k] {
		n = n<<8 | int(c)
	}
	return n, 1 + k, nil
}

// gssChecksum is the Authenticator checksum of type 0x8003 [RFC 4121
// 4.1.1]: Lgth (16), Bnd, Flags, and optional delegation and extensions.
const (
	cksumTypeGSS = 0x8003

	flagDeleg    = 1
	flagMutual   = 2
	flagReplay   = 4
	flagSequence = 8
	flagConf     = 16
	flagInteg    = 32
)

// parseGSSChecksum returns the context flags of a 0x8003 checksum. An
// authenticator without a checksum (impacket sends none) is accepted as
// MIT's and Windows' acceptors do: no channel bindings, and flags taken
// from the AP-REQ options by the caller (absent reports ok false).
func parseGSSChecksum(typ int32, b []byte) (flags uint32, present bool, err error) {
	if typ == 0 && len(b) == 0 {
		return 0, false, nil
	}
	f, err := parseGSS8003(typ, b)
	return f, err == nil, err
}

func parseGSS8003(typ int32, b []byte) (uint32, error) {
	if typ != cksumTypeGSS {
		return 0, fmt.Errorf("krb5: authenticator checksum type %d, want 0x8003 (GSS-API)", typ)
	}
	if len(b) < 24 || binary.LittleEndian.Uint32(b) != 16 {
		return 0, errors.New("krb5: malformed GSS-API authenticator checksum")
	}
	return binary.LittleEndian.Uint32(b[20:]), nil
}

// gssChecksum builds a 0x8003 checksum with zero channel bindings.
func gssChecksum(flags uint32) []byte {
	b := make([]byte, 24)
	binary.LittleEndian.PutUint32(b, 16)
	binary.LittleEndian.PutUint32(b[20:], flags)
	return b
}
