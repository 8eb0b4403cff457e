package spnego

import (
	"fmt"

	"github.com/signetsmb/signet/auth"
	"github.com/signetsmb/signet/auth/ntlm"
)

type clientState int

const (
	clientStart      clientState = iota
	clientAwaitResp              // NegTokenInit sent; mechanism tokens flow
	clientAwaitFinal             // our last token / mechListMIC sent
	clientDone
	clientFailed
)

// Client is the client side of one SPNEGO handshake; it implements
// auth.ClientMech. Create one per SESSION_SETUP exchange.
type Client struct {
	mechs   []auth.ClientMechanism // ours, in order of preference
	offered []auth.ClientMechanism // those the server's hint also has
	cur     int                    // index in offered of the running mechanism
	mech    auth.GSSClient
	state   clientState

	mechTypes []byte // DER of our mechTypes, signed by both mechListMICs
	first     []byte // the mechanism's first token, re-sent if the server wants it
	resent    bool
	switched  bool
	// micRequired: the server chose a mechanism other than our first, so
	// it must protect the mechanism list with its mechListMIC.
	micRequired bool
	serverMIC   bool // the server's mechListMIC was verified
}

var _ auth.ClientMech = (*Client)(nil)

// NewClient returns the SPNEGO initiator for one NTLM-only handshake,
// driving n, a fresh NTLM client for the same handshake.
func NewClient(n *ntlm.Client) *Client {
	return NewInitiator(NTLMClientMechanism(func() *ntlm.Client { return n }))
}

// NewInitiator returns the SPNEGO initiator for one handshake offering
// mechs in order of preference.
func NewInitiator(mechs ...auth.ClientMechanism) *Client {
	return &Client{mechs: mechs}
}

// NTLMClientMechanism returns the client SPNEGO entry for NTLM.
func NTLMClientMechanism(newClient func() *ntlm.Client) auth.ClientMechanism {
	return auth.ClientMechanism{
		Name: "ntlm",
		OIDs: []string{oidNTLMSSP},
		New:  func() (auth.GSSClient, error) { return newClient(), nil },
	}
}

