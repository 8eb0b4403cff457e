package client

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/signetsmb/signet/auth"
	"github.com/signetsmb/signet/auth/ntlm"
	"github.com/signetsmb/signet/auth/spnego"
	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/smbcrypto"
	"github.com/signetsmb/signet/internal/wire"
)

// maxSetupRounds bounds the SESSION_SETUP exchange; SPNEGO/NTLM needs 2,
// or 3 when the server declines the optimistic token.
const maxSetupRounds = 4

// ErrLogonFailure is wrapped by logon errors caused by bad credentials.
var ErrLogonFailure = auth.ErrLogonFailure

func le16(b []byte) uint16 { return binary.LittleEndian.Uint16(b) }

// setup is the state of one SESSION_SETUP exchange [MS-SMB2 3.2.4.2.3],
// thrown away when it completes.
type setup struct {
	s       *Session
	c       *conn // the connection the exchange runs on
	mech    auth.ClientMech
	preauth smbcrypto.PreauthHash // Session.PreauthIntegrityHashValue (3.1.1)
	is311   bool
	// binding binds c to the established session as a new channel: the
	// requests carry SMB2_SESSION_FLAG_BINDING and are signed with
	// Session.SigningKey [MS-SMB2 3.2.4.2.3].
	binding bool
	stepped bool // the final response's token was consumed by stepFinal
}

// stepFinal feeds the mechanism the token of a final response that came
// before the mechanism was done (the Kerberos AP-REP): it must complete
// the context. The token is authenticated by the mechanism itself (the
// AP-REP is encrypted with the ticket's session key); the response's
// signature is checked afterwards with the key it yields.
func (st *setup) stepFinal(resp *response) error {
	r, err := wire.ParseSessionSetupResponse(resp.msg)
	if err != nil {
		return invalidResponse("SESSION_SETUP", err)
	}
	_, done, err := st.mech.Step(r.SecurityBuffer)
	if err != nil {
		return err
	}
	if !done {
		return invalidResponse("SESSION_SETUP", errors.New("server accepted before authentication finished"))
	}
	st.stepped = true
	return nil
}

// newMech returns the SPNEGO initiator for one logon: Kerberos when the
// Dialer asks for it (kerberos.go), else NTLM.
func (s *Session) newMech() auth.ClientMech {
	if s.cfg.Kerberos != nil {
		return s.kerberosMech()
	}
	return spnego.NewClient(ntlm.NewClient(&ntlm.ClientConfig{
		User:      s.cfg.User,
		Password:  s.cfg.Password,
		Domain:    s.cfg.Domain,
		TargetSPN: "cifs/" + s.host,
	}))
}

// logon authenticates the session. The session's preauth hash starts from
// the connection's, after NEGOTIATE [MS-SMB2 3.2.4.2.3].
func (s *Session) logon(ctx context.Context) error {
	st := &setup{s: s, c: s.conn, mech: s.newMech(), preauth: s.neg.preauth, is311: s.Dialect() == Dialect311}
	resp, err := st.run(ctx, s.neg.resp.SecurityBuffer)
	if err != nil {
		return err
	}
	if err := st.finish(resp); err != nil {
		return err
	}
	s.chans = []*channel{{conn: s.conn, neg: s.neg, signer: s.signer, sid: s.id}}
	return nil
}

// run steps the mechanism from the server's NEGOTIATE token through the
// SESSION_SETUP rounds and returns the final STATUS_SUCCESS response.
func (st *setup) run(ctx context.Context, initial []byte) (*response, error) {
	out, done, err := st.mech.Step(initial)
	if err != nil {
		return nil, err
	}
	for range maxSetupRounds {
		resp, err := st.round(ctx, out)
		if err != nil {
			return nil, err
		}
		switch status := resp.status(); status {
		case ntstatus.MoreProcessingRequired:
			if out, done, err = st.more(resp, done); err != nil {
				return nil, err
			}
		case ntstatus.Success:
			if !done {
				// Kerberos: the AP-REP comes with the final response,
				// and the session key with it.
				if err := st.stepFinal(resp); err != nil {
					return nil, err
				}
			}
			return resp, nil
		default:
			return nil, logonError(status)
		}
	}
	return nil, invalidResponse("SESSION_SETUP", errors.New("too many rounds"))
}

