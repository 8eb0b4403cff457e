// Package krb5 is the Kerberos V5 GSS-API mechanism [RFC 4121] for SMB
// session setup, acceptor and initiator, on top of gokrb5 (ASN.1,
// encryption types, keytabs, credential caches, KDC exchanges). What
// gokrb5 does not offer for an acceptor is here: the AP-REQ checks
// (service, ticket times and clock skew with an injectable clock, the
// GSS-API checksum), a bounded replay cache, the AP-REP with an acceptor
// subkey for mutual authentication, the session key choice, principal to
// user mapping, and the initiator's AP-REP verification.
//
// Session key [RFC 4121 2, MS-KILE 3.1.1.2]: the acceptor subkey when
// the AP-REP carries one (Signet always sends one with mutual
// authentication), else the initiator's subkey from the authenticator,
// else the ticket's session key. SMB takes its first 16 bytes
// [MS-SMB2 3.3.5.5.3].
//
// mechListMIC: MIC tokens per RFC 4121 4.2.6.1 for the AES encryption
// types; contexts with older types (RC4) authenticate but cannot sign a
// mechListMIC.
package krb5

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/asn1tools"
	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/gssapi"
	"github.com/jcmturner/gokrb5/v8/iana/asnAppTag"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/iana/keyusage"
	"github.com/jcmturner/gokrb5/v8/iana/msgtype"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/signetsmb/signet/auth"
)

// DefaultMaxSkew is the clock skew tolerated between client and server, as
// MIT, Heimdal and Windows default to.
const DefaultMaxSkew = 5 * time.Minute

// AcceptorConfig configures an Acceptor.
type AcceptorConfig struct {
	// Keytab holds the service keys. Required.
	Keytab *keytab.Keytab
	// Service is the service principal, "cifs/host.example.com", with or
	// without "@REALM". Tickets for any other principal are refused. Empty
	// accepts tickets for every principal the keytab has keys for.
	Service string
	// Realm is the service's realm; principals of this realm map to
	// users by name (Mapping).
	Realm string
	// Mapping maps client principals to users; its Realm defaults to Realm.
	Mapping Mapping
	// MaxSkew is the clock skew tolerated; DefaultMaxSkew when zero.
	MaxSkew time.Duration
	// Replay is the replay cache; a fresh one when nil. Share one between
	// the acceptors of successive configurations.
	Replay *ReplayCache
	// Now and Rand default to time.Now and crypto/rand.
	Now  func() time.Time
	Rand io.Reader
}

// Acceptor holds the long-lived acceptor state: keys, rules and the
// replay cache. It is immutable after NewAcceptor and safe for concurrent
// use; each handshake gets its own Server.
type Acceptor struct {
	cfg     AcceptorConfig
	service types.PrincipalName // zero when any keytab principal is accepted
}

// NewAcceptor validates cfg and returns an Acceptor.
func NewAcceptor(cfg AcceptorConfig) (*Acceptor, error) {
	if cfg.Keytab == nil || len(cfg.Keytab.Entries) == 0 {
		return nil, errors.New("krb5: the keytab is missing or empty")
	}
	a := &Acceptor{cfg: cfg}
	if cfg.Service != "" {
		name, realm, _ := strings.Cut(cfg.Service, "@")
		if realm != "" && cfg.Realm != "" && !strings.EqualFold(realm, cfg.Realm) {
			return nil, fmt.Errorf("krb5: service %s is not in realm %s", cfg.Service, cfg.Realm)
		}
		if realm != "" && a.cfg.Realm == "" {
			a.cfg.Realm = realm
		}
		a.service = types.NewPrincipalName(2, name) // KRB_NT_SRV_INST
		if _, _, err := findKey(cfg.Keytab, a.service, a.cfg.Realm); err != nil {
			return nil, err
		}
	}
	if a.cfg.Mapping.Realm == "" {
		a.cfg.Mapping.Realm = a.cfg.Realm
	}
	if err := a.cfg.Mapping.Validate(); err != nil {
		return nil, err
	}
	if a.cfg.MaxSkew <= 0 {
		a.cfg.MaxSkew = DefaultMaxSkew
	}
	if a.cfg.Replay == nil {
		a.cfg.Replay = NewReplayCache(0)
	}
	if a.cfg.Now == nil {
		a.cfg.Now = time.Now
	}
	if a.cfg.Rand == nil {
		a.cfg.Rand = rand.Reader
	}
	return a, nil
}

