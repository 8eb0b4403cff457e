package ntlm

import (
	"encoding/binary"
	"fmt"

	"github.com/signetsmb/signet/auth"
)

// Fixed header sizes and offsets [MS-NLMP 2.2.1.1-2.2.1.3].
const (
	negotiateMinLen    = 16 // Signature, MessageType, NegotiateFlags
	negotiateFieldsLen = 32 // ... DomainNameFields, WorkstationFields
	negotiateFullLen   = 40 // ... Version

	challengeMinLen     = 48 // through TargetInfoFields
	challengeHeaderLen  = 56 // ... Version
	challengeFlagsAt    = 20
	challengeTargetName = 12
	challengeServerChal = 24
	challengeTargetInfo = 40

	authenticateMinLen   = 64 // through NegotiateFlags
	authenticateFullLen  = 88 // ... Version, MIC
	authenticateFlagsAt  = 60
	authenticateMICAt    = 72
	authenticateMICLen   = 16
	authFieldLM          = 12
	authFieldNT          = 20
	authFieldDomain      = 28
	authFieldUser        = 36
	authFieldWorkstation = 44
	authFieldSessionKey  = 52
)

// errInvalid wraps auth.ErrInvalidToken with a reason.
func errInvalid(reason string) error {
	return fmt.Errorf("ntlm: %s: %w", reason, auth.ErrInvalidToken)
}

// checkHeader validates the signature and MessageType of msg and that it is
// at least minLen bytes long.
func checkHeader(msg []byte, msgType uint32, minLen int) error {
	if len(msg) < minLen || !IsNTLMSSP(msg) {
		return errInvalid("short message or bad signature")
	}
	if got := binary.LittleEndian.Uint32(msg[8:]); got != msgType {
		return errInvalid(fmt.Sprintf("message type %d, want %d", got, msgType))
	}
	return nil
}

// payload returns the bytes described by the Len/MaxLen/BufferOffset triple
// at msg[at:] [MS-NLMP 2.2.1], and the field's offset. The caller has checked
// that msg holds the triple; the referenced range is checked here.
func payload(msg []byte, at int) (b []byte, offset uint32, err error) {
	n := uint64(binary.LittleEndian.Uint16(msg[at:]))
	off := binary.LittleEndian.Uint32(msg[at+4:])
	if n == 0 {
		return nil, off, nil
	}
	if uint64(off)+n > uint64(len(msg)) {
		return nil, off, errInvalid("payload field out of bounds")
	}
	return msg[off : uint64(off)+n], off, nil
}

// putField writes a Len/MaxLen/BufferOffset triple at hdr[at:].
func putField(hdr []byte, at, length, offset int) {
	binary.LittleEndian.PutUint16(hdr[at:], uint16(length))
	binary.LittleEndian.PutUint16(hdr[at+2:], uint16(length))
	binary.LittleEndian.PutUint32(hdr[at+4:], uint32(offset))
}

// layout appends the payload parts after hdr, filling the field triples at
// the given header offsets, and returns the message. Callers keep every part
// below 64 KiB (the Len fields are 16 bits).
func layout(hdr []byte, fieldsAt []int, parts [][]byte) []byte {
	msg := hdr
	for i, p := range parts {
		putField(msg, fieldsAt[i], len(p), len(msg))
		msg = append(msg, p...)
	}
	return msg
}

// newHeader returns a zeroed header of n bytes with the signature and type.
func newHeader(n int, msgType uint32) []byte {
	h := make([]byte, n)
	copy(h, signature)
	binary.LittleEndian.PutUint32(h[8:], msgType)
	return h
}

// parseNegotiate validates a NEGOTIATE_MESSAGE [MS-NLMP 2.2.1.1] and returns
// its NegotiateFlags. Short legacy forms without the domain/workstation
// fields are accepted; fields that are present must be in bounds.
func parseNegotiate(msg []byte) (uint32, error) {
	if err := checkHeader(msg, typeNegotiate, negotiateMinLen); err != nil {
		return 0, err
	}
	if len(msg) >= negotiateFieldsLen {
		for _, at := range []int{16, 24} {
			if _, _, err := payload(msg, at); err != nil {
				return 0, err
			}
		}
	}
	return binary.LittleEndian.Uint32(msg[12:]), nil
}

