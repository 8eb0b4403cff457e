package spnego

import (
	"bytes"
	"errors"
	"testing"

	"github.com/signetsmb/signet/auth"
	"github.com/signetsmb/signet/auth/ntlm"
)

// oidKerberos is Kerberos 5 (1.2.840.113554.1.2.2) as full DER.
const oidKerberos = "\x06\x09\x2a\x86\x48\x86\xf7\x12\x01\x02\x02"

// step and accept fail the test on error or an unexpected done.
func step(t *testing.T, c *Client, in []byte, wantDone bool) []byte {
	t.Helper()
	out, done, err := c.Step(in)
	if err != nil || done != wantDone {
		t.Fatalf("client Step: done=%v err=%v, want done=%v", done, err, wantDone)
	}
	return out
}

func accept(t *testing.T, s *Server, in []byte, wantDone bool) []byte {
	t.Helper()
	out, done, err := s.Accept(in)
	if err != nil || done != wantDone {
		t.Fatalf("server Accept: done=%v err=%v, want done=%v", done, err, wantDone)
	}
	return out
}

func mustResp(t *testing.T, tok []byte) negTokenResp {
	t.Helper()
	r, err := parseNegTokenResp(tok)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRoundTrip(t *testing.T) {
	c := NewClient(newNTLMClient(testPassword))
	s := NewServer(newNTLMServer(false))

	init := step(t, c, NegTokenInit2(), false)
	chal := accept(t, s, init, false)
	r := mustResp(t, chal)
	if r.state != stateAcceptIncomplete || string(r.supportedMech) != oidNTLMSSP || !ntlm.IsNTLMSSP(r.responseToken) {
		t.Fatalf("first reply %+v", r)
	}
	authTok := step(t, c, chal, true)
	if r := mustResp(t, authTok); r.mechListMIC == nil || !ntlm.IsNTLMSSP(r.responseToken) {
		t.Fatalf("client AUTHENTICATE token %+v", r)
	}
	final := accept(t, s, authTok, true)
	if r := mustResp(t, final); r.state != stateAcceptCompleted || len(r.mechListMIC) != 16 {
		t.Fatalf("final reply %+v", r)
	}
	step(t, c, final, true)

	if len(s.SessionKey()) != 16 || !bytes.Equal(s.SessionKey(), c.SessionKey()) {
		t.Fatal("session keys differ")
	}
	if id := s.Identity(); id.User != testUser || id.Domain != "WORKGROUP" || id.Anonymous {
		t.Fatalf("identity %+v", id)
	}
	if _, _, err := s.Accept(authTok); err == nil {
		t.Fatal("Accept after done succeeded")
	}
	if _, _, err := c.Step(final); err == nil {
		t.Fatal("Step after done succeeded")
	}
}

// TestServerReplyMatchesWindows feeds the Windows NegTokenInit to our server
// configured like the Windows one: the reply must be Windows' token except
// for the NTLM VERSION field.
func TestServerReplyMatchesWindows(t *testing.T) {
	w := loadWindows(t)
	s := NewServer(windowsNTLMServer(t, w))
	got := accept(t, s, w.init, false)
	r := mustResp(t, got)
	copy(r.responseToken[48:56], w.challenge[48:56]) // VERSION
	if !bytes.Equal(got, w.challengeResp) {
		t.Fatalf("reply\n got %x\nwant %x", got, w.challengeResp)
	}
}

func TestWrongPassword(t *testing.T) {
	c := NewClient(newNTLMClient("wrong"))
	s := NewServer(newNTLMServer(false))
	chal := accept(t, s, step(t, c, nil, false), false)
	_, _, err := s.Accept(step(t, c, chal, true))
	if !errors.Is(err, auth.ErrLogonFailure) {
		t.Fatalf("err = %v", err)
	}
	if r := mustResp(t, s.RejectToken()); r.state != stateReject {
		t.Fatalf("RejectToken %+v", r)
	}
}

// replaceMIC rewrites the mechListMIC of a client NegTokenResp.
func replaceMIC(t *testing.T, tok []byte, mic []byte) []byte {
	r := mustResp(t, tok)
	r.mechListMIC = mic
	return r.marshal()
}

func TestTamperedMechListMIC(t *testing.T) {
	c := NewClient(newNTLMClient(testPassword))
	s := NewServer(newNTLMServer(false))
	chal := accept(t, s, step(t, c, nil, false), false)
	authTok := step(t, c, chal, true)
	bad := mustResp(t, authTok).mechListMIC
	bad[5] ^= 1
	if _, _, err := s.Accept(replaceMIC(t, authTok, bad)); !errors.Is(err, auth.ErrLogonFailure) {
		t.Fatalf("err = %v", err)
	}
	if s.RejectToken() == nil {
		t.Fatal("no reject token")
	}
}

func TestTamperedServerMechListMIC(t *testing.T) {
	c := NewClient(newNTLMClient(testPassword))
	s := NewServer(newNTLMServer(false))
	chal := accept(t, s, step(t, c, nil, false), false)
	final := accept(t, s, step(t, c, chal, true), true)
	r := mustResp(t, final)
	r.mechListMIC[10] ^= 1
	if _, _, err := c.Step(r.marshal()); !errors.Is(err, auth.ErrLogonFailure) {
		t.Fatalf("err = %v", err)
	}
}

// TestMechListMICSentSeparately: a client that omits the mechListMIC
// although its AUTHENTICATE carried a MIC gets our mechListMIC with
// accept-incomplete and must then send its own (Samba's behaviour).
func TestMechListMICSentSeparately(t *testing.T) {
	c := NewClient(newNTLMClient(testPassword))
	s := NewServer(newNTLMServer(false))
	chal := accept(t, s, step(t, c, nil, false), false)
	authTok := step(t, c, chal, true)

	reply := mustResp(t, accept(t, s, replaceMIC(t, authTok, nil), false))
	if reply.state != stateAcceptIncomplete || len(reply.mechListMIC) != 16 {
		t.Fatalf("reply %+v", reply)
	}
	if _, _, err := s.Accept(replaceMIC(t, authTok, nil)); !errors.Is(err, auth.ErrLogonFailure) {
		t.Fatal("NegTokenResp without the required mechListMIC accepted")
	}

	// Again, now sending the MIC in its own NegTokenResp.
	c = NewClient(newNTLMClient(testPassword))
	s = NewServer(newNTLMServer(false))
	chal = accept(t, s, step(t, c, nil, false), false)
	authTok = step(t, c, chal, true)
	clientMIC := mustResp(t, authTok).mechListMIC
	accept(t, s, replaceMIC(t, authTok, nil), false)
	final := accept(t, s, (&negTokenResp{state: stateAbsent, mechListMIC: clientMIC}).marshal(), true)
	if r := mustResp(t, final); r.state != stateAcceptCompleted || r.mechListMIC != nil {
		t.Fatalf("final %+v", r)
	}
	if !bytes.Equal(s.SessionKey(), c.SessionKey()) {
		t.Fatal("session keys differ")
	}
}

func TestRawNTLMSSP(t *testing.T) {
	c := newNTLMClient(testPassword)
	s := NewServer(newNTLMServer(false))
	neg, _, _ := c.Step(nil)
	chal := accept(t, s, neg, false)
	if !ntlm.IsNTLMSSP(chal) {
		t.Fatalf("raw NEGOTIATE answered with %x", chal[:8])
	}
	authMsg, _, err := c.Step(chal)
	if err != nil {
		t.Fatal(err)
	}
	if out := accept(t, s, authMsg, true); out != nil {
		t.Fatalf("raw final token %x", out)
	}
	if !bytes.Equal(s.SessionKey(), c.SessionKey()) || s.RejectToken() != nil {
		t.Fatal("raw NTLMSSP: keys differ or a SPNEGO reject token")
	}

	// A failing raw exchange has no SPNEGO reject token either.
	s = NewServer(newNTLMServer(false))
	bad := newNTLMClient("wrong")
	neg, _, _ = bad.Step(nil)
	chal = accept(t, s, neg, false)
	authMsg, _, _ = bad.Step(chal)
	if _, _, err := s.Accept(authMsg); !errors.Is(err, auth.ErrLogonFailure) || s.RejectToken() != nil {
		t.Fatalf("raw failure: err=%v reject=%x", err, s.RejectToken())
	}
}

// clientInit builds a client NegTokenInit with the given mechTypes and an
// optional mechToken, returning the token and the mechTypes DER.
func clientInit(mechToken []byte, oids ...string) (tok, mechTypes []byte) {
	var list [][]byte
	for _, o := range oids {
		list = append(list, []byte(o))
	}
	mechTypes = wrap(tagSequence, list...)
	return marshalInitialContextToken(mechTypes, mechToken), mechTypes
}

// TestNTLMSSPNotFirst: the client prefers Kerberos and sends a Kerberos
// optimistic token; the server discards it, answers request-mic with
// supportedMech NTLMSSP and no token, then runs NTLM with a mandatory
// mechListMIC over the client's exact mechTypes.
func TestNTLMSSPNotFirst(t *testing.T) {
	for _, withMIC := range []bool{true, false} {
		nc := newNTLMClient(testPassword)
		s := NewServer(newNTLMServer(false))
		init, mechTypes := clientInit([]byte("kerberos AP-REQ"), oidKerberos, oidNTLMSSP)
		r := mustResp(t, accept(t, s, init, false))
		if r.state != stateRequestMIC || string(r.supportedMech) != oidNTLMSSP || r.responseToken != nil {
			t.Fatalf("first reply %+v", r)
		}
		neg, _, _ := nc.Step(nil)
		r = mustResp(t, accept(t, s, (&negTokenResp{responseToken: neg}).marshal(), false))
		if r.state != stateAcceptIncomplete || r.supportedMech != nil || !ntlm.IsNTLMSSP(r.responseToken) {
			t.Fatalf("challenge reply %+v", r)
		}
		authMsg, _, err := nc.Step(r.responseToken)
		if err != nil {
			t.Fatal(err)
		}
		mic := nc.MIC(mechTypes)
		if !withMIC {
			r = mustResp(t, accept(t, s, (&negTokenResp{responseToken: authMsg}).marshal(), false))
			if r.state != stateAcceptIncomplete || !nc.VerifyMIC(mechTypes, r.mechListMIC) {
				t.Fatalf("MIC request reply %+v", r)
			}
			final := mustResp(t, accept(t, s, (&negTokenResp{mechListMIC: mic}).marshal(), true))
			if final.state != stateAcceptCompleted {
				t.Fatalf("final %+v", final)
			}
			continue
		}
		final := mustResp(t, accept(t, s, (&negTokenResp{responseToken: authMsg, mechListMIC: mic}).marshal(), true))
		if final.state != stateAcceptCompleted || !nc.VerifyMIC(mechTypes, final.mechListMIC) {
			t.Fatalf("final %+v", final)
		}
	}
}

// TestMechListMICOverExactBytes: the server signs the client's mechTypes as
// sent; a MIC over a differently ordered list fails.
func TestMechListMICOverExactBytes(t *testing.T) {
	nc := newNTLMClient(testPassword)
	s := NewServer(newNTLMServer(false))
	neg, _, _ := nc.Step(nil)
	init, _ := clientInit(neg, oidNTLMSSP, oidKerberos)
	r := mustResp(t, accept(t, s, init, false))
	authMsg, _, _ := nc.Step(r.responseToken)
	_, other := clientInit(nil, oidNTLMSSP)
	_, _, err := s.Accept((&negTokenResp{responseToken: authMsg, mechListMIC: nc.MIC(other)}).marshal())
	if !errors.Is(err, auth.ErrLogonFailure) {
		t.Fatalf("err = %v", err)
	}
}

// TestNoOptimisticToken: NTLMSSP first but no mechToken; the server answers
// accept-incomplete + supportedMech and waits for NEGOTIATE.
func TestNoOptimisticToken(t *testing.T) {
	nc := newNTLMClient(testPassword)
	s := NewServer(newNTLMServer(false))
	init, mechTypes := clientInit(nil, oidNTLMSSP)
	r := mustResp(t, accept(t, s, init, false))
	if r.state != stateAcceptIncomplete || string(r.supportedMech) != oidNTLMSSP || r.responseToken != nil {
		t.Fatalf("first reply %+v", r)
	}
	if _, _, err := NewServer(newNTLMServer(false)).Accept(init); err != nil {
		t.Fatal(err)
	}
	neg, _, _ := nc.Step(nil)
	r = mustResp(t, accept(t, s, (&negTokenResp{state: stateAcceptIncomplete, responseToken: neg}).marshal(), false))
	authMsg, _, _ := nc.Step(r.responseToken)
	final := mustResp(t, accept(t, s, (&negTokenResp{responseToken: authMsg, mechListMIC: nc.MIC(mechTypes)}).marshal(), true))
	if !nc.VerifyMIC(mechTypes, final.mechListMIC) {
		t.Fatal("server mechListMIC")
	}
}

func TestNoNTLMSSPOffered(t *testing.T) {
	s := NewServer(newNTLMServer(false))
	init, _ := clientInit([]byte("x"), oidKerberos)
	if _, _, err := s.Accept(init); !errors.Is(err, auth.ErrLogonFailure) {
		t.Fatalf("err = %v", err)
	}
	if r := mustResp(t, s.RejectToken()); r.state != stateReject {
		t.Fatal("no reject token")
	}
}

// TestClientResendsNegotiate: a server that declines the optimistic token
// (request-mic, no responseToken) gets the same NTLM NEGOTIATE again.
func TestClientResendsNegotiate(t *testing.T) {
	c := NewClient(newNTLMClient(testPassword))
	init, err := parseInitialContextToken(step(t, c, nil, false))
	if err != nil {
		t.Fatal(err)
	}
	reply := (&negTokenResp{state: stateRequestMIC, supportedMech: []byte(oidNTLMSSP)}).marshal()
	again := mustResp(t, step(t, c, reply, false))
	if !bytes.Equal(again.responseToken, init.mechToken) {
		t.Fatal("NEGOTIATE not re-sent")
	}
	ns := newNTLMServer(false)
	chal, _, err := ns.Accept(again.responseToken)
	if err != nil {
		t.Fatal(err)
	}
	authTok := mustResp(t, step(t, c, (&negTokenResp{state: stateAcceptIncomplete, responseToken: chal}).marshal(), true))
	if _, done, err := ns.Accept(authTok.responseToken); err != nil || !done {
		t.Fatalf("NTLM: %v", err)
	}
	if !ns.VerifyMIC(init.mechTypesDER, authTok.mechListMIC) {
		t.Fatal("client mechListMIC")
	}
	// Only once.
	c = NewClient(newNTLMClient(testPassword))
	step(t, c, nil, false)
	step(t, c, reply, false)
	if _, _, err := c.Step(reply); err == nil {
		t.Fatal("second re-send accepted")
	}
}

func TestAnonymous(t *testing.T) {
	for _, allow := range []bool{true, false} {
		c := NewClient(ntlm.NewClient(&ntlm.ClientConfig{}))
		s := NewServer(newNTLMServer(allow))
		chal := accept(t, s, step(t, c, nil, false), false)
		authTok := step(t, c, chal, true)
		if mustResp(t, authTok).mechListMIC != nil {
			t.Fatal("anonymous client sent a mechListMIC")
		}
		final, done, err := s.Accept(authTok)
		if !allow {
			if !errors.Is(err, auth.ErrLogonFailure) {
				t.Fatalf("anonymous denied: %v", err)
			}
			continue
		}
		if err != nil || !done || !s.Identity().Anonymous || s.SessionKey() != nil {
			t.Fatalf("anonymous: done=%v err=%v id=%+v", done, err, s.Identity())
		}
		if r := mustResp(t, final); r.state != stateAcceptCompleted || r.mechListMIC != nil {
			t.Fatalf("final %+v", r)
		}
		step(t, c, final, true)
		if c.SessionKey() != nil {
			t.Fatal("anonymous client key")
		}
	}
}

func TestClientErrors(t *testing.T) {
	w := loadWindows(t)
	// The Windows hint offers NTLMSSP second: accepted.
	step(t, NewClient(newNTLMClient(testPassword)), w.hint, false)

	krbOnly, _ := clientInit(nil, oidKerberos)
	if _, _, err := NewClient(newNTLMClient(testPassword)).Step(krbOnly); !errors.Is(err, auth.ErrLogonFailure) {
		t.Fatalf("Kerberos-only hint: %v", err)
	}
	if _, _, err := NewClient(newNTLMClient(testPassword)).Step([]byte{0x60, 0x01}); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("bad hint: %v", err)
	}

	c := NewClient(newNTLMClient(testPassword))
	step(t, c, nil, false)
	if _, _, err := c.Step(rejectToken()); !errors.Is(err, auth.ErrLogonFailure) {
		t.Fatalf("reject: %v", err)
	}

	c = NewClient(newNTLMClient(testPassword))
	step(t, c, nil, false)
	wrongMech := (&negTokenResp{state: stateAcceptIncomplete, supportedMech: []byte(oidKerberos), responseToken: []byte("x")}).marshal()
	if _, _, err := c.Step(wrongMech); err == nil {
		t.Fatal("unoffered supportedMech accepted")
	}

	// A final token that is not accept-completed fails; an empty one passes.
	for _, tc := range []struct {
		final []byte
		ok    bool
	}{
		{(&negTokenResp{state: stateAcceptIncomplete}).marshal(), false},
		{nil, true},
	} {
		c = NewClient(newNTLMClient(testPassword))
		s := NewServer(newNTLMServer(false))
		chal := accept(t, s, step(t, c, nil, false), false)
		step(t, c, chal, true)
		if _, _, err := c.Step(tc.final); (err == nil) != tc.ok {
			t.Fatalf("final %x: err = %v", tc.final, err)
		}
	}
}

func TestServerStateErrors(t *testing.T) {
	c := NewClient(newNTLMClient(testPassword))
	s := NewServer(newNTLMServer(false))
	init := step(t, c, nil, false)
	accept(t, s, init, false)
	// A second NegTokenInit, and a NegTokenResp without a token, are invalid.
	if _, _, err := s.Accept(init); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("second init: %v", err)
	}
	s = NewServer(newNTLMServer(false))
	accept(t, s, init, false)
	if _, _, err := s.Accept((&negTokenResp{state: stateAcceptIncomplete}).marshal()); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("empty NegTokenResp: %v", err)
	}
	s = NewServer(newNTLMServer(false))
	accept(t, s, init, false)
	if _, _, err := s.Accept(rejectToken()); !errors.Is(err, auth.ErrLogonFailure) {
		t.Fatalf("client reject: %v", err)
	}
	if _, _, err := NewServer(newNTLMServer(false)).Accept(rejectToken()); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("NegTokenResp first: %v", err)
	}
}
