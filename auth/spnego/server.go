package spnego

import (
	"fmt"

	"github.com/signetsmb/signet/auth"
	"github.com/signetsmb/signet/auth/ntlm"
)

type serverState int

const (
	serverStart             serverState = iota
	serverAwaitNegotiate                // NTLMSSP chosen, waiting for the NTLM NEGOTIATE
	serverAwaitAuthenticate             // CHALLENGE sent
	serverAwaitMIC                      // our mechListMIC sent, waiting for the client's
	serverRaw                           // raw NTLMSSP without SPNEGO framing
	serverDone
	serverFailed
)

// Server is the server side of one SPNEGO handshake around NTLM; it
// implements auth.ServerMech. Create one per SESSION_SETUP exchange.
type Server struct {
	ntlm  *ntlm.Server
	state serverState

	// mechTypes is a copy of the exact DER of the client's mechTypes, the
	// data both mechListMICs sign [RFC 4178 5].
	mechTypes []byte
	// micRequired is set when we selected a mechanism other than the
	// client's first choice (negState request-mic) [RFC 4178 5].
	micRequired bool
	// raw is set when the client sent bare NTLMSSP without SPNEGO.
	raw bool
}

var _ auth.ServerMech = (*Server)(nil)

// NewServer returns the SPNEGO acceptor for one handshake, driving n, a fresh
// NTLM server for the same handshake. Identity and SessionKey come from n.
func NewServer(n *ntlm.Server) *Server {
	return &Server{ntlm: n}
}

// Accept consumes the client's next token [RFC 4178 3.2, MS-SPNG 3.2.5]:
//
//   - the first token is an InitialContextToken with NegTokenInit, or a raw
//     NTLMSSP message, after which the exchange is plain NTLM and replies are
//     not wrapped [MS-SMB2 3.3.5.5.3];
//   - later tokens are NegTokenResp carrying the NTLM messages and the
//     client's mechListMIC.
//
// Errors wrap auth.ErrInvalidToken, auth.ErrLogonFailure or
// auth.ErrAccountDisabled; send RejectToken with the error response. After
// an error every further call fails.
func (s *Server) Accept(in []byte) (out []byte, done bool, err error) {
	switch s.state {
	case serverStart:
		out, done, err = s.acceptFirst(in)
	case serverRaw:
		out, done, err = s.ntlm.Accept(in)
	case serverAwaitNegotiate:
		out, err = s.acceptNegotiate(in)
	case serverAwaitAuthenticate:
		out, done, err = s.acceptAuthenticate(in)
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

// acceptFirst handles the client's first token and selects NTLMSSP
// [RFC 4178 3.2 (b), MS-SPNG 3.2.5.2].
func (s *Server) acceptFirst(in []byte) ([]byte, bool, error) {
	if ntlm.IsNTLMSSP(in) {
		s.raw = true
		s.state = serverRaw
		return s.ntlm.Accept(in)
	}
	init, err := parseInitialContextToken(in)
	if err != nil {
		return nil, false, err
	}
	idx := indexOf(init.mechTypes, oidNTLMSSP)
	if idx < 0 {
		return nil, false, fmt.Errorf("spnego: client offers no NTLMSSP: %w", auth.ErrLogonFailure)
	}
	s.mechTypes = append([]byte(nil), init.mechTypesDER...)
	reply := negTokenResp{state: stateAcceptIncomplete, supportedMech: []byte(oidNTLMSSP)}
	switch {
	case idx > 0:
		// Not the client's preferred mechanism: its optimistic token is for
		// another one. Ask for the mechListMIC and wait for NTLM NEGOTIATE.
		reply.state = stateRequestMIC
		s.micRequired = true
		s.state = serverAwaitNegotiate
	case init.mechToken == nil:
		s.state = serverAwaitNegotiate
	default:
		challenge, _, err := s.ntlm.Accept(init.mechToken)
		if err != nil {
			return nil, false, err
		}
		reply.responseToken = challenge
		s.state = serverAwaitAuthenticate
	}
	return reply.marshal(), false, nil
}

// acceptNegotiate handles the NegTokenResp carrying NTLM NEGOTIATE after a
// reply without a CHALLENGE.
func (s *Server) acceptNegotiate(in []byte) ([]byte, error) {
	r, err := parseClientResp(in)
	if err != nil {
		return nil, err
	}
	if r.responseToken == nil {
		return nil, errInvalid("NegTokenResp without the NTLM NEGOTIATE")
	}
	challenge, _, err := s.ntlm.Accept(r.responseToken)
	if err != nil {
		return nil, err
	}
	s.state = serverAwaitAuthenticate
	reply := negTokenResp{state: stateAcceptIncomplete, responseToken: challenge}
	return reply.marshal(), nil
}

// acceptAuthenticate handles the NegTokenResp carrying NTLM AUTHENTICATE and
// settles the mechListMIC [RFC 4178 5, MS-SPNG 3.2.5.1]:
//
//   - a client mechListMIC is verified and answered with ours;
//   - without one, if the exchange requires it (request-mic sent, or the NTLM
//     AUTHENTICATE carried a MIC), we send ours with accept-incomplete and
//     wait for the client's, as Samba does;
//   - otherwise the exchange completes without mechListMIC.
//
// Anonymous logons have no key, so no mechListMIC is exchanged.
func (s *Server) acceptAuthenticate(in []byte) ([]byte, bool, error) {
	r, err := parseClientResp(in)
	if err != nil {
		return nil, false, err
	}
	if r.responseToken == nil {
		return nil, false, errInvalid("NegTokenResp without the NTLM AUTHENTICATE")
	}
	if _, done, err := s.ntlm.Accept(r.responseToken); err != nil || !done {
		if err == nil {
			err = errInvalid("NTLM did not complete")
		}
		return nil, false, err
	}
	reply := negTokenResp{state: stateAcceptCompleted}
	switch {
	case s.ntlm.SessionKey() == nil:
	case r.mechListMIC != nil:
		if err := s.verifyMIC(r.mechListMIC); err != nil {
			return nil, false, err
		}
		reply.mechListMIC = s.ntlm.MIC(s.mechTypes)
	case s.micRequired || s.ntlm.MICPresent():
		reply.state = stateAcceptIncomplete
		reply.mechListMIC = s.ntlm.MIC(s.mechTypes)
		s.state = serverAwaitMIC
		return reply.marshal(), false, nil
	}
	return reply.marshal(), true, nil
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
	if !s.ntlm.VerifyMIC(s.mechTypes, mic) {
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

// Identity returns the NTLM identity, valid once Accept returned done.
func (s *Server) Identity() auth.Identity { return s.ntlm.Identity() }

// SessionKey returns the NTLM ExportedSessionKey, valid once Accept returned
// done; nil for anonymous logons.
func (s *Server) SessionKey() []byte { return s.ntlm.SessionKey() }

// RejectToken returns the token to send with a failed SESSION_SETUP
// response: NegTokenResp{negState reject} [RFC 4178 4.2.2], or nil when the
// client spoke raw NTLMSSP.
func (s *Server) RejectToken() []byte {
	if s.raw {
		return nil
	}
	return rejectToken()
}