// marshalNegotiate builds the client's NEGOTIATE_MESSAGE with empty domain
// and workstation fields and our VERSION [MS-NLMP 2.2.1.1].
func marshalNegotiate(flags uint32) []byte {
	msg := newHeader(negotiateFieldsLen, typeNegotiate)
	binary.LittleEndian.PutUint32(msg[12:], flags)
	putField(msg, 16, 0, negotiateFullLen)
	putField(msg, 24, 0, negotiateFullLen)
	return appendVersion(msg)
}

// challengeMsg is a CHALLENGE_MESSAGE [MS-NLMP 2.2.1.2].
type challengeMsg struct {
	flags           uint32
	serverChallenge [8]byte
	targetName      []byte // UTF-16LE
	targetInfo      []byte // AV_PAIR list, verbatim
}

// parseChallenge validates a CHALLENGE_MESSAGE. The returned slices alias msg.
func parseChallenge(msg []byte) (challengeMsg, error) {
	var c challengeMsg
	if err := checkHeader(msg, typeChallenge, challengeMinLen); err != nil {
		return c, err
	}
	var err error
	if c.targetName, _, err = payload(msg, challengeTargetName); err != nil {
		return c, err
	}
	if c.targetInfo, _, err = payload(msg, challengeTargetInfo); err != nil {
		return c, err
	}
	c.flags = binary.LittleEndian.Uint32(msg[challengeFlagsAt:])
	copy(c.serverChallenge[:], msg[challengeServerChal:])
	return c, nil
}

// marshal encodes c with our VERSION; the payload is TargetName then
// TargetInfo, starting at offset 56.
func (c *challengeMsg) marshal() []byte {
	hdr := newHeader(challengeHeaderLen, typeChallenge)
	binary.LittleEndian.PutUint32(hdr[challengeFlagsAt:], c.flags)
	copy(hdr[challengeServerChal:], c.serverChallenge[:])
	if c.flags&flagVersion != 0 {
		copy(hdr[challengeMinLen:], appendVersion(nil))
	}
	return layout(hdr, []int{challengeTargetName, challengeTargetInfo},
		[][]byte{c.targetName, c.targetInfo})
}

// authenticateMsg is an AUTHENTICATE_MESSAGE [MS-NLMP 2.2.1.3]. Slices alias
// the parsed message.
type authenticateMsg struct {
	lmResponse  []byte
	ntResponse  []byte
	domain      []byte // UTF-16LE, as sent
	user        []byte // UTF-16LE, as sent
	workstation []byte // UTF-16LE, as sent
	sessionKey  []byte // EncryptedRandomSessionKey
	flags       uint32
	// micFree is true when the message is long enough to hold a MIC at
	// offset 72 and no payload field overlaps it.
	micFree bool
}

// parseAuthenticate validates an AUTHENTICATE_MESSAGE.
func parseAuthenticate(msg []byte) (authenticateMsg, error) {
	var a authenticateMsg
	if err := checkHeader(msg, typeAuthenticate, authenticateMinLen); err != nil {
		return a, err
	}
	fields := [...]struct {
		at  int
		dst *[]byte
	}{
		{authFieldLM, &a.lmResponse},
		{authFieldNT, &a.ntResponse},
		{authFieldDomain, &a.domain},
		{authFieldUser, &a.user},
		{authFieldWorkstation, &a.workstation},
		{authFieldSessionKey, &a.sessionKey},
	}
	a.micFree = len(msg) >= authenticateFullLen
	for _, f := range fields {
		b, off, err := payload(msg, f.at)
		if err != nil {
			return a, err
		}
		if len(b) > 0 && off < authenticateFullLen {
			a.micFree = false
		}
		*f.dst = b
	}
	a.flags = binary.LittleEndian.Uint32(msg[authenticateFlagsAt:])
	return a, nil
}

// marshal encodes a with our VERSION and a zero MIC; the payload starts at
// offset 88 in the order Domain, User, Workstation, LM, NT, SessionKey.
func (a *authenticateMsg) marshal() []byte {
	hdr := newHeader(authenticateFullLen, typeAuthenticate)
	binary.LittleEndian.PutUint32(hdr[authenticateFlagsAt:], a.flags)
	if a.flags&flagVersion != 0 {
		copy(hdr[authenticateMinLen:], appendVersion(nil))
	}
	return layout(hdr,
		[]int{authFieldDomain, authFieldUser, authFieldWorkstation,
			authFieldLM, authFieldNT, authFieldSessionKey},
		[][]byte{a.domain, a.user, a.workstation,
			a.lmResponse, a.ntResponse, a.sessionKey})
}
