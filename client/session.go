package client

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/smbcrypto"
	"github.com/signetsmb/signet/internal/wire"
)

// Session is an authenticated SMB2/3 session [MS-SMB2 3.2.1.3]: one
// connection, or several channels bound to it (Dialer.Channels). It is
// safe for concurrent use.
//
// Ownership: conn, neg and signer are the first channel's (the logon's
// connection) and, with signer, Session.SigningKey; they are settled by
// Dial. The channel list is guarded by chmu, which is held only to read or
// edit the list and to ask channels' connections whether they failed
// (conn.mu is taken under chmu, never the reverse).
type Session struct {
	conn     *conn
	neg      *negotiation
	host     string // server name for UNC paths
	hostport string // dialed address, for channels bound to the same one
	// firstHostport is the address Dial connected to; a reconnect
	// elsewhere is a failover (failover.go). hostport changes on a
	// failover, under the reconnect semaphore rc.
	firstHostport string

	// Settled by logon, read-only afterwards.
	cfg             Dialer // copy of the Dialer's options
	id              uint64
	signingRequired bool             // Session.SigningRequired [MS-SMB2 3.2.5.3.1]
	signer          smbcrypto.Signer // nil for guest logons (no key)
	guest           bool
	readSize        int // payload of one READ
	writeSize       int // payload of one WRITE
	maxInFlight     int

	chmu  sync.Mutex // guards chans
	chans []*channel // live channels, the first one preferred
	rr    atomic.Uint32
	// chanSeq is the ChannelSequence of 3.x requests, raised each time a
	// channel is lost [MS-SMB2 3.2.4.1.1, 3.3.5.2.10]: a server then
	// refuses a WRITE still carrying the older value (from the lost
	// connection) once it has seen the reissued one.
	chanSeq atomic.Uint32

	vmu       sync.Mutex // guards validated and validErr
	validated bool       // VALIDATE_NEGOTIATE_INFO done (all but 3.1.1)
	validErr  error

	closeOnce sync.Once
	closeErr  error
	closing   atomic.Bool // Close started: no more reconnects

	// Leases, durable handles, reconnect (lease.go, durable.go).
	previousID  uint64        // PreviousSessionId of a reconnect's logon
	rc          chan struct{} // one-slot semaphore: one reconnect at a time
	reconnects  atomic.Int32
	omu         sync.Mutex         // guards files and trees
	files       map[*File]struct{} // open files, for breaks and reclaims
	trees       map[*tree]struct{} // connected trees, for reconnects
	breakHook   func([]byte)       // s.enqueueBreak, installed on each conn
	bmu         sync.Mutex         // guards bq
	bq          []breakMsg         // breaks waiting for the breaker
	bsig        chan struct{}      // wakes the breaker (one slot)
	breakerOnce sync.Once          // starts the breaker, or (Close) prevents it
	quit        chan struct{}      // closed by Close: the breaker stops
	bdone       chan struct{}      // closed when the breaker has stopped
}

func newSession(d *Dialer, c *conn, neg *negotiation, host string) *Session {
	s := &Session{conn: c, neg: neg, host: host, cfg: *d, rc: make(chan struct{}, 1), bsig: make(chan struct{}, 1)}
	s.breakHook = s.enqueueBreak
	c.onBreak.Store(&s.breakHook)
	s.cfg.SigningAlgorithms = nil // not used after NEGOTIATE; do not alias
	s.readSize, s.writeSize, s.maxInFlight = ioLimits(d, &neg.info)
	s.adopt(c, neg)
	return s
}

// adopt sets the transport limits of a connection of the session from its
// NEGOTIATE outcome; it runs before c is shared.
func (s *Session) adopt(c *conn, neg *negotiation) {
	c.largeMTU = neg.info.Dialect >= Dialect210 && neg.info.Capabilities&wire.CapLargeMTU != 0
	c.setFrameCap(max(s.readSize, transactSize(&neg.info)))
}

// ioLimits returns the payload of one READ and of one WRITE (each capped
// by the server's own maximum) and the requests to keep in flight.
func ioLimits(d *Dialer, info *NegotiateInfo) (readSize, writeSize, inFlight int) {
	ioSize := d.IOSize
	if ioSize <= 0 {
		ioSize = defaultIOSize
	}
	ioSize = min(ioSize, maxIOSize)
	if info.Dialect == Dialect202 || info.Capabilities&wire.CapLargeMTU == 0 {
		ioSize = min(ioSize, smallIOSize)
	}
	readSize = min(ioSize, int(info.MaxReadSize))
	writeSize = min(ioSize, int(info.MaxWriteSize))
	inFlight = d.MaxInFlight
	if inFlight <= 0 {
		inFlight = defaultMaxInFlight
	}
	return readSize, writeSize, inFlight
}

// transactSize is the output size asked for in IOCTL and QUERY requests.
func transactSize(info *NegotiateInfo) int {
	return min(int(info.MaxTransactSize), smallIOSize)
}

