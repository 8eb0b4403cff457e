package wiretap

import (
	"crypto/cipher"
	"encoding/binary"
	"fmt"

	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/smbcrypto"
	"github.com/signetsmb/signet/internal/wire"
)

// Limits that keep a hostile or broken stream from growing the state.
const (
	maxCompound = 512  // elements per frame; wire.SplitCompound fails beyond
	maxPending  = 1024 // outstanding SESSION_SETUP requests per connection
	maxSessions = 4096 // session records per connection
	maxErrors   = 64   // notes kept in ConnReport.Errors
)

// sessionState is where a session is in its life on one connection.
type sessionState int

const (
	sessInProgress sessionState = iota
	sessEstablished
	sessFailed
	sessLoggedOff
)

// session is the tap's view of one session (or bound channel) on one
// connection.
type session struct {
	id    uint64
	state sessionState
	rep   SessionReport

	// 3.1.1 Session.PreauthIntegrityHashValue while the exchange runs;
	// hashOK is false when the chain could not be followed (NEGOTIATE not
	// seen).
	hash   smbcrypto.PreauthHash
	hashOK bool

	challenge     [8]byte
	haveChallenge bool
	auth          *ntlmAuth
	krb           *krbContext // Kerberos exchange, when the tap has the keytab
	key           []byte      // reconstructed ExportedSessionKey
	keyErr        error

	// signer uses this connection's Channel.SigningKey (2.x:
	// Session.SessionKey); sessSigner uses Session.SigningKey, which
	// differs from it only on a bound channel [MS-SMB2 3.3.4.1.1].
	signer, sessSigner smbcrypto.Signer
	// aead opens the session's transforms, by Direction (decrypt.go).
	aead [2]cipher.AEAD
}

// sharedSession is a session established through the tap, kept tap-wide so
// that a channel binding on another connection finds Session.SigningKey.
type sharedSession struct {
	dialect      uint16
	signer       smbcrypto.Signer
	aead         [2]cipher.AEAD
	user, domain string
}

// pendingSetup is a SESSION_SETUP request waiting for its response, keyed
// by MessageId (the first request of a session has SessionId 0, so the
// MessageId is what ties it to the response that names the session).
type pendingSetup struct {
	sid          uint64
	hash         smbcrypto.PreauthHash // chain value after this request
	hashOK       bool
	auth         *ntlmAuth
	krb          *krbContext // from an AP-REQ in this request
	krbErr       error       // why an AP-REQ could not be used
	binding      bool
	signRequired bool
}

// connState is the protocol state of one proxied connection. All access is
// under Tap.mu.
type connState struct {
	tap        *Tap
	id         int
	clientAddr string
	serverAddr string
	// out are the writers of the two directions, indexed by Direction,
	// set once the server is dialed (nil in socket-less tests); each
	// guards its own writes (see writer).
	out      [2]*writer
	errs     []string
	errsLost int

	smb1          bool
	dialect       uint16 // last NEGOTIATE response; 0 before
	alg           smbcrypto.Algorithm
	algOK         bool
	algNote       string
	cipher        uint16
	clientCaps    uint32
	clientSecMode uint16
	serverSecMode uint16
	negReq        smbcrypto.PreauthHash // chain after the NEGOTIATE request
	negReqOK      bool
	connHash      smbcrypto.PreauthHash // Connection.PreauthIntegrityHashValue
	connHashOK    bool

	pending  map[uint64]*pendingSetup
	sessions map[uint64]*session // current session per SessionId
	history  []*session          // every session record, in creation order
}

func newConnState(t *Tap, id int) *connState {
	return &connState{
		tap:      t,
		id:       id,
		algNote:  "no NEGOTIATE response seen",
		pending:  map[uint64]*pendingSetup{},
		sessions: map[uint64]*session{},
	}
}

// errorf keeps a bounded list of connection-level notes.
func (c *connState) errorf(format string, args ...any) {
	if len(c.errs) >= maxErrors {
		c.errsLost++
		return
	}
	c.errs = append(c.errs, fmt.Sprintf(format, args...))
}

