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

// handshake is one SESSION_SETUP exchange in progress on a connection: a
// new session's authentication, a re-authentication, or the binding of
// this connection to an existing session (multichannel). Owned by the
// connection's reader (conn.handshakes; every compound holding a
// SESSION_SETUP runs there), so it needs no lock.
type handshake struct {
	sess    *session
	binding bool
	mech    auth.ServerMech
	preauth smbcrypto.PreauthHash // 3.1.1: the exchange's hash [MS-SMB2 3.3.5.5]
	rounds  int
}

// sessionSetup handles SESSION_SETUP [MS-SMB2 3.3.5.5]. It runs on the
// reader goroutine (dispatch sends every compound holding one there), so
// the connection's handshakes need no locking.
func (r *request) sessionSetup(w *response) error {
	c := r.c
	c.reader.check()
	req, err := wire.ParseSessionSetupRequest(r.msg)
	if err != nil {
		return ntstatus.InvalidParameter
	}
	if req.Flags&wire.SessionFlagBinding != 0 {
		return r.bindSetup(req, w)
	}
	hs, err := r.handshakeFor()
	if err != nil {
		return err
	}
	s := hs.sess
	reauth := s.valid()
	if c.dialect == wire.Dialect311 && !reauth {
		hs.preauth = hs.preauth.Update(r.msg)
	}
	hs.rounds++
	out, done, err := hs.mech.Accept(req.SecurityBuffer)
	switch {
	case err != nil:
		delete(c.handshakes, s.id)
		return r.authFailed(s, err)
	case !done:
		if hs.rounds >= maxAuthRounds {
			delete(c.handshakes, s.id)
			return r.authFailed(s, errors.New("too many rounds"))
		}
		w.buf = wire.AppendSessionSetupResponse(w.buf, &wire.SessionSetupResponse{SecurityBuffer: out})
		w.status = ntstatus.MoreProcessingRequired
		if c.dialect == wire.Dialect311 && !reauth {
			r.afterSend = func(elem []byte) { hs.preauth = hs.preauth.Update(elem) }
		}
		return nil
	}
	delete(c.handshakes, s.id)
	return r.authDone(hs, req, out, reauth, w)
}

// handshakeFor finds or starts the exchange the request continues: a new
// session for SessionId 0, else the session of this connection it names
// (a re-authentication when no exchange is in progress).
func (r *request) handshakeFor() (*handshake, error) {
	c := r.c
	if r.hdr.SessionID == 0 {
		c.mu.Lock()
		defer c.mu.Unlock()
		if n := len(c.sessions) + c.bindingsInProgress(); exceeds(n, c.lim.MaxSessionsPerConn) {
			c.log.Warn("session refused: limit reached", "limit", "max_sessions_per_conn", "sessions", n)
			return nil, ntstatus.InsufficientResources
		}
		s, err := c.newSession()
		if err != nil {
			c.log.Warn("session refused: no session id", "err", err)
			return nil, ntstatus.InsufficientResources
		}
		r.sess = s
		r.respSessionID = s.id
		hs := &handshake{sess: s, mech: c.newMech()}
		if c.dialect == wire.Dialect311 {
			hs.preauth = c.preauth
		}
		c.handshakes[s.id] = hs
		return hs, nil
	}
	s := r.sess
	if s == nil || s.established() && !s.valid() {
		return nil, ntstatus.UserSessionDeleted // unknown or logging off
	}
	hs := c.handshakes[s.id]
	switch {
	case hs == nil && !s.established():
		return nil, ntstatus.UserSessionDeleted // its exchange failed meanwhile
	case hs == nil:
		hs = &handshake{sess: s, mech: c.newMech()} // re-authentication
		c.handshakes[s.id] = hs
	case hs.binding:
		return nil, ntstatus.InvalidParameter
	}
	return hs, nil
}

// bindingsInProgress counts this connection's binding exchanges (they
// count against MaxSessionsPerConn with its sessions). Reader only.
func (c *conn) bindingsInProgress() int {
	n := 0
	for _, hs := range c.handshakes {
		if hs.binding {
			n++
		}
	}
	return n
}

