package client

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/smbcrypto"
	"github.com/signetsmb/signet/internal/wire"
)

// interfaceConnectTimeout bounds the TCP connect to an address taken from
// the server's interface list, before falling back to the dialed one.
const interfaceConnectTimeout = 5 * time.Second

// channel is one connection of a session [MS-SMB2 3.2.1.8]: the first
// one is the logon's, the others are bound to the session with
// SESSION_SETUP and the BINDING flag. Each signs and verifies with its own
// key, Channel.SigningKey. Immutable once added to Session.chans.
type channel struct {
	conn   *conn
	neg    *negotiation
	signer smbcrypto.Signer // Channel.SigningKey; nil for a guest session
	sid    uint64           // SessionId its requests carry (new after a reconnect)

	retired atomic.Bool // counted in Session.chanSeq as lost
}

// retire records that ch was lost: the session's ChannelSequence goes up
// once per lost channel.
func (s *Session) retire(ch *channel) {
	if ch.retired.CompareAndSwap(false, true) {
		s.chanSeq.Add(1)
	}
}

// lost reports whether a request on ch failed because the connection
// died (reset, EOF, write error) rather than because it was closed on
// purpose or refused a message: only then may the request be reissued on
// another channel.
func (ch *channel) lost(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	cerr := ch.conn.failure()
	if cerr == nil {
		return false
	}
	for _, deliberate := range []error{ErrClosed, ErrBadSignature, ErrValidateNegotiate, ErrInvalidResponse, ErrEncryptionRequired} {
		if errors.Is(cerr, deliberate) {
			return false
		}
	}
	return true
}

// Channels returns the number of live channels of the session: 1 for a
// single connection, up to Dialer.Channels with multichannel, fewer once
// channels were lost, 0 once the last one is gone.
func (s *Session) Channels() int {
	s.chmu.Lock()
	defer s.chmu.Unlock()
	n := 0
	for _, ch := range s.chans {
		if ch.conn.failure() == nil {
			n++
		}
	}
	return n
}

// pick returns the channel for the next request: the first live one, or
// with spread the live ones in turn. Dead channels are dropped; the last
// channel is never dropped, so that a session whose every channel died
// reports that channel's error.
func (s *Session) pick(spread bool) (*channel, error) {
	s.chmu.Lock()
	defer s.chmu.Unlock()
	if len(s.chans) == 0 {
		return nil, ErrClosed
	}
	live := s.chans[:0:0]
	for _, ch := range s.chans {
		if ch.conn.failure() == nil {
			live = append(live, ch)
		} else {
			s.retire(ch)
		}
	}
	if len(live) == 0 {
		return s.chans[len(s.chans)-1], nil
	}
	s.chans = live
	if !spread || len(live) == 1 {
		return live[0], nil
	}
	return live[int(s.rr.Add(1))%len(live)], nil
}

// drop removes a lost channel, unless it is the last one, and reports
// whether another live channel remains to reissue its requests on.
func (s *Session) drop(ch *channel) bool {
	s.chmu.Lock()
	defer s.chmu.Unlock()
	s.retire(ch)
	if i := slices.Index(s.chans, ch); i >= 0 && len(s.chans) > 1 {
		s.chans = slices.Delete(slices.Clone(s.chans), i, i+1)
	}
	for _, c := range s.chans {
		if c != ch && c.conn.failure() == nil {
			return true
		}
	}
	return false
}

// failAll ends every connection of the session with err.
func (s *Session) failAll(err error) {
	s.chmu.Lock()
	chans := s.chans
	s.chmu.Unlock()
	s.conn.fail(err)
	for _, ch := range chans {
		ch.conn.fail(err)
	}
}

// closeChannels closes every connection of the session.
func (s *Session) closeChannels() { s.failAll(ErrClosed) }

// inFlight is how many READ or WRITE requests one transfer keeps
// outstanding: Dialer.MaxInFlight per live channel.
func (s *Session) inFlight() int {
	return s.maxInFlight * max(1, s.Channels())
}