// unit is one recorded piece of a transport frame: an SMB2 compound element
// or a whole frame of another kind.
type unit struct {
	kind     Kind
	msg      []byte // as forwarded
	orig     []byte // as received, when mutated
	mutated  bool
	dropped  bool
	hdr      wire.Header // SMB2 header as received (valid when hdrOK)
	hdrOK    bool
	note     string
	smb1Cmd  byte
	transSID uint64 // SessionId of a TRANSFORM_HEADER
}

// splitFrame classifies a transport frame (4-byte header included) into
// units. truncated is set when the stream ended inside the frame.
func splitFrame(frame []byte, truncated bool) []unit {
	if len(frame) < 4 {
		return []unit{{kind: KindMalformed, msg: frame, note: "truncated transport header"}}
	}
	if frame[0] != 0 {
		return []unit{{kind: KindNetBIOS, msg: frame, note: fmt.Sprintf("transport frame type 0x%02x", frame[0])}}
	}
	p := frame[4:]
	if truncated {
		declared := int(frame[1])<<16 | int(frame[2])<<8 | int(frame[3])
		return []unit{{kind: KindMalformed, msg: p, note: fmt.Sprintf("stream ended inside a frame: %d of %d bytes", len(p), declared)}}
	}
	if len(p) < 4 {
		return []unit{{kind: KindMalformed, msg: p, note: "frame shorter than a protocol id"}}
	}
	switch [4]byte(p[:4]) {
	case wire.ProtocolSMB2:
		elems, err := wire.SplitCompound(p, maxCompound)
		if err != nil {
			return []unit{{kind: KindMalformed, msg: p, note: "compound: " + err.Error()}}
		}
		us := make([]unit, len(elems))
		for i, e := range elems {
			us[i] = unit{kind: KindSMB2, msg: e}
			if h, err := wire.ParseHeader(e); err == nil {
				us[i].hdr, us[i].hdrOK = h, true
			}
		}
		return us
	case wire.ProtocolSMB1:
		u := unit{kind: KindSMB1, msg: p}
		if len(p) > 4 {
			u.smb1Cmd = p[4]
			u.note = fmt.Sprintf("SMB1 command 0x%02x", p[4])
			if p[4] == 0x72 {
				u.note = "SMB1 NEGOTIATE"
			}
		}
		return []unit{u}
	case wire.ProtocolTransform:
		u := unit{kind: KindEncrypted, msg: p}
		if len(p) >= 52 {
			u.transSID = binary.LittleEndian.Uint64(p[44:])
		} else {
			u.note = "short TRANSFORM_HEADER"
		}
		return []unit{u}
	case wire.ProtocolCompress:
		return []unit{{kind: KindCompressed, msg: p}}
	}
	return []unit{{kind: KindMalformed, msg: p, note: fmt.Sprintf("unknown protocol id % x", p[:4])}}
}

// analyze records the units of one frame and advances the protocol state.
// The caller holds Tap.mu.
func (c *connState) analyze(dir Direction, frameNo int, units []unit) {
	var prevSID uint64
	for i := range units {
		u := &units[i]
		m := Message{
			Conn: c.id, Frame: frameNo, Index: i, Dir: dir, Kind: u.kind,
			Class: ClassOther, Size: len(u.msg), Mutated: u.mutated, Note: u.note,
		}
		m.Raw = c.tap.keep(u.msg)
		if u.mutated {
			m.Original = c.tap.keep(u.orig)
		}
		switch {
		case u.dropped:
			m.Size = 0
			if u.hdrOK {
				c.fillHeader(&m, &u.hdr, u.hdr.SessionID)
			}
			m.Note = "dropped by Mutate"
		case u.kind == KindSMB2:
			prevSID = c.analyzeSMB2(&m, dir, i, u.msg, prevSID)
		case u.kind == KindSMB1:
			if u.smb1Cmd == 0x72 {
				c.smb1 = true
			}
		case u.kind == KindEncrypted:
			m.SessionID = u.transSID
			plain, why := c.decrypt(dir, u.msg, u.transSID)
			if plain == nil {
				m.Note = joinNote(m.Note, "not decrypted: "+why)
				break
			}
			m.Decrypted = true
			c.tap.msgs = append(c.tap.msgs, m)
			c.analyzeDecrypted(dir, frameNo, plain)
			continue
		}
		c.tap.msgs = append(c.tap.msgs, m)
	}
}

