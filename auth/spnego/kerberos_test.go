package spnego

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/signetsmb/signet/auth"
	"github.com/signetsmb/signet/auth/krb5"
	"github.com/signetsmb/signet/auth/ntlm"
)

const (
	krbRealm   = "EXAMPLE.TEST"
	krbService = "cifs/files.example.test"
)

type ticketCreds struct {
	tkt   messages.Ticket
	key   types.EncryptionKey
	cname types.PrincipalName
}

func (c ticketCreds) ServiceTicket(string) (messages.Ticket, types.EncryptionKey, error) {
	return c.tkt, c.key, nil
}
func (c ticketCreds) Principal() (types.PrincipalName, string) { return c.cname, krbRealm }

// kerberos returns a server Kerberos mechanism and a client one holding a
// ticket for bob issued with the server's key.
func kerberos(t *testing.T) (auth.ServerMechanism, auth.ClientMechanism) {
	t.Helper()
	kt := keytab.New()
	now := time.Now().UTC()
	if err := kt.AddEntry(krbService, krbRealm, "service-secret", now, 1, etypeID.AES256_CTS_HMAC_SHA1_96); err != nil {
		t.Fatal(err)
	}
	a, err := krb5.NewAcceptor(krb5.AcceptorConfig{Keytab: kt, Service: krbService, Realm: krbRealm})
	if err != nil {
		t.Fatal(err)
	}
	cname := types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, testUser)
	tkt, key, err := messages.NewTicket(cname, krbRealm, types.NewPrincipalName(nametype.KRB_NT_SRV_INST, krbService), krbRealm,
		asn1.BitString{Bytes: make([]byte, 4), BitLength: 32}, kt, etypeID.AES256_CTS_HMAC_SHA1_96, 1, now, now, now.Add(time.Hour), now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	lookup := func(u string) (auth.Account, bool) {
		return auth.Account{ID: auth.FoldName(u), Name: u}, u == testUser
	}
	return a.Mechanism(lookup), krb5.ClientMechanism(ticketCreds{tkt, key, cname}, krbService)
}

func ntlmServerMech() auth.ServerMechanism {
	return NTLMMechanism(func() *ntlm.Server { return newNTLMServer(false) })
}

func ntlmClientMech() auth.ClientMechanism {
	return NTLMClientMechanism(func() *ntlm.Client { return newNTLMClient(testPassword) })
}

func TestNegTokenInit2Mechanisms(t *testing.T) {
	ks, _ := kerberos(t)
	init, err := parseInitialContextToken(NegTokenInit2(ks, ntlmServerMech()))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{auth.OIDMSKerberos, auth.OIDKerberos, auth.OIDNTLMSSP}
	if len(init.mechTypes) != len(want) {
		t.Fatalf("mechTypes %x", init.mechTypes)
	}
	for i, o := range want {
		if string(init.mechTypes[i]) != o {
			t.Fatalf("mechTypes[%d] = %x, want %x", i, init.mechTypes[i], o)
		}
	}
}

// TestKerberosPreferred: Kerberos as the client's first choice takes one
// round, like Windows: accept-completed with the AP-REP and no mechListMIC.
func TestKerberosPreferred(t *testing.T) {
	ks, kc := kerberos(t)
	s := NewAcceptor(ks, ntlmServerMech())
	c := NewInitiator(kc, ntlmClientMech())
	init := step(t, c, NegTokenInit2(ks, ntlmServerMech()), false)
	reply := accept(t, s, init, true)
	r := mustResp(t, reply)
	if r.state != stateAcceptCompleted || string(r.supportedMech) != auth.OIDMSKerberos || r.responseToken == nil || r.mechListMIC != nil {
		t.Fatalf("reply %+v", r)
	}
	if out := step(t, c, reply, true); out != nil {
		t.Fatalf("client token after AP-REP: %x", out)
	}
	if s.Mechanism() != "kerberos" || c.Mechanism() != "kerberos" {
		t.Fatalf("mechanisms %q %q", s.Mechanism(), c.Mechanism())
	}
	if len(s.SessionKey()) != 32 || !bytes.Equal(s.SessionKey(), c.SessionKey()) {
		t.Fatal("session keys differ")
	}
	if id := s.Identity(); id.User != testUser || id.Domain != krbRealm {
		t.Fatalf("identity %+v", id)
	}
}

