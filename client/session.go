package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/smbcrypto"
	"github.com/signetsmb/signet/internal/wire"
)

// Session is an authenticated SMB2/3 session on its own connection
// [MS-SMB2 3.2.1.3]. It is safe for concurrent use.
type Session struct {
	conn *conn
	neg  *negotiation
	host string // server name for UNC paths

	// Settled by logon, read-only afterwards.
	cfg             Dialer // copy of the Dialer's options
	id              uint64
	signingRequired bool             // Session.SigningRequired [MS-SMB2 3.2.5.3.1]
	signer          smbcrypto.Signer // nil for guest logons (no key)
	guest           bool
	ioSize          int
	maxInFlight     int

	vmu       sync.Mutex // guards validated and validErr
	validated bool       // VALIDATE_NEGOTIATE_INFO done (all but 3.1.1)
	validErr  error

	closeOnce sync.Once
	closeErr  error
}

func newSession(d *Dialer, c *conn, neg *negotiation, host string) *Session {
	s := &Session{conn: c, neg: neg, host: host, cfg: *d}
	s.cfg.SigningAlgorithms = nil // not used after NEGOTIATE; do not alias
	s.ioSize, s.maxInFlight = ioLimits(d, &neg.info)
	c.largeMTU = neg.info.Dialect >= Dialect210 && neg.info.Capabilities&wire.CapLargeMTU != 0
	c.setFrameCap(max(s.ioSize, transactSize(&neg.info)))
	return s
}

// ioLimits returns the payload of one READ/WRITE and the requests to keep
// in flight.
func ioLimits(d *Dialer, info *NegotiateInfo) (ioSize, inFlight int) {
	ioSize = d.IOSize
	if ioSize <= 0 {
		ioSize = defaultIOSize
	}
	ioSize = min(ioSize, maxIOSize, int(info.MaxReadSize), int(info.MaxWriteSize))
	if info.Dialect == Dialect202 || info.Capabilities&wire.CapLargeMTU == 0 {
		ioSize = min(ioSize, smallIOSize)
	}
	inFlight = d.MaxInFlight
	if inFlight <= 0 {
		inFlight = defaultMaxInFlight
	}
	return ioSize, inFlight
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
	treeID  uint32
	// forceSign signs the request even when the session does not require
	// signing (3.1.1 TREE_CONNECT, VALIDATE_NEGOTIATE_INFO).
	forceSign bool
	// mustVerify requires a signed response even when the session does
	// not require signing (VALIDATE_NEGOTIATE_INFO).
	mustVerify bool
}

// exec sends x and returns its verified final response, whatever its
// status.
func (s *Session) exec(ctx context.Context, x *exchange) (*response, error) {
	if s.cfg.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.cfg.Timeout)
		defer cancel()
	}
	req := &request{msg: x.msg, payload: x.payload, sessionID: s.id, treeID: x.treeID}
	if s.signer != nil && (s.signingRequired || x.forceSign) {
		req.signer = s.signer
	}
	resp, err := s.conn.roundTrip(ctx, req)
	if err != nil {
		return nil, err
	}
	if err := s.check(req, x, resp); err != nil {
		return nil, err
	}
	return resp, nil
}

// check validates the response header and its signature [MS-SMB2
// 3.2.5.1.3]. Every signed response is verified; an unsigned one is
// refused when the session requires signing or the exchange demands it.
// A failure closes the connection.
func (s *Session) check(req *request, x *exchange, resp *response) error {
	h := &resp.hdr
	cmd := wire.Command(le16(req.msg[12:]))
	if h.Command != cmd || h.SessionID != req.sessionID {
		err := invalidResponse(cmd.String(), fmt.Errorf("response is %v for session 0x%x", h.Command, h.SessionID))
		s.conn.fail(err)
		return err
	}
	signed := h.Flags&wire.FlagSigned != 0
	switch {
	case resp.encrypted:
		// Authenticated by decryption; an encrypted message is not signed
		// [MS-SMB2 3.2.5.1.1.1].
		return nil
	case req.sealed:
		return s.badSignature(cmd, h, "unencrypted")
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
		return s.badSignature(cmd, h, "unsigned")
	case signed && s.signer == nil:
		return nil // guest: no key to verify with, nothing is trusted anyway
	case signed && !s.signer.Verify(resp.msg):
		return s.badSignature(cmd, h, "bad signature on")
	}
	return nil
}

// badSignature discards a response and closes the connection.
func (s *Session) badSignature(cmd wire.Command, h *wire.Header, what string) error {
	err := fmt.Errorf("%w: %s %v response (MessageId %d, %v)", ErrBadSignature, what, cmd, h.MessageID, ntstatus.Status(h.Status))
	s.conn.fail(err)
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

// Close logs off (LOGOFF) and closes the connection. Files and shares of
// the session become unusable. Close is idempotent.
func (s *Session) Close() error {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if s.conn.failure() == nil {
			msg := wire.AppendSimple(newMessage(wire.CmdLogoff, 4))
			if _, err := s.simple(ctx, &exchange{msg: msg}); err != nil && !errors.Is(err, ErrClosed) {
				s.closeErr = err
			}
		}
		s.conn.close()
	})
	return s.closeErr
}
