package wiretap

import (
	"crypto/rand"
	"encoding/binary"
	"testing"

	"github.com/signetsmb/signet/auth"
	"github.com/signetsmb/signet/auth/ntlm"
	"github.com/signetsmb/signet/auth/spnego"
	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/smbcrypto"
	"github.com/signetsmb/signet/internal/wire"
)

// This file holds a two-sided SMB2 simulator used by the state-machine
// tests: it plays client and server of one connection with the repo's own
// NTLM/SPNEGO mechanisms and signers, keeps its own preauth chain, and
// passes every frame through the tap exactly as the proxy would
// (Tap.handleFrame), without sockets.

const (
	simUser     = "Alice"
	simDomain   = "SIMDOM"
	simPassword = "Wonder-land#42"
)

// sim is one simulated connection through a tap.
type sim struct {
	t        testing.TB
	tap      *Tap
	cs       *connState
	dialect  uint16
	alg      smbcrypto.Algorithm
	connHash smbcrypto.PreauthHash
	negHint  []byte
	mid      uint64
	frames   [2]int
	// script is every frame sent, in order, for replay over TCP.
	script []scriptFrame
}

// scriptFrame is one frame of a recorded exchange.
type scriptFrame struct {
	dir   Direction
	frame []byte
}

func newSim(t testing.TB, tap *Tap) *sim {
	return &sim{t: t, tap: tap, cs: tap.addConn("sim")}
}

// newTestTap returns a tap without a listener for the given password.
func newTestTap(t testing.TB, password string) *Tap {
	tap := newTap(Config{Target: "unused", Password: password})
	t.Cleanup(tap.Close)
	return tap
}

// part is one compound element and the signer to sign it with (nil: sent
// as built).
type part struct {
	msg    []byte
	signer smbcrypto.Signer
}

// compoundFrame pads and chains the elements, signs each over exactly its
// bytes (padding included) and adds the transport header.
func compoundFrame(parts ...part) []byte {
	var payload []byte
	offs := make([]int, len(parts))
	for i, p := range parts {
		m := append([]byte(nil), p.msg...)
		if i < len(parts)-1 {
			for len(m)%8 != 0 {
				m = append(m, 0)
			}
			wire.SetNextCommand(m, uint32(len(m)))
		}
		offs[i] = len(payload)
		payload = append(payload, m...)
	}
	for i, p := range parts {
		end := len(payload)
		if i+1 < len(parts) {
			end = offs[i+1]
		}
		if p.signer != nil {
			p.signer.Sign(payload[offs[i]:end])
		}
	}
	return tcpFrame(payload)
}

// tcpFrame adds the direct-TCP header.
func tcpFrame(payload []byte) []byte {
	n := len(payload)
	return append([]byte{0, byte(n >> 16), byte(n >> 8), byte(n)}, payload...)
}

// sendFrame passes a frame through the tap and returns what it recorded.
func (s *sim) sendFrame(dir Direction, frame []byte) []Message {
	s.t.Helper()
	before := len(s.tap.Messages())
	s.script = append(s.script, scriptFrame{dir, append([]byte(nil), frame...)})
	s.frames[dir]++
	s.tap.handleFrame(s.cs, dir, s.frames[dir], frame, false)
	return s.tap.Messages()[before:]
}

// send builds, signs and sends one frame; it returns the recorded messages
// and the payload as sent (for the peers' preauth chain).
func (s *sim) send(dir Direction, parts ...part) ([]Message, []byte) {
	s.t.Helper()
	f := compoundFrame(parts...)
	return s.sendFrame(dir, f), f[4:]
}

// header builds an SMB2 header.
func header(cmd wire.Command, mid, sid uint64, resp bool, status ntstatus.Status) []byte {
	h := wire.Header{Command: cmd, Credits: 1, MessageID: mid, SessionID: sid, Status: uint32(status), TreeID: 1}
	if resp {
		h.Flags |= wire.FlagServerToRedir
	}
	return wire.AppendHeader(nil, &h)
}

// echoBody returns an ECHO request/response body [MS-SMB2 2.2.28].
func echoBody() []byte { return []byte{4, 0, 0, 0} }

func (s *sim) nextMID() uint64 {
	m := s.mid
	s.mid++
	return m
}

// negOpts selects what the simulated server answers to NEGOTIATE.
type negOpts struct {
	dialect       uint16
	serverSecMode uint16
	clientSecMode uint16
	// signingOffer is the client's 3.1.1 SIGNING_CAPABILITIES list (nil: no
	// context); signingChoice the server's answer (-1: no context).
	signingOffer  []uint16
	signingChoice int
}

