package wiretap

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
	"github.com/signetsmb/signet/internal/smbcrypto"
	"github.com/signetsmb/signet/internal/wire"
)

const krbTestService = "cifs/srv.example.test"

type simTicket struct {
	tkt messages.Ticket
	key types.EncryptionKey
}

func (s simTicket) ServiceTicket(string) (messages.Ticket, types.EncryptionKey, error) {
	return s.tkt, s.key, nil
}
func (s simTicket) Principal() (types.PrincipalName, string) {
	return types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, "alice"), "EXAMPLE.TEST"
}

// krbSetup runs a one-round Kerberos SESSION_SETUP through the sim with
// the project's SPNEGO/Kerberos initiator and acceptor and returns the
// session; kt is the service keytab.
func krbSetup(t *testing.T, s *sim, kt *keytab.Keytab, sid uint64) *simSession {
	t.Helper()
	now := time.Now().UTC()
	cname := types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, "alice")
	tkt, key, err := messages.NewTicket(cname, "EXAMPLE.TEST", types.NewPrincipalName(nametype.KRB_NT_SRV_INST, krbTestService), "EXAMPLE.TEST",
		asn1.BitString{Bytes: make([]byte, 4), BitLength: 32}, kt, etypeID.AES256_CTS_HMAC_SHA1_96, 1, now, now, now.Add(time.Hour), now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	acc, err := krb5.NewAcceptor(krb5.AcceptorConfig{Keytab: kt, Service: krbTestService, Realm: "EXAMPLE.TEST"})
	if err != nil {
		t.Fatal(err)
	}
	sv := spnego.NewAcceptor(acc.Mechanism(func(u string) (auth.Account, bool) { return auth.Account{ID: "ALICE", Name: u}, true }))
	cl := spnego.NewInitiator(krb5.ClientMechanism(simTicket{tkt, key}, krbTestService))
	tok, _, err := cl.Step(nil)
	if err != nil {
		t.Fatal(err)
	}
	mid := s.nextMID()
	req := wire.AppendSessionSetupRequest(header(wire.CmdSessionSetup, mid, 0, false, 0),
		&wire.SessionSetupRequest{SecurityMode: uint8(wire.SigningRequired) | 1, SecurityBuffer: tok})
	_, sent := s.send(ClientToServer, part{msg: req})
	hash := s.connHash.Update(sent)
	out, done, err := sv.Accept(tok)
	if err != nil || !done {
		t.Fatalf("acceptor: done=%v %v", done, err)
	}
	keys := smbcrypto.DeriveKeys(s.dialect, sv.SessionKey(), hash[:])
	ss := &simSession{id: sid, status: ntstatus.Success}
	ss.server = mustSigner(t, s.alg, keys.Signing[:])
	ss.client, ss.sessClient, ss.sessServer = ss.server, ss.server, ss.server
	resp := wire.AppendSessionSetupResponse(header(wire.CmdSessionSetup, mid, sid, true, ntstatus.Success),
		&wire.SessionSetupResponse{SecurityBuffer: out})
	s.send(ServerToClient, part{msg: resp, signer: ss.server})
	return ss
}

// TestKerberosSession: with the service keytab, the tap rebuilds a
// Kerberos session's key (ticket, authenticator, AP-REP acceptor subkey)
// and verifies every signature; without it, or with a stale keytab, it says
// why it cannot.
func TestKerberosSession(t *testing.T) {
	kt := keytab.New()
	if err := kt.AddEntry(krbTestService, "EXAMPLE.TEST", "service-secret", time.Now(), 1, etypeID.AES256_CTS_HMAC_SHA1_96); err != nil {
		t.Fatal(err)
	}
	stale := keytab.New()
	if err := stale.AddEntry(krbTestService, "EXAMPLE.TEST", "old-secret", time.Now(), 1, etypeID.AES256_CTS_HMAC_SHA1_96); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		kt   *keytab.Keytab
		want string // verdict prefix
		note string
	}{
		{"keytab", kt, "signed", ""},
		{"no keytab", nil, "unverified", "no Config.Keytab"},
		{"stale keytab", stale, "unverified", "does not decrypt with Config.Keytab"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tap := newTap(Config{Target: "unused", Keytab: tc.kt})
			t.Cleanup(tap.Close)
			s := newSim(t, tap)
			s.negotiate(negOpts{dialect: wire.Dialect311, signingOffer: []uint16{2, 1, 0}, signingChoice: 2, serverSecMode: wire.SigningRequired})
			ss := krbSetup(t, s, kt, 0x41)
			for _, cmd := range []wire.Command{wire.CmdTreeConnect, wire.CmdCreate, wire.CmdEcho} {
				s.roundTrip(ss, cmd, true, true)
			}
			rep := tap.Report()
			v := rep.Verdict()
			if !strings.HasPrefix(v, tc.want) {
				t.Fatalf("verdict %q\n%s", v, rep)
			}
			sess := rep.Sessions()
			if len(sess) != 1 || sess[0].KeyKnown != (tc.note == "") {
				t.Fatalf("sessions %+v", sess)
			}
			if tc.note == "" && (sess[0].User != "alice@EXAMPLE.TEST" || sess[0].SetupSig != Valid) {
				t.Fatalf("session %+v", sess[0])
			}
			if tc.note != "" && !strings.Contains(sess[0].KeyNote, tc.note) {
				t.Fatalf("key note %q, want %q", sess[0].KeyNote, tc.note)
			}
		})
	}
}
