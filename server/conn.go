package server

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/signetsmb/signet/internal/bufpool"
	"github.com/signetsmb/signet/internal/netio"
	"github.com/signetsmb/signet/internal/smbcrypto"
	"github.com/signetsmb/signet/internal/wire"
)

// Protocol constants that are not policy.
const (
	maxCompound = 64
	// maxIOSize is the negotiated MaxRead/MaxTransact with LARGE_MTU;
	// 2.0.2 is limited to 64 KiB [MS-SMB2 3.3.5.4].
	maxIOSize    = 8 << 20
	maxIOSize202 = 64 << 10
	// maxWriteSize is the negotiated MaxWriteSize with LARGE_MTU. A WRITE
	// is received, verified and written to the file in turn; at 2 MiB its
	// body is still in the core's cache for the MAC and the copy into the
	// file, which for smbclient uploads measured 1.49 against 1.28 GB/s at
	// 8 MiB, with about 10% less server CPU per GiB (docs/
	// PERFORMANCE-profiles.md, "MaxWriteSize"). READs stay at 8 MiB:
	// smbclient reads slower in smaller pieces.
	maxWriteSize = 2 << 20
	// badSignatureLimit is how many bad signatures a connection may send
	// before it is dropped (Windows keeps the connection; we keep it for a
	// few so a single corrupt packet does not kill a client, but not for an
	// attacker probing forever).
	badSignatureLimit = 16
)

// connError is a connection-fatal error: the TCP connection is closed.
type connError struct{ token, detail string }

func (e *connError) Error() string { return e.token + ": " + e.detail }

func fatal(token, format string, args ...any) error {
	return &connError{token: token, detail: fmt.Sprintf(format, args...)}
}

