package client

import (
	"encoding/binary"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signetsmb/signet/auth"
	"github.com/signetsmb/signet/auth/ntlm"
	"github.com/signetsmb/signet/auth/spnego"
	"github.com/signetsmb/signet/internal/dcerpc"
	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/smbcrypto"
	"github.com/signetsmb/signet/internal/wire"
)

// An in-process SMB2 server, just complete enough to drive the client
// through every path worth testing, with hooks to misbehave. It signs and
// verifies with internal/smbcrypto and authenticates with the real
// SPNEGO/NTLM acceptor.

const (
	fakeUser     = "alice"
	fakePassword = "Wonder-land#42"
)

var fakeServerGUID = [16]byte{0x5e, 0x16, 0x4e, 0x7, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}

type fakeOptions struct {
	maxDialect     uint16   // highest dialect the server speaks; 0 = 3.1.1
	requireSigning bool     // server policy
	signingPrefs   []uint16 // server preference; nil = GMAC, CMAC, HMAC
	noSigningCtx   bool     // never answer with a SIGNING_CAPABILITIES context
	noLargeMTU     bool
	maxIO          uint32 // MaxRead/Write/TransactSize; 0 = 8 MiB
	guest          bool   // answer the final SESSION_SETUP with IS_GUEST
	anonymous      bool   // accept anonymous logons (answered without flags, as Samba)
	unsignedFinal  bool   // do not sign the final SESSION_SETUP response
	validateLie    bool   // VALIDATE_NEGOTIATE_INFO reports another dialect
	validateNoSign bool   // do not sign the VALIDATE_NEGOTIATE_INFO response
	credits        uint16 // credits granted per response; 0 = what was asked
	pending        map[wire.Command]bool
	ioDelay        time.Duration // delay of READ and WRITE handling
	multichannel   bool          // offer CAP_MULTI_CHANNEL and accept bindings
	bindWrongKey   bool          // sign the final binding response with the session key
	bindInterimBad bool          // sign the interim binding response with the channel's own NTLM key, not the session's
	bindGuest      bool          // answer the binding with IS_GUEST
	interfaces     []net.IP      // FSCTL_QUERY_NETWORK_INTERFACE_INFO answer; nil: not supported
	openSeq        uint16        // ChannelSequence a new open starts with
	crossSign      bool          // sign a bound channel's responses (but SESSION_SETUP) with the first channel's key
	// tamper rewrites a response after it was signed; nil leaves it.
	tamper func(cmd wire.Command, msg []byte) []byte
}

type fakeNode struct {
	name  string // wire path as created
	dir   bool
	data  []byte
	mtime time.Time
}

// fakeStats counts what the server saw.
type fakeStats struct {
	unsignedAfterLogon atomic.Int64 // requests on an established session without signature
	badSignatures      atomic.Int64
	signedRequests     atomic.Int64
	maxCharge          atomic.Int64 // largest CreditCharge seen
	inFlight           atomic.Int64
	maxInFlight        atomic.Int64
	cancels            atomic.Int64
	logoffs            atomic.Int64
	staleWrites        atomic.Int64 // WRITEs refused for an old ChannelSequence
	offeredAlgs        atomic.Value // []uint16 of the last NEGOTIATE
}

type fakeServer struct {
	t     testing.TB
	opt   fakeOptions
	ln    net.Listener
	stats fakeStats

	mu       sync.Mutex
	files    map[string]*fakeNode // by lower-case wire path; "" is the root
	sessions map[uint64]*fakeConn // established sessions, by the connection of their logon
	conns    []*fakeConn          // in accept order
	wg       sync.WaitGroup
}

func newFakeServer(t testing.TB, opt fakeOptions) *fakeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if opt.maxDialect == 0 {
		opt.maxDialect = Dialect311
	}
	if opt.signingPrefs == nil {
		opt.signingPrefs = []uint16{SigningAESGMAC, SigningAESCMAC, SigningHMACSHA256}
	}
	if opt.maxIO == 0 {
		opt.maxIO = 8 << 20
	}
	s := &fakeServer{t: t, opt: opt, ln: ln, files: map[string]*fakeNode{"": {dir: true, mtime: time.Now()}}}
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

func (s *fakeServer) addr() string { return s.ln.Addr().String() }