// Step advances the handshake [RFC 4178 3.2, MS-SPNG 3.1.5]:
//
//  1. Step(hint) with the server's NEGOTIATE-response token (NegTokenInit2,
//     or nil/empty) returns InitialContextToken{NegTokenInit{our mechanisms
//     that the hint offers, the first one's optimistic token}}. A hint that
//     offers none of ours is an error.
//  2. Step(NegTokenResp) feeds the server's mechanism token. When our
//     mechanism sends its last token (NTLM AUTHENTICATE) it goes out with
//     our mechListMIC and done = true. When the server's token completes
//     the context (Kerberos AP-REP) the server's mechListMIC is checked; if
//     the server wants ours, it is returned with done = true, otherwise
//     done = true with no token.
//  3. Step(final NegTokenResp) checks accept-completed and verifies the
//     server's mechListMIC when present; an empty final token is accepted.
//     Call it whenever the final SESSION_SETUP response carries a token
//     that an earlier Step did not consume.
//
// After an error every further call fails.
func (c *Client) Step(in []byte) (out []byte, done bool, err error) {
	switch c.state {
	case clientStart:
		out, err = c.start(in)
	case clientAwaitResp:
		out, done, err = c.resp(in)
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

// start checks the server's hint and sends NegTokenInit with the first
// mechanism's optimistic token.
func (c *Client) start(hint []byte) ([]byte, error) {
	c.offered = c.mechs
	if len(hint) > 0 {
		init, err := parseInitialContextToken(hint)
		if err != nil {
			return nil, err
		}
		c.offered = nil
		for _, m := range c.mechs {
			if offers(init.mechTypes, m) {
				c.offered = append(c.offered, m)
			}
		}
		if len(c.offered) == 0 {
			var theirs, ours []string
			for _, o := range init.mechTypes {
				theirs = append(theirs, auth.OIDName(string(o)))
			}
			for _, m := range c.mechs {
				ours = append(ours, m.Name)
			}
			return nil, fmt.Errorf("spnego: %w", &auth.NoMechanismError{Offered: theirs, Enabled: ours})
		}
	}
	if len(c.offered) == 0 {
		return nil, fmt.Errorf("spnego: no mechanism configured: %w", auth.ErrNoMechanism)
	}
	var oids [][]byte
	for _, m := range c.offered {
		for _, o := range m.OIDs {
			oids = append(oids, []byte(o))
		}
	}
	c.mechTypes = wrap(tagSequence, oids...)
	tok, err := c.startMech(0)
	if err != nil {
		return nil, err
	}
	c.first = tok
	c.state = clientAwaitResp
	return marshalInitialContextToken(c.mechTypes, tok), nil
}

func offers(list [][]byte, m auth.ClientMechanism) bool {
	for _, o := range m.OIDs {
		if indexOf(list, o) >= 0 {
			return true
		}
	}
	return false
}

// startMech starts offered[i] and returns its first token.
func (c *Client) startMech(i int) ([]byte, error) {
	m, err := c.offered[i].New()
	if err != nil {
		return nil, err
	}
	tok, _, err := m.Step(nil)
	if err != nil {
		return nil, err
	}
	c.cur, c.mech = i, m
	return tok, nil
}

// resp handles a server NegTokenResp while mechanism tokens flow.
func (c *Client) resp(in []byte) ([]byte, bool, error) {
	r, err := parseServerResp(in)
	if err != nil {
		return nil, false, err
	}
	if r.supportedMech != nil && !offers([][]byte{r.supportedMech}, c.offered[c.cur]) {
		return c.switchMech(r.supportedMech)
	}
	if r.responseToken == nil {
		return c.resendFirst(r)
	}
	out, done, err := c.mech.Step(r.responseToken)
	if err != nil {
		return nil, false, err
	}
	switch {
	case !done:
		reply := negTokenResp{responseToken: out}
		return reply.marshal(), false, nil
	case out != nil:
		// Our last token (NTLM AUTHENTICATE) goes with our mechListMIC.
		reply := negTokenResp{
			state:         stateAcceptIncomplete,
			responseToken: out,
			mechListMIC:   c.mech.MIC(c.mechTypes), // nil when anonymous
		}
		c.state = clientAwaitFinal
		return reply.marshal(), true, nil
	}
	return c.settle(r)
}

// switchMech follows a server that selected another of our mechanisms
// (a downgrade from our preference): its first token goes in a
// NegTokenResp, and the mechanism list must be protected by MICs.
func (c *Client) switchMech(oid []byte) ([]byte, bool, error) {
	j := -1
	for i, m := range c.offered {
		if offers([][]byte{oid}, m) {
			j = i
		}
	}
	if j < 0 || c.switched {
		return nil, false, errInvalid("server selected a mechanism we did not offer")
	}
	tok, err := c.startMech(j)
	if err != nil {
		return nil, false, err
	}
	c.switched, c.micRequired, c.first, c.resent = true, true, tok, true
	reply := negTokenResp{responseToken: tok}
	return reply.marshal(), false, nil
}

// resendFirst answers a server reply without a mechanism token: it
// declined the optimistic token, so it gets it again, once.
func (c *Client) resendFirst(r negTokenResp) ([]byte, bool, error) {
	if c.resent || (r.state != stateAcceptIncomplete && r.state != stateRequestMIC) {
		return nil, false, errInvalid("NegTokenResp without a mechanism token")
	}
	c.resent = true
	if r.state == stateRequestMIC {
		c.micRequired = true
	}
	reply := negTokenResp{responseToken: c.first}
	return reply.marshal(), false, nil
}

// settle runs when the server's token completed our context (Kerberos
// AP-REP): check the server's mechListMIC and send ours if it wants it.
func (c *Client) settle(r negTokenResp) ([]byte, bool, error) {
	if r.mechListMIC != nil {
		if !c.mech.VerifyMIC(c.mechTypes, r.mechListMIC) {
			return nil, false, fmt.Errorf("spnego: invalid server mechListMIC: %w", auth.ErrLogonFailure)
		}
		c.serverMIC = true
	}
	if r.state == stateAcceptCompleted {
		if c.micRequired && !c.serverMIC {
			return nil, false, fmt.Errorf("spnego: the server chose %s over our preference without a mechListMIC: %w",
				c.offered[c.cur].Name, auth.ErrLogonFailure)
		}
		c.state = clientDone
		return nil, true, nil
	}
	mic := c.mech.MIC(c.mechTypes)
	if mic == nil {
		return nil, false, fmt.Errorf("spnego: %s cannot sign the mechListMIC the server wants: %w", c.offered[c.cur].Name, auth.ErrLogonFailure)
	}
	c.state = clientAwaitFinal
	reply := negTokenResp{mechListMIC: mic}
	return reply.marshal(), true, nil
}

// final checks the server's last NegTokenResp and its mechListMIC.
// When the server chose other than our first preference, its mechListMIC
// must have come [RFC 4178 5].
func (c *Client) final(in []byte) error {
	if len(in) > 0 {
		r, err := parseServerResp(in)
		if err != nil {
			return err
		}
		if r.state != stateAcceptCompleted {
			return errInvalid("final NegTokenResp is not accept-completed")
		}
		if r.mechListMIC != nil {
			if !c.mech.VerifyMIC(c.mechTypes, r.mechListMIC) {
				return fmt.Errorf("spnego: invalid server mechListMIC: %w", auth.ErrLogonFailure)
			}
			c.serverMIC = true
		}
	}
	if c.micRequired && !c.serverMIC && c.mech.SessionKey() != nil {
		return fmt.Errorf("spnego: the server chose %s over our preference without a mechListMIC: %w",
			c.offered[c.cur].Name, auth.ErrLogonFailure)
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

// Mechanism returns the policy name of the running mechanism.
func (c *Client) Mechanism() string {
	if c.mech == nil {
		return ""
	}
	return c.offered[c.cur].Name
}

// SessionKey returns the mechanism's session key once it has one; nil for
// anonymous logons.
func (c *Client) SessionKey() []byte {
	if c.mech == nil {
		return nil
	}
	return c.mech.SessionKey()
}