// conn is one client connection (MS-SMB2 3.3.1.7 Connection).
//
// Ownership and lock order. A connection runs three kinds of goroutine,
// all tracked: the reader (readLoop: framing, transform headers, the
// sequence window, and every compound that holds a NEGOTIATE or a
// SESSION_SETUP, wherever it sits, plus compounds starting with
// CHANGE_NOTIFY), handler goroutines (every other compound, and
// asynchronous completions, counted in wg), and the writer (writeLoop,
// the only goroutine that writes to the socket). Signatures are verified
// on the goroutine that runs the compound; a sealed frame larger than
// handlerDecryptMin is decrypted on a handler, which then admits it
// (credit window, open references, a reader compound's run) in arrival
// order, taking its turn after the frames read before it (decrypt.go).
//
//   - Negotiated state (negotiated..settings) and each session's handshake
//     state (session.mech, preauth, rounds) are owned by the reader: it is
//     written only there (checked by reader.check() when debugOwnership is
//     on) and read-only for handlers once NEGOTIATE has completed, which
//     happens-before any handler starts (the handler is started by the
//     reader after it). The one exception is a reader compound found in a
//     large sealed frame: its handler owns that state while it holds its
//     turn, and the reader takes it back after the turn (waitTurn).
//   - Sessions, trees and opens are server-wide (session.go): a session
//     is in Server.sessions and in the session table of each connection
//     that is one of its channels; opens are in Server.files by a FileId
//     unique server-wide. The connection owns its transport, credits,
//     negotiated and preauth state, its handshakes and its pending
//     requests. When it ends it leaves its sessions; a session ends with
//     its last channel.
//   - c.mu guards the connection's session table; session.mu guards a
//     session's state, identity, signers, channels and trees;
//     treeConnect.mu its opens; the async table, credit window and read
//     budget have their own mutexes. Lock order (lockorder.go, checked on
//     every Lock in tests): Server.mu, c.mu, session.mu, treeConnect.mu,
//     nodeTable.mu, then the leaves; the server-wide tables
//     (internal/state) lock only themselves. A session's teardown
//     (endSession) holds no conn.mu: it marks the session expired under
//     session.mu, then leaves each channel's table under that
//     connection's mu, one at a time.
//   - Frames leave only through the writer: responses through out
//     (bounded: a client that does not read stalls its own handlers, then
//     WriteTimeout closes it), unsolicited oplock breaks through the
//     breaks queue (never blocks the sender, bounded by the opens).
type conn struct {
	srv    *Server
	nc     net.Conn
	remote string
	addr   string // client IP, for per-address limits
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelCauseFunc
	lim    Limits // snapshot taken at accept

	// reader owns the fields below it until NEGOTIATE completes; they
	// are read-only afterwards.
	reader         goroutineOwner
	negotiated     bool
	dialect        uint16
	wildcardSent   bool // answered an SMB1 negotiate with 0x02FF
	clientGUID     [16]byte
	clientCaps     uint32
	clientSecMode  uint16
	clientDialects []uint16
	serverSecMode  uint16
	serverCaps     uint32
	shouldSign     bool // client set SIGNING_REQUIRED in NEGOTIATE
	requireSigning bool // server policy at NEGOTIATE time
	signingAlg     smbcrypto.Algorithm
	cipher         smbcrypto.Cipher      // 0: the client cannot encrypt (encrypt.go)
	maxIO          uint32                // MaxReadSize and MaxTransactSize
	maxWrite       uint32                // MaxWriteSize
	preauth        smbcrypto.PreauthHash // 3.1.1 connection hash
	// shownDialect is the negotiated dialect for other goroutines (status
	// listings), which may not read the reader-owned fields above.
	shownDialect atomic.Uint32
	settings     *Settings // snapshot taken at NEGOTIATE

	// preAuthDeadline bounds the time, reads and writes together, from
	// accept until a session is established (everAuth).
	preAuthDeadline time.Time
	everAuth        atomic.Bool

	// credits guards the sequence window [MS-SMB2 3.3.1.1].
	credits creditWindow

	// turn is closed once the last frame admitted out of line (a large
	// sealed frame decrypted on its handler, or one read while such a
	// frame waited) has been admitted; nil when none is pending.
	// Reader-owned (decrypt.go).
	turn chan struct{}

	// handshakes holds the SESSION_SETUP exchanges in progress on this
	// connection (new sessions, re-authentications and bindings) by
	// SessionId. Owned by the reader: every compound holding a
	// SESSION_SETUP runs there.
	handshakes map[uint64]*handshake

	// mu guards the session table: Connection.SessionTable, the sessions
	// bound to this connection and those being set up on it. Sessions,
	// their trees and opens are server-wide (Server.sessions,
	// Server.files); the connection owns only transport, credits,
	// negotiated and preauth state and its pending requests.
	mu       orderedMutex[rankConn]
	sessions map[uint64]*session

	// async is the connection's pending-request table.
	async asyncTable

	// readBudget bounds the bytes of READ responses not yet written.
	readBudget byteBudget

	// badSigs counts signature failures on this connection.
	badSigs int32

	out chan outFrame // responses for the writer
	// batch, iov, chunk and wbuf are the writer's scratch slices
	// (gather, write), reused so that steady-state writes do not allocate.
	batch    []outFrame
	iov      [][]byte
	chunk    net.Buffers
	wbuf     net.Buffers
	breaks   breakQueue    // unsolicited notifications for the writer
	inflight chan struct{} // semaphore of executing requests
	wg       sync.WaitGroup
	once     sync.Once
}

// outFrame is one transport frame for the writer: buf[off:] (buf is the
// pooled buffer, returned whole); readBytes is the READ budget it holds
// until written.
type outFrame struct {
	buf       []byte
	off       int
	readBytes int64
}

func newConn(s *Server, nc net.Conn, lim Limits) *conn {
	ctx, cancel := context.WithCancelCause(context.Background())
	c := &conn{
		srv:        s,
		nc:         nc,
		remote:     nc.RemoteAddr().String(),
		addr:       hostOf(nc.RemoteAddr()),
		ctx:        ctx,
		cancel:     cancel,
		lim:        lim,
		sessions:   map[uint64]*session{},
		handshakes: map[uint64]*handshake{},
		out:        make(chan outFrame, 16),
		inflight:   make(chan struct{}, s.opts.MaxInFlight),
	}
	c.log = s.log.With("client", c.remote)
	c.credits.init(lim.MaxCredits)
	c.readBudget.init(int64(lim.MaxReadBytesPending))
	c.breaks.init()
	if lim.PreAuthTimeout > 0 {
		c.preAuthDeadline = time.Now().Add(lim.PreAuthTimeout)
	}
	return c
}

// hostOf returns the IP of a client address (the whole string when it has
// no port, e.g. an in-memory pipe).
func hostOf(a net.Addr) string {
	s := a.String()
	if h, _, err := net.SplitHostPort(s); err == nil {
		return h
	}
	return s
}

