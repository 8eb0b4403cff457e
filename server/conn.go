package server

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/signetsmb/signet/internal/smbcrypto"
	"github.com/signetsmb/signet/internal/wire"
)

// PDU size caps by connection state (ksmbd and Samba bound the size before
// negotiate far below the negotiated maximum).
const (
	maxPDUBeforeNegotiate = 4 << 10
	maxPDUBeforeSession   = 64 << 10
	maxCompound           = 64
	// maxIOSize is the negotiated MaxRead/MaxWrite/MaxTransact with
	// LARGE_MTU; 2.0.2 is limited to 64 KiB [MS-SMB2 3.3.5.4].
	maxIOSize    = 8 << 20
	maxIOSize202 = 64 << 10
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
type conn struct {
	srv    *Server
	nc     net.Conn
	remote string
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelCauseFunc

	// Owned by the reader goroutine until negotiation completes, then
	// read-only: the negotiated state.
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
	maxIO          uint32
	preauth        smbcrypto.PreauthHash // 3.1.1 connection hash
	settings       *Settings             // snapshot taken at NEGOTIATE

	// credits guards the sequence window [MS-SMB2 3.3.1.1].
	credits creditWindow

	// mu guards the session table.
	mu       sync.Mutex
	sessions map[uint64]*session

	// opens and async are the connection's open and pending-request tables.
	opens openTable
	async asyncTable

	// badSigs counts signature failures on this connection.
	badSigs int32

	out      chan []byte   // frames for the writer
	inflight chan struct{} // semaphore of executing requests
	wg       sync.WaitGroup
	once     sync.Once
}

func newConn(s *Server, nc net.Conn) *conn {
	ctx, cancel := context.WithCancelCause(context.Background())
	c := &conn{
		srv:      s,
		nc:       nc,
		remote:   nc.RemoteAddr().String(),
		ctx:      ctx,
		cancel:   cancel,
		sessions: map[uint64]*session{},
		out:      make(chan []byte, 16),
		inflight: make(chan struct{}, s.opts.MaxInFlight),
	}
	c.log = s.log.With("client", c.remote)
	c.credits.init()
	return c
}

// close ends the connection; safe to call from any goroutine.
func (c *conn) close(cause error) {
	c.once.Do(func() {
		c.cancel(cause)
		c.nc.Close()
	})
}

// serve runs the reader loop until the connection ends.
func (c *conn) serve() {
	go c.writeLoop()
	err := c.readLoop()
	if cause := context.Cause(c.ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		err = cause // a handler ended the connection first
	}
	c.close(err)
	c.wg.Wait() // handlers finish before the session table is torn down
	close(c.out)
	c.teardown()
	var ce *connError
	switch {
	case errors.As(err, &ce):
		c.srv.stats.protocolErrors.Add(1)
		c.log.Warn("connection closed", "reason", ce.token, "detail", ce.detail)
	case err == nil, errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed), errors.Is(err, errSMB1Refused):
	default:
		c.log.Debug("connection closed", "err", err)
	}
}

// teardown releases every session of the connection.
func (c *conn) teardown() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, s := range c.sessions {
		c.dropSessionLocked(id, s)
	}
}

// writeLoop is the only goroutine that writes to the socket.
func (c *conn) writeLoop() {
	for frame := range c.out {
		if _, err := c.nc.Write(frame); err != nil {
			c.close(err)
			for range c.out { // drain so senders never block
			}
			return
		}
		putBuf(frame)
	}
}

// send queues one complete frame (transport header included). It never
// blocks once the connection is closing.
func (c *conn) send(frame []byte) {
	select {
	case c.out <- frame:
	case <-c.ctx.Done():
	}
}

