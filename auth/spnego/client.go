package spnego

import (
	"fmt"

	"github.com/signetsmb/signet/auth"
	"github.com/signetsmb/signet/auth/ntlm"
)

type clientState int

const (
	clientStart          clientState = iota
	clientAwaitChallenge             // NegTokenInit sent
	clientAwaitFinal                 // AUTHENTICATE and mechListMIC sent
	clientDone
	clientFailed
)

// Client is the client side of one SPNEGO handshake around NTLM; it
// implements auth.ClientMech. Create one per SESSION_SETUP exchange.
type Client struct {
	ntlm  *ntlm.Client
	state clientState

	mechTypes []byte // DER of our mechTypes, signed by both mechListMICs
	negotiate []byte // our NTLM NEGOTIATE, re-sent if the server wants it
	resent    bool
}

var _ auth.ClientMech = (*Client)(nil)

// NewClient returns the SPNEGO initiator for one handshake, driving n, a
// fresh NTLM client for the same handshake.
func NewClient(n *ntlm.Client) *Client {
	return &Client{ntlm: n, mechTypes: wrap(tagSequence, []byte(oidNTLMSSP))}
}

// Step advances the handshake [RFC 4178 3.2, MS-SPNG 3.1.5]:
//
//  1. Step(hint) with the server's NEGOTIATE-response token (NegTokenInit2,
//     or nil/empty) returns InitialContextToken{NegTokenInit{[NTLMSSP],
//     NTLM NEGOTIATE}}. A hint that does not offer NTLMSSP is an error.
//  2. Step(NegTokenResp with the NTLM CHALLENGE) returns NegTokenResp with
//     the NTLM AUTHENTICATE and our mechListMIC, and done = true.
//  3. Step(final NegTokenResp) checks accept-completed and verifies the
//     server's mechListMIC when present; an empty final token is accepted.
//     Call it whenever the final SESSION_SETUP response carries a token.
//
// After an error every further call fails.
func (c *Client) Step(in []byte) (out []byte, done bool, err error) {
	switch c.state {
	case clientStart:
		out, err = c.start(in)
	case clientAwaitChallenge:
		out, done, err = c.challenge(in)
	case clientAwaitFinal:
		done, err = true, c.final(in)
	default:
		err = errInvalid("handshake already finished")
	}
	if err != nil {
		c.state = clientFailed
		return nil, false, err
	}
	return out, done, nil
}

// start checks the server's hint and sends NegTokenInit with the optimistic
// NTLM NEGOTIATE.
func (c *Client) start(hint []byte) ([]byte, error) {
	if len(hint) > 0 {
		init, err := parseInitialContextToken(hint)
		if err != nil {
			return nil, err
		}
		if indexOf(init.mechTypes, oidNTLMSSP) < 0 {
			return nil, fmt.Errorf("spnego: server does not offer NTLMSSP: %w", auth.ErrLogonFailure)
		}
	}
	neg, _, err := c.ntlm.Step(nil)
	if err != nil {
		return nil, err
	}
	c.negotiate = neg
	c.state = clientAwaitChallenge
	return marshalInitialContextToken(c.mechTypes, neg), nil
}

// challenge handles the server's NegTokenResp. Normally it carries the NTLM
// CHALLENGE; a server that declined the optimistic token gets the NEGOTIATE
// again, once.
func (c *Client) challenge(in []byte) ([]byte, bool, error) {
	r, err := parseServerResp(in)
	if err != nil {
		return nil, false, err
	}
	if r.supportedMech != nil && string(r.supportedMech) != oidNTLMSSP {
		return nil, false, errInvalid("server selected a mechanism we did not offer")
	}
	if r.responseToken == nil {
		return c.resendNegotiate(r)
	}
	authMsg, _, err := c.ntlm.Step(r.responseToken)
	if err != nil {
		return nil, false, err
	}
	reply := negTokenResp{
		state:         stateAcceptIncomplete,
		responseToken: authMsg,
		mechListMIC:   c.ntlm.MIC(c.mechTypes), // nil when anonymous
	}
	c.state = clientAwaitFinal
	return reply.marshal(), true, nil
}

// resendNegotiate answers a server reply without a CHALLENGE.
func (c *Client) resendNegotiate(r negTokenResp) ([]byte, bool, error) {
	if c.resent || (r.state != stateAcceptIncomplete && r.state != stateRequestMIC) {
		return nil, false, errInvalid("NegTokenResp without the NTLM CHALLENGE")
	}
	c.resent = true
	reply := negTokenResp{responseToken: c.negotiate}
	return reply.marshal(), false, nil
}

// final checks the server's last NegTokenResp and its mechListMIC.
func (c *Client) final(in []byte) error {
	if len(in) == 0 {
		c.state = clientDone
		return nil
	}
	r, err := parseServerResp(in)
	if err != nil {
		return err
	}
	if r.state != stateAcceptCompleted {
		return errInvalid("final NegTokenResp is not accept-completed")
	}
	if r.mechListMIC != nil && !c.ntlm.VerifyMIC(c.mechTypes, r.mechListMIC) {
		return fmt.Errorf("spnego: invalid server mechListMIC: %w", auth.ErrLogonFailure)
	}
	c.state = clientDone
	return nil
}

// parseServerResp parses a server NegTokenResp; negState reject aborts.
func parseServerResp(in []byte) (negTokenResp, error) {
	r, err := parseNegTokenResp(in)
	if err != nil {
		return r, err
	}
	if r.state == stateReject {
		return r, fmt.Errorf("spnego: server rejected the negotiation: %w", auth.ErrLogonFailure)
	}
	return r, nil
}

// SessionKey returns the NTLM ExportedSessionKey once the AUTHENTICATE was
// produced; nil for anonymous logons.
func (c *Client) SessionKey() []byte { return c.ntlm.SessionKey() }