// close ends the connection; safe to call from any goroutine.
func (c *conn) close(cause error) {
	c.once.Do(func() {
		c.cancel(cause)
		c.nc.Close()
	})
}

// serve runs the connection until it ends: reader here, writer and
// handlers on tracked goroutines; it returns once all of them are done
// and the connection's sessions are torn down.
func (c *conn) serve() {
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		defer c.recoverPanic("writer")
		c.writeLoop()
	}()
	err := c.runReader()
	if cause := context.Cause(c.ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		err = cause // a handler or the writer ended the connection first
	}
	c.close(err)
	c.wg.Wait() // handlers finish before the session table is torn down
	<-writerDone
	c.drainOut()
	c.teardown()
	c.logEnd(err)
}

// logEnd logs why the connection ended, once.
func (c *conn) logEnd(err error) {
	var ce *connError
	switch {
	case errors.As(err, &ce) && ce.token == "idle_timeout":
		c.log.Info("connection closed", "reason", ce.token, "detail", ce.detail)
	case errors.As(err, &ce):
		c.srv.stats.protocolErrors.Add(1)
		c.log.Warn("connection closed", "reason", ce.token, "detail", ce.detail)
	case err == nil, errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed), errors.Is(err, errSMB1Refused),
		errors.Is(err, io.ErrClosedPipe):
	default:
		c.log.Debug("connection closed", "err", err)
	}
}

// runReader runs the read loop, turning a panic into a connection error.
func (c *conn) runReader() (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = c.panicked("reader", p)
		}
	}()
	return c.readLoop()
}

// recoverPanic, deferred at the top of a connection goroutine, turns a
// panic into the end of this connection only.
func (c *conn) recoverPanic(where string) {
	if p := recover(); p != nil {
		c.close(c.panicked(where, p))
	}
}