// bindSetup runs a binding exchange: this connection becomes a channel
// of an existing session [MS-SMB2 3.3.5.5]. Every request of the exchange
// is signed with Session.SigningKey (checked by resolveBinding), interim
// responses are signed with it, and the final response with the new
// channel's key.
func (r *request) bindSetup(req *wire.SessionSetupRequest, w *response) error {
	c := r.c
	id := r.hdr.SessionID
	hs := c.handshakes[id]
	if hs == nil {
		s, err := r.bindTarget()
		if err != nil {
			return err
		}
		c.mu.Lock()
		n := len(c.sessions) + c.bindingsInProgress()
		c.mu.Unlock()
		if exceeds(n, c.lim.MaxSessionsPerConn) {
			c.log.Warn("binding refused: limit reached", "limit", "max_sessions_per_conn", "sessions", n)
			return ntstatus.InsufficientResources
		}
		hs = &handshake{sess: s, binding: true, mech: c.newMech()}
		if c.dialect == wire.Dialect311 {
			hs.preauth = c.preauth
		}
		c.handshakes[id] = hs
	} else if !hs.binding {
		return ntstatus.InvalidParameter // a binding flag in the middle of another exchange
	} else if !r.signed {
		delete(c.handshakes, id)
		return ntstatus.InvalidParameter
	}
	s := hs.sess
	if c.dialect == wire.Dialect311 {
		hs.preauth = hs.preauth.Update(r.msg)
	}
	hs.rounds++
	out, done, err := hs.mech.Accept(req.SecurityBuffer)
	switch {
	case err != nil:
		delete(c.handshakes, id)
		return r.bindFailed(s, err)
	case !done:
		if hs.rounds >= maxAuthRounds {
			delete(c.handshakes, id)
			return r.bindFailed(s, errors.New("too many rounds"))
		}
		w.buf = wire.AppendSessionSetupResponse(w.buf, &wire.SessionSetupResponse{SecurityBuffer: out})
		w.status = ntstatus.MoreProcessingRequired
		r.signResponse = true // with Session.SigningKey (r.signKey)
		if c.dialect == wire.Dialect311 {
			r.afterSend = func(elem []byte) { hs.preauth = hs.preauth.Update(elem) }
		}
		return nil
	}
	delete(c.handshakes, id)
	return r.bindDone(hs, out, w)
}

// bindTarget checks a binding's first request against the session it
// names, in MS-SMB2 3.3.5.5's order, and returns that session.
func (r *request) bindTarget() (*session, error) {
	c := r.c
	s := r.bindSess
	switch {
	case c.dialect < wire.Dialect300 || c.serverCaps&wire.CapMultiChannel == 0:
		// Binding needs 3.x and multichannel on this connection.
		return nil, ntstatus.RequestNotAccepted
	case s == nil:
		return nil, ntstatus.UserSessionDeleted
	case s.dialect != c.dialect:
		return nil, ntstatus.InvalidParameter
	case !r.signed:
		return nil, ntstatus.InvalidParameter
	case s.cipherID() != c.cipher:
		// Binding keeps the session's encryption keys, which belong to
		// its cipher (Samba refuses it the same way, before the other
		// checks).
		return nil, ntstatus.InvalidParameter
	case !s.established():
		return nil, ntstatus.RequestNotAccepted
	case !s.valid():
		return nil, ntstatus.UserSessionDeleted
	case s.clientGUID != c.clientGUID:
		return nil, ntstatus.UserSessionDeleted
	case s.isGuestOrAnonymous():
		return nil, ntstatus.NotSupported
	case s.hasChannel(c):
		return nil, ntstatus.RequestNotAccepted
	case exceeds(s.channelCount(), c.lim.MaxChannelsPerSession):
		c.log.Warn("binding refused: limit reached", "limit", "max_channels_per_session", "session_id", s.id)
		return nil, ntstatus.InsufficientResources
	}
	return s, nil
}

// bindSigningAlgorithm refuses a binding whose connection signs with
// another algorithm than the session when either of them is AES-GMAC, as
// Samba does, before the request's signature is even checked (smbtorture's
// bind_negative_smb3sign* tests): a GMAC session bound from a non-GMAC
// connection gets STATUS_REQUEST_OUT_OF_SEQUENCE, a non-GMAC session
// bound from a GMAC connection STATUS_NOT_SUPPORTED. HMAC-SHA256 and
// AES-CMAC channels may mix; each channel signs with its connection's
// algorithm.
func (c *conn) bindSigningAlgorithm(s *session) error {
	switch {
	case s.signingAlg == c.signingAlg:
		return nil
	case s.signingAlg == smbcrypto.AESGMAC:
		return ntstatus.RequestOutOfSequence
	case c.signingAlg == smbcrypto.AESGMAC:
		return ntstatus.NotSupported
	}
	return nil
}