// Dialect returns the negotiated dialect, e.g. Dialect311.
func (s *Session) Dialect() uint16 { return s.neg.info.Dialect }

// Signed reports whether every request and response of the session is
// signed: true whenever the client or the server requires signing.
func (s *Session) Signed() bool { return s.signingRequired && s.signer != nil }

// SigningAlgorithm returns the algorithm signed messages use (see
// NegotiateInfo.SigningAlgorithm).
func (s *Session) SigningAlgorithm() uint16 { return s.neg.info.SigningAlgorithm }

// Guest reports whether the session is a guest or anonymous logon, which
// has no key and is never signed (only possible when signing is not
// required).
func (s *Session) Guest() bool { return s.guest }

// NegotiateInfo returns what the server answered to NEGOTIATE.
func (s *Session) NegotiateInfo() NegotiateInfo { return s.neg.info }

// exchange is one request on the session and how to treat its response.
type exchange struct {
	msg     []byte
	payload int
	t       *tree // its current TreeId goes into the header; nil: none
	// f, when set, is the open the request names: its current FileId is
	// written at msg[fidAt:] before each send (it changes when a
	// reconnect reclaims the handle).
	f     *File
	fidAt int
	// forceSign signs the request even when the session does not require
	// signing (3.1.1 TREE_CONNECT, VALIDATE_NEGOTIATE_INFO).
	forceSign bool
	// mustVerify requires a signed response even when the session does
	// not require signing (VALIDATE_NEGOTIATE_INFO).
	mustVerify bool
	// spread sends the request on the channels in turn (READ, WRITE)
	// rather than on the first live one.
	spread bool
	// reissue allows sending the request again on another channel when
	// its channel is lost before the response arrives: only for requests
	// whose repetition has the same effect (READ, and WRITE of the same
	// bytes at the same offset).
	reissue bool
	// replay allows sending the request again after a reconnect (as
	// reissue does; also FLUSH, QUERY_INFO and CLOSE of a reclaimed open).
	replay bool
}

// exec sends x on a channel of the session and returns its verified final
// response, whatever its status. When the channel is lost and x may be
// reissued, it is sent again on a surviving channel, and the lost one is
// dropped from the session.
func (s *Session) exec(ctx context.Context, x *exchange) (*response, error) {
	if s.cfg.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.cfg.Timeout)
		defer cancel()
	}
	for stale, busy, reconnects := 0, 0, 0; ; {
		ch, err := s.pick(x.spread)
		if err != nil {
			return nil, err
		}
		if ch.conn.failure() != nil && ch.lost(errConnLost) && s.canReconnect() && reconnects < maxReconnectsPerCall {
			// Lost while idle: nothing was sent yet, so any request may go
			// on the new connection.
			reconnects++
			if err := s.reconnect(ctx, ch); err != nil {
				return nil, err
			}
			continue
		}
		if x.f != nil {
			if err := x.f.lost(); err != nil {
				return nil, err
			}
			wire.PutFileID(x.msg[x.fidAt:], x.f.fileID())
		}
		seq := s.stampSequence(x.msg)
		resp, err := s.execOn(ctx, ch, x)
		if err == nil && resp.status() == ntstatus.FileNotAvailable && seq != s.sequence() && stale < maxStaleRetries {
			// Refused before it ran because a channel was lost after
			// it was stamped [MS-SMB2 3.3.5.2.10]: send it again.
			stale++
			continue
		}
		if err == nil && resp.status() == ntstatus.FileNotAvailable && isReplay(x.msg) && busy < maxBusyReplays {
			// A replay is refused, before it runs, while requests sent
			// under an earlier ChannelSequence (on the lost connection)
			// still run on the server [MS-SMB2 3.3.5.2.10]: they end
			// soon, so wait a little and send it again.
			busy++
			t := time.NewTimer(time.Duration(busy) * busyReplayStep)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return nil, ctx.Err()
			}
			continue
		}
		if err != nil && ch.lost(err) && ctx.Err() == nil && s.canReconnect() && reconnects < maxReconnectsPerCall {
			reconnects++
			if rerr := s.reconnect(ctx, ch); rerr != nil {
				return nil, fmt.Errorf("%w; %w", err, rerr)
			}
			if !x.replayable() {
				return nil, err // it may have run: the caller decides
			}
			s.markReplay(x.msg)
			continue
		}
		if err == nil || !x.reissue || !ch.lost(err) || ctx.Err() != nil || !s.drop(ch) {
			return resp, err
		}
	}
}

// errConnLost stands for "the connection failed" when asking whether a
// channel found dead before sending was lost rather than closed.
var errConnLost = errors.New("smb: connection lost")

// maxStaleRetries bounds the resends of one request refused for a stale
// ChannelSequence.
const maxStaleRetries = 4