// round sends one SESSION_SETUP request carrying token and hashes it.
// Requests of a new session are never signed: there is no key yet; those
// of a binding are signed with Session.SigningKey.
func (st *setup) round(ctx context.Context, token []byte) (*response, error) {
	msg := newMessage(wire.CmdSessionSetup, 24+len(token))
	r := &wire.SessionSetupRequest{
		SecurityMode:   uint8(st.s.cfg.securityMode()),
		SecurityBuffer: token,
	}
	if !st.binding {
		// A reconnect names the lost session, whose durable opens the
		// server then keeps for this one [MS-SMB2 3.2.4.2.3.1 ... 3.3.5.5.3].
		r.PreviousSessionID = st.s.previousID
	}
	if st.binding {
		r.Flags = wire.SessionFlagBinding
	}
	msg = wire.AppendSessionSetupRequest(msg, r)
	req := &request{msg: msg, sessionID: st.s.id}
	if st.binding {
		req.signer = st.s.signer
	}
	cl, err := st.c.send(ctx, req)
	if err != nil {
		return nil, err
	}
	if st.is311 {
		st.preauth = st.preauth.Update(req.msg)
	}
	resp, err := st.c.wait(ctx, cl, req)
	if err != nil {
		return nil, err
	}
	if resp.hdr.Command != wire.CmdSessionSetup {
		return nil, invalidResponse("SESSION_SETUP", fmt.Errorf("response is %v", resp.hdr.Command))
	}
	return resp, nil
}

// more handles STATUS_MORE_PROCESSING_REQUIRED: it records the SessionId,
// hashes the response and steps the mechanism.
func (st *setup) more(resp *response, done bool) ([]byte, bool, error) {
	if done {
		return nil, false, invalidResponse("SESSION_SETUP", errors.New("server wants another round after the last token"))
	}
	if err := st.adoptSessionID(resp.hdr.SessionID); err != nil {
		return nil, false, err
	}
	if err := st.checkInterim(resp); err != nil {
		return nil, false, err
	}
	if st.is311 {
		st.preauth = st.preauth.Update(resp.msg)
	}
	r, err := wire.ParseSessionSetupResponse(resp.msg)
	if err != nil {
		return nil, false, invalidResponse("SESSION_SETUP", err)
	}
	return st.mech.Step(r.SecurityBuffer)
}

// checkInterim verifies a STATUS_MORE_PROCESSING_REQUIRED response of a
// binding, which the server signs with Session.SigningKey [MS-SMB2
// 3.3.5.5.3]. A new session's interim responses have no key to check.
func (st *setup) checkInterim(resp *response) error {
	if !st.binding {
		return nil
	}
	if resp.hdr.Flags&wire.FlagSigned == 0 || !st.s.signer.Verify(resp.msg) {
		return fmt.Errorf("%w: binding SESSION_SETUP response not signed with the session key", ErrBadSignature)
	}
	return nil
}

// adoptSessionID records the server-assigned SessionId; it must be
// non-zero and never change.
func (st *setup) adoptSessionID(id uint64) error {
	if id == 0 || (st.s.id != 0 && id != st.s.id) {
		return invalidResponse("SESSION_SETUP", fmt.Errorf("SessionId 0x%x (had 0x%x)", id, st.s.id))
	}
	st.s.id = id
	return nil
}

