package server

// The server tester drives a real *Server with raw SMB2 frames over an
// in-memory connection, as x/net/http2's serverTester drives its server:
// no sockets, no external tools, every byte under the test's control.
//
// Start one with newTester, which starts a Server with a memfs share named
// "share", user "alice" with password "pw" and signing required (see
// testerConfig for the knobs), and connects to it. The usual sequence is
//
//	tc := newTester(t, nil)
//	tc.negotiate(wire.Dialect311)                 // any dialects; 3.1.1 contexts and preauth hash included
//	tc.mustSessionSetup("alice", "pw")            // SPNEGO/NTLMv2, derives the signing key
//	tc.mustTreeConnect("share")
//	id := tc.mustCreate("a.txt")                  // FILE_OPEN_IF, read/write
//	n, st := tc.write(id, 0, []byte("hello"))
//	data, st := tc.read(id, 0, 5)
//
// or tc := newSessionTester(t, nil, wire.Dialect311) for all of that up to
// the tree connect. Every helper returns the status (and parsed body) and
// leaves judging it to the test. Requests after SESSION_SETUP are signed
// with the session's key (tc.signAll) and signed responses are verified;
// a response that fails verification, or an unsigned one on a session that
// requires signing, fails the test.
//
// To craft anything, build a request with tc.newReq(cmd) (header preset
// with the tester's session and tree, the body appended with internal/wire's
// builders), adjust it (req.hdr fields, keepID, noSign, badSig, related,
// setStructSize, truncate) and send it alone or as a compound:
//
//	a := tc.createReq(&wire.CreateRequest{...})
//	b := tc.readReq(wire.AllOnes, 0, 10).related()
//	tc.send(a, b)                // one frame: padding, NextCommand, signatures
//	ra, rb := tc.wait(a), tc.wait(b)
//
// tc.frame builds the bytes without sending (to corrupt them further) and
// tc.sendFrame sends any bytes with a transport header. tc.recv returns the
// next response element in arrival order (interim STATUS_PENDING
// responses, unsolicited OPLOCK_BREAKs included); tc.wait(req) the final
// response of one request, keeping everything else for later recv calls;
// tc.recvBreak the next oplock break notification. Receiving times out with
// t.Fatal. tc.dial() opens another connection to the same server. The
// server's log is kept (tc.logs()) and a logged panic fails the test.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signetsmb/signet/auth"
	"github.com/signetsmb/signet/auth/ntlm"
	"github.com/signetsmb/signet/auth/spnego"
	"github.com/signetsmb/signet/auth/userdb"
	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/smbcrypto"
	"github.com/signetsmb/signet/internal/wire"
	"github.com/signetsmb/signet/vfs"
	"github.com/signetsmb/signet/vfs/memfs"
)

// testerConfig are the knobs of newTester; the zero value (or nil) is a
// signing-required server offering 2.0.2 through 3.1.1.
type testerConfig struct {
	NoSigning              bool   // Settings.RequireSigning false
	MinDialect, MaxDialect uint16 // zero: 2.0.2 and 3.1.1
	FS                     vfs.FS // the file system of "share"; nil: a fresh memfs
	// Settings and Options, when set, edit the defaults before the
	// server starts (Limits, more shares, MaxInFlight, ...).
	Settings func(*Settings)
	Options  func(*Options)
	// Seed, when non-zero, makes the server's and the tester's randomness
	// (GUIDs, challenges, salts, NTLM client nonces) and clock
	// deterministic, for fuzzing.
	Seed uint64
	// LogLevel is the least level logged; zero is Debug.
	LogLevel slog.Level
	// Timeout bounds every wait for a frame; zero is 10 s.
	Timeout time.Duration
}

// testUsers is the user database: alice/pw. Keys are account names.
type testUsers map[string][16]byte

func (u testUsers) Lookup(name string) (auth.Account, bool) {
	id := auth.FoldName(name)
	for n, h := range u {
		if auth.FoldName(n) == id {
			return auth.Account{ID: id, Name: n, NTHash: h}, true
		}
	}
	return auth.Account{}, false
}

// testServer is one Server under test, shared by its connections.
type testServer struct {
	t      testing.TB
	srv    *Server
	ln     *pipeListener
	log    *logBuffer
	fs     vfs.FS
	cfg    testerConfig
	rand   io.Reader // deterministic when cfg.Seed != 0, else nil
	served sync.WaitGroup
}

// tester is one client connection to a testServer. It is used from the
// test goroutine only; its reader goroutine hands frames over frames.
type tester struct {
	t  testing.TB
	ts *testServer
	nc net.Conn

	// Owned by the reader goroutine until frames is closed; readErr is
	// read only after that.
	frames  chan []byte
	readErr error
	done    chan struct{}
	wg      sync.WaitGroup
	// paused, while non-nil, holds the reader before its next frame (until
	// closed by resume or the connection's end), so the test can play a
	// client that stops reading.
	pauseMu sync.Mutex
	paused  chan struct{}

	// Protocol state, owned by the test goroutine.
	timeout    time.Duration
	dialect    uint16
	neg        *wire.NegotiateResponse
	signingAlg smbcrypto.Algorithm
	preauth    smbcrypto.PreauthHash // connection preauth hash (3.1.1)
	nextID     uint64                // next MessageId
	granted    uint64                // credits granted so far
	creditAsk  uint16                // CreditRequest of new requests
	sessionID  uint64                // default SessionId of new requests
	treeID     uint32                // default TreeId of new requests
	signers    map[uint64]smbcrypto.Signer
	mustSign   map[uint64]bool // sessions whose responses must be signed
	signAll    bool            // sign requests of sessions with a key
	// prevSessionID is sent as PreviousSessionId by sessionSetup.
	prevSessionID uint64
	// extraCaps and clientGUID, when set, change the NEGOTIATE request
	// (multichannel tests).
	extraCaps uint32
	// noDirLeaseCap leaves SMB2_GLOBAL_CAP_DIRECTORY_LEASING out of the
	// NEGOTIATE request.
	noDirLeaseCap bool
	clientGUID    *[16]byte
	// bindingSID is the session whose binding is in progress: its final
	// SESSION_SETUP response is verified by bind, with the channel key.
	bindingSID uint64
	// sessKeys holds Session.SigningKey of sessions this tester bound
	// to (its signers hold the channel keys).
	sessKeys map[uint64]smbcrypto.Signer
	queue    []*resp // received, not yet consumed
	asyncIDs map[uint64]uint64
	// enc is the tester's encryption state (encrypt_test.go).
	enc testerEnc
}

