package server

import (
	"errors"
	"time"

	"github.com/signetsmb/signet/auth"
	"github.com/signetsmb/signet/auth/ntlm"
	"github.com/signetsmb/signet/auth/spnego"
	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/smbcrypto"
	"github.com/signetsmb/signet/internal/wire"
)

// maxAuthRounds bounds the SESSION_SETUP round trips of one exchange.
const maxAuthRounds = 8

// sessionSetup handles SESSION_SETUP [MS-SMB2 3.3.5.5]. It runs on the
// reader goroutine (dispatch sends every compound holding one there), so
// the per-session preauth hash and handshake state need no locking.
func (r *request) sessionSetup(w *response) error {
	c := r.c
	c.reader.check()
	req, err := wire.ParseSessionSetupRequest(r.msg)
	if err != nil {
		return ntstatus.InvalidParameter
	}
	if req.Flags&wire.SessionFlagBinding != 0 {
		// Multichannel is not offered (no CAP_MULTI_CHANNEL), so binding
		// is not accepted [MS-SMB2 3.3.5.5].
		return ntstatus.RequestNotAccepted
	}
	s, isNew, err := r.sessionForSetup()
	if err != nil {
		return err
	}
	if s.mech == nil {
		s.mech = c.newMech()
		s.rounds = 0
		if c.dialect == wire.Dialect311 && isNew {
			s.preauth = c.preauth
		}
	}
	reauth := s.valid()
	if c.dialect == wire.Dialect311 && !reauth {
		s.preauth = s.preauth.Update(r.msg)
	}
	s.rounds++
	out, done, err := s.mech.Accept(req.SecurityBuffer)
	switch {
	case err != nil:
		return r.authFailed(s, err, out)
	case !done:
		if s.rounds >= maxAuthRounds {
			return r.authFailed(s, errors.New("too many rounds"), nil)
		}
		w.buf = wire.AppendSessionSetupResponse(w.buf, &wire.SessionSetupResponse{SecurityBuffer: out})
		w.status = ntstatus.MoreProcessingRequired
		if c.dialect == wire.Dialect311 && !reauth {
			r.afterSend = func(elem []byte) { s.preauth = s.preauth.Update(elem) }
		}
		return nil
	}
	return r.authDone(s, req, out, reauth, w)
}

// sessionForSetup finds or creates the session named by the request.
func (r *request) sessionForSetup() (s *session, isNew bool, err error) {
	c := r.c
	if r.hdr.SessionID == 0 {
		c.mu.Lock()
		defer c.mu.Unlock()
		if exceeds(len(c.sessions), c.lim.MaxSessionsPerConn) {
			c.log.Warn("session refused: limit reached", "limit", "max_sessions_per_conn", "sessions", len(c.sessions))
			return nil, false, ntstatus.InsufficientResources
		}
		id, err := c.srv.newSessionID()
		if err != nil {
			return nil, false, err
		}
		s = &session{id: id}
		c.sessions[s.id] = s
		r.sess = s
		r.respSessionID = s.id
		return s, true, nil
	}
	s = r.sess
	if s == nil || s.established() && !s.valid() {
		return nil, false, ntstatus.UserSessionDeleted // unknown or logging off
	}
	return s, false, nil
}

// newMech builds a fresh SPNEGO/NTLM acceptor for one exchange.
func (c *conn) newMech() auth.ServerMech {
	st := c.settings
	cfg := &ntlm.ServerConfig{
		NbComputerName:  st.ServerName,
		NbDomainName:    st.Domain,
		DnsComputerName: st.ServerName,
		DnsDomainName:   st.Domain,
		Rand:            c.srv.opts.Rand,
		Now:             c.srv.opts.Now,
		Lookup: func(user, domain string) (auth.Account, bool) {
			return c.srv.lookupAccount(user)
		},
		// Anonymous is decided by policy in authDone, so that a refusal
		// can say why.
		AllowAnonymous: true,
	}
	return spnego.NewServer(ntlm.NewServer(cfg))
}

// authFailed ends a failed exchange: the session is deleted and the client
// gets STATUS_LOGON_FAILURE (STATUS_ACCOUNT_DISABLED for a disabled
// account with the right password, INVALID_PARAMETER for garbage).
func (r *request) authFailed(s *session, err error, token []byte) error {
	c := r.c
	c.dropSession(s.id)
	s.mech = nil
	if errors.Is(err, auth.ErrInvalidToken) {
		c.log.Info("session setup failed: malformed security token", "err", err)
		return ntstatus.InvalidParameter
	}
	c.srv.stats.logonFailures.Add(1)
	status, msg := ntstatus.LogonFailure, "logon failure: unknown user or wrong password (guest access is not offered)"
	if errors.Is(err, auth.ErrAccountDisabled) {
		status, msg = ntstatus.AccountDisabled, "logon refused: account disabled"
	}
	c.log.Warn(msg, "err", err, "delay", max(c.lim.AuthFailureDelay, 0))
	c.delayFailure()
	return status
}