// maxBusyReplays bounds the resends of one replayed request refused
// because the server still runs requests of the lost connection; the
// waits grow by busyReplayStep each time (about 5 s in all).
const (
	maxBusyReplays = 14
	busyReplayStep = 50 * time.Millisecond
)

// isReplay reports whether a request carries SMB2_FLAGS_REPLAY_OPERATION.
func isReplay(msg []byte) bool {
	return len(msg) >= wire.HeaderSize && binary.LittleEndian.Uint32(msg[16:])&wire.FlagReplayOperation != 0
}

// sequence returns the current ChannelSequence.
func (s *Session) sequence() uint16 { return uint16(s.chanSeq.Load()) }

// stampSequence writes the current ChannelSequence into a 3.x request's
// header and returns it; 2.x requests keep the field zero.
func (s *Session) stampSequence(msg []byte) uint16 {
	if s.Dialect() < Dialect300 {
		return 0
	}
	seq := s.sequence()
	binary.LittleEndian.PutUint16(msg[8:], seq)
	return seq
}

// execOn sends x on ch, signed with the channel's key, and checks the
// response with the same key.
func (s *Session) execOn(ctx context.Context, ch *channel, x *exchange) (*response, error) {
	req := &request{msg: x.msg, payload: x.payload, sessionID: ch.sid}
	if x.t != nil {
		req.treeID = x.t.id.Load()
	}
	if ch.signer != nil && (s.signingRequired || x.forceSign) {
		req.signer = ch.signer
	}
	resp, err := ch.conn.roundTrip(ctx, req)
	if err != nil {
		return nil, err
	}
	if err := s.check(ch, req, x, resp); err != nil {
		return nil, err
	}
	return resp, nil
}

// check validates the response header and its signature [MS-SMB2
// 3.2.5.1.3]. Every signed response is verified; an unsigned one is
// refused when the session requires signing or the exchange demands it.
// A failure closes the connection.
func (s *Session) check(ch *channel, req *request, x *exchange, resp *response) error {
	h := &resp.hdr
	cmd := wire.Command(le16(req.msg[12:]))
	if h.Command != cmd || h.SessionID != req.sessionID {
		err := invalidResponse(cmd.String(), fmt.Errorf("response is %v for session 0x%x", h.Command, h.SessionID))
		ch.conn.fail(err)
		return err
	}
	signed := h.Flags&wire.FlagSigned != 0
	switch {
	case resp.encrypted:
		// Authenticated by decryption; an encrypted message is not signed
		// [MS-SMB2 3.2.5.1.1.1].
		return nil
	case req.sealed:
		return badSignature(ch, cmd, h, "unencrypted")
	case ntstatus.Status(h.Status) == ntstatus.UserSessionDeleted && !x.mustVerify:
		// The server no longer has the session, so it has no key to sign
		// the refusal with (Windows, Samba and Signet set the flag without
		// a valid signature). The status carries no data and ends the
		// session either way; Samba's client takes it unverified too
		// rather than reporting a bad signature. A forged one can only
		// end the session, which a man in the middle can do by dropping
		// packets anyway.
		return nil
	case !signed && (x.mustVerify || s.Signed()):
		return badSignature(ch, cmd, h, "unsigned")
	case signed && ch.signer == nil:
		return nil // guest: no key to verify with, nothing is trusted anyway
	case signed && !ch.signer.Verify(resp.msg):
		return badSignature(ch, cmd, h, "bad signature on")
	}
	return nil
}

// badSignature discards a response and closes the channel's connection.
func badSignature(ch *channel, cmd wire.Command, h *wire.Header, what string) error {
	err := fmt.Errorf("%w: %s %v response (MessageId %d, %v)", ErrBadSignature, what, cmd, h.MessageID, ntstatus.Status(h.Status))
	ch.conn.fail(err)
	return err
}

// simple runs a request whose success response carries nothing we need,
// mapping a failure status to a *StatusError.
func (s *Session) simple(ctx context.Context, x *exchange) (*response, error) {
	resp, err := s.exec(ctx, x)
	if err != nil {
		return nil, err
	}
	if st := resp.status(); st != ntstatus.Success {
		return resp, statusError(resp.hdr.Command.String(), st)
	}
	return resp, nil
}

// Close logs off (LOGOFF, once, on a live channel) and closes every
// connection of the session. Files and shares of the session become
// unusable. Close is idempotent.
func (s *Session) Close() error {
	s.closeOnce.Do(func() {
		defer s.stopBreaker()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.flushFiles(nil) // writes cached in files left open
		s.closing.Store(true)
		if s.Channels() > 0 {
			msg := wire.AppendSimple(newMessage(wire.CmdLogoff, 4))
			if _, err := s.simple(ctx, &exchange{msg: msg}); err != nil && !errors.Is(err, ErrClosed) {
				s.closeErr = err
			}
		}
		s.closeChannels()
	})
	return s.closeErr
}
