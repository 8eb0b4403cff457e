package ntlm

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/signetsmb/signet/auth"
)

// ClientConfig configures the client side of one NTLM handshake.
type ClientConfig struct {
	// User, Domain and Workstation are sent as given; Domain is also the
	// UserDom of NTOWFv2. User == "" with no Password and no NTHash selects
	// an anonymous logon.
	User, Password, Domain, Workstation string
	// NTHash, when set, is the 16-byte NTOWFv1 of the password and is used
	// instead of Password.
	NTHash []byte
	// Rand supplies the client challenge (8 bytes, read first) and the
	// exported session key (16 bytes); nil means crypto/rand.
	Rand io.Reader
	// Now supplies the NTLMv2 timestamp when the server sent none; nil means
	// time.Now.
	Now func() time.Time
	// TargetSPN is sent as MsvAvTargetName, e.g. "cifs/server"; omitted when
	// empty [MS-NLMP 2.2.2.1].
	TargetSPN string
}

// clientNegotiateFlags are the flags of our NEGOTIATE_MESSAGE, modelled on
// Windows' 0xE2088297 without LM_KEY: UNICODE, OEM, REQUEST_TARGET, SIGN,
// NTLM, ALWAYS_SIGN, EXTENDED_SESSIONSECURITY, VERSION, 128, KEY_EXCH, 56.
const clientNegotiateFlags = flagUnicode | flagOEM | flagRequestTarget |
	flagSign | flagNTLM | flagAlwaysSign | flagExtendedSessionSecurity |
	flagVersion | flag128 | flagKeyExch | flag56

type clientState int

const (
	clientStart clientState = iota
	clientAwaitChallenge
	clientDone
	clientFailed
)

// Client is the client side of one NTLM handshake; it implements
// auth.ClientMech. Create one per SESSION_SETUP exchange with NewClient.
type Client struct {
	cfg       ClientConfig
	state     clientState
	negotiate []byte // our NEGOTIATE_MESSAGE, for the MIC

	// Result, valid once state == clientDone.
	sessionKey []byte
	sec        *security
}

var _ auth.ClientMech = (*Client)(nil)

// NewClient returns the client side of a new handshake. The configuration
// is copied; cfg must not be nil.
func NewClient(cfg *ClientConfig) *Client {
	c := &Client{cfg: *cfg}
	if c.cfg.Rand == nil {
		c.cfg.Rand = rand.Reader
	}
	if c.cfg.Now == nil {
		c.cfg.Now = time.Now
	}
	return c
}

// Step returns the NEGOTIATE_MESSAGE for in == nil, then the
// AUTHENTICATE_MESSAGE (with done) for the server's CHALLENGE_MESSAGE. After
// an error every further call fails.
func (c *Client) Step(in []byte) (out []byte, done bool, err error) {
	switch {
	case c.state == clientStart && len(in) == 0:
		c.negotiate = marshalNegotiate(clientNegotiateFlags)
		c.state = clientAwaitChallenge
		return c.negotiate, false, nil
	case c.state == clientAwaitChallenge:
		out, err = c.authenticate(in)
	default:
		err = errInvalid("unexpected token for the handshake state")
	}
	if err != nil {
		c.state = clientFailed
		return nil, false, err
	}
	c.state = clientDone
	return out, true, nil
}

// anonymous reports whether the configuration selects an anonymous logon.
func (c *Client) anonymous() bool {
	return c.cfg.User == "" && c.cfg.Password == "" && len(c.cfg.NTHash) == 0
}

// authenticate builds the AUTHENTICATE_MESSAGE for a CHALLENGE_MESSAGE
// [MS-NLMP 3.1.5.1.2].
func (c *Client) authenticate(chal []byte) ([]byte, error) {
	ch, err := parseChallenge(chal)
	if err != nil {
		return nil, err
	}
	if ch.flags&flagUnicode == 0 || ch.flags&flagExtendedSessionSecurity == 0 {
		return nil, errInvalid("server did not negotiate UNICODE and extended session security")
	}
	flags := ch.flags & (clientNegotiateFlags | flagTargetInfo)
	if c.anonymous() {
		return c.anonymousMessage(flags)
	}
	return c.userMessage(&ch, chal, flags)
}

// anonymousMessage builds an anonymous AUTHENTICATE_MESSAGE: empty NT
// response, LmChallengeResponse Z(1), no key exchange and no MIC
// [MS-NLMP 3.1.5.1.2]. There is no session key.
func (c *Client) anonymousMessage(flags uint32) ([]byte, error) {
	a := authenticateMsg{
		flags:       flags&^flagKeyExch | flagAnonymous,
		lmResponse:  []byte{0},
		workstation: encodeUTF16(c.cfg.Workstation),
	}
	return a.marshal(), nil
}