// panicked logs and counts a recovered panic and returns the error that
// ends the connection.
func (c *conn) panicked(where string, p any) error {
	c.srv.stats.panics.Add(1)
	c.log.Error("panic in connection; connection closed, server keeps running",
		"goroutine", where, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
	return fatal("panic", "%s: %v", where, p)
}

// teardown unbinds the connection from its sessions; a session whose
// last channel this was ends (its trees and opens are released), one
// with another channel lives on.
func (c *conn) teardown() {
	c.mu.Lock()
	sessions := make([]*session, 0, len(c.sessions))
	for _, s := range c.sessions {
		sessions = append(sessions, s)
	}
	clear(c.sessions)
	c.mu.Unlock()
	for _, s := range sessions {
		s.dropChannel(c)
	}
	clear(c.handshakes)
}

// writeLoop is the only goroutine that writes to the socket.
func (c *conn) writeLoop() {
	for {
		select {
		case f := <-c.out:
			if !c.write(c.gather(f)) {
				return
			}
		case <-c.breaks.ready:
			batch := c.batch[:0]
			for _, b := range c.breaks.take() {
				batch = append(batch, outFrame{buf: b})
			}
			if !c.write(batch) {
				return
			}
		case <-c.ctx.Done():
			return
		}
	}
}

// writeChunk is how much of a frame must reach the client per
// WriteTimeout: the deadline measures progress, so a slow link that keeps
// reading is never cut off in the middle of a large READ response.
const writeChunk = 1 << 20

// maxBatch is the most frames one write system call carries.
const maxBatch = 16

// gather returns f and the frames queued behind it (without waiting for
// more), so that responses finished together leave in one writev instead
// of one write each. Writer-owned.
func (c *conn) gather(f outFrame) []outFrame {
	batch := append(c.batch[:0], f)
	for len(batch) < maxBatch {
		select {
		case g := <-c.out:
			batch = append(batch, g)
		default:
			return batch
		}
	}
	return batch
}

// write puts frames on the wire with vectored writes of at most
// writeChunk bytes each (one system call for a batch of small frames),
// straight from the buffers they were built in, and closes the connection
// when the client stops taking them off the socket. Writer-owned.
func (c *conn) write(fs []outFrame) bool {
	iov := c.iov[:0]
	for _, f := range fs {
		iov = append(iov, f.buf[f.off:])
	}
	var err error
	for pending := iov; len(pending) > 0 && err == nil; {
		chunk, n := c.chunk[:0], 0
		for len(pending) > 0 && n < writeChunk {
			b := pending[0]
			if k := writeChunk - n; len(b) > k {
				chunk = append(chunk, b[:k])
				pending[0] = b[k:]
				n += k
				break
			}
			chunk = append(chunk, b)
			n += len(b)
			pending = pending[1:]
		}
		c.chunk, c.wbuf = chunk[:0], chunk // WriteTo consumes wbuf; a field, so it does not escape
		c.nc.SetWriteDeadline(c.writeDeadline())
		_, err = c.wbuf.WriteTo(c.nc) // writev on TCP
	}
	size := 0
	for _, f := range fs {
		size += len(f.buf) - f.off
		putBuf(f.buf)
		c.readBudget.release(f.readBytes)
	}
	// The scratch slices keep no buffer alive once it is back in the pool.
	clear(iov)
	clear(c.chunk[:cap(c.chunk)])
	clear(fs)
	c.iov, c.batch = iov[:0], fs[:0]
	if err != nil {
		if isTimeout(err) {
			err = fatal("write_timeout", "client did not read %d bytes of responses in time", size)
		}
		c.close(err)
		return false
	}
	return true
}

// drainOut releases frames still queued when the writer stopped.
func (c *conn) drainOut() {
	for {
		select {
		case f := <-c.out:
			putBuf(f.buf)
			c.readBudget.release(f.readBytes)
		default:
			c.breaks.shut()
			return
		}
	}
}

// send queues one complete frame (transport header included). It never
// blocks once the connection is closing.
func (c *conn) send(frame []byte) { c.sendFrame(outFrame{buf: frame}) }

func (c *conn) sendFrame(f outFrame) {
	select {
	case c.out <- f:
	case <-c.ctx.Done():
		putBuf(f.buf)
		c.readBudget.release(f.readBytes)
	}
}

// Deadlines. Before the first session every read and write shares one
// absolute deadline (PreAuthTimeout from accept); afterwards a header
// read waits up to IdleTimeout, the rest of a started PDU and each write
// up to WriteTimeout.
func (c *conn) headerDeadline() time.Time {
	if !c.everAuth.Load() {
		return c.preAuthDeadline
	}
	return after(c.lim.IdleTimeout)
}

func (c *conn) bodyDeadline() time.Time {
	if !c.everAuth.Load() {
		return c.preAuthDeadline
	}
	return after(c.lim.WriteTimeout)
}

func (c *conn) writeDeadline() time.Time {
	d := after(c.lim.WriteTimeout)
	if !c.everAuth.Load() && !c.preAuthDeadline.IsZero() && (d.IsZero() || c.preAuthDeadline.Before(d)) {
		return c.preAuthDeadline
	}
	return d
}

// after is now+d, or no deadline for a negative d.
func after(d time.Duration) time.Time {
	if d <= 0 {
		return time.Time{}
	}
	return time.Now().Add(d)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// readLoop frames PDUs and dispatches them.
func (c *conn) readLoop() error {
	c.reader.claim()
	var hdr [4]byte
	for {
		if err := c.readHeader(hdr[:]); err != nil {
			return err
		}
		if hdr[0] != 0 {
			return fatal("bad_transport_header", "first byte 0x%02x", hdr[0])
		}
		n := int(binary.BigEndian.Uint32(hdr[:]) & 0xFFFFFF)
		if limit := c.pduLimit(); n > limit {
			return fatal("pdu_too_large", "%d bytes, limit %d in this state", n, limit)
		}
		if n < 4 {
			return fatal("pdu_too_small", "%d bytes", n)
		}
		c.nc.SetReadDeadline(c.bodyDeadline())
		buf := getBuf(n + tagRoom)[:n] // room to decrypt in place
		if err := netio.ReadFull(c.nc, buf); err != nil {
			putBuf(buf)
			if isTimeout(err) {
				return fatal("read_timeout", "%d-byte PDU not received in time", n)
			}
			return err
		}
		if err := c.dispatch(buf); err != nil {
			return err
		}
	}
}

// readHeader reads a transport header. An authenticated connection that
// stays silent for IdleTimeout is closed unless it holds opens or pending
// requests (then the wait starts again).
func (c *conn) readHeader(hdr []byte) error {
	for {
		c.nc.SetReadDeadline(c.headerDeadline())
		n, err := io.ReadFull(c.nc, hdr)
		switch {
		case err == nil:
			return nil
		case !isTimeout(err):
			return err
		case !c.everAuth.Load():
			return fatal("pre_auth_timeout", "no session established within %v", c.lim.PreAuthTimeout)
		case n > 0:
			return fatal("read_timeout", "transport header not received in time")
		case c.busy():
			continue
		default:
			return fatal("idle_timeout", "no request for %v and nothing open", c.lim.IdleTimeout)
		}
	}
}

// busy reports whether the connection has pending requests or a session
// on it holds opens.
func (c *conn) busy() bool {
	if c.async.count() > 0 {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.sessions {
		if s.opens.Load() > 0 {
			return true
		}
	}
	return false
}

// pduLimit is the largest PDU accepted in the current state.
func (c *conn) pduLimit() int {
	switch {
	case !c.negotiated:
		return pduCap(c.lim.MaxPDUBeforeNegotiate)
	case !c.everAuth.Load():
		return pduCap(c.lim.MaxPDUBeforeSession)
	default:
		return int(c.maxIO) + 64<<10
	}
}

// pduCap maps an unlimited (negative) PDU limit to the transport's
// maximum (24-bit length).
func pduCap(limit int) int {
	if limit < 0 || limit > 0xFFFFFF {
		return 0xFFFFFF
	}
	return limit
}

// dispatch routes one PDU: SMB1 negotiate, or an SMB2 message/compound.
// NEGOTIATE and SESSION_SETUP run here, in order; everything else runs on a
// handler goroutine. A large sealed frame is decrypted on its handler and
// admitted there in arrival order (decrypt.go).
func (c *conn) dispatch(buf []byte) error {
	msg := buf // the SMB2 message; buf is the pooled buffer to release
	var sealedBy *sessionCipher
	switch [4]byte(buf[0:4]) {
	case wire.ProtocolSMB1:
		defer putBuf(buf)
		return c.smb1Negotiate(buf)
	case wire.ProtocolSMB2:
	case wire.ProtocolTransform:
		// Authenticated and decrypted before anything else runs.
		sc, err := c.checkTransform(buf)
		if err != nil {
			putBuf(buf)
			return err
		}
		if len(buf) > handlerDecryptMin {
			prev, mine := c.nextTurn()
			return c.startHandler(buf, sc, nil, prev, mine)
		}
		if msg, err = c.openSealed(buf, sc, true); err != nil {
			putBuf(buf)
			return err
		}
		sealedBy = sc
	default:
		return fatal("bad_protocol_id", "% x", buf[0:4])
	}
	reqs, err := c.splitRequests(msg, sealedBy)
	if err != nil {
		return err
	}
	if runsOnReader(reqs) {
		defer putBuf(buf)
		if err := c.waitTurn(); err != nil {
			return err
		}
		if err := c.admit(reqs); err != nil {
			return err
		}
		return c.runChain(reqs)
	}
	if c.pendingTurn() != nil {
		prev, mine := c.nextTurn()
		return c.startHandler(buf, nil, reqs, prev, mine)
	}
	if c.ctx.Err() != nil {
		putBuf(buf)
		return context.Cause(c.ctx) // an earlier frame ended the connection
	}
	if err := c.admit(reqs); err != nil {
		return err
	}
	c.holdOpens(reqs)
	return c.startHandler(buf, nil, reqs, nil, nil)
}

// runsOnReader reports whether a compound must run on the reader, in
// arrival order with the reads that follow it: any compound holding a
// NEGOTIATE or a SESSION_SETUP, wherever it sits (the handshake state
// they change is the reader's), and one starting with CHANGE_NOTIFY
// (it only registers interest, never blocks, and must be in place
// before the requests the client sent after it run).
func runsOnReader(reqs []*request) bool {
	if reqs[0].hdr.Command == wire.CmdChangeNotify {
		return true
	}
	for _, r := range reqs {
		if r.hdr.Command == wire.CmdNegotiate || r.hdr.Command == wire.CmdSessionSetup {
			return true
		}
	}
	return false
}

// Buffers come from the size-classed pools of internal/bufpool.
func bufClassSize(n int) int { return bufpool.ClassSize(n) }
func getBuf(n int) []byte    { return bufpool.Get(n) }
func putBuf(b []byte)        { bufpool.Put(b) }