func (s *fakeServer) accept() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		c := &fakeConn{srv: s, nc: nc, opens: map[uint64]*fakeOpen{}, trees: map[uint32]string{}}
		s.mu.Lock()
		s.conns = append(s.conns, c)
		s.mu.Unlock()
		s.wg.Add(1)
		go func() { defer s.wg.Done(); c.serve() }()
	}
}

// fakeConn is one client connection.
type fakeConn struct {
	srv *fakeServer
	nc  net.Conn
	wmu sync.Mutex
	hwg sync.WaitGroup // concurrent READ/WRITE handlers

	mu       sync.Mutex // guards everything below after logon
	dialect  uint16
	neg      *wire.NegotiateRequest
	caps     uint32
	secMode  uint16
	alg      smbcrypto.Algorithm
	preauth  smbcrypto.PreauthHash
	sess     *fakeSession
	trees    map[uint32]string
	opens    map[uint64]*fakeOpen
	nextID   uint64
	nextTree uint32

	// Multichannel: the channel's own signing key (the session's for the
	// logon connection), the logon connection whose trees and opens a
	// bound channel uses, and the binding in progress.
	signer smbcrypto.Signer
	owner  *fakeConn
	bind   *fakeBinding

	ioRequests atomic.Int64 // READ and WRITE requests received
	ioInFlight atomic.Int64 // READ and WRITE requests being handled
}

// fakeBinding is a SESSION_SETUP BINDING exchange in progress.
type fakeBinding struct {
	mech    *spnego.Server
	preauth smbcrypto.PreauthHash
}

// connByIndex returns the i-th accepted connection.
func (s *fakeServer) connByIndex(i int) *fakeConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i >= len(s.conns) {
		return nil
	}
	return s.conns[i]
}

// state returns the connection whose trees and opens serve c's requests.
func (c *fakeConn) state() *fakeConn {
	if c.owner != nil {
		return c.owner
	}
	return c
}

type fakeSession struct {
	id              uint64
	mech            *spnego.Server
	preauth         smbcrypto.PreauthHash
	signer          smbcrypto.Signer
	signingRequired bool
	established     bool
}

type fakeOpen struct {
	seq    uint16 // ChannelSequence; guarded by fakeServer.mu
	path   string
	listed bool
	pipe   *dcerpc.Pipe
	del    bool
}

func (c *fakeConn) serve() {
	defer c.nc.Close()
	defer c.hwg.Wait()
	for {
		var hdr [4]byte
		if _, err := io.ReadFull(c.nc, hdr[:]); err != nil {
			return
		}
		msg := make([]byte, binary.BigEndian.Uint32(hdr[:])&0xFFFFFF)
		if _, err := io.ReadFull(c.nc, msg); err != nil {
			return
		}
		h, err := wire.ParseHeader(msg)
		if err != nil {
			return
		}
		if int64(h.CreditCharge) > c.srv.stats.maxCharge.Load() {
			c.srv.stats.maxCharge.Store(int64(h.CreditCharge))
		}
		if h.Command == wire.CmdRead || h.Command == wire.CmdWrite {
			c.ioRequests.Add(1)
			c.ioInFlight.Add(1)
			c.hwg.Add(1)
			go func() { defer c.hwg.Done(); defer c.ioInFlight.Add(-1); c.handle(h, msg) }()
			continue
		}
		c.handle(h, msg)
	}
}

// handle verifies, dispatches and answers one request.
func (c *fakeConn) handle(h wire.Header, msg []byte) {
	if h.Command == wire.CmdCancel {
		c.srv.stats.cancels.Add(1)
		return
	}
	st := c.srv.stats.inFlight.Add(1)
	defer c.srv.stats.inFlight.Add(-1)
	for old := c.srv.stats.maxInFlight.Load(); st > old && !c.srv.stats.maxInFlight.CompareAndSwap(old, st); old = c.srv.stats.maxInFlight.Load() {
	}
	if c.srv.opt.pending[h.Command] {
		c.sendInterim(h)
	}
	if (h.Command == wire.CmdRead || h.Command == wire.CmdWrite) && c.srv.opt.ioDelay > 0 {
		time.Sleep(c.srv.opt.ioDelay)
	}
	resp := c.responseHeader(h)
	status, resp, sign := c.dispatch(h, msg, resp)
	c.finish(h, status, resp, sign)
}