// findKey checks the keytab has a key for the principal (any realm when
// realm is empty).
func findKey(kt *keytab.Keytab, p types.PrincipalName, realm string) (string, int, error) {
	for _, e := range kt.Entries {
		if (realm == "" || strings.EqualFold(e.Principal.Realm, realm)) && strings.Join(e.Principal.Components, "/") == p.PrincipalNameString() {
			return e.Principal.Realm, int(e.KVNO), nil
		}
	}
	return "", 0, fmt.Errorf("krb5: the keytab has no key for %s@%s", p.PrincipalNameString(), realm)
}

// Lookup finds the account of a mapped user name.
type Lookup func(user string) (auth.Account, bool)

// Mechanism returns the SPNEGO entry for this acceptor; lookup resolves
// mapped user names.
func (a *Acceptor) Mechanism(lookup Lookup) auth.ServerMechanism {
	return auth.ServerMechanism{
		Name: "kerberos",
		OIDs: []string{auth.OIDMSKerberos, auth.OIDKerberos},
		New:  func() auth.GSSServer { return a.NewServer(lookup) },
	}
}

// NewServer returns the acceptor side of one handshake.
func (a *Acceptor) NewServer(lookup Lookup) *Server {
	return &Server{a: a, lookup: lookup}
}

// Server is the acceptor of one Kerberos handshake; it implements
// auth.GSSServer. Not safe for concurrent use.
type Server struct {
	a      *Acceptor
	lookup Lookup
	done   bool
	failed bool

	identity  auth.Identity
	principal string // client principal name@REALM, for logs
	ctx       context
}

// context is an established security context's keys and sequence numbers.
type context struct {
	ticketKey      types.EncryptionKey
	initiatorKey   types.EncryptionKey // authenticator subkey; zero if none
	acceptorKey    types.EncryptionKey // AP-REP subkey; zero if none
	mySeq, peerSeq uint64
}

// sessionKey returns the GSS-API session key [RFC 4121 2].
func (c *context) sessionKey() types.EncryptionKey {
	switch {
	case len(c.acceptorKey.KeyValue) > 0:
		return c.acceptorKey
	case len(c.initiatorKey.KeyValue) > 0:
		return c.initiatorKey
	}
	return c.ticketKey
}

// micKey returns the key protecting MIC tokens [RFC 4121 2]: the acceptor
// subkey when present (flagged in the token), else the initiator subkey or
// the ticket session key.
func (c *context) micKey(acceptorSubkey bool) types.EncryptionKey {
	if acceptorSubkey {
		return c.acceptorKey
	}
	if len(c.initiatorKey.KeyValue) > 0 {
		return c.initiatorKey
	}
	return c.ticketKey
}

// cfx reports whether MIC tokens use RFC 4121's format: the AES types.
func cfx(k types.EncryptionKey) bool {
	switch k.KeyType {
	case 17, 18, 19, 20:
		return true
	}
	return false
}

func (c *context) mic(data []byte, fromAcceptor bool) []byte {
	hasAcc := len(c.acceptorKey.KeyValue) > 0
	key := c.micKey(hasAcc)
	if !cfx(key) {
		return nil
	}
	tok := gssapi.MICToken{SndSeqNum: c.mySeq, Payload: data}
	usage := uint32(keyusage.GSSAPI_INITIATOR_SIGN)
	if fromAcceptor {
		tok.Flags |= gssapi.MICTokenFlagSentByAcceptor
		usage = keyusage.GSSAPI_ACCEPTOR_SIGN
	}
	if hasAcc {
		tok.Flags |= gssapi.MICTokenFlagAcceptorSubkey
	}
	if err := tok.SetChecksum(key, usage); err != nil {
		return nil
	}
	b, err := tok.Marshal()
	if err != nil {
		return nil
	}
	return b
}

func (c *context) verifyMIC(data, mic []byte, fromAcceptor bool) bool {
	var tok gssapi.MICToken
	if err := tok.Unmarshal(mic, fromAcceptor); err != nil {
		return false
	}
	accSub := tok.Flags&gssapi.MICTokenFlagAcceptorSubkey != 0
	if accSub && len(c.acceptorKey.KeyValue) == 0 {
		return false
	}
	key := c.micKey(accSub)
	if !cfx(key) {
		return false
	}
	usage := uint32(keyusage.GSSAPI_INITIATOR_SIGN)
	if fromAcceptor {
		usage = keyusage.GSSAPI_ACCEPTOR_SIGN
	}
	tok.Payload = data
	ok, err := tok.Verify(key, usage)
	return ok && err == nil
}