// bindFailed ends a failed binding exchange: the session and its other
// channels are not touched.
func (r *request) bindFailed(s *session, err error) error {
	c := r.c
	if errors.Is(err, auth.ErrInvalidToken) {
		c.log.Info("binding failed: malformed security token", "err", err, "session_id", s.id)
		return ntstatus.InvalidParameter
	}
	c.srv.stats.logonFailures.Add(1)
	c.log.Warn("binding refused: logon failure", "err", err, "session_id", s.id, "delay", max(c.lim.AuthFailureDelay, 0))
	c.delayFailure()
	return ntstatus.LogonFailure
}

// bindDone completes a binding: the same account must have
// authenticated; the channel's signing key derives from the binding's
// session key (3.1.1: and its preauth hash) [MS-SMB2 3.3.5.5.3].
func (r *request) bindDone(hs *handshake, out []byte, w *response) error {
	c := r.c
	s := hs.sess
	id := hs.mech.Identity()
	key := hs.mech.SessionKey()
	if id.Anonymous || id.Guest || id.Account != s.account() {
		c.log.Warn("binding refused: a different user authenticated", "session_user", s.account(), "binding_user", id.Account, "session_id", s.id)
		return ntstatus.AccessDenied
	}
	keys := smbcrypto.DeriveKeys(c.dialect, key, hs.preauth[:])
	sg, err := smbcrypto.NewSigner(c.signingAlg, keys.Signing[:])
	if err != nil {
		return err
	}
	c.mu.Lock()
	s.mu.Lock()
	ok := s.state == sessValid && !s.loggingOff
	if ok {
		s.setChannelLocked(c, sg)
		c.sessions[s.id] = s
	}
	nchan := len(s.channels)
	s.mu.Unlock()
	c.mu.Unlock()
	if !ok {
		return ntstatus.UserSessionDeleted
	}
	c.everAuth.Store(true)
	r.sess = s
	r.signKey = sg
	r.signResponse = true
	c.log.Info("channel bound to session", "user", id.User, "session_id", s.id, "dialect", wire.DialectName(c.dialect),
		"signing", c.signingAlg.String(), "channels", nchan)
	w.buf = wire.AppendSessionSetupResponse(w.buf, &wire.SessionSetupResponse{SecurityBuffer: out})
	return nil
}

// newMech builds a fresh SPNEGO acceptor for one exchange, offering the
// mechanisms the connection's policy snapshot enables.
func (c *conn) newMech() auth.ServerMech {
	return spnego.NewAcceptor(c.mechanisms(c.settings)...)
}

// mechanisms lists the authentication mechanisms st enables, in its
// order (Settings.AuthOrder): NTLM unless DisableNTLM, Kerberos when an
// acceptor is configured. The NEGOTIATE response advertises the same list.
func (c *conn) mechanisms(st *Settings) []auth.ServerMechanism {
	order := st.AuthOrder
	if len(order) == 0 {
		order = []string{"kerberos", "ntlm"}
	}
	lookup := c.srv.lookupAccount
	var out []auth.ServerMechanism
	for _, name := range order {
		switch {
		case name == "ntlm" && !st.DisableNTLM:
			cfg := &ntlm.ServerConfig{
				NbComputerName:  st.ServerName,
				NbDomainName:    st.Domain,
				DnsComputerName: st.ServerName,
				DnsDomainName:   st.Domain,
				Rand:            c.srv.opts.Rand,
				Now:             c.srv.opts.Now,
				Lookup: func(user, domain string) (auth.Account, bool) {
					return lookup(user)
				},
				// Anonymous is decided by policy in authDone, so that a refusal
				// can say why.
				AllowAnonymous: true,
			}
			out = append(out, spnego.NTLMMechanism(func() *ntlm.Server { return ntlm.NewServer(cfg) }))
		case name == "kerberos" && st.Kerberos != nil:
			out = append(out, st.Kerberos.Mechanism(lookup))
		}
	}
	return out
}