// fillHeader copies header fields into m.
func (c *connState) fillHeader(m *Message, h *wire.Header, sid uint64) {
	m.Cmd = h.Command
	m.Status = ntstatus.Status(h.Status)
	m.Flags = h.Flags
	m.MessageID = h.MessageID
	m.SessionID = sid
	m.Signed = h.Flags&wire.FlagSigned != 0
}

// analyzeSMB2 handles one SMB2 message as forwarded and returns the session
// it belongs to, for the next related element.
func (c *connState) analyzeSMB2(m *Message, dir Direction, idx int, msg []byte, prevSID uint64) uint64 {
	h, err := wire.ParseHeader(msg)
	if err != nil {
		m.Kind = KindMalformed
		m.Note = joinNote(m.Note, "header: "+err.Error())
		return prevSID
	}
	sid := h.SessionID
	if idx > 0 && h.Flags&wire.FlagRelated != 0 {
		sid = prevSID
	}
	c.fillHeader(m, &h, sid)

	var (
		s       *session
		handled bool
	)
	resp := dir == ServerToClient
	switch {
	case resp && h.MessageID == wire.MessageIDUnsolicited:
		m.Class, s, handled = ClassNotification, c.sessions[sid], true
	case resp && ntstatus.Status(h.Status) == ntstatus.Pending:
		m.Class, s, handled = ClassInterim, c.sessions[sid], true
	case h.Command == wire.CmdNegotiate && !resp:
		c.negotiateRequest(m, msg)
	case h.Command == wire.CmdNegotiate:
		c.negotiateResponse(m, &h, msg)
	case h.Command == wire.CmdSessionSetup && !resp:
		m.Class, s, handled = c.setupRequest(m, &h, sid, msg)
	case h.Command == wire.CmdSessionSetup:
		m.Class, s, handled = c.setupResponse(m, &h, sid, msg)
	}
	if !handled {
		s = c.sessions[sid]
		switch {
		case sid == 0:
			m.Class = ClassNoSession
		case s == nil || s.state != sessEstablished:
			m.Class = ClassUnknownSession
		case h.Command == wire.CmdCancel && !resp:
			m.Class = ClassCancel
		default:
			m.Class = ClassCounted
		}
	}
	if m.Signed {
		m.SigValid = c.verify(msg, &h, sid, s)
	}
	switch {
	case m.Class == ClassSetupFinal && s != nil:
		s.rep.SetupSigned, s.rep.SetupSig = m.Signed, m.SigValid
	case resp && h.Command == wire.CmdLogoff && ntstatus.Status(h.Status) == ntstatus.Success &&
		s != nil && s.state == sessEstablished && m.Class == ClassCounted:
		s.state = sessLoggedOff
		s.rep.LoggedOff = true
	}
	return sid
}

// verify checks a signed message with the keys of its session.
func (c *connState) verify(msg []byte, h *wire.Header, sid uint64, s *session) SigStatus {
	if sid == 0 || s == nil {
		return NoKey
	}
	signers := make([]smbcrypto.Signer, 0, 2)
	if s.signer != nil {
		signers = append(signers, s.signer)
	}
	// SESSION_SETUP of a binding, and non-SUCCESS SESSION_SETUP responses,
	// use Session.SigningKey [MS-SMB2 3.3.4.1.1, 3.3.5.2.4].
	if h.Command == wire.CmdSessionSetup && s.sessSigner != nil && s.sessSigner != s.signer {
		signers = append(signers, s.sessSigner)
	}
	if len(signers) == 0 {
		return NoKey
	}
	for _, sg := range signers {
		if sg.Verify(msg) {
			return Valid
		}
	}
	return Invalid
}