// newTester starts a server with cfg (nil: defaults) and connects to it.
func newTester(t testing.TB, cfg *testerConfig) *tester {
	t.Helper()
	return startTestServer(t, cfg).dial()
}

// newSessionTester is newTester, NEGOTIATE of dialect, alice's session and
// a tree connect to "share".
func newSessionTester(t testing.TB, cfg *testerConfig, dialect uint16) *tester {
	t.Helper()
	tc := newTester(t, cfg)
	tc.negotiate(dialect)
	tc.mustSessionSetup("alice", "pw")
	tc.mustTreeConnect("share")
	return tc
}

// startTestServer starts a Server on an in-memory listener; it is shut
// down when the test ends, and a panic in its log fails the test.
func startTestServer(t testing.TB, cfg *testerConfig) *testServer {
	t.Helper()
	ts := &testServer{t: t, ln: newPipeListener(), log: &logBuffer{}}
	if cfg != nil {
		ts.cfg = *cfg
	}
	ts.fs = ts.cfg.FS
	if ts.fs == nil {
		ts.fs = memfs.New(memfs.Options{})
	}
	st := &Settings{RequireSigning: !ts.cfg.NoSigning, MinDialect: ts.cfg.MinDialect, MaxDialect: ts.cfg.MaxDialect,
		ServerName: "TEST", Domain: "WORKGROUP", Shares: []*Share{{Name: "share", FS: ts.fs}}}
	if st.MinDialect == 0 {
		st.MinDialect = wire.Dialect202
	}
	if st.MaxDialect == 0 {
		st.MaxDialect = wire.Dialect311
	}
	if ts.cfg.Settings != nil {
		ts.cfg.Settings(st)
	}
	level := ts.cfg.LogLevel
	if level == 0 {
		level = slog.LevelDebug
	}
	opts := Options{
		Settings: func() *Settings { return st },
		Users:    testUsers{"alice": userdb.NTHash("pw")},
		Logger:   slog.New(slog.NewTextHandler(ts.log, &slog.HandlerOptions{Level: level})),
	}
	if ts.cfg.Seed != 0 {
		ts.rand = &lockedRand{r: mrand.NewChaCha8(seed32(ts.cfg.Seed))}
		opts.Rand = ts.rand
		start := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
		opts.Now = func() time.Time { return start }
	}
	if ts.cfg.Options != nil {
		ts.cfg.Options(&opts)
	}
	srv, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ts.srv = srv
	ts.served.Add(1)
	go func() {
		defer ts.served.Done()
		srv.Serve(ts.ln)
	}()
	t.Cleanup(ts.stop)
	return ts
}

// stop shuts the server down and checks its log for panics.
func (ts *testServer) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ts.srv.Shutdown(ctx); err != nil {
		ts.t.Errorf("server shutdown: %v (connection goroutines still running)", err)
	}
	ts.ln.Close()
	ts.served.Wait()
	if p := ts.log.panics(); p != "" {
		ts.t.Errorf("server panicked:\n%s", p)
	}
}

// dial opens a new connection to the server.
func (ts *testServer) dial() *tester {
	ts.t.Helper()
	nc, err := ts.ln.dial()
	if err != nil {
		ts.t.Fatal(err)
	}
	tc := &tester{
		t: ts.t, ts: ts, nc: nc,
		frames:    make(chan []byte, 64),
		done:      make(chan struct{}),
		timeout:   ts.cfg.Timeout,
		creditAsk: 64,
		signers:   map[uint64]smbcrypto.Signer{},
		mustSign:  map[uint64]bool{},
		signAll:   true,
		asyncIDs:  map[uint64]uint64{},
	}
	if tc.timeout == 0 {
		tc.timeout = 10 * time.Second
	}
	tc.wg.Add(1)
	go tc.readLoop()
	ts.t.Cleanup(tc.close)
	return tc
}

// pause stops reading from the connection after the frame being read (the
// server's writes then block, as with a client that stops reading);
// resume reads again.
func (tc *tester) pause() {
	tc.pauseMu.Lock()
	defer tc.pauseMu.Unlock()
	if tc.paused == nil {
		tc.paused = make(chan struct{})
	}
}

func (tc *tester) resume() {
	tc.pauseMu.Lock()
	defer tc.pauseMu.Unlock()
	if tc.paused != nil {
		close(tc.paused)
		tc.paused = nil
	}
}

// dial opens another connection to tc's server.
func (tc *tester) dial() *tester { return tc.ts.dial() }

// srv is the server under test.
func (tc *tester) srv() *Server { return tc.ts.srv }

// logs returns the server's log so far.
func (tc *tester) logs() string { return tc.ts.log.String() }

// close ends the connection and waits for the reader goroutine.
func (tc *tester) close() {
	tc.nc.Close()
	select {
	case <-tc.done:
	default:
		close(tc.done)
	}
	tc.wg.Wait()
}

// readLoop frames the server's output.
func (tc *tester) readLoop() {
	defer tc.wg.Done()
	defer close(tc.frames)
	for {
		tc.pauseMu.Lock()
		p := tc.paused
		tc.pauseMu.Unlock()
		if p != nil {
			select {
			case <-p:
			case <-tc.done:
				return
			}
		}
		var hdr [4]byte
		if _, err := io.ReadFull(tc.nc, hdr[:]); err != nil {
			tc.readErr = err
			return
		}
		if hdr[0] != 0 {
			tc.readErr = fmt.Errorf("tester: transport header % x from the server", hdr)
			return
		}
		buf := make([]byte, binary.BigEndian.Uint32(hdr[:])&0xFFFFFF)
		if _, err := io.ReadFull(tc.nc, buf); err != nil {
			tc.readErr = err
			return
		}
		select {
		case tc.frames <- buf:
		case <-tc.done:
			return
		}
	}
}

// Raw frames.

// errTimeout is returned by tryRecvFrame when nothing arrived in time.
var errTimeout = errors.New("tester: no frame in time")

// sendFrame writes frame (SMB2 message or compound) with a transport
// header; a write error fails the test.
func (tc *tester) sendFrame(frame []byte) {
	tc.t.Helper()
	if err := tc.trySendFrame(frame); err != nil {
		tc.t.Fatalf("tester: send: %v", err)
	}
}

// trySendFrame writes frame with a transport header and returns the error.
func (tc *tester) trySendFrame(frame []byte) error {
	buf := make([]byte, 4+len(frame))
	binary.BigEndian.PutUint32(buf, uint32(len(frame)))
	copy(buf[4:], frame)
	return tc.sendRaw(buf)
}

// sendRaw writes b as is (no transport header added).
func (tc *tester) sendRaw(b []byte) error {
	tc.nc.SetWriteDeadline(time.Now().Add(tc.timeout))
	_, err := tc.nc.Write(b)
	return err
}