var _ auth.GSSServer = (*Server)(nil)

// refuse wraps a reason as a logon failure.
func refuse(format string, args ...any) error {
	return fmt.Errorf("krb5: "+format+": %w", append(args, auth.ErrLogonFailure)...)
}

func invalid(err error) error {
	return fmt.Errorf("krb5: %v: %w", err, auth.ErrInvalidToken)
}

// Accept verifies the client's AP-REQ and returns the AP-REP [RFC 4120
// 3.2.3, RFC 4121 4.1]. Kerberos takes one round: done is true on
// success. Errors wrap auth.ErrLogonFailure, auth.ErrAccountDisabled or
// auth.ErrInvalidToken.
func (s *Server) Accept(in []byte) (out []byte, done bool, err error) {
	if s.done || s.failed {
		return nil, false, invalid(errors.New("handshake already finished"))
	}
	out, err = s.accept(in)
	if err != nil {
		s.failed = true
		return nil, false, err
	}
	s.done = true
	return out, true, nil
}

func (s *Server) accept(in []byte) (out []byte, err error) {
	// gokrb5's decoders parse untrusted bytes; a panic there is a bad
	// token, never a crashed connection.
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, invalid(fmt.Errorf("undecodable token (%v)", r))
		}
	}()
	a := s.a
	tokID, inner, err := unframe(in)
	if err != nil {
		return nil, invalid(err)
	}
	if tokID != tokAPReq {
		return nil, invalid(fmt.Errorf("token 0x%04x is not an AP-REQ", tokID))
	}
	var req messages.APReq
	if err := req.Unmarshal(inner); err != nil {
		return nil, invalid(err)
	}
	if types.IsFlagSet(&req.APOptions, flags.APOptionUseSessionKey) {
		return nil, refuse("user-to-user tickets are not accepted")
	}
	tkt := &req.Ticket
	if a.service.NameString != nil && !tkt.SName.Equal(a.service) {
		return nil, refuse("ticket is for %s, not for this service %s", tkt.SName.PrincipalNameString(), a.service.PrincipalNameString())
	}
	if a.cfg.Realm != "" && !strings.EqualFold(tkt.Realm, a.cfg.Realm) {
		return nil, refuse("ticket is for realm %s, not %s", tkt.Realm, a.cfg.Realm)
	}
	if err := tkt.DecryptEncPart(a.cfg.Keytab, &tkt.SName); err != nil {
		return nil, refuse("ticket for %s@%s does not decrypt with the keytab (wrong key or kvno %d): %v",
			tkt.SName.PrincipalNameString(), tkt.Realm, tkt.EncPart.KVNO, err)
	}
	enc := &tkt.DecryptedEncPart
	now := a.cfg.Now().UTC()
	skew := a.cfg.MaxSkew
	start := enc.StartTime
	if start.IsZero() {
		start = enc.AuthTime
	}
	switch {
	case types.IsFlagSet(&enc.Flags, flags.Invalid):
		return nil, refuse("ticket is flagged invalid")
	case start.Sub(now) > skew:
		return nil, refuse("ticket is not yet valid (starts %s)", start.Format(time.RFC3339))
	case now.Sub(enc.EndTime) > skew:
		return nil, refuse("ticket expired at %s", enc.EndTime.Format(time.RFC3339))
	}
	if err := req.DecryptAuthenticator(enc.Key); err != nil {
		return nil, refuse("authenticator does not decrypt with the ticket's session key")
	}
	an := &req.Authenticator
	if !an.CName.Equal(enc.CName) || !strings.EqualFold(an.CRealm, enc.CRealm) {
		return nil, refuse("authenticator client %s@%s differs from the ticket's %s@%s",
			an.CName.PrincipalNameString(), an.CRealm, enc.CName.PrincipalNameString(), enc.CRealm)
	}
	ctime := an.CTime.Add(time.Duration(an.Cusec) * time.Microsecond)
	if d := now.Sub(ctime); d > skew || -d > skew {
		return nil, refuse("clock skew too great: client time %s, ours %s, limit %s", ctime.Format(time.RFC3339), now.Format(time.RFC3339), skew)
	}
	gssFlags, _, err := parseGSSChecksum(an.Cksum.CksumType, an.Cksum.Checksum)
	if err != nil {
		return nil, refuse("%v", err)
	}
	principal := an.CName.PrincipalNameString() + "@" + an.CRealm
	key := replayKey(tkt.SName, an.CRealm, an.CName, an.CTime, an.Cusec, req.EncryptedAuthenticator.Cipher)
	switch err := a.cfg.Replay.add(key, now, ctime.Add(2*skew)); {
	case errors.Is(err, errReplay):
		return nil, refuse("replayed authenticator from %s", principal)
	case err != nil:
		return nil, refuse("%v; refusing %s", err, principal)
	}
	user, err := a.cfg.Mapping.User(an.CName.PrincipalNameString(), an.CRealm)
	if err != nil {
		return nil, refuse("%v", err)
	}
	acct, ok := s.lookup(user)
	if !ok || acct.ID == "" {
		return nil, refuse("principal %s maps to user %q, who is not in the users database", principal, user)
	}
	if acct.Disabled {
		return nil, fmt.Errorf("krb5: %s (user %s): %w", principal, acct.Name, auth.ErrAccountDisabled)
	}
	s.ctx = context{ticketKey: enc.Key, initiatorKey: an.SubKey, peerSeq: uint64(an.SeqNumber)}
	if gssFlags&flagMutual != 0 || types.IsFlagSet(&req.APOptions, flags.APOptionMutualRequired) {
		if out, err = s.apRep(an); err != nil {
			return nil, err
		}
	}
	s.principal = principal
	s.identity = auth.Identity{User: acct.Name, Domain: an.CRealm, Account: acct.ID}
	return out, nil
}