// readLoop frames PDUs and dispatches them.
func (c *conn) readLoop() error {
	deadline := time.Now().Add(c.srv.opts.NegotiateTimeout)
	c.nc.SetReadDeadline(deadline)
	var hdr [4]byte
	for {
		if _, err := io.ReadFull(c.nc, hdr[:]); err != nil {
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
		buf := getBuf(n)
		if _, err := io.ReadFull(c.nc, buf); err != nil {
			return err
		}
		if err := c.dispatch(buf); err != nil {
			return err
		}
		if c.hasSession() {
			c.nc.SetReadDeadline(time.Time{})
		}
	}
}

// pduLimit is the largest PDU accepted in the current state.
func (c *conn) pduLimit() int {
	switch {
	case !c.negotiated:
		return maxPDUBeforeNegotiate
	case !c.hasSession():
		return maxPDUBeforeSession
	default:
		return int(c.maxIO) + 64<<10
	}
}

func (c *conn) hasSession() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.sessions {
		if s.valid() {
			return true
		}
	}
	return false
}

// dispatch routes one PDU: SMB1 negotiate, or an SMB2 message/compound.
// NEGOTIATE and SESSION_SETUP run here, in order; everything else runs on a
// handler goroutine.
func (c *conn) dispatch(buf []byte) error {
	switch [4]byte(buf[0:4]) {
	case wire.ProtocolSMB1:
		defer putBuf(buf)
		return c.smb1Negotiate(buf)
	case wire.ProtocolSMB2:
	case wire.ProtocolTransform:
		return fatal("encryption_not_negotiated", "transform header on a connection without encryption")
	default:
		return fatal("bad_protocol_id", "% x", buf[0:4])
	}
	elems, err := wire.SplitCompound(buf, maxCompound)
	if err != nil {
		return fatal("bad_compound", "%v", err)
	}
	reqs := make([]*request, len(elems))
	for i, e := range elems {
		h, err := wire.ParseHeader(e)
		if err != nil {
			return fatal("bad_header", "%v", err)
		}
		if h.IsResponse() {
			return fatal("response_from_client", "%v", h.Command)
		}
		reqs[i] = &request{c: c, msg: e, hdr: h, last: i == len(elems)-1}
	}
	first := reqs[0].hdr.Command
	if !c.negotiated && first != wire.CmdNegotiate {
		return fatal("not_negotiated", "%v before NEGOTIATE", first)
	}
	for _, r := range reqs {
		if r.hdr.Command == wire.CmdCancel {
			continue // CANCEL takes no credit and no sequence number
		}
		if err := c.credits.consume(r.hdr.MessageID, r.charge(c)); err != nil {
			return fatal("bad_message_id", "%v: %v", r.hdr.Command, err)
		}
	}
	// CHANGE_NOTIFY only registers interest (it never blocks), and must be
	// in place before the requests the client sent after it run.
	if first == wire.CmdNegotiate || first == wire.CmdSessionSetup || first == wire.CmdChangeNotify {
		defer putBuf(buf)
		return c.runChain(reqs)
	}
	c.holdOpens(reqs)
	select {
	case c.inflight <- struct{}{}:
	case <-c.ctx.Done():
		return context.Cause(c.ctx)
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer func() { <-c.inflight }()
		defer putBuf(buf)
		defer releaseOpens(reqs)
		if err := c.runChain(reqs); err != nil {
			c.close(err)
		}
	}()
	return nil
}

// Buffers: size-classed pools so steady-state reads and responses do not
// allocate (x/net/http2 databuffer).
var bufClasses = [...]int{1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20, 9 << 20}

var bufPools [len(bufClasses)]sync.Pool

func getBuf(n int) []byte {
	for i, sz := range bufClasses {
		if n <= sz {
			if p, ok := bufPools[i].Get().(*[]byte); ok {
				return (*p)[:n]
			}
			return make([]byte, n, sz)
		}
	}
	return make([]byte, n)
}

func putBuf(b []byte) {
	c := cap(b)
	for i, sz := range bufClasses {
		if c == sz {
			b = b[:0]
			bufPools[i].Put(&b)
			return
		}
	}
}