// verify checks a request's signature against the session policy.
func (c *fakeConn) verify(h wire.Header, msg []byte) ntstatus.Status {
	c.mu.Lock()
	sess, signer := c.sess, c.signer
	c.mu.Unlock()
	if sess == nil || !sess.established || h.SessionID == 0 {
		return ntstatus.Success
	}
	if h.Flags&wire.FlagSigned == 0 {
		c.srv.stats.unsignedAfterLogon.Add(1)
		if sess.signingRequired {
			return ntstatus.AccessDenied
		}
		return ntstatus.Success
	}
	c.srv.stats.signedRequests.Add(1)
	if signer == nil || !signer.Verify(msg) {
		c.srv.stats.badSignatures.Add(1)
		return ntstatus.AccessDenied
	}
	return ntstatus.Success
}

func (c *fakeConn) responseHeader(h wire.Header) []byte {
	g := h.Credits
	if c.srv.opt.credits != 0 {
		g = c.srv.opt.credits
	}
	r := wire.Header{
		CreditCharge: h.CreditCharge, Command: h.Command, Credits: max(g, 1),
		Flags: wire.FlagServerToRedir, MessageID: h.MessageID, TreeID: h.TreeID, SessionID: h.SessionID,
	}
	if c.srv.opt.pending[h.Command] {
		r.Flags |= wire.FlagAsyncCommand
		r.AsyncID = h.MessageID + 1000
		r.Credits = 0
	}
	return wire.AppendHeader(nil, &r)
}

// sendInterim sends an unsigned STATUS_PENDING interim response that
// grants the credits.
func (c *fakeConn) sendInterim(h wire.Header) {
	r := wire.Header{Status: uint32(ntstatus.Pending), Command: h.Command, Credits: max(h.Credits, 1),
		Flags: wire.FlagServerToRedir | wire.FlagAsyncCommand, MessageID: h.MessageID,
		AsyncID: h.MessageID + 1000, SessionID: h.SessionID}
	c.write(wire.AppendErrorResponse(wire.AppendHeader(nil, &r), []byte{0x21}))
}

// finish sets the status, signs when due and writes the response.
func (c *fakeConn) finish(req wire.Header, status ntstatus.Status, resp []byte, sign bool) {
	binary.LittleEndian.PutUint32(resp[8:], uint32(status))
	if status != ntstatus.Success && status != ntstatus.MoreProcessingRequired && status != ntstatus.BufferOverflow &&
		len(resp) == wire.HeaderSize {
		resp = wire.AppendErrorResponse(resp, nil)
	}
	c.mu.Lock()
	sess, signer := c.sess, c.signer
	if c.srv.opt.crossSign && c.owner != nil && req.Command != wire.CmdSessionSetup {
		signer = c.owner.signer
	}
	c.mu.Unlock()
	if sign && sess != nil && signer != nil && req.SessionID != 0 {
		signer.Sign(resp)
	}
	if c.srv.opt.tamper != nil {
		resp = c.srv.opt.tamper(req.Command, resp)
	}
	c.write(resp)
}

func (c *fakeConn) write(msg []byte) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(len(msg)))
	c.nc.Write(append(hdr[:], msg...))
}

// dispatch runs a handler; sign reports whether the response must be
// signed (request signed, or the session requires signing).
func (c *fakeConn) dispatch(h wire.Header, msg, resp []byte) (ntstatus.Status, []byte, bool) {
	switch h.Command {
	case wire.CmdNegotiate:
		st, r := c.negotiate(msg, resp)
		return st, r, false
	case wire.CmdSessionSetup:
		return c.sessionSetup(h, msg, resp)
	}
	if c.sess == nil || !c.sess.established {
		return ntstatus.UserSessionDeleted, resp, false
	}
	if st := c.verify(h, msg); st != ntstatus.Success {
		return st, resp, false
	}
	sign := h.Flags&wire.FlagSigned != 0 || c.sess.signingRequired
	var st ntstatus.Status
	o := c.state()
	switch h.Command {
	case wire.CmdLogoff:
		c.srv.stats.logoffs.Add(1)
		st, resp = ntstatus.Success, wire.AppendSimple(resp)
	case wire.CmdTreeDisconnect, wire.CmdFlush, wire.CmdEcho:
		st, resp = ntstatus.Success, wire.AppendSimple(resp)
	case wire.CmdTreeConnect:
		st, resp = o.treeConnect(msg, resp)
	case wire.CmdIoctl:
		st, resp, sign = o.ioctl(h, msg, resp, sign)
	default:
		st, resp = o.fileOp(h, msg, resp)
	}
	return st, resp, sign
}