// negotiateRequest starts the 3.1.1 preauth chain: H = SHA-512(0^64 ||
// request) [MS-SMB2 3.3.5.4]. Whether 3.1.1 is selected is only known from
// the response.
func (c *connState) negotiateRequest(m *Message, msg []byte) {
	c.negReq, c.negReqOK = smbcrypto.PreauthHash{}.Update(msg), true
	r, err := wire.ParseNegotiateRequest(msg)
	if err != nil {
		m.Note = joinNote(m.Note, "NEGOTIATE request: "+err.Error())
		return
	}
	c.clientSecMode = r.SecurityMode
	c.clientCaps = r.Capabilities
}

// negotiateResponse records the dialect and signing algorithm and, for
// 3.1.1, finishes Connection.PreauthIntegrityHashValue.
func (c *connState) negotiateResponse(m *Message, h *wire.Header, msg []byte) {
	if st := ntstatus.Status(h.Status); st != ntstatus.Success {
		m.Note = joinNote(m.Note, "NEGOTIATE failed")
		return
	}
	r, err := wire.ParseNegotiateResponse(msg)
	if err != nil {
		m.Note = joinNote(m.Note, "NEGOTIATE response: "+err.Error())
		c.errorf("NEGOTIATE response: %v", err)
		c.dialect, c.algOK, c.algNote = 0, false, "NEGOTIATE response could not be parsed"
		return
	}
	c.dialect, c.serverSecMode = r.Dialect, r.SecurityMode
	c.algOK, c.algNote, c.cipher = true, "", 0
	switch r.Dialect {
	case wire.Dialect202, wire.Dialect210:
		c.alg = smbcrypto.HMACSHA256
	case wire.Dialect300, wire.Dialect302:
		c.alg = smbcrypto.AESCMAC
		if r.Capabilities&wire.CapEncryption != 0 && c.clientCaps&wire.CapEncryption != 0 {
			c.cipher = uint16(smbcrypto.AES128CCM)
		}
	case wire.Dialect311:
		c.connHash, c.connHashOK = c.negReq.Update(msg), c.negReqOK
		c.alg = smbcrypto.AESCMAC // no SIGNING_CAPABILITIES context [MS-SMB2 3.2.5.2]
		for _, ctx := range r.Contexts {
			switch ctx.Type {
			case wire.CtxSigning:
				ids, err := wire.ParseIDList(ctx.Data, 0)
				switch {
				case err != nil || len(ids) != 1:
					c.algOK, c.algNote = false, "malformed SIGNING_CAPABILITIES in the NEGOTIATE response"
				case ids[0] > uint16(smbcrypto.AESGMAC):
					c.algOK, c.algNote = false, fmt.Sprintf("unknown signing algorithm 0x%04x", ids[0])
				default:
					c.alg = smbcrypto.Algorithm(ids[0])
				}
			case wire.CtxEncryption:
				if ids, err := wire.ParseIDList(ctx.Data, 0); err == nil && len(ids) == 1 {
					c.cipher = ids[0]
				}
			}
		}
	case wire.DialectWildcard:
		c.algOK, c.algNote = false, "only the SMB 2.??? wildcard was negotiated"
	default:
		c.algOK, c.algNote = false, fmt.Sprintf("unknown dialect 0x%04x", r.Dialect)
	}
	if !c.algOK {
		m.Note = joinNote(m.Note, c.algNote)
	}
}

// newSession creates the record of a session on this connection, replacing
// any previous one with the same id.
func (c *connState) newSession(sid uint64) *session {
	s := &session{id: sid, rep: SessionReport{SessionID: sid}}
	if len(c.history) < maxSessions {
		c.history = append(c.history, s)
	}
	if sid != 0 {
		if len(c.sessions) >= maxSessions {
			clear(c.sessions)
		}
		c.sessions[sid] = s
	}
	return s
}

