package ntlm

import (
	"crypto/hmac"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"time"

	"github.com/signetsmb/signet/auth"
)

// ServerConfig configures the server side of one NTLM handshake.
type ServerConfig struct {
	// Names advertised in the CHALLENGE_MESSAGE TargetInfo [MS-NLMP 2.2.2.1].
	// NbComputerName is also the TargetName (TARGET_TYPE_SERVER). The DNS
	// names are omitted from TargetInfo when empty.
	NbComputerName  string
	NbDomainName    string
	DnsComputerName string
	DnsDomainName   string

	// Rand supplies the 8-byte ServerChallenge; nil means crypto/rand.
	Rand io.Reader
	// Now supplies the MsvAvTimestamp; nil means time.Now.
	Now func() time.Time

	// Lookup returns the account of a user: its NT hash (NTOWFv1, see
	// NTHash) checks the response, its ID becomes Identity.Account, and a
	// Disabled account fails with auth.ErrAccountDisabled once the response
	// verified. It gets the user and domain names exactly as the client
	// sent them and is expected to match the user name as auth.FoldName
	// does. A nil Lookup knows no users.
	Lookup func(user, domain string) (acct auth.Account, ok bool)

	// AllowAnonymous accepts anonymous (null session) logons
	// [MS-NLMP 3.2.5.1.2]; otherwise they fail with auth.ErrLogonFailure.
	AllowAnonymous bool
}

// supportedFlags are the client-requested flags the server echoes in the
// CHALLENGE_MESSAGE [MS-NLMP 3.2.5.1.1].
const supportedFlags = flagUnicode | flagRequestTarget | flagSign | flagSeal |
	flagNTLM | flagAlwaysSign | flagExtendedSessionSecurity | flagVersion |
	flag128 | flagKeyExch | flag56

// requiredServerFlags are always set in the CHALLENGE_MESSAGE: NTLMv2 needs
// UNICODE names, extended session security and TargetInfo.
const requiredServerFlags = flagUnicode | flagNTLM | flagExtendedSessionSecurity |
	flagTargetInfo | flagTargetTypeServer

type serverState int

const (
	serverAwaitNegotiate serverState = iota
	serverAwaitAuthenticate
	serverDone
	serverFailed
)

// Server is the server side of one NTLM handshake; it implements
// auth.ServerMech. Create one per SESSION_SETUP exchange with NewServer.
type Server struct {
	cfg   ServerConfig
	state serverState

	// Handshake transcript, kept for the MIC [MS-NLMP 3.2.5.1.2].
	negotiate       []byte // copy of the client's NEGOTIATE_MESSAGE
	challenge       []byte // our CHALLENGE_MESSAGE
	serverChallenge [8]byte
	flags           uint32 // CHALLENGE_MESSAGE NegotiateFlags

	// Result, valid once state == serverDone.
	identity    auth.Identity
	workstation string
	sessionKey  []byte
	micPresent  bool
	sec         *security
}

var _ auth.ServerMech = (*Server)(nil)

// NewServer returns the server side of a new handshake. The configuration is
// copied; cfg must not be nil.
func NewServer(cfg *ServerConfig) *Server {
	s := &Server{cfg: *cfg}
	if s.cfg.Rand == nil {
		s.cfg.Rand = rand.Reader
	}
	if s.cfg.Now == nil {
		s.cfg.Now = time.Now
	}
	return s
}

// Accept consumes the client's NEGOTIATE_MESSAGE, returning the
// CHALLENGE_MESSAGE, and then its AUTHENTICATE_MESSAGE, returning done on
// success. Errors wrap auth.ErrInvalidToken (malformed or out-of-order
// message) or auth.ErrLogonFailure (bad credentials); after an error the
// handshake is dead and every further call fails.
func (s *Server) Accept(in []byte) (out []byte, done bool, err error) {
	switch s.state {
	case serverAwaitNegotiate:
		out, err = s.acceptNegotiate(in)
	case serverAwaitAuthenticate:
		err = s.acceptAuthenticate(in)
		done = err == nil
	default:
		return nil, false, errInvalid("handshake already finished")
	}
	if err != nil {
		s.state = serverFailed
		return nil, false, err
	}
	return out, done, nil
}

// acceptNegotiate handles NEGOTIATE_MESSAGE and builds the CHALLENGE_MESSAGE
// [MS-NLMP 3.2.5.1.1].
func (s *Server) acceptNegotiate(in []byte) ([]byte, error) {
	clientFlags, err := parseNegotiate(in)
	if err != nil {
		return nil, err
	}
	if _, err := io.ReadFull(s.cfg.Rand, s.serverChallenge[:]); err != nil {
		return nil, fmt.Errorf("ntlm: reading server challenge: %w", err)
	}
	s.flags = clientFlags&supportedFlags | requiredServerFlags
	c := challengeMsg{
		flags:           s.flags,
		serverChallenge: s.serverChallenge,
		targetInfo:      s.targetInfo(),
	}
	if s.flags&flagRequestTarget != 0 {
		c.targetName = encodeUTF16(s.cfg.NbComputerName)
	}
	s.negotiate = append([]byte(nil), in...)
	s.challenge = c.marshal()
	s.state = serverAwaitAuthenticate
	return s.challenge, nil
}