func (c *fakeConn) negotiate(msg, resp []byte) (ntstatus.Status, []byte) {
	r, err := wire.ParseNegotiateRequest(msg)
	if err != nil {
		return ntstatus.InvalidParameter, resp
	}
	for _, d := range slices.Backward(allDialects) {
		if d <= c.srv.opt.maxDialect && r.Offers(d) {
			c.dialect = d
			break
		}
	}
	if c.dialect == 0 {
		return ntstatus.NotSupported, resp
	}
	c.neg, c.secMode = r, wire.SigningEnabled
	if c.srv.opt.requireSigning {
		c.secMode |= wire.SigningRequired
	}
	if c.dialect >= Dialect210 && !c.srv.opt.noLargeMTU {
		c.caps = wire.CapLargeMTU
	}
	if c.dialect >= Dialect300 && c.srv.opt.multichannel && r.Capabilities&wire.CapMultiChannel != 0 {
		c.caps |= wire.CapMultiChannel
	}
	n := &wire.NegotiateResponse{
		SecurityMode: c.secMode, Dialect: c.dialect, ServerGUID: fakeServerGUID, Capabilities: c.caps,
		MaxTransactSize: c.srv.opt.maxIO, MaxReadSize: c.srv.opt.maxIO, MaxWriteSize: c.srv.opt.maxIO,
		SecurityBuffer: spnego.NegTokenInit2(),
	}
	c.alg = smbcrypto.HMACSHA256
	if c.dialect >= Dialect300 {
		c.alg = smbcrypto.AESCMAC
	}
	if c.dialect == Dialect311 {
		n.Contexts = c.negotiateContexts(r)
	}
	resp = wire.AppendNegotiateResponse(resp, n)
	if c.dialect == Dialect311 {
		c.preauth = smbcrypto.PreauthHash{}.Update(msg).Update(resp)
	}
	return ntstatus.Success, resp
}

func (c *fakeConn) negotiateContexts(r *wire.NegotiateRequest) []wire.NegContext {
	out := []wire.NegContext{preauthContext(make([]byte, 32))}
	for _, x := range r.Contexts {
		if x.Type != wire.CtxSigning {
			continue
		}
		offered, _ := wire.ParseIDList(x.Data, 0)
		c.srv.stats.offeredAlgs.Store(offered)
		for _, a := range c.srv.opt.signingPrefs {
			if slices.Contains(offered, a) && !c.srv.opt.noSigningCtx {
				c.alg = smbcrypto.Algorithm(a)
				out = append(out, signingContext([]uint16{a}))
				break
			}
		}
	}
	return out
}

func (c *fakeConn) sessionSetup(h wire.Header, msg, resp []byte) (ntstatus.Status, []byte, bool) {
	r, err := wire.ParseSessionSetupRequest(msg)
	if err != nil {
		return ntstatus.InvalidParameter, resp, false
	}
	if r.Flags&wire.SessionFlagBinding != 0 {
		return c.bindSetup(h, msg, r, resp)
	}
	if c.sess == nil {
		lookup := func(user, _ string) (auth.Account, bool) {
			return auth.Account{ID: auth.FoldName(user), NTHash: ntlm.NTHash(fakePassword)},
				auth.FoldName(user) == auth.FoldName(fakeUser)
		}
		c.sess = &fakeSession{id: 0x0000100000000019, preauth: c.preauth,
			mech: spnego.NewServer(ntlm.NewServer(&ntlm.ServerConfig{NbComputerName: "FAKE", Lookup: lookup,
				AllowAnonymous: c.srv.opt.anonymous}))}
	}
	sess := c.sess
	binary.LittleEndian.PutUint64(resp[40:], sess.id)
	if c.dialect == Dialect311 {
		sess.preauth = sess.preauth.Update(msg)
	}
	out, done, err := sess.mech.Accept(r.SecurityBuffer)
	if err != nil {
		return ntstatus.LogonFailure, resp, false
	}
	if !done {
		resp = wire.AppendSessionSetupResponse(resp, &wire.SessionSetupResponse{SecurityBuffer: out})
		binary.LittleEndian.PutUint32(resp[8:], uint32(ntstatus.MoreProcessingRequired))
		if c.dialect == Dialect311 {
			sess.preauth = sess.preauth.Update(resp)
		}
		return ntstatus.MoreProcessingRequired, resp, false
	}
	return c.establish(sess, r, out, resp)
}