func idList(ids ...uint16) []byte {
	b := binary.LittleEndian.AppendUint16(nil, uint16(len(ids)))
	for _, id := range ids {
		b = binary.LittleEndian.AppendUint16(b, id)
	}
	return b
}

func preauthCtx() wire.NegContext {
	d := binary.LittleEndian.AppendUint16(nil, 1)   // HashAlgorithmCount
	d = binary.LittleEndian.AppendUint16(d, 32)     // SaltLength
	d = binary.LittleEndian.AppendUint16(d, 0x0001) // SHA-512
	salt := make([]byte, 32)
	rand.Read(salt)
	return wire.NegContext{Type: wire.CtxPreauthIntegrity, Data: append(d, salt...)}
}

// negotiateRequest builds an SMB2 NEGOTIATE request [MS-SMB2 2.2.3].
func negotiateRequest(mid uint64, secMode uint16, dialects []uint16, ctxs []wire.NegContext) []byte {
	m := header(wire.CmdNegotiate, mid, 0, false, 0)
	body := make([]byte, 36)
	binary.LittleEndian.PutUint16(body[0:], 36)
	binary.LittleEndian.PutUint16(body[2:], uint16(len(dialects)))
	binary.LittleEndian.PutUint16(body[4:], secMode)
	binary.LittleEndian.PutUint32(body[8:], wire.CapDFS|wire.CapLargeMTU)
	rand.Read(body[12:28])
	m = append(m, body...)
	for _, d := range dialects {
		m = binary.LittleEndian.AppendUint16(m, d)
	}
	if len(ctxs) > 0 {
		for len(m)%8 != 0 {
			m = append(m, 0)
		}
		binary.LittleEndian.PutUint32(m[64+28:], uint32(len(m)))
		binary.LittleEndian.PutUint16(m[64+32:], uint16(len(ctxs)))
		m = wire.AppendNegContexts(m, ctxs)
	}
	return m
}

// negotiate runs the NEGOTIATE exchange.
func (s *sim) negotiate(o negOpts) {
	s.t.Helper()
	var reqCtx []wire.NegContext
	if o.dialect == wire.Dialect311 {
		reqCtx = append(reqCtx, preauthCtx(), wire.NegContext{Type: wire.CtxEncryption, Data: idList(2, 1)})
		if o.signingOffer != nil {
			reqCtx = append(reqCtx, wire.NegContext{Type: wire.CtxSigning, Data: idList(o.signingOffer...)})
		}
	}
	_, req := s.send(ClientToServer, part{msg: negotiateRequest(s.nextMID(), o.clientSecMode,
		[]uint16{wire.Dialect202, wire.Dialect210, wire.Dialect300, wire.Dialect302, wire.Dialect311}, reqCtx)})
	s.negHint = spnego.NegTokenInit2()
	r := &wire.NegotiateResponse{
		SecurityMode: o.serverSecMode | wire.SigningEnabled, Dialect: o.dialect,
		Capabilities: wire.CapDFS | wire.CapLargeMTU, MaxTransactSize: 1 << 20,
		MaxReadSize: 1 << 20, MaxWriteSize: 1 << 20, SecurityBuffer: s.negHint,
	}
	if o.dialect == wire.Dialect311 {
		r.Contexts = append(r.Contexts, preauthCtx(), wire.NegContext{Type: wire.CtxEncryption, Data: idList(2)})
		if o.signingChoice >= 0 {
			r.Contexts = append(r.Contexts, wire.NegContext{Type: wire.CtxSigning, Data: idList(uint16(o.signingChoice))})
		}
	}
	_, resp := s.send(ServerToClient, part{msg: wire.AppendNegotiateResponse(header(wire.CmdNegotiate, req0MID(req), 0, true, 0), r)})
	s.dialect, s.alg = o.dialect, o.algorithm()
	s.connHash = smbcrypto.PreauthHash{}.Update(req).Update(resp)
}

func req0MID(msg []byte) uint64 { return binary.LittleEndian.Uint64(msg[24:]) }

// algorithm returns the signing algorithm the simulated peers use.
func (o negOpts) algorithm() smbcrypto.Algorithm {
	switch {
	case o.dialect == wire.Dialect202 || o.dialect == wire.Dialect210:
		return smbcrypto.HMACSHA256
	case o.dialect == wire.Dialect311 && o.signingChoice >= 0:
		return smbcrypto.Algorithm(o.signingChoice)
	}
	return smbcrypto.AESCMAC
}