// authFailed ends a failed exchange: the session is deleted and the client
// gets STATUS_LOGON_FAILURE (STATUS_ACCOUNT_DISABLED for a disabled
// account with the right password, INVALID_PARAMETER for garbage).
func (r *request) authFailed(s *session, err error) error {
	c := r.c
	s.endSession()
	if errors.Is(err, auth.ErrInvalidToken) {
		c.log.Info("session setup failed: malformed security token", "err", err)
		return ntstatus.InvalidParameter
	}
	c.srv.stats.logonFailures.Add(1)
	c.srv.refused("logon_failure")
	status, msg := ntstatus.LogonFailure, "logon failure: unknown user or wrong password (guest access is not offered)"
	var noMech *auth.NoMechanismError
	switch {
	case errors.Is(err, auth.ErrAccountDisabled):
		status, msg = ntstatus.AccountDisabled, "logon refused: account disabled"
	case errors.As(err, &noMech) && noMech.Offers("NTLMSSP") && c.settings.DisableNTLM:
		msg = "NTLM logon refused: NTLM is disabled by policy ([server] ntlm = false); use Kerberos"
	case errors.As(err, &noMech):
		msg = "logon refused: the client offers no enabled authentication mechanism"
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
func (r *request) authDone(hs *handshake, req *wire.SessionSetupRequest, out []byte, reauth bool, w *response) error {
	c := r.c
	s := hs.sess
	id := hs.mech.Identity()
	key := hs.mech.SessionKey()
	if id.Anonymous || id.Guest {
		c.srv.stats.refusedAnonymous.Add(1)
		if c.requireSigning || c.shouldSign || req.SecurityMode&uint8(wire.SigningRequired) != 0 {
			c.log.Warn("anonymous logon refused: signing is required and anonymous sessions cannot sign",
				"server_requires", c.requireSigning, "client_requires", c.shouldSign || req.SecurityMode&uint8(wire.SigningRequired) != 0)
			c.srv.refused("anonymous_signing_required")
			s.endSession()
			return ntstatus.AccessDenied
		}
		if !c.settings.AllowAnonymous {
			c.log.Warn("anonymous logon refused: allow_anonymous is false")
			c.srv.refused("anonymous_not_allowed")
			s.endSession()
			return ntstatus.LogonFailure
		}
		c.srv.stats.refusedAnonymous.Add(-1)
	}
	if reauth {
		return r.reauthDone(s, id, out, w)
	}
	if !c.srv.reserveSession(c.settings.MaxSessions) {
		s.endSession()
		c.srv.refused("max_sessions")
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
		keys := smbcrypto.DeriveKeys(c.dialect, key, hs.preauth[:])
		sg, err := smbcrypto.NewSigner(c.signingAlg, keys.Signing[:])
		if err != nil {
			s.mu.Unlock()
			return err
		}
		// Session.SigningKey, and the first channel's key with it.
		s.sign = sg
		s.setChannelLocked(c, sg)
		s.appKey = keys.Application
		if encFlags, err = r.sessionEncryption(s, key, hs.preauth[:]); err != nil {
			s.mu.Unlock()
			s.auditEncryption(c)
			s.endSession()
			return err
		}
		// Session.SigningRequired [MS-SMB2 3.3.5.5.3]: the client asked in
		// SESSION_SETUP, or either side required it at NEGOTIATE.
		s.signRequired = req.SecurityMode&uint8(wire.SigningRequired) != 0 || c.shouldSign || c.requireSigning
	}
	signRequired := s.signRequired
	signed := signRequired && s.sign != nil
	s.mu.Unlock()
	s.opsEstablished(c)
	c.everAuth.Store(true)
	if req.PreviousSessionID != 0 && req.PreviousSessionID != s.id && flags == 0 {
		c.srv.expirePrevious(req.PreviousSessionID, id.Account, c)
	}
	r.signResponse = flags == 0 // always sign the final response of a real user
	c.log.Info("session established", "user", id.User, "domain", id.Domain, "dialect", wire.DialectName(c.dialect),
		"signing_required", signRequired, "signing", c.signingAlg.String(), "anonymous", id.Anonymous,
		"encryption", s.encryptionName(), "signed", signed, "guest", id.Guest)
	w.buf = wire.AppendSessionSetupResponse(w.buf, &wire.SessionSetupResponse{SessionFlags: flags | encFlags, SecurityBuffer: out})
	return nil
}

// reauthDone completes a re-authentication: keys are kept, the identity
// must stay the same account, by ID (Samba).
func (r *request) reauthDone(s *session, id auth.Identity, out []byte, w *response) error {
	if prev := s.account(); prev != id.Account || id.Anonymous || id.Guest {
		r.c.log.Warn("re-authentication as a different user refused", "was", prev, "now", id.Account)
		s.endSession()
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
		// Durable opens outlive a LOGOFF: a new session of the same user
		// may reclaim them (smb2.durable-open.reopen4, as Samba and
		// Windows); the others close.
		s.endSessionLost()
	}
	return nil
}