// delayFailure holds back the answer to a failed logon for
// AuthFailureDelay, as Windows Server 2025's SMB authentication rate
// limiter does, so that guessing passwords over one connection is slow.
// It runs on this connection's reader: other connections are not delayed,
// and the per-address connection limit bounds how many guesses one
// address has in flight.
func (c *conn) delayFailure() {
	d := c.lim.AuthFailureDelay
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-c.ctx.Done():
	}
}

// authDone completes an exchange: policy checks, keys, signing state
// [MS-SMB2 3.3.5.5.3].
func (r *request) authDone(s *session, req *wire.SessionSetupRequest, out []byte, reauth bool, w *response) error {
	c := r.c
	id := s.mech.Identity()
	key := s.mech.SessionKey()
	s.mech = nil
	if id.Anonymous || id.Guest {
		c.srv.stats.refusedAnonymous.Add(1)
		if c.requireSigning || c.shouldSign || req.SecurityMode&uint8(wire.SigningRequired) != 0 {
			c.log.Warn("anonymous logon refused: signing is required and anonymous sessions cannot sign",
				"server_requires", c.requireSigning, "client_requires", c.shouldSign || req.SecurityMode&uint8(wire.SigningRequired) != 0)
			c.dropSession(s.id)
			return ntstatus.AccessDenied
		}
		if !c.settings.AllowAnonymous {
			c.log.Warn("anonymous logon refused: allow_anonymous is false")
			c.dropSession(s.id)
			return ntstatus.LogonFailure
		}
		c.srv.stats.refusedAnonymous.Add(-1)
	}
	if reauth {
		return r.reauthDone(s, id, out, w)
	}
	if !c.srv.reserveSession(c.settings.MaxSessions) {
		c.dropSession(s.id)
		c.log.Warn("session refused: limit reached", "limit", "max_sessions", "max_sessions", c.settings.MaxSessions)
		return ntstatus.RequestNotAccepted
	}
	var flags, encFlags uint16
	s.mu.Lock()
	s.identity = id
	s.state = sessValid
	s.counted = true
	switch {
	case id.Anonymous:
		flags = wire.SessionIsNull
	case id.Guest:
		flags = wire.SessionIsGuest
	default:
		keys := smbcrypto.DeriveKeys(c.dialect, key, s.preauth[:])
		sg, err := smbcrypto.NewSigner(c.signingAlg, keys.Signing[:])
		if err != nil {
			s.mu.Unlock()
			return err
		}
		s.sign = sg
		s.appKey = keys.Application
		if encFlags, err = r.sessionEncryption(s, key, s.preauth[:]); err != nil {
			s.mu.Unlock()
			c.dropSession(s.id)
			return err
		}
		// Session.SigningRequired [MS-SMB2 3.3.5.5.3]: the client asked in
		// SESSION_SETUP, or either side required it at NEGOTIATE.
		s.signRequired = req.SecurityMode&uint8(wire.SigningRequired) != 0 || c.shouldSign || c.requireSigning
	}
	signRequired := s.signRequired
	s.preauth = smbcrypto.PreauthHash{}
	s.mu.Unlock()
	c.srv.registerSession(s.id, c)
	c.everAuth.Store(true)
	if req.PreviousSessionID != 0 && req.PreviousSessionID != s.id && flags == 0 {
		c.srv.expirePrevious(req.PreviousSessionID, id.Account)
	}
	r.signResponse = flags == 0 // always sign the final response of a real user
	c.log.Info("session established", "user", id.User, "domain", id.Domain, "dialect", wire.DialectName(c.dialect),
		"signing_required", signRequired, "signing", c.signingAlg.String(), "anonymous", id.Anonymous,
		"encryption", s.encryptionName())
	w.buf = wire.AppendSessionSetupResponse(w.buf, &wire.SessionSetupResponse{SessionFlags: flags | encFlags, SecurityBuffer: out})
	return nil
}

// reauthDone completes a re-authentication: keys are kept, the identity
// must stay the same account, by ID (Samba).
func (r *request) reauthDone(s *session, id auth.Identity, out []byte, w *response) error {
	if prev := s.account(); prev != id.Account || id.Anonymous || id.Guest {
		r.c.log.Warn("re-authentication as a different user refused", "was", prev, "now", id.Account)
		r.c.dropSession(s.id)
		return ntstatus.AccessDenied
	}
	r.signResponse = true
	w.buf = wire.AppendSessionSetupResponse(w.buf, &wire.SessionSetupResponse{SecurityBuffer: out})
	return nil
}

// logoff handles LOGOFF [MS-SMB2 3.3.5.6]: the response is signed with the
// session key before the session is torn down.
func (r *request) logoff(w *response) error {
	if err := wire.ParseSimpleRequest(r.msg); err != nil {
		return ntstatus.InvalidParameter
	}
	s := r.sess
	// The session stops accepting requests now (a related element after
	// the LOGOFF gets USER_SESSION_DELETED); it keeps its key until the
	// response is signed, then is torn down.
	s.mu.Lock()
	s.loggingOff = true
	s.mu.Unlock()
	w.buf = wire.AppendSimple(w.buf)
	prev := r.afterSend
	r.afterSend = func(elem []byte) {
		if prev != nil {
			prev(elem)
		}
		r.c.dropSession(s.id)
	}
	return nil
}