// TestKerberosNotFirst: the client prefers NTLM, the server has only
// Kerberos: request-mic, the client switches, and both mechListMICs
// (RFC 4121 MIC tokens) are exchanged.
func TestKerberosNotFirst(t *testing.T) {
	ks, kc := kerberos(t)
	s := NewAcceptor(ks)
	c := NewInitiator(ntlmClientMech(), kc)
	r := mustResp(t, accept(t, s, step(t, c, nil, false), false))
	if r.state != stateRequestMIC || string(r.supportedMech) != auth.OIDMSKerberos {
		t.Fatalf("first reply %+v", r)
	}
	apReq := step(t, c, r.marshal(), false)
	rep := accept(t, s, apReq, false)
	if r := mustResp(t, rep); r.state != stateAcceptIncomplete || r.responseToken == nil || r.mechListMIC == nil {
		t.Fatalf("AP-REP reply %+v", r)
	}
	micTok := step(t, c, rep, true)
	final := accept(t, s, micTok, true)
	step(t, c, final, true)
	if !bytes.Equal(s.SessionKey(), c.SessionKey()) {
		t.Fatal("session keys differ")
	}

	// A tampered client mechListMIC is refused.
	s = NewAcceptor(ks)
	c = NewInitiator(ntlmClientMech(), kc)
	r = mustResp(t, accept(t, s, step(t, c, nil, false), false))
	rep = accept(t, s, step(t, c, r.marshal(), false), false)
	bad := mustResp(t, step(t, c, rep, true))
	bad.mechListMIC[len(bad.mechListMIC)-1] ^= 1
	if _, _, err := s.Accept(bad.marshal()); !errors.Is(err, auth.ErrLogonFailure) {
		t.Fatalf("tampered MIC: %v", err)
	}
}

// TestClientWantsServerMIC: a server that switched mechanisms and then
// completes without a mechListMIC is refused by the client.
func TestClientWantsServerMIC(t *testing.T) {
	ks, kc := kerberos(t)
	s := NewAcceptor(ks)
	c := NewInitiator(ntlmClientMech(), kc)
	r := mustResp(t, accept(t, s, step(t, c, nil, false), false))
	rep := mustResp(t, accept(t, s, step(t, c, r.marshal(), false), false))
	rep.state, rep.mechListMIC = stateAcceptCompleted, nil
	if _, _, err := c.Step(rep.marshal()); !errors.Is(err, auth.ErrLogonFailure) {
		t.Fatalf("no server MIC after a downgrade: %v", err)
	}
}

// TestNTLMDisabled: with Kerberos only, NTLM in any form is refused with
// ErrNoMechanism, and a SPNEGO client gets a reject token.
func TestNTLMDisabled(t *testing.T) {
	ks, _ := kerberos(t)
	s := NewAcceptor(ks)
	_, _, err := s.Accept(step(t, NewClient(newNTLMClient(testPassword)), nil, false))
	if !errors.Is(err, auth.ErrNoMechanism) || !errors.Is(err, auth.ErrLogonFailure) {
		t.Fatalf("SPNEGO NTLM: %v", err)
	}
	if r := mustResp(t, s.RejectToken()); r.state != stateReject {
		t.Fatal("no reject token")
	}
	s = NewAcceptor(ks)
	neg, _, _ := newNTLMClient(testPassword).Step(nil)
	if _, _, err := s.Accept(neg); !errors.Is(err, auth.ErrNoMechanism) || s.RejectToken() != nil {
		t.Fatalf("raw NTLMSSP: %v", err)
	}
	// And a Kerberos-only client refuses an NTLM-only server.
	_, kc := kerberos(t)
	if _, _, err := NewInitiator(kc).Step(NegTokenInit2()); !errors.Is(err, auth.ErrNoMechanism) {
		t.Fatalf("client: %v", err)
	}
}

// TestNTLMThroughMechanismList: NTLM chosen from a list headed by
// Kerberos still works, with the mechListMIC over the whole list.
func TestNTLMThroughMechanismList(t *testing.T) {
	ks, _ := kerberos(t)
	s := NewAcceptor(ks, ntlmServerMech())
	c := NewInitiator(ntlmClientMech())
	chal := accept(t, s, step(t, c, NegTokenInit2(ks, ntlmServerMech()), false), false)
	final := accept(t, s, step(t, c, chal, true), true)
	step(t, c, final, true)
	if s.Mechanism() != "ntlm" || !bytes.Equal(s.SessionKey(), c.SessionKey()) {
		t.Fatal("NTLM through the list")
	}
}
