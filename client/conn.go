package client

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/signetsmb/signet/internal/bufpool"
	"github.com/signetsmb/signet/internal/netio"
	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/smbcrypto"
	"github.com/signetsmb/signet/internal/wire"
)

// Frame size caps for received messages: small until NEGOTIATE has set the
// I/O sizes, then what the largest request may bring back.
const (
	maxFrameBeforeNegotiate = 1 << 20
	maxFrame                = 0xFFFFFF // the 24-bit length of direct TCP
	frameOverhead           = 64 << 10 // header, body, padding above the payload
	processID               = 0xFEFF   // what Windows clients send <3>
)

// NBSS message types that may precede an SMB2 message [RFC 1002 4.3].
const (
	nbssMessage   = 0x00
	nbssKeepAlive = 0x85
)

// conn is one TCP connection to a server: framing, MessageId and credit
// accounting, and the demultiplexing of responses to waiting requests.
//
// One reader goroutine (readLoop) owns the socket's read side. Requests
// are written by the goroutines that issue them, one whole frame at a time
// under wmu. Signing and verification run in the issuing goroutines, so
// several large READ/WRITE requests are signed and checked in parallel.
type conn struct {
	nc      net.Conn
	credits *creditPool

	// Set once by Dial or a channel binding, before the conn is shared;
	// read-only afterwards.
	largeMTU bool // multi-credit requests (2.1+ with CAP_LARGE_MTU)

	frameCap atomic.Uint32 // cap on the size of received frames

	// onBreak, when set, receives the unsolicited OPLOCK_BREAK messages
	// (lease break notifications and oplock breaks); it runs in the
	// reader goroutine and must not block (Session.enqueueBreak).
	onBreak atomic.Pointer[func([]byte)]

	// enc is the session's encryption state, set once by the logon;
	// sealing turns encryption of requests on (encrypt.go).
	enc     atomic.Pointer[sessionCipher]
	sealing atomic.Bool

	wmu sync.Mutex // serialises frame writes

	mu      sync.Mutex       // guards the fields below
	pending map[uint64]*call // by MessageId, until the final response
	err     error            // first fatal error; set once
	dead    chan struct{}    // closed when err is set
}

// call is one request waiting for its final response.
type call struct {
	id     uint64
	charge uint16
	ready  chan struct{} // closed once resp or err is set
	resp   *response
	err    error

	asyncID uint64 // from the interim response; guarded by conn.mu
	async   bool   // an interim STATUS_PENDING arrived; guarded by conn.mu
}

// request is an outgoing message: a 64-byte header placeholder followed
// by the body. roundTrip fills in the header fields it owns.
type request struct {
	msg       []byte
	payload   int // largest data size either way, for the credit charge
	sessionID uint64
	treeID    uint32
	signer    smbcrypto.Signer // non-nil: sign the request with it
	sealed    bool             // sent encrypted (set by send)
}

// response is a final response, header decoded.
type response struct {
	hdr       wire.Header
	msg       []byte
	encrypted bool // arrived in a transform (not signed, authenticated)

	// pooled, when set, is the bufpool buffer the frame was read into,
	// msg being its only message. Whoever consumes msg last may give it
	// back with release (the READ paths do); otherwise the garbage
	// collector takes it.
	pooled []byte
}

// release gives the frame buffer back to the pool; r.msg must not be used
// afterwards.
func (r *response) release() {
	if r != nil && r.pooled != nil {
		bufpool.Put(r.pooled)
		r.pooled, r.msg = nil, nil
	}
}

// pooledFrame is the smallest frame read into a pooled buffer: smaller
// ones are allocated to their size, which costs less than a class's
// spare capacity.
const pooledFrame = 64 << 10

// status returns the response's NTSTATUS.
func (r *response) status() ntstatus.Status { return ntstatus.Status(r.hdr.Status) }

// newMessage returns a request buffer: a zero header with the command
// set, and room for size body bytes.
func newMessage(cmd wire.Command, size int) []byte {
	msg := make([]byte, wire.HeaderSize, wire.HeaderSize+size)
	binary.LittleEndian.PutUint16(msg[12:], uint16(cmd))
	return msg
}

func newConn(nc net.Conn) *conn {
	c := &conn{
		nc:      nc,
		credits: newCreditPool(),
		pending: make(map[uint64]*call),
		dead:    make(chan struct{}),
	}
	c.frameCap.Store(maxFrameBeforeNegotiate)
	go c.readLoop()
	return c
}

// setFrameCap sets the largest frame the reader accepts.
func (c *conn) setFrameCap(n int) {
	c.frameCap.Store(uint32(min(n+frameOverhead, maxFrame)))
}

// fail records the first fatal error, wakes every waiter and closes the
// socket.
func (c *conn) fail(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	calls := c.pending
	c.pending = nil
	close(c.dead)
	c.mu.Unlock()
	c.credits.close(err)
	c.nc.Close()
	for _, cl := range calls {
		cl.err = err
		close(cl.ready)
	}
}