// recvFrame returns the next frame (without transport header); it fails
// the test on timeout or when the connection ends.
func (tc *tester) recvFrame() []byte {
	tc.t.Helper()
	f, err := tc.tryRecvFrame(tc.timeout)
	if err != nil {
		tc.t.Fatalf("tester: receive: %v", err)
	}
	return f
}

// tryRecvFrame returns the next frame, errTimeout, or the error that ended
// the connection (io.EOF when the server closed it).
func (tc *tester) tryRecvFrame(d time.Duration) ([]byte, error) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case f, ok := <-tc.frames:
		if !ok {
			return nil, tc.connErr()
		}
		return f, nil
	case <-timer.C:
		return nil, errTimeout
	}
}

func (tc *tester) connErr() error {
	if tc.readErr == nil {
		return io.EOF
	}
	return tc.readErr
}

// expectClosed fails unless the server closes the connection (frames
// still queued are skipped).
func (tc *tester) expectClosed() {
	tc.t.Helper()
	deadline := time.Now().Add(tc.timeout)
	for {
		_, err := tc.tryRecvFrame(time.Until(deadline))
		switch {
		case err == errTimeout:
			tc.t.Fatal("tester: the server did not close the connection")
		case err != nil:
			return
		}
	}
}

// expectNoFrame fails if a frame arrives within d.
func (tc *tester) expectNoFrame(d time.Duration) {
	tc.t.Helper()
	if len(tc.queue) > 0 {
		tc.t.Fatalf("tester: unexpected response %v", tc.queue[0])
	}
	f, err := tc.tryRecvFrame(d)
	if err == nil {
		tc.t.Fatalf("tester: unexpected frame % x", f[:min(len(f), 80)])
	}
	if err != errTimeout {
		tc.t.Fatalf("tester: connection ended: %v", err)
	}
}

// Responses.

// resp is one received response element.
type resp struct {
	hdr    wire.Header
	status ntstatus.Status
	msg    []byte // the element: header, body, padding (what its signature covers)
	body   []byte // msg[64:]
	// encrypted reports that the response arrived in a transform.
	encrypted bool
}

func (r *resp) String() string {
	return fmt.Sprintf("%v mid=%d %v", r.hdr.Command, r.hdr.MessageID, r.status)
}

// isBreak reports an unsolicited OPLOCK_BREAK notification.
func (r *resp) isBreak() bool {
	return r.hdr.Command == wire.CmdOplockBreak && r.hdr.MessageID == wire.MessageIDUnsolicited
}

// isInterim reports an interim STATUS_PENDING response.
func (r *resp) isInterim() bool {
	return r.status == ntstatus.Pending && r.hdr.IsAsync()
}

// recv returns the next response element in arrival order.
func (tc *tester) recv() *resp {
	tc.t.Helper()
	if len(tc.queue) == 0 {
		tc.receive(tc.recvFrame())
	}
	r := tc.queue[0]
	tc.queue = tc.queue[1:]
	return r
}

// receive splits a frame into elements, accounts credits, checks
// signatures and queues them.
func (tc *tester) receive(frame []byte) {
	tc.t.Helper()
	frame, encrypted := tc.enc.open(tc, frame)
	elems, err := wire.SplitCompound(frame, 1<<10)
	if err != nil {
		tc.t.Fatalf("tester: bad frame from the server: %v", err)
	}
	for _, e := range elems {
		h, err := wire.ParseHeader(e)
		if err != nil {
			tc.t.Fatalf("tester: bad response header: %v", err)
		}
		if !h.IsResponse() {
			tc.t.Fatalf("tester: server sent a request: %v", h.Command)
		}
		r := &resp{hdr: h, status: ntstatus.Status(h.Status), msg: e, body: e[wire.HeaderSize:], encrypted: encrypted}
		tc.granted += uint64(h.Credits)
		if err := tc.checkSignature(r); err != nil && !encrypted {
			tc.t.Errorf("tester: %v: %v", r, err)
		}
		if r.isInterim() {
			tc.asyncIDs[h.MessageID] = h.AsyncID
		}
		tc.queue = append(tc.queue, r)
	}
}

// checkSignature verifies a signed response of a session the tester holds
// a key for, and requires signing where the session must sign
// [MS-SMB2 3.2.5.1.3]. Interim responses and oplock breaks are never
// signed; STATUS_USER_SESSION_DELETED answers carry the flag without a
// usable signature.
func (tc *tester) checkSignature(r *resp) error {
	sg := tc.signers[r.hdr.SessionID]
	if sg == nil || r.isInterim() || r.isBreak() || r.status == ntstatus.UserSessionDeleted {
		return nil
	}
	if r.hdr.SessionID == tc.bindingSID && r.hdr.Command == wire.CmdSessionSetup && r.status == ntstatus.Success {
		return nil // signed with the new channel key: bind verifies it
	}
	if r.hdr.Command == wire.CmdSessionSetup && (r.status == ntstatus.RequestOutOfSequence || r.status == ntstatus.NotSupported) {
		// A binding refused for its signing algorithm, before any key
		// was chosen: the flag without a signature, as Samba answers.
		return nil
	}
	if r.hdr.Flags&wire.FlagSigned == 0 {
		if tc.mustSign[r.hdr.SessionID] {
			return errors.New("unsigned response on a session that requires signing")
		}
		return nil
	}
	if !sg.Verify(r.msg) {
		return errors.New("response signature does not verify")
	}
	return nil
}

// wait returns the final response to req (interim responses recorded,
// other responses kept for recv).
func (tc *tester) wait(req *req) *resp {
	tc.t.Helper()
	return tc.waitID(req.hdr.MessageID, req.hdr.Command, false)
}

// waitInterim returns the interim response to req, or its final response
// if it completed synchronously.
func (tc *tester) waitInterim(req *req) *resp {
	tc.t.Helper()
	return tc.waitID(req.hdr.MessageID, req.hdr.Command, true)
}

func (tc *tester) waitID(mid uint64, cmd wire.Command, interim bool) *resp {
	tc.t.Helper()
	for {
		for k, r := range tc.queue {
			if r.hdr.MessageID == mid && r.hdr.Command == cmd && (interim || !r.isInterim()) {
				tc.queue = append(tc.queue[:k:k], tc.queue[k+1:]...)
				return r
			}
		}
		tc.receive(tc.recvFrame())
	}
}