// establish completes a logon [MS-SMB2 3.3.5.5.3].
func (c *fakeConn) establish(sess *fakeSession, r *wire.SessionSetupRequest, out, resp []byte) (ntstatus.Status, []byte, bool) {
	flags := uint16(0)
	c.mu.Lock()
	defer c.mu.Unlock()
	sess.established = true
	if c.srv.opt.guest || len(sess.mech.SessionKey()) == 0 {
		if c.srv.opt.guest {
			flags = wire.SessionIsGuest
		}
		resp = wire.AppendSessionSetupResponse(resp, &wire.SessionSetupResponse{SessionFlags: flags, SecurityBuffer: out})
		return ntstatus.Success, resp, false
	}
	sess.signingRequired = c.srv.opt.requireSigning || uint16(r.SecurityMode)&wire.SigningRequired != 0 ||
		c.neg.SecurityMode&wire.SigningRequired != 0
	keys := smbcrypto.DeriveKeys(c.dialect, sess.mech.SessionKey(), sess.preauth[:])
	signer, err := smbcrypto.NewSigner(c.alg, keys.Signing[:])
	if err != nil {
		c.srv.t.Errorf("fake server: NewSigner: %v", err)
		return ntstatus.InternalError, resp, false
	}
	sess.signer, c.signer = signer, signer
	c.srv.mu.Lock()
	if c.srv.sessions == nil {
		c.srv.sessions = map[uint64]*fakeConn{}
	}
	c.srv.sessions[sess.id] = c
	c.srv.mu.Unlock()
	resp = wire.AppendSessionSetupResponse(resp, &wire.SessionSetupResponse{SessionFlags: flags, SecurityBuffer: out})
	return ntstatus.Success, resp, !c.srv.opt.unsignedFinal
}

func (c *fakeConn) treeConnect(msg, resp []byte) (ntstatus.Status, []byte) {
	r, err := wire.ParseTreeConnectRequest(msg)
	if err != nil {
		return ntstatus.InvalidParameter, resp
	}
	share := r.Path[strings.LastIndexByte(r.Path, '\\')+1:]
	typ := wire.ShareTypeDisk
	switch {
	case strings.EqualFold(share, "IPC$"):
		typ = wire.ShareTypePipe
	case !strings.EqualFold(share, "share"):
		return ntstatus.BadNetworkName, resp
	}
	c.mu.Lock()
	c.nextTree++
	id := c.nextTree
	c.trees[id] = share
	c.mu.Unlock()
	binary.LittleEndian.PutUint32(resp[36:], id)
	return ntstatus.Success, wire.AppendTreeConnectResponse(resp, &wire.TreeConnectResponse{ShareType: typ, MaximalAccess: 0x1F01FF})
}

func (c *fakeConn) ioctl(h wire.Header, msg, resp []byte, sign bool) (ntstatus.Status, []byte, bool) {
	r, err := wire.ParseIoctlRequest(msg)
	if err != nil {
		return ntstatus.InvalidParameter, resp, sign
	}
	switch r.CtlCode {
	case wire.FsctlValidateNegotiateInfo:
		v := wire.ValidateNegotiateResponse{Capabilities: c.caps, GUID: fakeServerGUID, SecurityMode: c.secMode, Dialect: c.dialect}
		if c.srv.opt.validateLie {
			v.Dialect = Dialect202
		}
		return ntstatus.Success, wire.AppendIoctlResponse(resp, r.CtlCode, r.FileID, v.Append(nil)), sign && !c.srv.opt.validateNoSign
	case wire.FsctlQueryNetworkInterfaceInfo:
		if c.srv.opt.interfaces == nil {
			break
		}
		var out []byte
		for i, ip := range c.srv.opt.interfaces {
			e := make([]byte, netifEntrySize)
			if i < len(c.srv.opt.interfaces)-1 {
				binary.LittleEndian.PutUint32(e, netifEntrySize)
			}
			binary.LittleEndian.PutUint32(e[4:], uint32(i+1))
			binary.LittleEndian.PutUint64(e[16:], uint64(i+1)*1e9)
			if ip4 := ip.To4(); ip4 != nil {
				binary.LittleEndian.PutUint16(e[netifSockAddr:], afInet)
				copy(e[netifSockAddr+4:], ip4)
			} else {
				binary.LittleEndian.PutUint16(e[netifSockAddr:], afInet6)
				copy(e[netifSockAddr+8:], ip.To16())
			}
			out = append(out, e...)
		}
		return ntstatus.Success, wire.AppendIoctlResponse(resp, r.CtlCode, r.FileID, out), sign
	case wire.FsctlPipeTransceive:
		o := c.open(r.FileID)
		if o == nil || o.pipe == nil {
			return ntstatus.InvalidHandle, resp, sign
		}
		out, more, err := o.pipe.Transact(r.Input, int(r.MaxOutputResponse))
		if err != nil {
			return ntstatus.PipeDisconnected, resp, sign
		}
		st := ntstatus.Success
		if more {
			st = ntstatus.BufferOverflow
		}
		return st, wire.AppendIoctlResponse(resp, r.CtlCode, r.FileID, out), sign
	}
	return ntstatus.NotSupported, resp, sign
}