// simSession is a session as both simulated peers see it.
type simSession struct {
	id                     uint64
	status                 ntstatus.Status
	client, server         smbcrypto.Signer // channel signers of this connection
	sessClient, sessServer smbcrypto.Signer // Session.SigningKey signers
}

// setupOpts drives one SESSION_SETUP exchange.
type setupOpts struct {
	sid             uint64 // the id the server assigns
	user, password  string // client credentials (defaults: simUser, simPassword)
	domain          string
	anonymous       bool
	serverPassword  string // server's password for the user; default: password
	guest           bool   // server maps the logon to guest
	binding, reauth *simSession
	unsignedFinal   bool
	clientSecMode   uint8
	nonNTLM         bool // use opaque (Kerberos-like) tokens
	noDomain        bool // send and use an empty domain
	mutateReq2      func([]byte) []byte
}

// setup runs a complete SESSION_SETUP exchange (NTLM in SPNEGO, two round
// trips) and returns the peers' view of the session.
func (s *sim) setup(o setupOpts) *simSession {
	s.t.Helper()
	ss, steps := s.setupSteps(o)
	for _, step := range steps {
		step()
	}
	return ss
}

// setupSteps prepares a SESSION_SETUP exchange as four steps, each sending
// one frame (request 1, MORE_PROCESSING response, request 2, final
// response), so that tests can interleave several exchanges. The returned
// session is complete after the last step.
func (s *sim) setupSteps(o setupOpts) (*simSession, []func()) {
	if o.user == "" && !o.anonymous {
		o.user = simUser
	}
	if o.password == "" && !o.anonymous {
		o.password = simPassword
	}
	if o.domain == "" && !o.anonymous && !o.noDomain {
		o.domain = simDomain
	}
	if o.serverPassword == "" {
		o.serverPassword = o.password
	}
	cl := spnego.NewClient(ntlm.NewClient(&ntlm.ClientConfig{
		User: o.user, Password: o.password, Domain: o.domain, Workstation: "SIMWS", TargetSPN: "cifs/srv",
	}))
	sv := spnego.NewServer(ntlm.NewServer(&ntlm.ServerConfig{
		NbComputerName: "SRV", NbDomainName: simDomain, AllowAnonymous: true,
		Lookup: func(user, _ string) (auth.Account, bool) {
			return auth.Account{ID: auth.FoldName(user), NTHash: ntlm.NTHash(o.serverPassword)},
				auth.FoldName(user) == auth.FoldName(o.user)
		},
	}))
	ss := &simSession{id: o.sid}
	var (
		reqSigner, respSigner smbcrypto.Signer
		flags                 uint8
		reqSID                uint64
		hash                  = s.connHash
		mid1, mid2            uint64
		tok, out              []byte
		authErr               error
	)
	switch {
	case o.binding != nil:
		reqSigner, respSigner, flags, reqSID = o.binding.sessClient, o.binding.sessServer, wire.SessionFlagBinding, o.binding.id
		ss.id, ss.sessClient, ss.sessServer = o.binding.id, o.binding.sessClient, o.binding.sessServer
	case o.reauth != nil:
		reqSigner, respSigner, reqSID = o.reauth.client, o.reauth.server, o.reauth.id
		ss = o.reauth
	}
	fatal := func(err error) {
		if err != nil {
			s.t.Fatal(err)
		}
	}
	setupReq := func(mid, sid uint64, tok []byte) []byte {
		return wire.AppendSessionSetupRequest(header(wire.CmdSessionSetup, mid, sid, false, 0),
			&wire.SessionSetupRequest{Flags: flags, SecurityMode: o.clientSecMode | 1, SecurityBuffer: tok})
	}
	setupResp := func(mid uint64, st ntstatus.Status, sflags uint16, tok []byte) []byte {
		return wire.AppendSessionSetupResponse(header(wire.CmdSessionSetup, mid, ss.id, true, st),
			&wire.SessionSetupResponse{SessionFlags: sflags, SecurityBuffer: tok})
	}
	sendReq := func(msg []byte) {
		_, sent := s.send(ClientToServer, part{msg, reqSigner})
		hash = hash.Update(sent)
	}
	step1 := func() {
		var err error
		tok, _, err = cl.Step(s.negHint)
		fatal(err)
		if o.nonNTLM {
			tok = []byte("\x60\x10opaque-kerberos")
		}
		mid1 = s.nextMID()
		sendReq(setupReq(mid1, reqSID, tok))
	}
	step2 := func() {
		if o.nonNTLM {
			out = []byte("\xa1\x10opaque-challenge")
		} else {
			var err error
			out, _, err = sv.Accept(tok)
			fatal(err)
		}
		_, sent := s.send(ServerToClient, part{setupResp(mid1, ntstatus.MoreProcessingRequired, 0, out), respSigner})
		hash = hash.Update(sent)
	}
	step3 := func() {
		if o.nonNTLM {
			tok = []byte("\xa1\x10opaque-authenticator")
		} else {
			var err error
			tok, _, err = cl.Step(out)
			fatal(err)
		}
		mid2 = s.nextMID()
		req := setupReq(mid2, ss.id, tok)
		if o.mutateReq2 != nil {
			req = o.mutateReq2(req)
		}
		sendReq(req)
	}
	step4 := func() {
		if o.nonNTLM {
			out = []byte("\xa1\x05done!")
		} else {
			out, _, authErr = sv.Accept(tok)
		}
		if authErr != nil {
			ss.status = ntstatus.LogonFailure
			s.send(ServerToClient, part{msg: setupResp(mid2, ntstatus.LogonFailure, 0, sv.RejectToken())})
			return
		}
		var sflags uint16
		switch {
		case o.guest:
			sflags = wire.SessionIsGuest
		case o.anonymous:
			sflags = wire.SessionIsNull
		}
		final := part{msg: setupResp(mid2, ntstatus.Success, sflags, out)}
		if sflags == 0 && !o.nonNTLM && o.reauth == nil {
			ckeys := smbcrypto.DeriveKeys(s.dialect, cl.SessionKey(), hash[:])
			skeys := smbcrypto.DeriveKeys(s.dialect, sv.SessionKey(), hash[:])
			ss.client = mustSigner(s.t, s.alg, ckeys.Signing[:])
			ss.server = mustSigner(s.t, s.alg, skeys.Signing[:])
			if o.binding == nil {
				ss.sessClient, ss.sessServer = ss.client, ss.server
			}
		}
		if !o.unsignedFinal {
			final.signer = ss.server
		}
		s.send(ServerToClient, final)
		if len(out) > 0 && !o.nonNTLM {
			if _, _, err := cl.Step(out); err != nil {
				s.t.Fatalf("client rejected the final token: %v", err)
			}
		}
		ss.status = ntstatus.Success
	}
	return ss, []func(){step1, step2, step3, step4}
}