// recvBreak returns the next unsolicited OPLOCK_BREAK notification
// (other responses are kept for recv).
func (tc *tester) recvBreak() (level uint8, id wire.FileID) {
	tc.t.Helper()
	for {
		for k, r := range tc.queue {
			if r.isBreak() {
				tc.queue = append(tc.queue[:k:k], tc.queue[k+1:]...)
				if len(r.body) < 24 {
					tc.t.Fatalf("tester: short oplock break %x", r.body)
				}
				return r.body[2], wire.GetFileID(r.body[8:])
			}
		}
		tc.receive(tc.recvFrame())
	}
}

// asyncID returns the AsyncId the server gave req in its interim response.
func (tc *tester) asyncID(req *req) uint64 { return tc.asyncIDs[req.hdr.MessageID] }

// Requests.

// req is one request under construction: msg holds a 64-byte header
// placeholder (written from hdr when sent) and the body.
type req struct {
	hdr wire.Header
	msg []byte
	// payload is the byte count the credit charge covers (READ length,
	// WRITE data, ...) [MS-SMB2 3.1.5.2].
	payload int
	// keepID sends hdr.MessageID and hdr.CreditCharge as set.
	keepID bool
	// noSign sends the request unsigned; badSig corrupts its signature.
	noSign, badSig bool
	// signFlag sets the SIGNED flag (zero signature) when the tester
	// holds no key for the session.
	signFlag bool
}

// newReq returns a request for cmd with the tester's session and tree.
func (tc *tester) newReq(cmd wire.Command) *req {
	return &req{
		hdr: wire.Header{Command: cmd, Credits: tc.creditAsk, ProcessID: 0xFEFF,
			SessionID: tc.sessionID, TreeID: tc.treeID},
		msg: make([]byte, wire.HeaderSize, 512),
	}
}

// related sets SMB2_FLAGS_RELATED_OPERATIONS.
func (r *req) related() *req { r.hdr.Flags |= wire.FlagRelated; return r }

// setStructSize overwrites the body's StructureSize.
func (r *req) setStructSize(n uint16) *req {
	binary.LittleEndian.PutUint16(r.msg[wire.HeaderSize:], n)
	return r
}

// truncate cuts the body to n bytes.
func (r *req) truncate(n int) *req { r.msg = r.msg[:wire.HeaderSize+n]; return r }

// charge is the CreditCharge of a request carrying payload bytes: 1 per
// 64 KiB, at least 1; always 1 on 2.0.2 [MS-SMB2 3.2.4.1.5].
func (tc *tester) charge(payload int) uint16 {
	if tc.dialect == wire.Dialect202 || tc.dialect == 0 {
		return 0
	}
	return uint16(max(1, (payload+65535)/65536))
}

// credits is the number of message ids the server currently allows.
func (tc *tester) credits() int { return int(1 + tc.granted - tc.nextID) }

// frame assigns message ids, writes headers, pads and links compound
// elements and signs them; it returns the frame (no transport header).
func (tc *tester) frame(reqs ...*req) []byte {
	tc.t.Helper()
	var frame []byte
	starts := make([]int, len(reqs))
	for i, r := range reqs {
		if !r.keepID {
			if r.hdr.Command == wire.CmdCancel {
				tc.t.Fatal("tester: CANCEL needs keepID and the target's MessageId")
			}
			r.hdr.CreditCharge = tc.charge(r.payload)
			r.hdr.MessageID = tc.nextID
			tc.nextID += uint64(max(r.hdr.CreditCharge, 1))
		}
		if i > 0 {
			for len(frame)%8 != 0 {
				frame = append(frame, 0)
			}
			wire.SetNextCommand(frame[starts[i-1]:], uint32(len(frame)-starts[i-1]))
		}
		starts[i] = len(frame)
		r.hdr.NextCommand = 0
		r.hdr.Put(r.msg)
		frame = append(frame, r.msg...)
	}
	for i, r := range reqs {
		end := len(frame)
		if i+1 < len(reqs) {
			end = starts[i+1]
		}
		elem := frame[starts[i]:end]
		tc.sign(r, elem)
		r.msg = elem // what was sent, for preauth hashing
	}
	return frame
}

// sign signs one element as the request asks.
func (tc *tester) sign(r *req, elem []byte) {
	sg := tc.signers[r.hdr.SessionID]
	switch {
	case r.noSign:
		wire.SetFlags(elem, wire.Flags(elem)&^wire.FlagSigned)
		clear(elem[wire.SignatureOffset : wire.SignatureOffset+16])
	case sg != nil && tc.signAll, sg != nil && r.hdr.Flags&wire.FlagSigned != 0:
		sg.Sign(elem)
	case r.signFlag:
		wire.SetFlags(elem, wire.Flags(elem)|wire.FlagSigned)
	}
	if r.badSig {
		wire.SetFlags(elem, wire.Flags(elem)|wire.FlagSigned)
		elem[wire.SignatureOffset] ^= 0x55
	}
}

// send sends reqs as one frame (a compound when more than one).
func (tc *tester) send(reqs ...*req) {
	tc.t.Helper()
	tc.sendFrame(tc.enc.seal(tc, reqs, tc.frame(reqs...)))
}

// roundTrip sends req alone and returns its final response.
func (tc *tester) roundTrip(req *req) *resp {
	tc.t.Helper()
	tc.send(req)
	return tc.wait(req)
}

// NEGOTIATE and SESSION_SETUP.

// testClientGUID is the tester's ClientGuid.
var testClientGUID = [16]byte{'s', 'i', 'g', 'n', 'e', 't', '-', 't', 'e', 's', 't', 'e', 'r'}

// negotiateReq returns a NEGOTIATE request offering dialects, with the
// 3.1.1 contexts (preauth SHA-512 with a salt, signing GMAC, CMAC, HMAC)
// when 3.1.1 is among them.
func (tc *tester) negotiateReq(dialects ...uint16) *req {
	// Directory leasing is announced as Windows clients do; noDirLeaseCap
	// leaves it out (dirlease_test.go).
	caps := wire.CapLargeMTU | wire.CapDirectoryLeasing | tc.extraCaps
	if tc.noDirLeaseCap {
		caps &^= wire.CapDirectoryLeasing
	}
	nr := &wire.NegotiateRequest{SecurityMode: wire.SigningEnabled, Capabilities: caps,
		ClientGUID: testClientGUID, Dialects: dialects}
	if tc.clientGUID != nil {
		nr.ClientGUID = *tc.clientGUID
	}
	if nr.Offers(wire.Dialect311) {
		nr.Contexts = []wire.NegContext{wire.PreauthNegContext(bytes.Repeat([]byte{0x5A}, 32)),
			wire.IDListNegContext(wire.CtxSigning, []uint16{uint16(smbcrypto.AESGMAC), uint16(smbcrypto.AESCMAC), uint16(smbcrypto.HMACSHA256)})}
	}
	return tc.negotiateReqFrom(nr)
}