// multichannel reports whether channels can be bound to the session: a
// 3.x dialect, a server offering SMB2_GLOBAL_CAP_MULTI_CHANNEL, and a
// session with a key (not guest or anonymous) [MS-SMB2 3.2.4.2.3].
func (s *Session) multichannel() bool {
	return s.Dialect() >= Dialect300 && s.neg.info.Capabilities&wire.CapMultiChannel != 0 &&
		s.signer != nil && !s.guest
}

// bindChannels binds Dialer.Channels-1 channels when the server offers
// multichannel, to the addresses the server lists or else to the address
// the session was dialed at. Without multichannel the session keeps its
// one connection.
func (s *Session) bindChannels(ctx context.Context) error {
	if s.cfg.Channels <= 1 || !s.multichannel() {
		return nil
	}
	addrs := s.channelAddrs(ctx)
	for i := 1; i < s.cfg.Channels; i++ {
		addr := addrs[(i-1)%len(addrs)]
		err := s.bind(ctx, addr)
		if err != nil && addr != s.hostport && ctx.Err() == nil {
			addr, err = s.hostport, s.bind(ctx, s.hostport) // an interface we cannot use
		}
		if err != nil {
			return fmt.Errorf("smb: binding channel %d to %s: %w", i+1, addr, err)
		}
	}
	return nil
}

// bindNegotiateRequest is the NEGOTIATE of a channel's new connection:
// the session's ClientGuid, security mode and capabilities, and only the
// session's dialect (and 3.1.1 signing algorithm), which the binding must
// match [MS-SMB2 3.2.4.2.3, 3.3.5.5.2].
func (s *Session) bindNegotiateRequest() (*negotiateRequest, error) {
	first := &s.neg.req
	req := &negotiateRequest{
		SecurityMode: first.SecurityMode, Capabilities: first.Capabilities,
		ClientGUID: first.ClientGUID, Dialects: []uint16{s.Dialect()},
	}
	if s.Dialect() == Dialect311 {
		salt, err := newSalt()
		if err != nil {
			return nil, err
		}
		req.Contexts = []wire.NegContext{preauthContext(salt), signingContext([]uint16{s.SigningAlgorithm()})}
		if c := s.neg.info.Cipher; c != 0 {
			// Only the session's cipher: its encryption keys are shared by
			// every channel, and the server refuses another cipher.
			req.Contexts = append(req.Contexts, wire.IDListNegContext(wire.CtxEncryption, []uint16{c}))
		}
	}
	return req, nil
}

// checkBindNegotiation refuses a new connection that reached another
// server, dialect, signing algorithm or cipher, or lost multichannel.
func (s *Session) checkBindNegotiation(neg *negotiation) error {
	first, now := &s.neg.info, &neg.info
	switch {
	case now.Dialect != first.Dialect:
		return invalidResponse("NEGOTIATE", fmt.Errorf("dialect %s on the new connection, session has %s", DialectName(now.Dialect), DialectName(first.Dialect)))
	case now.ServerGUID != first.ServerGUID:
		return invalidResponse("NEGOTIATE", errors.New("another ServerGuid on the new connection"))
	case now.SigningAlgorithm != first.SigningAlgorithm:
		return invalidResponse("NEGOTIATE", fmt.Errorf("signing algorithm %s on the new connection, session has %s",
			SigningAlgorithmName(now.SigningAlgorithm), SigningAlgorithmName(first.SigningAlgorithm)))
	case now.Cipher != first.Cipher:
		return invalidResponse("NEGOTIATE", fmt.Errorf("cipher %d on the new connection, session has %d", now.Cipher, first.Cipher))
	case now.Capabilities&wire.CapMultiChannel == 0:
		return errors.New("smb: the server does not offer multichannel on the new connection")
	}
	return nil
}

