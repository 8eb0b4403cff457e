package spnego

import (
	"fmt"

	"github.com/signetsmb/signet/auth"
	"github.com/signetsmb/signet/auth/ntlm"
)

type serverState int

const (
	serverStart      serverState = iota
	serverAwaitToken             // mechanism chosen, waiting for its next token
	serverAwaitMIC               // our mechListMIC sent, waiting for the client's
	serverRaw                    // raw mechanism tokens without SPNEGO framing
	serverDone
	serverFailed
)

// Server is the server side of one SPNEGO handshake; it implements
// auth.ServerMech. It drives whichever of its mechanisms the client
// picks. Create one per SESSION_SETUP exchange.
type Server struct {
	mechs []auth.ServerMechanism
	mech  auth.GSSServer // the selected mechanism's acceptor
	name  string         // its policy name
	state serverState

	// mechTypes is a copy of the exact DER of the client's mechTypes, the
	// data both mechListMICs sign [RFC 4178 5].
	mechTypes []byte
	// supported is the client's OID for the selected mechanism, sent
	// back once as supportedMech.
	supported []byte
	// micRequired is set when we selected a mechanism other than the
	// client's first choice (negState request-mic) [RFC 4178 5].
	micRequired bool
	// raw is set when the client sent a bare mechanism token.
	raw bool
}

var _ auth.ServerMech = (*Server)(nil)

// NewServer returns the SPNEGO acceptor for one NTLM-only handshake,
// driving n, a fresh NTLM server for the same handshake.
func NewServer(n *ntlm.Server) *Server {
	return NewAcceptor(NTLMMechanism(func() *ntlm.Server { return n }))
}

// NewAcceptor returns the SPNEGO acceptor for one handshake offering
// mechs, in the server's order of preference.
func NewAcceptor(mechs ...auth.ServerMechanism) *Server {
	return &Server{mechs: mechs}
}

// NTLMMechanism returns the SPNEGO entry for NTLM; newServer makes the NTLM
// acceptor of one handshake.
func NTLMMechanism(newServer func() *ntlm.Server) auth.ServerMechanism {
	return auth.ServerMechanism{
		Name: "ntlm",
		OIDs: []string{oidNTLMSSP},
		Raw:  ntlm.IsNTLMSSP,
		New:  func() auth.GSSServer { return ntlmServer{newServer()} },
	}
}

// ntlmServer adds MICRequired: NTLM demands the mechListMIC when its
// AUTHENTICATE carried a MIC [MS-SPNG 3.2.5.1].
type ntlmServer struct{ *ntlm.Server }

func (n ntlmServer) MICRequired() bool { return n.MICPresent() }

// Mechanism returns the policy name of the selected mechanism ("" before
// one was selected).
func (s *Server) Mechanism() string { return s.name }

// Accept consumes the client's next token [RFC 4178 3.2, MS-SPNG 3.2.5]:
//
//   - the first token is an InitialContextToken with NegTokenInit, or a raw
//     mechanism token (NTLMSSP), after which the exchange is that
//     mechanism alone and replies are not wrapped [MS-SMB2 3.3.5.5.3];
//   - later tokens are NegTokenResp carrying the mechanism's tokens and
//     the client's mechListMIC.
//
// Errors wrap auth.ErrInvalidToken, auth.ErrLogonFailure (with
// auth.ErrNoMechanism when the client offers nothing enabled here) or
// auth.ErrAccountDisabled; send RejectToken with the error response.
// After an error every further call fails.
func (s *Server) Accept(in []byte) (out []byte, done bool, err error) {
	switch s.state {
	case serverStart:
		out, done, err = s.acceptFirst(in)
	case serverRaw:
		out, done, err = s.mech.Accept(in)
	case serverAwaitToken:
		var r negTokenResp
		if r, err = parseClientResp(in); err == nil {
			if r.responseToken == nil {
				err = errInvalid("NegTokenResp without a mechanism token")
			} else {
				out, done, err = s.step(r.responseToken, r.mechListMIC)
			}
		}
	case serverAwaitMIC:
		out, err = s.acceptMIC(in)
		done = err == nil
	default:
		err = errInvalid("handshake already finished")
	}
	if err != nil {
		s.state = serverFailed
		return nil, false, err
	}
	if done {
		s.state = serverDone
	}
	return out, done, nil
}

// acceptFirst handles the client's first token and selects the first of
// the client's mechanisms that we have [RFC 4178 3.2 (b), MS-SPNG 3.2.5.2].
func (s *Server) acceptFirst(in []byte) ([]byte, bool, error) {
	for _, m := range s.mechs {
		if m.Raw != nil && m.Raw(in) {
			s.raw, s.name, s.mech, s.state = true, m.Name, m.New(), serverRaw
			return s.mech.Accept(in)
		}
	}
	if ntlm.IsNTLMSSP(in) {
		s.raw = true
		return nil, false, s.noMechanism([]string{oidNTLMSSP})
	}
	init, err := parseInitialContextToken(in)
	if err != nil {
		return nil, false, err
	}
	idx, m := -1, (*auth.ServerMechanism)(nil)
	var offered []string
	for i, oid := range init.mechTypes {
		offered = append(offered, string(oid))
		if m = s.byOID(string(oid)); m != nil {
			idx = i
			break
		}
	}
	if m == nil {
		return nil, false, s.noMechanism(offered)
	}
	s.name, s.mech = m.Name, m.New()
	s.mechTypes = append([]byte(nil), init.mechTypesDER...)
	s.supported = append([]byte(nil), init.mechTypes[idx]...)
	switch {
	case idx > 0:
		// Not the client's preferred mechanism: its optimistic token is for
		// another one. Ask for the mechListMIC and wait for our token.
		s.micRequired = true
		s.state = serverAwaitToken
		return s.firstReply(negTokenResp{state: stateRequestMIC}), false, nil
	case init.mechToken == nil:
		s.state = serverAwaitToken
		return s.firstReply(negTokenResp{state: stateAcceptIncomplete}), false, nil
	}
	return s.step(init.mechToken, nil)
}