// negotiateReqFrom returns a NEGOTIATE request with the body nr.
func (tc *tester) negotiateReqFrom(nr *wire.NegotiateRequest) *req {
	r := tc.newReq(wire.CmdNegotiate)
	r.hdr.SessionID, r.hdr.TreeID = 0, 0
	r.msg = wire.AppendNegotiateRequest(r.msg, nr)
	return r
}

// negotiate runs NEGOTIATE offering dialects (default: all five) and
// records the outcome; anything but success fails the test.
func (tc *tester) negotiate(dialects ...uint16) *wire.NegotiateResponse {
	tc.t.Helper()
	if len(dialects) == 0 {
		dialects = allDialects
	}
	r := tc.negotiateReq(dialects...)
	resp := tc.roundTrip(r)
	if resp.status != ntstatus.Success {
		tc.t.Fatalf("tester: NEGOTIATE: %v", resp.status)
	}
	tc.negotiated(r, resp)
	return tc.neg
}

// negotiated records a successful NEGOTIATE exchange: dialect, signing
// algorithm, and the 3.1.1 connection preauth hash [MS-SMB2 3.2.5.2].
func (tc *tester) negotiated(r *req, resp *resp) {
	tc.t.Helper()
	nr, err := wire.ParseNegotiateResponse(resp.msg)
	if err != nil {
		tc.t.Fatalf("tester: NEGOTIATE response: %v", err)
	}
	tc.neg, tc.dialect = nr, nr.Dialect
	tc.signingAlg = smbcrypto.AESCMAC
	if nr.Dialect < wire.Dialect300 {
		tc.signingAlg = smbcrypto.HMACSHA256
	}
	for _, c := range nr.Contexts {
		if c.Type == wire.CtxSigning {
			ids, err := wire.ParseIDList(c.Data, 0)
			if err != nil || len(ids) != 1 {
				tc.t.Fatalf("tester: signing context %x", c.Data)
			}
			tc.signingAlg = smbcrypto.Algorithm(ids[0])
		}
	}
	if nr.Dialect == wire.Dialect311 {
		tc.preauth = smbcrypto.PreauthHash{}.Update(r.msg).Update(resp.msg)
	}
	tc.enc.negotiated(tc, nr)
}

// authClient returns the SPNEGO(NTLMv2) initiator of the project's client.
func (tc *tester) authClient(user, password string) *spnego.Client {
	cfg := &ntlm.ClientConfig{User: user, Password: password, TargetSPN: "cifs/TEST"}
	if tc.ts.rand != nil {
		cfg.Rand = tc.ts.rand
		cfg.Now = func() time.Time { return time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC) }
	}
	return spnego.NewClient(ntlm.NewClient(cfg))
}

// sessionSetup authenticates user on a new session (or re-authenticates
// tc.sessionID when reauth is set) and returns the final status. On
// success it derives the signing key, verifies the signed final response
// and makes the session the default of new requests [MS-SMB2 3.2.4.2.3,
// 3.2.5.3].
func (tc *tester) sessionSetup(user, password string) ntstatus.Status {
	tc.t.Helper()
	return tc.setup(user, password, 0)
}

// reauth re-authenticates the current session.
func (tc *tester) reauth(user, password string) ntstatus.Status {
	tc.t.Helper()
	return tc.setup(user, password, tc.sessionID)
}

func (tc *tester) setup(user, password string, sid uint64) ntstatus.Status {
	tc.t.Helper()
	mech := tc.authClient(user, password)
	out, _, err := mech.Step(tc.neg.SecurityBuffer)
	if err != nil {
		tc.t.Fatalf("tester: SPNEGO: %v", err)
	}
	reauth := sid != 0
	preauth := tc.preauth
	for range 4 {
		r := tc.sessionSetupReq(sid, &wire.SessionSetupRequest{SecurityMode: uint8(wire.SigningEnabled),
			SecurityBuffer: out, PreviousSessionID: tc.prevSessionID})
		resp := tc.roundTrip(r)
		if tc.dialect == wire.Dialect311 && !reauth {
			preauth = preauth.Update(r.msg)
		}
		switch resp.status {
		case ntstatus.MoreProcessingRequired:
			sid = resp.hdr.SessionID
			if tc.dialect == wire.Dialect311 && !reauth {
				preauth = preauth.Update(resp.msg)
			}
			ss, err := wire.ParseSessionSetupResponse(resp.msg)
			if err != nil {
				tc.t.Fatalf("tester: SESSION_SETUP response: %v", err)
			}
			if out, _, err = mech.Step(ss.SecurityBuffer); err != nil {
				tc.t.Fatalf("tester: NTLM: %v", err)
			}
		case ntstatus.Success:
			switch {
			case reauth:
			case len(mech.SessionKey()) == 0: // anonymous: no key, nothing signed
				tc.sessionID = resp.hdr.SessionID
			default:
				tc.established(resp, mech.SessionKey(), preauth)
			}
			return resp.status
		default:
			return resp.status
		}
	}
	tc.t.Fatal("tester: SESSION_SETUP did not finish")
	return 0
}

// sessionSetupReq returns a SESSION_SETUP request of session sid.
func (tc *tester) sessionSetupReq(sid uint64, ss *wire.SessionSetupRequest) *req {
	r := tc.newReq(wire.CmdSessionSetup)
	r.hdr.SessionID, r.hdr.TreeID = sid, 0
	r.msg = wire.AppendSessionSetupRequest(r.msg, ss)
	return r
}

// established installs the key of a new session and checks the final
// response's signature.
func (tc *tester) established(resp *resp, key []byte, preauth smbcrypto.PreauthHash) {
	tc.t.Helper()
	keys := smbcrypto.DeriveKeys(tc.dialect, key, preauth[:])
	sg, err := smbcrypto.NewSigner(tc.signingAlg, keys.Signing[:])
	if err != nil {
		tc.t.Fatal(err)
	}
	if resp.hdr.Flags&wire.FlagSigned == 0 || !sg.Verify(resp.msg) {
		tc.t.Fatalf("tester: final SESSION_SETUP response not signed correctly (signed=%v, %v)",
			resp.hdr.Flags&wire.FlagSigned != 0, tc.signingAlg)
	}
	id := resp.hdr.SessionID
	tc.enc.established(tc, resp, key, preauth)
	tc.signers[id] = sg
	tc.mustSign[id] = tc.neg.SecurityMode&wire.SigningRequired != 0
	tc.sessionID = id
}