// finish handles the final STATUS_SUCCESS response [MS-SMB2 3.2.5.3.1]:
// derive the signing key from the hash of the last request, verify the
// response's signature before trusting any of it, decide whether the
// session is signed, and let the mechanism check the server's
// mechListMIC.
func (st *setup) finish(resp *response) error {
	s := st.s
	if err := st.adoptSessionID(resp.hdr.SessionID); err != nil {
		return err
	}
	r, err := wire.ParseSessionSetupResponse(resp.msg)
	if err != nil {
		return invalidResponse("SESSION_SETUP", err)
	}
	s.signingRequired = s.cfg.signingRequired() || s.neg.info.SigningRequired
	signed := resp.hdr.Flags&wire.FlagSigned != 0
	// An anonymous NTLM logon has no key, whatever flags the server sets
	// (Samba 4.17 sets neither IS_NULL nor IS_GUEST for it).
	noKey := len(st.mech.SessionKey()) == 0
	guest := r.SessionFlags&(wire.SessionIsGuest|wire.SessionIsNull) != 0 || noKey
	if !noKey && (signed || !guest) {
		if err := st.installKey(); err != nil {
			return err
		}
		if err := st.verifyFinal(resp, signed); err != nil {
			return err
		}
	}
	if !noKey && !guest {
		if err := st.installCipher(st.mech.SessionKey()); err != nil {
			return err
		}
	}
	if r.SessionFlags&wire.SessionEncryptData != 0 || s.cfg.RequireEncryption {
		if err := s.startEncryption("session"); err != nil {
			return err
		}
	}
	if guest {
		return st.acceptGuest(r.SessionFlags, noKey)
	}
	if len(r.SecurityBuffer) > 0 && !st.stepped {
		if _, _, err := st.mech.Step(r.SecurityBuffer); err != nil {
			return err
		}
	}
	return nil
}

// acceptGuest admits a guest or anonymous session only when nobody
// requires signing: such a session has no key and cannot be signed
// [MS-SMB2 3.2.5.3.1].
func (st *setup) acceptGuest(flags uint16, anonymous bool) error {
	kind := "guest"
	if anonymous || flags&wire.SessionIsNull != 0 {
		kind = "anonymous"
	}
	if st.s.signingRequired {
		return fmt.Errorf("%w: the server logged the session on as %s", ErrSigningRequired, kind)
	}
	st.s.guest, st.s.signer = true, nil // the server has no key: nothing can be signed
	return nil
}

// installKey derives the signing key and creates the session's signer.
func (st *setup) installKey() error {
	s := st.s
	key := st.mech.SessionKey()
	if len(key) == 0 {
		return errors.New("smb: authentication produced no session key")
	}
	keys := smbcrypto.DeriveKeys(s.Dialect(), key, st.preauth[:])
	signer, err := smbcrypto.NewSigner(smbcrypto.Algorithm(s.neg.info.SigningAlgorithm), keys.Signing[:])
	if err != nil {
		return err
	}
	s.signer = signer
	return nil
}

// verifyFinal checks the final response's signature. It must be signed on
// 3.1.1 and whenever the session requires signing; a signed one must
// verify in every dialect.
func (st *setup) verifyFinal(resp *response, signed bool) error {
	s := st.s
	switch {
	case !signed && s.signingRequired:
		return fmt.Errorf("%w: the server did not sign the final SESSION_SETUP response (%w)", ErrSigningRequired, ErrBadSignature)
	case !signed && st.is311:
		return fmt.Errorf("%w: unsigned final SESSION_SETUP response on 3.1.1", ErrBadSignature)
	case signed && !s.signer.Verify(resp.msg):
		return fmt.Errorf("%w: final SESSION_SETUP response", ErrBadSignature)
	}
	return nil
}

// logonError maps a failed SESSION_SETUP status.
func logonError(status ntstatus.Status) error {
	err := statusError("SESSION_SETUP", status)
	if status == ntstatus.LogonFailure || status == ntstatus.AccessDenied {
		return fmt.Errorf("%w: %w", ErrLogonFailure, err)
	}
	return err
}