// setupRequest follows a SESSION_SETUP request. A request on an established
// session (re-authentication) is ordinary traffic: keys do not change
// [MS-SMB2 3.3.5.5].
func (c *connState) setupRequest(m *Message, h *wire.Header, sid uint64, msg []byte) (Class, *session, bool) {
	var (
		buf          []byte
		binding      bool
		signRequired bool
	)
	if req, err := wire.ParseSessionSetupRequest(msg); err != nil {
		m.Note = joinNote(m.Note, "SESSION_SETUP request: "+err.Error())
	} else {
		buf = req.SecurityBuffer
		binding = req.Flags&wire.SessionFlagBinding != 0 && c.dialect >= wire.Dialect300 && c.dialect != wire.DialectWildcard
		signRequired = uint16(req.SecurityMode)&wire.SigningRequired != 0
	}
	s := c.sessions[sid]
	if s != nil && s.state == sessEstablished {
		return 0, nil, false
	}
	var (
		base   smbcrypto.PreauthHash
		hashOK bool
	)
	switch {
	case sid == 0:
		s, base, hashOK = nil, c.connHash, c.connHashOK
	case s != nil && s.state == sessInProgress:
		base, hashOK = s.hash, s.hashOK
	case binding:
		s = c.newSession(sid)
		s.rep.Binding = true
		base, hashOK = c.connHash, c.connHashOK
		if sh := c.tap.sessions[sid]; sh == nil {
			s.rep.KeyNote = "binding to a session the tap did not see established"
		} else {
			s.sessSigner = sh.signer
			s.rep.User, s.rep.Domain = sh.user, sh.domain
			if sh.dialect != c.dialect {
				m.Note = joinNote(m.Note, "binding across dialects")
			}
		}
	default:
		m.Note = joinNote(m.Note, "SESSION_SETUP for a session not set up on this connection")
		return ClassUnknownSession, s, true
	}
	next := base.Update(msg)
	p := &pendingSetup{sid: sid, hash: next, hashOK: hashOK, binding: binding, signRequired: signRequired}
	if s != nil {
		s.hash, s.hashOK = next, hashOK
		s.rep.SigningRequired = s.rep.SigningRequired || signRequired
	}
	switch a, err := parseAuthenticate(buf); {
	case err != nil:
		m.Note = joinNote(m.Note, err.Error())
	case a != nil:
		p.auth = a
		if s != nil {
			c.noteAuth(s, a)
		}
	}
	switch k, err := c.tap.parseAPReq(buf); {
	case err != nil:
		p.krbErr = err
	case k != nil:
		p.krb = k
	}
	if len(c.pending) >= maxPending {
		clear(c.pending)
		c.errorf("more than %d SESSION_SETUP requests without a response", maxPending)
	}
	c.pending[h.MessageID] = p
	return ClassSetup, s, true
}

// noteAuth records an AUTHENTICATE_MESSAGE and reconstructs the session
// key from it.
func (c *connState) noteAuth(s *session, a *ntlmAuth) {
	s.auth = a
	s.rep.User, s.rep.Domain = a.userName(), a.domainName()
	s.key, s.keyErr = nil, nil
	if !s.haveChallenge {
		s.keyErr = errNoChallenge
		return
	}
	s.key, s.keyErr = c.tap.sessionKey(a, s.challenge)
}