// failure returns the fatal error, or nil while the conn is usable.
func (c *conn) failure() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// roundTrip sends req and waits for its final response. It does not look
// at the status or the signature; callers do.
func (c *conn) roundTrip(ctx context.Context, req *request) (*response, error) {
	cl, err := c.send(ctx, req)
	if err != nil {
		return nil, err
	}
	return c.wait(ctx, cl, req)
}

// send finalises the header of req (MessageId, credits, ids, signature)
// and writes it. On return req.msg holds the exact bytes sent, which the
// 3.1.1 preauth hash needs.
func (c *conn) send(ctx context.Context, req *request) (*call, error) {
	if len(req.msg) > maxFrame {
		return nil, fmt.Errorf("smb: message of %d bytes exceeds the transport limit", len(req.msg))
	}
	charge := uint16(1)
	if c.largeMTU {
		charge = creditCharge(req.payload)
	}
	id, ask, err := c.credits.acquire(ctx, charge)
	if err != nil {
		return nil, c.connError(err)
	}
	c.putHeader(req, id, charge, ask)
	wireMsg := req.msg
	if sc := c.enc.Load(); sc != nil && c.sealing.Load() && req.sessionID == sc.id {
		// An encrypted message is not signed [MS-SMB2 3.2.4.1.8].
		if wireMsg, err = sc.seal(req.msg); err != nil {
			c.credits.release(charge)
			c.fail(err)
			return nil, c.connError(err)
		}
		req.sealed = true
	} else if req.signer != nil {
		req.signer.Sign(req.msg)
	}
	cl := &call{id: id, charge: charge, ready: make(chan struct{})}
	if err := c.register(cl); err != nil {
		c.credits.release(charge)
		return nil, err
	}
	err = c.write(ctx, wireMsg)
	if req.sealed {
		bufpool.Put(wireMsg) // the transform is on the wire (or never will be)
	}
	if err != nil {
		c.fail(fmt.Errorf("smb: write: %w", err))
		return nil, c.connError(err)
	}
	return cl, nil
}

// putHeader writes the header fields a request owns.
func (c *conn) putHeader(req *request, id uint64, charge, ask uint16) {
	h := req.msg[:wire.HeaderSize]
	copy(h[0:4], wire.ProtocolSMB2[:])
	binary.LittleEndian.PutUint16(h[4:], wire.HeaderSize)
	if c.largeMTU {
		binary.LittleEndian.PutUint16(h[6:], charge)
	}
	binary.LittleEndian.PutUint16(h[14:], ask)
	binary.LittleEndian.PutUint64(h[24:], id)
	binary.LittleEndian.PutUint32(h[32:], processID)
	binary.LittleEndian.PutUint32(h[36:], req.treeID)
	binary.LittleEndian.PutUint64(h[40:], req.sessionID)
}

// register adds cl to the pending table.
func (c *conn) register(cl *call) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.connErrorLocked()
	}
	c.pending[cl.id] = cl
	return nil
}

// write sends one message as one frame. The context's deadline bounds the
// write; cancellation without a deadline does not interrupt it, because a
// half-written frame would kill the connection.
func (c *conn) write(ctx context.Context, msg []byte) error {
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(len(msg)))
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if d, ok := ctx.Deadline(); ok {
		c.nc.SetWriteDeadline(d)
		defer c.nc.SetWriteDeadline(time.Time{})
	}
	bufs := net.Buffers{hdr[:], msg}
	_, err := bufs.WriteTo(c.nc)
	return err
}

// wait blocks until cl's final response arrives, ctx is done or the conn
// dies. On cancellation it sends a best-effort CANCEL; the call stays
// registered so that its credits are still accounted for when the server
// answers.
func (c *conn) wait(ctx context.Context, cl *call, req *request) (*response, error) {
	select {
	case <-cl.ready:
		if cl.err != nil {
			return nil, c.connError(cl.err)
		}
		return cl.resp, nil
	case <-ctx.Done():
		c.cancel(cl, req)
		return nil, ctx.Err()
	}
}

// cancel sends SMB2 CANCEL for cl [MS-SMB2 3.2.4.24]: same MessageId (or
// the AsyncId once an interim response arrived), no credits consumed,
// signed like the request.
func (c *conn) cancel(cl *call, req *request) {
	c.mu.Lock()
	async, asyncID, live := cl.async, cl.asyncID, c.pending[cl.id] == cl
	c.mu.Unlock()
	if !live {
		return
	}
	msg := newMessage(wire.CmdCancel, 4)
	h := wire.Header{Command: wire.CmdCancel, MessageID: cl.id, SessionID: req.sessionID, TreeID: req.treeID, ProcessID: processID}
	if async {
		h.Flags |= wire.FlagAsyncCommand
		h.AsyncID = asyncID
	}
	h.Put(msg)
	msg = wire.AppendSimple(msg)
	if sc := c.enc.Load(); req.sealed && sc != nil {
		sealed, err := sc.seal(msg)
		if err != nil {
			c.fail(err)
			return
		}
		msg = sealed
	} else if req.signer != nil {
		req.signer.Sign(msg)
	}
	ctx, done := context.WithTimeout(context.Background(), time.Second)
	defer done()
	if err := c.write(ctx, msg); err != nil {
		c.fail(fmt.Errorf("smb: write: %w", err))
	}
}