// mustSessionSetup is sessionSetup that fails the test unless it succeeds.
func (tc *tester) mustSessionSetup(user, password string) {
	tc.t.Helper()
	if st := tc.sessionSetup(user, password); st != ntstatus.Success {
		tc.t.Fatalf("tester: SESSION_SETUP as %s: %v", user, st)
	}
}

// TREE_CONNECT and the simple commands.

// treeConnect connects to \\TEST\share; on success the tree becomes the
// default of new requests.
func (tc *tester) treeConnect(share string) (*wire.TreeConnectResponse, ntstatus.Status) {
	tc.t.Helper()
	r := tc.newReq(wire.CmdTreeConnect)
	r.hdr.TreeID = 0
	r.msg = wire.AppendTreeConnectRequest(r.msg, `\\TEST\`+share)
	resp := tc.roundTrip(r)
	if resp.status != ntstatus.Success {
		return nil, resp.status
	}
	tr, err := wire.ParseTreeConnectResponse(resp.msg)
	if err != nil {
		tc.t.Fatalf("tester: TREE_CONNECT response: %v", err)
	}
	tc.treeID = resp.hdr.TreeID
	return tr, resp.status
}

// mustTreeConnect is treeConnect that fails the test unless it succeeds.
func (tc *tester) mustTreeConnect(share string) uint32 {
	tc.t.Helper()
	if _, st := tc.treeConnect(share); st != ntstatus.Success {
		tc.t.Fatalf("tester: TREE_CONNECT %s: %v", share, st)
	}
	return tc.treeID
}

// simpleReq returns a request with the 4-byte body of LOGOFF,
// TREE_DISCONNECT, ECHO and CANCEL.
func (tc *tester) simpleReq(cmd wire.Command) *req {
	r := tc.newReq(cmd)
	r.msg = wire.AppendSimple(r.msg)
	return r
}

func (tc *tester) echo() ntstatus.Status {
	tc.t.Helper()
	return tc.roundTrip(tc.simpleReq(wire.CmdEcho)).status
}

func (tc *tester) logoff() ntstatus.Status {
	tc.t.Helper()
	return tc.roundTrip(tc.simpleReq(wire.CmdLogoff)).status
}

func (tc *tester) treeDisconnect() ntstatus.Status {
	tc.t.Helper()
	return tc.roundTrip(tc.simpleReq(wire.CmdTreeDisconnect)).status
}

// cancel sends a CANCEL for target: async form with its AsyncId once it
// went asynchronous, else sync form with its MessageId [MS-SMB2 3.2.4.24].
func (tc *tester) cancel(target *req) {
	tc.t.Helper()
	r := tc.simpleReq(wire.CmdCancel)
	r.keepID = true
	r.hdr.MessageID = target.hdr.MessageID
	r.hdr.SessionID = target.hdr.SessionID
	r.hdr.Credits = 0
	if id := tc.asyncID(target); id != 0 {
		r.hdr.Flags |= wire.FlagAsyncCommand
		r.hdr.AsyncID = id
	}
	tc.send(r)
}

// File commands.

// createReq returns a CREATE request for cr.
func (tc *tester) createReq(cr *wire.CreateRequest) *req {
	r := tc.newReq(wire.CmdCreate)
	if cr.ImpersonationLevel == 0 {
		cr.ImpersonationLevel = wire.ImpersonationImpersonation
	}
	r.msg = wire.AppendCreateRequest(r.msg, cr)
	return r
}

// create sends cr and returns the parsed response (nil on failure).
func (tc *tester) create(cr *wire.CreateRequest) (*wire.CreateResponse, ntstatus.Status) {
	tc.t.Helper()
	resp := tc.roundTrip(tc.createReq(cr))
	return tc.parseCreate(resp), resp.status
}

// parseCreate parses a successful CREATE response.
func (tc *tester) parseCreate(resp *resp) *wire.CreateResponse {
	tc.t.Helper()
	if resp.status != ntstatus.Success {
		return nil
	}
	cr, err := wire.ParseCreateResponse(resp.msg)
	if err != nil {
		tc.t.Fatalf("tester: CREATE response: %v", err)
	}
	return cr
}

// rwAccess is read/write/delete access with every attribute right.
const rwAccess = wire.FileReadData | wire.FileWriteData | wire.FileAppendData | wire.FileReadAttributes |
	wire.FileWriteAttributes | wire.FileReadEA | wire.FileWriteEA | wire.Delete | wire.ReadControl | wire.Synchronize

// shareAll is every share mode.
const shareAll = wire.FileShareRead | wire.FileShareWrite | wire.FileShareDelete

// openFile opens name with read/write access, sharing everything.
func (tc *tester) openFile(name string, disposition, options uint32) (wire.FileID, ntstatus.Status) {
	tc.t.Helper()
	cr, st := tc.create(&wire.CreateRequest{DesiredAccess: rwAccess, ShareAccess: shareAll,
		CreateDisposition: disposition, CreateOptions: options, Name: name})
	if cr == nil {
		return wire.FileID{}, st
	}
	return cr.FileID, st
}

// mustCreate opens or creates the file name; failure fails the test.
func (tc *tester) mustCreate(name string) wire.FileID {
	tc.t.Helper()
	id, st := tc.openFile(name, wire.FileOpenIf, wire.FileNonDirectoryFile)
	if st != ntstatus.Success {
		tc.t.Fatalf("tester: CREATE %q: %v", name, st)
	}
	return id
}

// mustMkdir creates the directory name and returns an open of it.
func (tc *tester) mustMkdir(name string) wire.FileID {
	tc.t.Helper()
	cr, st := tc.create(&wire.CreateRequest{DesiredAccess: wire.FileReadData | wire.FileReadAttributes | wire.Synchronize,
		ShareAccess: shareAll, CreateDisposition: wire.FileCreate, CreateOptions: wire.FileDirectoryFile, Name: name})
	if st != ntstatus.Success {
		tc.t.Fatalf("tester: mkdir %q: %v", name, st)
	}
	return cr.FileID
}

func (tc *tester) closeReq(id wire.FileID, flags uint16) *req {
	r := tc.newReq(wire.CmdClose)
	r.msg = wire.AppendCloseRequest(r.msg, flags, id)
	return r
}

// closeFile closes id and returns the status.
func (tc *tester) closeFile(id wire.FileID) ntstatus.Status {
	tc.t.Helper()
	return tc.roundTrip(tc.closeReq(id, 0)).status
}

func (tc *tester) flushReq(id wire.FileID) *req {
	r := tc.newReq(wire.CmdFlush)
	r.msg = wire.AppendFlushRequest(r.msg, id)
	return r
}

func (tc *tester) flush(id wire.FileID) ntstatus.Status {
	tc.t.Helper()
	return tc.roundTrip(tc.flushReq(id)).status
}

func (tc *tester) readReq(id wire.FileID, off uint64, n uint32) *req {
	r := tc.newReq(wire.CmdRead)
	r.msg = wire.AppendReadRequest(r.msg, &wire.ReadRequest{Length: n, Offset: off, FileID: id})
	r.payload = int(n)
	return r
}

// read reads up to n bytes at off.
func (tc *tester) read(id wire.FileID, off uint64, n uint32) ([]byte, ntstatus.Status) {
	tc.t.Helper()
	resp := tc.roundTrip(tc.readReq(id, off, n))
	if resp.status != ntstatus.Success {
		return nil, resp.status
	}
	data, err := wire.ParseReadResponse(resp.msg)
	if err != nil {
		tc.t.Fatalf("tester: READ response: %v", err)
	}
	return data, resp.status
}

func (tc *tester) writeReq(id wire.FileID, off uint64, data []byte) *req {
	r := tc.newReq(wire.CmdWrite)
	r.msg = wire.AppendWriteRequest(r.msg, &wire.WriteRequest{Offset: off, FileID: id, Data: data})
	r.payload = len(data)
	return r
}

// write writes data at off and returns the count the server reports.
func (tc *tester) write(id wire.FileID, off uint64, data []byte) (uint32, ntstatus.Status) {
	tc.t.Helper()
	resp := tc.roundTrip(tc.writeReq(id, off, data))
	if resp.status != ntstatus.Success {
		return 0, resp.status
	}
	n, err := wire.ParseWriteResponse(resp.msg)
	if err != nil {
		tc.t.Fatalf("tester: WRITE response: %v", err)
	}
	return n, resp.status
}

func (tc *tester) queryDirReq(id wire.FileID, class, flags uint8, pattern string, outLen uint32) *req {
	r := tc.newReq(wire.CmdQueryDirectory)
	r.msg = wire.AppendQueryDirectoryRequest(r.msg, &wire.QueryDirectoryRequest{InfoClass: class, Flags: flags,
		FileID: id, Pattern: pattern, OutputBufferLength: outLen})
	r.payload = int(outLen)
	return r
}

// queryDirectory returns the output buffer of one QUERY_DIRECTORY.
func (tc *tester) queryDirectory(id wire.FileID, class, flags uint8, pattern string, outLen uint32) ([]byte, ntstatus.Status) {
	tc.t.Helper()
	return tc.outputBuffer(tc.roundTrip(tc.queryDirReq(id, class, flags, pattern, outLen)))
}

func (tc *tester) queryInfoReq(id wire.FileID, typ, class uint8, outLen, addl uint32) *req {
	r := tc.newReq(wire.CmdQueryInfo)
	r.msg = wire.AppendQueryInfoRequest(r.msg, &wire.QueryInfoRequest{InfoType: typ, InfoClass: class,
		OutputBufferLength: outLen, AdditionalInformation: addl, FileID: id})
	r.payload = int(outLen)
	return r
}

// queryInfo returns the output buffer of one QUERY_INFO (also for
// STATUS_BUFFER_OVERFLOW, whose body carries the truncated data).
func (tc *tester) queryInfo(id wire.FileID, typ, class uint8, outLen, addl uint32) ([]byte, ntstatus.Status) {
	tc.t.Helper()
	return tc.outputBuffer(tc.roundTrip(tc.queryInfoReq(id, typ, class, outLen, addl)))
}

// outputBuffer parses the QUERY_DIRECTORY / QUERY_INFO output of a
// successful (or warning-status) response.
func (tc *tester) outputBuffer(resp *resp) ([]byte, ntstatus.Status) {
	tc.t.Helper()
	if resp.status.IsError() || resp.status == ntstatus.NoMoreFiles {
		return nil, resp.status
	}
	out, err := wire.ParseOutputBuffer(resp.msg)
	if err != nil {
		tc.t.Fatalf("tester: %v response: %v", resp.hdr.Command, err)
	}
	return out, resp.status
}

func (tc *tester) setInfoReq(id wire.FileID, typ, class uint8, buf []byte, addl uint32) *req {
	r := tc.newReq(wire.CmdSetInfo)
	r.msg = wire.AppendSetInfoRequest(r.msg, &wire.SetInfoRequest{InfoType: typ, InfoClass: class,
		Buffer: buf, AdditionalInformation: addl, FileID: id})
	r.payload = len(buf)
	return r
}

func (tc *tester) setInfo(id wire.FileID, typ, class uint8, buf []byte, addl uint32) ntstatus.Status {
	tc.t.Helper()
	return tc.roundTrip(tc.setInfoReq(id, typ, class, buf, addl)).status
}

func (tc *tester) lockReq(id wire.FileID, locks ...wire.LockElement) *req {
	r := tc.newReq(wire.CmdLock)
	r.msg = wire.AppendLockRequest(r.msg, &wire.LockRequest{FileID: id, Locks: locks})
	return r
}

func (tc *tester) lock(id wire.FileID, locks ...wire.LockElement) ntstatus.Status {
	tc.t.Helper()
	return tc.roundTrip(tc.lockReq(id, locks...)).status
}

func (tc *tester) ioctlReq(id wire.FileID, ctl uint32, in []byte, maxOut uint32) *req {
	r := tc.newReq(wire.CmdIoctl)
	r.msg = wire.AppendIoctlRequest(r.msg, &wire.IoctlRequest{CtlCode: ctl, FileID: id, Input: in,
		MaxOutputResponse: maxOut, Flags: wire.IoctlFlagIsFsctl})
	r.payload = max(len(in), int(maxOut))
	return r
}

// ioctl runs one FSCTL and returns the parsed response (nil when the
// server sent an ERROR body; some failures, such as a COPYCHUNK over the
// limits, carry an IOCTL body).
func (tc *tester) ioctl(id wire.FileID, ctl uint32, in []byte, maxOut uint32) (*wire.IoctlResponse, ntstatus.Status) {
	tc.t.Helper()
	resp := tc.roundTrip(tc.ioctlReq(id, ctl, in, maxOut))
	if len(resp.body) < 2 || binary.LittleEndian.Uint16(resp.body) != 49 {
		return nil, resp.status // an ERROR body
	}
	ir, err := wire.ParseIoctlResponse(resp.msg)
	if err != nil {
		tc.t.Fatalf("tester: IOCTL response: %v", err)
	}
	return ir, resp.status
}

func (tc *tester) changeNotifyReq(id wire.FileID, filter uint32, watchTree bool, outLen uint32) *req {
	r := tc.newReq(wire.CmdChangeNotify)
	var flags uint16
	if watchTree {
		flags = wire.NotifyWatchTree
	}
	r.msg = wire.AppendChangeNotifyRequest(r.msg, &wire.ChangeNotifyRequest{Flags: flags,
		OutputBufferLength: outLen, FileID: id, CompletionFilter: filter})
	r.payload = int(outLen)
	return r
}

func (tc *tester) oplockAckReq(id wire.FileID, level uint8) *req {
	r := tc.newReq(wire.CmdOplockBreak)
	r.msg = wire.AppendOplockBreak(r.msg, level, id)
	return r
}

// Plumbing.

// pipeListener is an in-memory net.Listener: dial hands one end of a
// net.Pipe to Accept. net.Pipe is synchronous, which suits the server: it
// has one reader and one writer goroutine per connection.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

func (l *pipeListener) dial() (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
		client.Close()
		server.Close()
		return nil, net.ErrClosed
	}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// logBuffer is a goroutine-safe log sink.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// panicLine matches the log line of a recovered server panic.
var panicLine = regexp.MustCompile(`(?m)^.*level=ERROR msg="?panic.*$`)

// panics returns the logged panic lines, if any.
func (b *logBuffer) panics() string {
	return strings.Join(panicLine.FindAllString(b.String(), -1), "\n")
}

// lockedRand is a deterministic io.Reader safe for concurrent use.
type lockedRand struct {
	mu sync.Mutex
	r  *mrand.ChaCha8
}

func (l *lockedRand) Read(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Read(p)
}

func seed32(s uint64) (b [32]byte) {
	binary.LittleEndian.PutUint64(b[:], s)
	return b
}

// TestTesterRoundTrip is the tester's example: on every dialect, with
// signing required, write 1 MiB in chunks of at most MaxWriteSize, read it
// back in chunks of at most MaxReadSize and compare checksums.
func TestTesterRoundTrip(t *testing.T) {
	data := make([]byte, 1<<20)
	mrand.NewChaCha8(seed32(1)).Read(data)
	want := sha256.Sum256(data)
	for _, d := range allDialects {
		t.Run(wire.DialectName(d), func(t *testing.T) {
			t.Parallel()
			tc := newSessionTester(t, nil, d)
			if tc.dialect != d {
				t.Fatalf("negotiated %s", wire.DialectName(tc.dialect))
			}
			id := tc.mustCreate("big.bin")
			chunk := int(min(tc.neg.MaxWriteSize, 1<<20))
			for off := 0; off < len(data); off += chunk {
				n, st := tc.write(id, uint64(off), data[off:off+chunk])
				if st != ntstatus.Success || n != uint32(chunk) {
					t.Fatalf("WRITE at %d: %v, %d bytes", off, st, n)
				}
			}
			h := sha256.New()
			chunk = int(min(tc.neg.MaxReadSize, 1<<20))
			for off := 0; off < len(data); off += chunk {
				b, st := tc.read(id, uint64(off), uint32(chunk))
				if st != ntstatus.Success || len(b) != chunk {
					t.Fatalf("READ at %d: %v, %d bytes", off, st, len(b))
				}
				h.Write(b)
			}
			if got := h.Sum(nil); !bytes.Equal(got, want[:]) {
				t.Fatal("data read back differs from data written")
			}
			if _, st := tc.read(id, 1<<20, 1); st != ntstatus.EndOfFile {
				t.Fatalf("READ at EOF: %v, want END_OF_FILE", st)
			}
			if st := tc.closeFile(id); st != ntstatus.Success {
				t.Fatalf("CLOSE: %v", st)
			}
		})
	}
}

// TestTesterSigning: the tester signs with whatever the server chose
// (each 3.1.1 algorithm by server preference), and the server refuses a
// corrupt or missing signature on a session that requires signing with
// STATUS_ACCESS_DENIED [MS-SMB2 3.3.5.2.4].
func TestTesterSigning(t *testing.T) {
	for _, alg := range []smbcrypto.Algorithm{smbcrypto.HMACSHA256, smbcrypto.AESCMAC, smbcrypto.AESGMAC} {
		t.Run(alg.String(), func(t *testing.T) {
			tc := newSessionTester(t, &testerConfig{Settings: func(st *Settings) {
				st.SigningAlgorithms = []smbcrypto.Algorithm{alg}
			}}, wire.Dialect311)
			if tc.signingAlg != alg {
				t.Fatalf("signing with %v, want %v", tc.signingAlg, alg)
			}
			if st := tc.echo(); st != ntstatus.Success {
				t.Fatalf("signed ECHO: %v", st)
			}
			bad := tc.simpleReq(wire.CmdEcho)
			bad.badSig = true
			if st := tc.roundTrip(bad).status; st != ntstatus.AccessDenied {
				t.Fatalf("ECHO with a corrupt signature: %v, want ACCESS_DENIED", st)
			}
			unsigned := tc.simpleReq(wire.CmdEcho)
			unsigned.noSign = true
			if st := tc.roundTrip(unsigned).status; st != ntstatus.AccessDenied {
				t.Fatalf("unsigned ECHO: %v, want ACCESS_DENIED", st)
			}
			if s := tc.srv().Stats(); s.BadSignatures != 1 || s.UnsignedRejected != 1 {
				t.Fatalf("stats %+v", s)
			}
		})
	}
}

// TestTesterCompound: a related CREATE, WRITE, READ, CLOSE chain on the
// previous element's FileId (all-ones) [MS-SMB2 3.3.5.2.7.2], answered in
// one compound frame whose elements are each signed.
func TestTesterCompound(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	c := tc.createReq(&wire.CreateRequest{DesiredAccess: rwAccess, ShareAccess: shareAll,
		CreateDisposition: wire.FileCreate, Name: "c.txt"})
	w := tc.writeReq(wire.AllOnes, 0, []byte("compound")).related()
	r := tc.readReq(wire.AllOnes, 0, 8).related()
	cl := tc.closeReq(wire.AllOnes, 0).related()
	tc.send(c, w, r, cl)
	frame := tc.recvFrame()
	elems, err := wire.SplitCompound(frame, 8)
	if err != nil || len(elems) != 4 {
		t.Fatalf("response frame: %d elements, %v", len(elems), err)
	}
	tc.receive(frame)
	for _, q := range []*req{c, w, r, cl} {
		if resp := tc.wait(q); resp.status != ntstatus.Success {
			t.Fatalf("%v: %v", q.hdr.Command, resp.status)
		}
	}
	if !bytes.Contains(elems[2], []byte("compound")) {
		t.Fatal("READ in the compound did not return the data written before it")
	}
}