// setupResponse follows a SESSION_SETUP response: it creates the session
// on the first response, extends the 3.1.1 chain with MORE_PROCESSING
// responses, and on SUCCESS derives the keys from the chain value after the
// final request [MS-SMB2 3.3.5.5.3; SIGNING.md 9].
func (c *connState) setupResponse(m *Message, h *wire.Header, sid uint64, msg []byte) (Class, *session, bool) {
	s := c.sessions[sid]
	p := c.pending[h.MessageID]
	if p == nil {
		if s != nil && s.state == sessEstablished {
			return 0, nil, false // re-authentication
		}
		m.Note = joinNote(m.Note, "SESSION_SETUP response without a request seen")
		if s != nil && s.state == sessInProgress {
			return ClassSetup, s, true
		}
		return ClassUnknownSession, s, true
	}
	delete(c.pending, h.MessageID)
	if p.sid != 0 && p.sid != sid {
		m.Note = joinNote(m.Note, fmt.Sprintf("response names session 0x%x, request 0x%x", sid, p.sid))
	}
	var (
		buf   []byte
		flags uint16
	)
	if r, err := wire.ParseSessionSetupResponse(msg); err != nil {
		m.Note = joinNote(m.Note, "SESSION_SETUP response: "+err.Error())
	} else {
		buf, flags = r.SecurityBuffer, r.SessionFlags
	}
	st := ntstatus.Status(h.Status)
	if p.sid == 0 || s == nil || s.state != sessInProgress {
		if st != ntstatus.MoreProcessingRequired && st != ntstatus.Success && sid == 0 {
			// A failed first round: keep a record, but not under id 0.
			s = c.newSession(0)
		} else {
			s = c.newSession(sid)
		}
		s.rep.Binding = p.binding
		s.rep.SigningRequired = p.signRequired
		if p.binding {
			if sh := c.tap.sessions[sid]; sh != nil {
				s.sessSigner = sh.signer
			}
		}
		if p.auth != nil {
			s.auth = p.auth
			s.rep.User, s.rep.Domain = p.auth.userName(), p.auth.domainName()
			s.keyErr = errNoChallenge
		}
	}
	if p.krb != nil || p.krbErr != nil {
		c.noteKerberos(s, p, buf)
	}
	switch st {
	case ntstatus.MoreProcessingRequired:
		s.hash, s.hashOK = p.hash.Update(msg), p.hashOK
		if chal, ok := serverChallenge(buf); ok {
			s.challenge, s.haveChallenge = chal, true
		}
		return ClassSetup, s, true
	case ntstatus.Success:
		c.establish(s, p, flags)
		return ClassSetupFinal, s, true
	default:
		s.state = sessFailed
		s.rep.Status = st
		if c.sessions[s.id] == s {
			delete(c.sessions, s.id)
		}
		return ClassSetup, s, true
	}
}

// establish completes a session (or channel binding) and installs its
// signer when the key can be reconstructed.
func (c *connState) establish(s *session, p *pendingSetup, flags uint16) {
	s.state = sessEstablished
	s.rep.Established, s.rep.Status = true, ntstatus.Success
	s.rep.Guest = flags&wire.SessionIsGuest != 0
	s.rep.Anonymous = flags&wire.SessionIsNull != 0 || (s.auth != nil && s.auth.anonymous())
	s.rep.EncryptData = flags&wire.SessionEncryptData != 0
	note := ""
	switch {
	case s.rep.Guest:
		note = "guest session: no session key"
	case s.rep.Anonymous:
		note = "anonymous session: no session key"
	case s.auth == nil && s.krb == nil && s.keyErr == nil:
		note = "no NTLM AUTHENTICATE seen (Kerberos or another mechanism): key not reconstructed"
	case s.keyErr != nil:
		note = s.keyErr.Error()
	case s.key == nil:
		note = "no session key"
	case !c.algOK:
		note = "signing algorithm unknown: " + c.algNote
	case c.dialect == wire.Dialect311 && !p.hashOK:
		note = "preauth integrity hash unknown (NEGOTIATE not seen)"
	}
	if note != "" {
		if s.rep.KeyNote != note {
			s.rep.KeyNote = joinNote(s.rep.KeyNote, note)
		}
		return
	}
	keys := smbcrypto.DeriveKeys(c.dialect, s.key, p.hash[:])
	signer, err := smbcrypto.NewSigner(c.alg, keys.Signing[:])
	if err != nil {
		s.rep.KeyNote = "signer: " + err.Error()
		return
	}
	s.signer = signer
	s.rep.KeyKnown, s.rep.KeyNote = true, ""
	c.installCiphers(s, p.hash[:])
	if !s.rep.Binding {
		s.sessSigner = signer
		if len(c.tap.sessions) >= maxSessions {
			clear(c.tap.sessions)
		}
		c.tap.sessions[s.id] = &sharedSession{dialect: c.dialect, signer: signer, aead: s.aead, user: s.rep.User, domain: s.rep.Domain}
	}
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