// firstReply adds supportedMech, which only the first reply carries.
func (s *Server) firstReply(r negTokenResp) []byte {
	r.supportedMech = s.supported
	s.supported = nil
	return r.marshal()
}

func (s *Server) byOID(oid string) *auth.ServerMechanism {
	for i := range s.mechs {
		for _, o := range s.mechs[i].OIDs {
			if o == oid {
				return &s.mechs[i]
			}
		}
	}
	return nil
}

// noMechanism explains a client that offers nothing we have enabled.
func (s *Server) noMechanism(offered []string) error {
	var theirs, ours []string
	for _, o := range offered {
		theirs = append(theirs, auth.OIDName(o))
	}
	for _, m := range s.mechs {
		ours = append(ours, m.Name)
	}
	return fmt.Errorf("spnego: %w", &auth.NoMechanismError{Offered: theirs, Enabled: ours})
}

// step feeds one mechanism token and, once the mechanism is done, settles
// the mechListMIC [RFC 4178 5, MS-SPNG 3.2.5.1]:
//
//   - a client mechListMIC is verified and answered with ours;
//   - without one, if the exchange requires it (request-mic sent, or the
//     mechanism requires it, as NTLM with a MIC in AUTHENTICATE), we send
//     ours with accept-incomplete and wait for the client's, as Samba does;
//   - otherwise the exchange completes without mechListMIC (Kerberos as the
//     client's first choice: one round, like Windows).
//
// Contexts without a key (anonymous) exchange no mechListMIC.
func (s *Server) step(token, clientMIC []byte) ([]byte, bool, error) {
	out, done, err := s.mech.Accept(token)
	if err != nil {
		return nil, false, err
	}
	reply := negTokenResp{state: stateAcceptIncomplete}
	if len(out) > 0 {
		reply.responseToken = out
	}
	if !done {
		if out == nil {
			return nil, false, errInvalid("mechanism produced no token")
		}
		s.state = serverAwaitToken
		return s.firstReply(reply), false, nil
	}
	reply.state = stateAcceptCompleted
	switch {
	case s.mech.SessionKey() == nil:
	case clientMIC != nil:
		if err := s.verifyMIC(clientMIC); err != nil {
			return nil, false, err
		}
		reply.mechListMIC = s.mech.MIC(s.mechTypes)
	case s.micRequired || s.mech.MICRequired():
		if reply.mechListMIC = s.mech.MIC(s.mechTypes); reply.mechListMIC == nil {
			return nil, false, fmt.Errorf("spnego: %s cannot sign the required mechListMIC: %w", s.name, auth.ErrLogonFailure)
		}
		reply.state = stateAcceptIncomplete
		s.state = serverAwaitMIC
		return s.firstReply(reply), false, nil
	}
	return s.firstReply(reply), true, nil
}

// acceptMIC handles the client's mechListMIC sent after ours.
func (s *Server) acceptMIC(in []byte) ([]byte, error) {
	r, err := parseClientResp(in)
	if err != nil {
		return nil, err
	}
	if r.mechListMIC == nil {
		return nil, fmt.Errorf("spnego: required mechListMIC missing: %w", auth.ErrLogonFailure)
	}
	if err := s.verifyMIC(r.mechListMIC); err != nil {
		return nil, err
	}
	reply := negTokenResp{state: stateAcceptCompleted}
	return reply.marshal(), nil
}

// verifyMIC checks the client's mechListMIC over the saved mechTypes.
func (s *Server) verifyMIC(mic []byte) error {
	if !s.mech.VerifyMIC(s.mechTypes, mic) {
		return fmt.Errorf("spnego: invalid mechListMIC: %w", auth.ErrLogonFailure)
	}
	return nil
}

// parseClientResp parses a client NegTokenResp; negState reject aborts.
func parseClientResp(in []byte) (negTokenResp, error) {
	r, err := parseNegTokenResp(in)
	if err != nil {
		return r, err
	}
	if r.state == stateReject {
		return r, fmt.Errorf("spnego: client rejected the negotiation: %w", auth.ErrLogonFailure)
	}
	return r, nil
}

// Identity returns the mechanism's identity, valid once Accept returned
// done.
func (s *Server) Identity() auth.Identity {
	if s.mech == nil {
		return auth.Identity{}
	}
	return s.mech.Identity()
}

// SessionKey returns the mechanism's session key, valid once Accept
// returned done; nil for anonymous logons.
func (s *Server) SessionKey() []byte {
	if s.mech == nil {
		return nil
	}
	return s.mech.SessionKey()
}

// RejectToken returns the token to send with a failed SESSION_SETUP
// response: NegTokenResp{negState reject} [RFC 4178 4.2.2], or nil when the
// client spoke a raw mechanism.
func (s *Server) RejectToken() []byte {
	if s.raw {
		return nil
	}
	return rejectToken()
}