func mustSigner(t testing.TB, alg smbcrypto.Algorithm, key []byte) smbcrypto.Signer {
	t.Helper()
	sg, err := smbcrypto.NewSigner(alg, key)
	if err != nil {
		t.Fatal(err)
	}
	return sg
}

// roundTrip sends a request and its response on a session, signing each
// as asked, and returns the two recorded messages.
func (s *sim) roundTrip(ss *simSession, cmd wire.Command, signReq, signResp bool) (Message, Message) {
	s.t.Helper()
	mid := s.nextMID()
	rq := part{msg: append(header(cmd, mid, ss.id, false, 0), echoBody()...)}
	rs := part{msg: append(header(cmd, mid, ss.id, true, 0), echoBody()...)}
	if signReq {
		rq.signer = ss.client
	}
	if signResp {
		rs.signer = ss.server
	}
	a, _ := s.send(ClientToServer, rq)
	b, _ := s.send(ServerToClient, rs)
	if len(a) != 1 || len(b) != 1 {
		s.t.Fatalf("recorded %d and %d messages, want 1 and 1", len(a), len(b))
	}
	return a[0], b[0]
}

// sessionReport returns the tap's report of session sid on the sim's
// connection.
func (s *sim) sessionReport(sid uint64) SessionReport {
	s.t.Helper()
	rep := s.tap.Report()
	for _, c := range rep.Conns {
		if c.Conn != s.cs.id {
			continue
		}
		for i := len(c.Sessions) - 1; i >= 0; i-- {
			if c.Sessions[i].SessionID == sid {
				return c.Sessions[i]
			}
		}
	}
	s.t.Fatalf("no session 0x%x in report:\n%s", sid, rep)
	return SessionReport{}
}

func (s *sim) connReport() ConnReport {
	s.t.Helper()
	for _, c := range s.tap.Report().Conns {
		if c.Conn == s.cs.id {
			return c
		}
	}
	s.t.Fatal("connection not in report")
	return ConnReport{}
}