// targetInfo builds the CHALLENGE TargetInfo in Samba's order: NbDomainName,
// NbComputerName, DnsDomainName, DnsComputerName, Timestamp, EOL. The
// timestamp makes clients send a MIC [MS-NLMP 3.1.5.1.2].
func (s *Server) targetInfo() []byte {
	pairs := []avPair{
		{avNbDomainName, encodeUTF16(s.cfg.NbDomainName)},
		{avNbComputerName, encodeUTF16(s.cfg.NbComputerName)},
	}
	if s.cfg.DnsDomainName != "" {
		pairs = append(pairs, avPair{avDNSDomainName, encodeUTF16(s.cfg.DnsDomainName)})
	}
	if s.cfg.DnsComputerName != "" {
		pairs = append(pairs, avPair{avDNSComputerName, encodeUTF16(s.cfg.DnsComputerName)})
	}
	ts := binary.LittleEndian.AppendUint64(nil, filetime(s.cfg.Now()))
	pairs = append(pairs, avPair{avTimestamp, ts})
	return appendAVPairs(nil, pairs)
}

// acceptAuthenticate verifies the AUTHENTICATE_MESSAGE [MS-NLMP 3.2.5.1.2].
func (s *Server) acceptAuthenticate(in []byte) error {
	a, err := parseAuthenticate(in)
	if err != nil {
		return err
	}
	user, okU := decodeUTF16(a.user)
	domain, okD := decodeUTF16(a.domain)
	ws, okW := decodeUTF16(a.workstation)
	if !okU || !okD || !okW {
		return errInvalid("odd-length UTF-16 name")
	}
	if isAnonymous(&a) {
		return s.acceptAnonymous(user, domain, ws)
	}
	sessionBaseKey, acct, err := s.verifyResponse(&a, user, domain)
	if err != nil {
		return err
	}
	exported, err := s.exportedKey(&a, sessionBaseKey)
	if err != nil {
		return err
	}
	if err := s.checkMIC(&a, in, exported); err != nil {
		return err
	}
	if acct.Disabled {
		// Account restrictions are checked after the password, as
		// Windows' MSV1_0 and Samba's sam_account_ok do.
		return fmt.Errorf("ntlm: account %q is disabled: %w", acct.Name, auth.ErrAccountDisabled)
	}
	s.identity = auth.Identity{User: user, Domain: domain, Account: acct.ID}
	s.workstation = ws
	s.sessionKey = exported
	s.sec = newSecurity(exported, s.flags&a.flags, true)
	return nil
}

// isAnonymous reports an anonymous AUTHENTICATE_MESSAGE: empty user name,
// empty NtChallengeResponse, LmChallengeResponse empty or Z(1)
// [MS-NLMP 3.2.5.1.2, 3.3.2].
func isAnonymous(a *authenticateMsg) bool {
	lmEmpty := len(a.lmResponse) == 0 ||
		len(a.lmResponse) == 1 && a.lmResponse[0] == 0
	return len(a.user) == 0 && len(a.ntResponse) == 0 && lmEmpty
}

// acceptAnonymous completes an anonymous logon if the policy allows it. No
// session key exists [MS-NLMP 3.2.5.1.2].
func (s *Server) acceptAnonymous(user, domain, ws string) error {
	if !s.cfg.AllowAnonymous {
		return fmt.Errorf("ntlm: anonymous logon not allowed: %w", auth.ErrLogonFailure)
	}
	s.identity = auth.Identity{User: user, Domain: domain, Anonymous: true}
	s.workstation = ws
	return nil
}