// userMessage builds the NTLMv2 AUTHENTICATE_MESSAGE with a MIC
// [MS-NLMP 3.1.5.1.2, 3.3.2].
func (c *Client) userMessage(ch *challengeMsg, chal []byte, flags uint32) ([]byte, error) {
	serverPairs, err := parseAVPairs(ch.targetInfo)
	if err != nil {
		return nil, err
	}
	hash, err := c.ntHash()
	if err != nil {
		return nil, err
	}
	var clientChallenge [8]byte
	if _, err := io.ReadFull(c.cfg.Rand, clientChallenge[:]); err != nil {
		return nil, fmt.Errorf("ntlm: reading client challenge: %w", err)
	}
	key := ntowfv2(hash, upperUTF16(encodeUTF16(c.cfg.User)), encodeUTF16(c.cfg.Domain))
	ts, serverTS := c.timestamp(serverPairs)
	temp := ntlmv2Temp(ts, clientChallenge, appendAVPairs(nil, c.clientPairs(serverPairs)))
	proof := ntProofStr(key, ch.serverChallenge, temp)
	a := authenticateMsg{
		flags:       flags,
		ntResponse:  append(proof, temp...),
		domain:      encodeUTF16(c.cfg.Domain),
		user:        encodeUTF16(c.cfg.User),
		workstation: encodeUTF16(c.cfg.Workstation),
		// With a server timestamp the LMv2 response is replaced by Z(24).
		lmResponse: make([]byte, 24),
	}
	if !serverTS {
		a.lmResponse = lmv2Response(key, ch.serverChallenge, clientChallenge)
	}
	exported, err := c.keyExchange(&a, hmacMD5(key, proof))
	if err != nil {
		return nil, err
	}
	return c.finish(&a, chal, exported)
}

// finish marshals a, inserts the MIC and records the session key.
func (c *Client) finish(a *authenticateMsg, chal, exported []byte) ([]byte, error) {
	for _, p := range [][]byte{a.ntResponse, a.domain, a.user, a.workstation} {
		if len(p) > 0xFFFF {
			return nil, errors.New("ntlm: AUTHENTICATE_MESSAGE field exceeds 64 KiB")
		}
	}
	msg := a.marshal()
	copy(msg[authenticateMICAt:], computeMIC(exported, c.negotiate, chal, msg))
	c.sessionKey = exported
	c.sec = newSecurity(exported, a.flags, false)
	return msg, nil
}

// ntHash returns the configured NT hash or NTOWFv1 of the password.
func (c *Client) ntHash() ([16]byte, error) {
	var h [16]byte
	if len(c.cfg.NTHash) == 0 {
		return NTHash(c.cfg.Password), nil
	}
	if len(c.cfg.NTHash) != len(h) {
		return h, errors.New("ntlm: ClientConfig.NTHash must be 16 bytes")
	}
	copy(h[:], c.cfg.NTHash)
	return h, nil
}

// timestamp returns the server's MsvAvTimestamp if present, else Now
// [MS-NLMP 3.1.5.1.2], and whether the server sent one.
func (c *Client) timestamp(serverPairs []avPair) (ts [8]byte, fromServer bool) {
	if v, ok := findAV(serverPairs, avTimestamp); ok && len(v) == 8 {
		copy(ts[:], v)
		return ts, true
	}
	binary.LittleEndian.PutUint64(ts[:], filetime(c.cfg.Now()))
	return ts, false
}

// clientPairs returns the AV pairs of our NTLMv2 response: the server's
// TargetInfo plus MsvAvFlags (MIC present), a zero MsvAvChannelBindings and
// MsvAvTargetName [MS-NLMP 3.1.5.1.2].
func (c *Client) clientPairs(serverPairs []avPair) []avPair {
	micFlags := avFlagMIC | msvAvFlags(serverPairs)
	pairs := make([]avPair, 0, len(serverPairs)+3)
	for _, p := range serverPairs {
		switch p.id {
		case avFlags, avChannelBindings, avTargetName:
			continue
		}
		pairs = append(pairs, p)
	}
	pairs = append(pairs,
		avPair{avFlags, binary.LittleEndian.AppendUint32(nil, micFlags)},
		avPair{avChannelBindings, make([]byte, 16)})
	if c.cfg.TargetSPN != "" {
		pairs = append(pairs, avPair{avTargetName, encodeUTF16(c.cfg.TargetSPN)})
	}
	return pairs
}

// keyExchange picks ExportedSessionKey: with NEGOTIATE_KEY_EXCH a fresh
// random key sent RC4-encrypted under KeyExchangeKey, else KeyExchangeKey
// (= SessionBaseKey for NTLMv2) [MS-NLMP 3.1.5.1.2, 3.4.5.1].
func (c *Client) keyExchange(a *authenticateMsg, keyExchangeKey []byte) ([]byte, error) {
	if a.flags&flagKeyExch == 0 {
		return keyExchangeKey, nil
	}
	exported := make([]byte, 16)
	if _, err := io.ReadFull(c.cfg.Rand, exported); err != nil {
		return nil, fmt.Errorf("ntlm: reading session key: %w", err)
	}
	a.sessionKey = rc4Once(keyExchangeKey, exported)
	return exported, nil
}

// SessionKey returns ExportedSessionKey after the AUTHENTICATE_MESSAGE was
// produced; nil for anonymous logons.
func (c *Client) SessionKey() []byte { return c.sessionKey }

// MIC returns the NTLMSSP_MESSAGE_SIGNATURE of data in the client-to-server
// direction (GSS_GetMIC [MS-NLMP 3.4.4.2]) and advances that direction's
// sequence number. It returns nil before the AUTHENTICATE_MESSAGE was
// produced and for anonymous logons.
func (c *Client) MIC(data []byte) []byte {
	if c.sec == nil {
		return nil
	}
	return c.sec.sign(data)
}

// VerifyMIC checks a server-to-client signature of data in constant time
// (GSS_VerifyMIC [MS-NLMP 3.4.4.2]). It returns false when no session key
// exists.
func (c *Client) VerifyMIC(data, mic []byte) bool {
	return c.sec != nil && c.sec.verify(data, mic)
}