// connError wraps the reason a connection can no longer be used.
func (c *conn) connError(err error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.connErrorLocked()
	}
	return err
}

func (c *conn) connErrorLocked() error {
	if errors.Is(c.err, ErrClosed) || errors.Is(c.err, ErrBadSignature) || errors.Is(c.err, ErrValidateNegotiate) {
		return c.err
	}
	return fmt.Errorf("smb: connection lost: %w", c.err)
}

// close shuts the connection down; pending calls fail with ErrClosed.
func (c *conn) close() {
	c.fail(ErrClosed)
}

// readLoop reads frames until the connection fails.
func (c *conn) readLoop() {
	for {
		frame, err := c.readFrame()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			c.fail(err)
			return
		}
		if err := c.dispatch(frame); err != nil {
			c.fail(err)
			return
		}
	}
}

// readFrame returns the next SMB2 message frame, skipping keep-alives.
func (c *conn) readFrame() ([]byte, error) {
	var hdr [4]byte
	for {
		if _, err := io.ReadFull(c.nc, hdr[:]); err != nil {
			return nil, err
		}
		switch hdr[0] {
		case nbssKeepAlive:
			continue
		case nbssMessage:
		default:
			return nil, fmt.Errorf("%w: transport frame type 0x%02x", ErrInvalidResponse, hdr[0])
		}
		n := binary.BigEndian.Uint32(hdr[:]) & maxFrame
		if n > c.frameCap.Load() {
			return nil, fmt.Errorf("%w: frame of %d bytes exceeds %d", ErrInvalidResponse, n, c.frameCap.Load())
		}
		// 16 spare bytes let an encrypted frame be opened in place (the
		// AEAD wants its tag after the ciphertext).
		var frame []byte
		if n >= pooledFrame {
			frame = bufpool.Get(int(n) + 16)[:n]
		} else {
			frame = make([]byte, n, n+16)
		}
		if err := netio.ReadFull(c.nc, frame); err != nil {
			return nil, err
		}
		return frame, nil
	}
}

// dispatch hands every message of a frame to its call.
func (c *conn) dispatch(frame []byte) error {
	var pooled []byte
	if len(frame) >= pooledFrame {
		pooled = frame
	}
	encrypted := len(frame) >= 4 && [4]byte(frame[:4]) == wire.ProtocolTransform
	if encrypted {
		var err error
		if frame, err = c.open(frame); err != nil {
			return err
		}
	}
	msgs, err := wire.SplitCompound(frame, 64)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidResponse, err)
	}
	if len(msgs) != 1 {
		pooled = nil // several owners: left to the garbage collector
	}
	for _, m := range msgs {
		if err := c.deliver(m, encrypted, pooled); err != nil {
			return err
		}
	}
	return nil
}

// deliver routes one response. Interim STATUS_PENDING responses only
// record the AsyncId and their credits [MS-SMB2 3.2.5.1.5]; they are never
// verified. Unsolicited OPLOCK_BREAK messages (lease break notifications
// and oplock breaks) go to the session's breaker through onBreak; they are
// not signed [MS-SMB2 3.3.4.6, 3.3.4.7], and a forged one can only make
// the client flush and give caching up.
func (c *conn) deliver(m []byte, encrypted bool, pooled []byte) error {
	h, err := wire.ParseHeader(m)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidResponse, err)
	}
	if !h.IsResponse() {
		return fmt.Errorf("%w: request received from server", ErrInvalidResponse)
	}
	if h.MessageID == wire.MessageIDUnsolicited {
		if h.Command == wire.CmdOplockBreak {
			if fn := c.onBreak.Load(); fn != nil {
				(*fn)(slices.Clone(m))
			}
		}
		return nil
	}
	c.mu.Lock()
	cl := c.pending[h.MessageID]
	if cl == nil {
		c.mu.Unlock()
		return fmt.Errorf("%w: %v response (%v) to unknown MessageId %d", ErrInvalidResponse, h.Command, ntstatus.Status(h.Status), h.MessageID)
	}
	if ntstatus.Status(h.Status) == ntstatus.Pending {
		cl.async, cl.asyncID = h.IsAsync(), h.AsyncID
		c.mu.Unlock()
		c.credits.grant(h.Credits, false, 0)
		return nil
	}
	delete(c.pending, h.MessageID)
	c.mu.Unlock()
	c.credits.grant(h.Credits, true, cl.charge)
	cl.resp = &response{hdr: h, msg: m, encrypted: encrypted, pooled: pooled}
	close(cl.ready)
	return nil
}