// apRep builds the framed AP-REP with a fresh acceptor subkey of the
// initiator subkey's type (the ticket key's when none) and our initial
// sequence number [RFC 4120 5.5.2, RFC 4121 4.1].
func (s *Server) apRep(an *types.Authenticator) ([]byte, error) {
	etypeID := s.ctx.ticketKey.KeyType
	if len(an.SubKey.KeyValue) > 0 {
		etypeID = an.SubKey.KeyType
	}
	et, err := crypto.GetEtype(etypeID)
	if err != nil {
		return nil, refuse("unsupported encryption type %d", etypeID)
	}
	sub := types.EncryptionKey{KeyType: etypeID, KeyValue: make([]byte, et.GetKeyByteSize())}
	if _, err := io.ReadFull(s.a.cfg.Rand, sub.KeyValue); err != nil {
		return nil, err
	}
	seq, err := rand.Int(s.a.cfg.Rand, big.NewInt(1<<31-1))
	if err != nil {
		return nil, err
	}
	s.ctx.acceptorKey = sub
	s.ctx.mySeq = seq.Uint64() + 1
	part := messages.EncAPRepPart{CTime: an.CTime, Cusec: an.Cusec, Subkey: sub, SequenceNumber: int64(s.ctx.mySeq)}
	b, err := asn1.Marshal(part)
	if err != nil {
		return nil, err
	}
	b = asn1tools.AddASNAppTag(b, asnAppTag.EncAPRepPart)
	ed, err := crypto.GetEncryptedData(b, s.ctx.ticketKey, keyusage.AP_REP_ENCPART, 0)
	if err != nil {
		return nil, err
	}
	rep := messages.APRep{PVNO: 5, MsgType: msgtype.KRB_AP_REP, EncPart: ed}
	if b, err = asn1.Marshal(rep); err != nil {
		return nil, err
	}
	return frame(tokAPRep, asn1tools.AddASNAppTag(b, asnAppTag.APREP)), nil
}

// Identity returns the mapped user, valid once Accept returned done.
func (s *Server) Identity() auth.Identity { return s.identity }

// Principal returns the client principal, "name@REALM".
func (s *Server) Principal() string { return s.principal }

// SessionKey returns the GSS-API session key (see the package doc).
func (s *Server) SessionKey() []byte {
	if !s.done {
		return nil
	}
	return s.ctx.sessionKey().KeyValue
}

// MIC returns an acceptor MIC token over data [RFC 4121 4.2.6.1].
func (s *Server) MIC(data []byte) []byte {
	if !s.done {
		return nil
	}
	return s.ctx.mic(data, true)
}

// VerifyMIC checks an initiator MIC token over data.
func (s *Server) VerifyMIC(data, mic []byte) bool {
	return s.done && s.ctx.verifyMIC(data, mic, false)
}

// MICRequired is false: a mechListMIC is exchanged for Kerberos only when
// SPNEGO itself requires it (a mechanism other than the client's first).
func (s *Server) MICRequired() bool { return false }