func (c *fakeConn) open(id wire.FileID) *fakeOpen {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.opens[id.Volatile]
}

// bindSetup runs a SESSION_SETUP with the BINDING flag [MS-SMB2
// 3.3.5.5.2]: the request must be signed with the session's key, the
// interim responses are signed with it, and the final one with the new
// channel key derived from the binding's session key and (3.1.1) the
// binding's preauth hash on this connection.
func (c *fakeConn) bindSetup(h wire.Header, msg []byte, r *wire.SessionSetupRequest, resp []byte) (ntstatus.Status, []byte, bool) {
	s := c.srv
	s.mu.Lock()
	owner := s.sessions[h.SessionID]
	s.mu.Unlock()
	switch {
	case owner == nil:
		return ntstatus.UserSessionDeleted, resp, false
	case !s.opt.multichannel || c.caps&wire.CapMultiChannel == 0:
		return ntstatus.RequestNotAccepted, resp, false
	case c.dialect != owner.dialect || c.alg != owner.alg:
		return ntstatus.InvalidParameter, resp, false
	case c.neg.ClientGUID != owner.neg.ClientGUID:
		return ntstatus.UserSessionDeleted, resp, false
	}
	sess := owner.sess
	if h.Flags&wire.FlagSigned == 0 || !sess.signer.Verify(msg) {
		s.stats.badSignatures.Add(1)
		return ntstatus.InvalidParameter, resp, false
	}
	if c.bind == nil {
		lookup := func(user, _ string) (auth.Account, bool) {
			return auth.Account{ID: auth.FoldName(user), NTHash: ntlm.NTHash(fakePassword)},
				auth.FoldName(user) == auth.FoldName(fakeUser)
		}
		c.bind = &fakeBinding{preauth: c.preauth,
			mech: spnego.NewServer(ntlm.NewServer(&ntlm.ServerConfig{NbComputerName: "FAKE", Lookup: lookup}))}
	}
	b := c.bind
	if c.dialect == Dialect311 {
		b.preauth = b.preauth.Update(msg)
	}
	binary.LittleEndian.PutUint64(resp[40:], sess.id)
	out, done, err := b.mech.Accept(r.SecurityBuffer)
	if err != nil {
		return ntstatus.LogonFailure, resp, false
	}
	if !done {
		resp = wire.AppendSessionSetupResponse(resp, &wire.SessionSetupResponse{SecurityBuffer: out})
		binary.LittleEndian.PutUint32(resp[8:], uint32(ntstatus.MoreProcessingRequired))
		if s.opt.bindInterimBad {
			wrong, _ := smbcrypto.NewSigner(c.alg, make([]byte, 16))
			wrong.Sign(resp)
		} else {
			sess.signer.Sign(resp)
		}
		if c.dialect == Dialect311 {
			b.preauth = b.preauth.Update(resp)
		}
		return ntstatus.MoreProcessingRequired, resp, false
	}
	keys := smbcrypto.DeriveKeys(c.dialect, b.mech.SessionKey(), b.preauth[:])
	signer, err := smbcrypto.NewSigner(c.alg, keys.Signing[:])
	if err != nil {
		s.t.Errorf("fake server: NewSigner: %v", err)
		return ntstatus.InternalError, resp, false
	}
	if s.opt.bindWrongKey {
		signer = sess.signer
	}
	c.mu.Lock()
	c.sess, c.signer, c.owner, c.bind = sess, signer, owner, nil
	c.mu.Unlock()
	flags := uint16(0)
	if s.opt.bindGuest {
		flags = wire.SessionIsGuest
	}
	return ntstatus.Success, wire.AppendSessionSetupResponse(resp, &wire.SessionSetupResponse{SessionFlags: flags, SecurityBuffer: out}), true
}