// bind opens a connection to hostport and binds it to the session as a
// new channel [MS-SMB2 3.2.4.2.3]: NEGOTIATE as the first connection did,
// then SESSION_SETUP with SMB2_SESSION_FLAG_BINDING and the SessionId,
// every request signed with Session.SigningKey, re-authenticating the
// same user. The channel's key is derived from the binding's session key
// (3.1.1: and the preauth hash of the new connection extended with the
// binding exchange), and the final response must verify with it.
func (s *Session) bind(ctx context.Context, hostport string) error {
	if !s.multichannel() {
		return errors.New("smb: the session cannot have more channels (needs 3.x, multichannel and a signed logon)")
	}
	req, err := s.bindNegotiateRequest()
	if err != nil {
		return err
	}
	timeout := time.Duration(0)
	if hostport != s.hostport {
		timeout = interfaceConnectTimeout // a listed interface may not be reachable from here
	}
	c, neg, err := s.cfg.open(ctx, hostport, req, timeout)
	if err != nil {
		return err
	}
	if err := s.checkBindNegotiation(neg); err != nil {
		c.close()
		return err
	}
	s.adopt(c, neg)
	st := &setup{s: s, c: c, mech: s.newMech(), preauth: neg.preauth, is311: neg.info.Dialect == Dialect311, binding: true}
	resp, err := st.run(ctx, neg.resp.SecurityBuffer)
	if err == nil {
		var ch *channel
		if ch, err = st.finishBind(c, neg, resp); err == nil {
			s.chmu.Lock()
			// The session's encryption keys and nonce counter are shared
			// by its channels [MS-SMB2 3.2.5.3.3: binding does not change
			// them].
			if sc := s.conn.enc.Load(); sc != nil {
				c.enc.Store(sc)
				c.sealing.Store(s.conn.sealing.Load())
			}
			s.chans = append(s.chans, ch)
			s.chmu.Unlock()
			return nil
		}
	}
	c.close()
	return err
}

// finishBind handles the final response of a binding [MS-SMB2 3.2.5.3]:
// a guest or anonymous answer is refused, the channel key is derived and
// the response must be signed with it.
func (st *setup) finishBind(c *conn, neg *negotiation, resp *response) (*channel, error) {
	s := st.s
	if err := st.adoptSessionID(resp.hdr.SessionID); err != nil {
		return nil, err
	}
	r, err := wire.ParseSessionSetupResponse(resp.msg)
	if err != nil {
		return nil, invalidResponse("SESSION_SETUP", err)
	}
	if r.SessionFlags&(wire.SessionIsGuest|wire.SessionIsNull) != 0 {
		return nil, fmt.Errorf("%w: binding answered as a guest or anonymous logon (%v)", ErrInvalidResponse, ntstatus.InvalidNetworkResponse)
	}
	key := st.mech.SessionKey()
	if len(key) == 0 {
		return nil, errors.New("smb: the binding authentication produced no session key")
	}
	signer, err := channelSigner(s.Dialect(), smbcrypto.Algorithm(s.SigningAlgorithm()), key, st.preauth)
	if err != nil {
		return nil, err
	}
	if resp.hdr.Flags&wire.FlagSigned == 0 || !signer.Verify(resp.msg) {
		return nil, fmt.Errorf("%w: final binding SESSION_SETUP response is not signed with the channel key", ErrBadSignature)
	}
	if len(r.SecurityBuffer) > 0 && !st.stepped { // Kerberos: stepped in run
		if _, _, err := st.mech.Step(r.SecurityBuffer); err != nil {
			return nil, err
		}
	}
	return &channel{conn: c, neg: neg, signer: signer, sid: s.id}, nil
}

// channelSigner derives Channel.SigningKey of a bound channel [MS-SMB2
// 3.2.5.3.1]: the signing-key derivation of the dialect with the session
// key of the binding authentication and, on 3.1.1, the binding's preauth
// integrity hash as the context.
func channelSigner(dialect uint16, alg smbcrypto.Algorithm, sessionKey []byte, preauth smbcrypto.PreauthHash) (smbcrypto.Signer, error) {
	keys := smbcrypto.DeriveKeys(dialect, sessionKey, preauth[:])
	return smbcrypto.NewSigner(alg, keys.Signing[:])
}