// verifyResponse checks NTProofStr of the NTLMv2 response [MS-NLMP 3.3.2],
// first with the domain as sent and then with an empty domain, and returns
// SessionBaseKey and the account. The received NTLMv2_CLIENT_CHALLENGE is
// hashed verbatim.
func (s *Server) verifyResponse(a *authenticateMsg, user, domain string) ([]byte, auth.Account, error) {
	if len(a.ntResponse) <= 24 {
		return nil, auth.Account{}, fmt.Errorf("ntlm: no NTLMv2 response (NTLMv1 refused): %w", auth.ErrLogonFailure)
	}
	if len(a.ntResponse) < ntProofLen+ntlmv2BlobHeaderLen {
		return nil, auth.Account{}, errInvalid("short NTLMv2 response")
	}
	// A client challenge whose AV pairs do not parse is a malformed token
	// (STATUS_INVALID_PARAMETER, as Windows answers), not a wrong password.
	// Only the structure is read here; the values are used after
	// NTProofStr has authenticated them.
	if _, err := parseAVPairs(a.ntResponse[ntProofLen+ntlmv2BlobHeaderLen:]); err != nil {
		return nil, auth.Account{}, err
	}
	var acct auth.Account
	known := false
	if s.cfg.Lookup != nil {
		acct, known = s.cfg.Lookup(user, domain)
	}
	hash := acct.NTHash
	proof, temp := a.ntResponse[:ntProofLen], a.ntResponse[ntProofLen:]
	userUpper := upperUTF16(a.user)
	domains := [][]byte{a.domain}
	if len(a.domain) > 0 {
		domains = append(domains, nil)
	}
	// An unknown user is checked against a zero hash as well, so that the
	// work done does not reveal whether the user exists.
	for _, d := range domains {
		key := ntowfv2(hash, userUpper, d)
		if hmac.Equal(ntProofStr(key, s.serverChallenge, temp), proof) && known {
			return hmacMD5(key, proof), acct, nil
		}
	}
	return nil, auth.Account{}, fmt.Errorf("ntlm: bad response for %q: %w", user, auth.ErrLogonFailure)
}

// exportedKey returns ExportedSessionKey: with NEGOTIATE_KEY_EXCH, the
// client's RandomSessionKey decrypted with KeyExchangeKey (= SessionBaseKey
// for NTLMv2), else KeyExchangeKey itself [MS-NLMP 3.2.5.1.2, 3.4.5.1].
func (s *Server) exportedKey(a *authenticateMsg, keyExchangeKey []byte) ([]byte, error) {
	if s.flags&a.flags&flagKeyExch == 0 {
		return keyExchangeKey, nil
	}
	if len(a.sessionKey) != 16 {
		return nil, errInvalid("KEY_EXCH without a 16-byte EncryptedRandomSessionKey")
	}
	return rc4Once(keyExchangeKey, a.sessionKey), nil
}

// checkMIC verifies the AUTHENTICATE MIC when the NTLMv2 response's
// MsvAvFlags announces one [MS-NLMP 3.2.5.1.2]. The AV pairs are read only
// after NTProofStr has authenticated them.
func (s *Server) checkMIC(a *authenticateMsg, msg, exportedKey []byte) error {
	pairs, err := parseAVPairs(a.ntResponse[ntProofLen+ntlmv2BlobHeaderLen:])
	if err != nil {
		return err
	}
	if msvAvFlags(pairs)&avFlagMIC == 0 {
		return nil
	}
	if !a.micFree {
		return errInvalid("MsvAvFlags announces a MIC but the message has no MIC field")
	}
	want := computeMIC(exportedKey, s.negotiate, s.challenge, msg)
	got := msg[authenticateMICAt : authenticateMICAt+authenticateMICLen]
	if !hmac.Equal(want, got) {
		return fmt.Errorf("ntlm: invalid MIC: %w", auth.ErrLogonFailure)
	}
	s.micPresent = true
	return nil
}

// Identity returns the authenticated user, valid once Accept returned done.
// User and Domain are as the client sent them.
func (s *Server) Identity() auth.Identity { return s.identity }

// Workstation returns the client's workstation name as sent, valid once
// Accept returned done.
func (s *Server) Workstation() string { return s.workstation }

// SessionKey returns ExportedSessionKey, valid once Accept returned done;
// nil for anonymous logons.
func (s *Server) SessionKey() []byte { return s.sessionKey }

// MICPresent reports whether the verified AUTHENTICATE_MESSAGE carried a MIC
// (MsvAvFlags bit 0x2). SPNEGO then requires a mechListMIC exchange
// [MS-SPNG 3.2.5.1].
func (s *Server) MICPresent() bool { return s.micPresent }

// MIC returns the NTLMSSP_MESSAGE_SIGNATURE of data in the server-to-client
// direction (GSS_GetMIC [MS-NLMP 3.4.4.2]), as used for the SPNEGO
// mechListMIC, and advances that direction's sequence number. It returns nil
// before a successful non-anonymous logon.
func (s *Server) MIC(data []byte) []byte {
	if s.sec == nil {
		return nil
	}
	return s.sec.sign(data)
}

// VerifyMIC checks a client-to-server signature of data in constant time
// (GSS_VerifyMIC [MS-NLMP 3.4.4.2]). It returns false before a successful
// non-anonymous logon.
func (s *Server) VerifyMIC(data, mic []byte) bool {
	return s.sec != nil && s.sec.verify(data, mic)
}
