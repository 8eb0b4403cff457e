package server

import (
	"strings"
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
	"github.com/signetsmb/signet/auth/spnego"
	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
)

const (
	testRealm   = "EXAMPLE.TEST"
	testService = "cifs/test.example.test"
)

// krbTicket is a service ticket for alice, as the KDC would issue it.
type krbTicket struct {
	tkt messages.Ticket
	key types.EncryptionKey
}

func (k krbTicket) ServiceTicket(string) (messages.Ticket, types.EncryptionKey, error) {
	return k.tkt, k.key, nil
}
func (k krbTicket) Principal() (types.PrincipalName, string) {
	return types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, "alice"), testRealm
}

// kerberosServer starts a server accepting Kerberos for testService
// (and NTLM unless noNTLM) and returns a ticket for alice.
func kerberosServer(t *testing.T, noNTLM bool) (*testServer, krbTicket) {
	t.Helper()
	kt := keytab.New()
	now := time.Now().UTC()
	if err := kt.AddEntry(testService, testRealm, "service-secret", now, 3, etypeID.AES256_CTS_HMAC_SHA1_96); err != nil {
		t.Fatal(err)
	}
	acc, err := krb5.NewAcceptor(krb5.AcceptorConfig{Keytab: kt, Service: testService, Realm: testRealm})
	if err != nil {
		t.Fatal(err)
	}
	ts := startTestServer(t, &testerConfig{Settings: func(st *Settings) {
		st.Kerberos, st.DisableNTLM = acc, noNTLM
	}})
	cname := types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, "alice")
	tkt, key, err := messages.NewTicket(cname, testRealm, types.NewPrincipalName(nametype.KRB_NT_SRV_INST, testService), testRealm,
		asn1.BitString{Bytes: make([]byte, 4), BitLength: 32}, kt, etypeID.AES256_CTS_HMAC_SHA1_96, 3, now, now, now.Add(time.Hour), now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return ts, krbTicket{tkt, key}
}

// kerberosSetup runs SESSION_SETUP with mech; the Kerberos AP-REP comes
// with the final response, so the key is known only after stepping it.
// It returns the final status and the first token sent.
func (tc *tester) kerberosSetup(mech auth.ClientMech, replay []byte) (ntstatus.Status, []byte) {
	tc.t.Helper()
	out, _, err := mech.Step(tc.neg.SecurityBuffer)
	if err != nil {
		tc.t.Fatalf("SPNEGO: %v", err)
	}
	if replay != nil {
		out = replay
	}
	first := out
	preauth := tc.preauth
	var sid uint64
	for range 4 {
		r := tc.sessionSetupReq(sid, &wire.SessionSetupRequest{SecurityMode: uint8(wire.SigningEnabled), SecurityBuffer: out})
		resp := tc.roundTrip(r)
		if tc.dialect == wire.Dialect311 {
			preauth = preauth.Update(r.msg)
		}
		if resp.status != ntstatus.MoreProcessingRequired && resp.status != ntstatus.Success {
			return resp.status, first
		}
		ss, err := wire.ParseSessionSetupResponse(resp.msg)
		if err != nil {
			tc.t.Fatal(err)
		}
		if out, _, err = mech.Step(ss.SecurityBuffer); err != nil {
			tc.t.Fatalf("SPNEGO step: %v", err)
		}
		if resp.status == ntstatus.Success {
			tc.established(resp, mech.SessionKey(), preauth)
			return resp.status, first
		}
		sid = resp.hdr.SessionID
		if tc.dialect == wire.Dialect311 {
			preauth = preauth.Update(resp.msg)
		}
	}
	tc.t.Fatal("SESSION_SETUP did not finish")
	return 0, nil
}

func TestKerberosLogon(t *testing.T) {
	ts, tkt := kerberosServer(t, false)
	for _, d := range []uint16{wire.Dialect210, wire.Dialect302, wire.Dialect311} {
		tc := ts.dial()
		tc.negotiate(d)
		hint, _, err := spnego.NewInitiator(krb5.ClientMechanism(tkt, testService)).Step(tc.neg.SecurityBuffer)
		if err != nil || hint == nil {
			t.Fatalf("NEGOTIATE hint does not offer Kerberos: %v", err)
		}
		mech := spnego.NewInitiator(krb5.ClientMechanism(tkt, testService))
		if st, _ := tc.kerberosSetup(mech, nil); st != ntstatus.Success {
			t.Fatalf("%s: Kerberos logon: %v\n%s", wire.DialectName(d), st, tc.logs())
		}
		// The session signs with keys from the Kerberos session key:
		// established() verified the final response; a signed TREE_CONNECT
		// works.
		if _, st := tc.treeConnect("share"); st != ntstatus.Success {
			t.Fatalf("%s: TREE_CONNECT: %v", wire.DialectName(d), st)
		}
		tc.close()
	}
	if !strings.Contains(ts.log.String(), "domain="+testRealm) {
		t.Fatalf("log does not show the Kerberos logon:\n%s", ts.log.String())
	}
	// NTLM still works next to it.
	tc := ts.dial()
	tc.negotiate()
	if st := tc.sessionSetup("alice", "pw"); st != ntstatus.Success {
		t.Fatalf("NTLM: %v", st)
	}
}

func TestKerberosNTLMOff(t *testing.T) {
	ts, tkt := kerberosServer(t, true)
	tc := ts.dial()
	tc.negotiate()
	if _, _, err := tc.authClient("alice", "pw").Step(tc.neg.SecurityBuffer); err == nil {
		t.Fatal("NEGOTIATE hint still offers NTLMSSP")
	}
	// A client that ignores the hint is refused, with the reason logged.
	tc.neg.SecurityBuffer = nil
	if st := tc.sessionSetup("alice", "pw"); st != ntstatus.LogonFailure {
		t.Fatalf("NTLM with ntlm = false: %v", st)
	}
	if !strings.Contains(ts.log.String(), "NTLM logon refused: NTLM is disabled by policy") {
		t.Fatalf("no NTLM refusal log line:\n%s", ts.log.String())
	}
	tc = ts.dial()
	tc.negotiate()
	st, first := tc.kerberosSetup(spnego.NewInitiator(krb5.ClientMechanism(tkt, testService)), nil)
	if st != ntstatus.Success {
		t.Fatalf("Kerberos with ntlm = false: %v", st)
	}
	// The same AP-REQ on another connection is a replay.
	tc = ts.dial()
	tc.negotiate()
	if st, _ := tc.kerberosSetup(spnego.NewInitiator(krb5.ClientMechanism(tkt, testService)), first); st != ntstatus.LogonFailure {
		t.Fatalf("replayed AP-REQ: %v", st)
	}
	if !strings.Contains(ts.log.String(), "replayed authenticator") {
		t.Fatalf("no replay log line:\n%s", ts.log.String())
	}
}
