package krb5

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/iana/flags"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/signetsmb/signet/auth"
)

const (
	realm   = "EXAMPLE.TEST"
	service = "cifs/files.example.test"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// serviceKeytab is the keytab kadmin's ktadd would write for service,
// keys derived from password.
func serviceKeytab(t testing.TB, principal, password string, kvno uint8) *keytab.Keytab {
	t.Helper()
	kt := keytab.New()
	for _, et := range []int32{etypeID.AES256_CTS_HMAC_SHA1_96, etypeID.AES128_CTS_HMAC_SHA1_96} {
		if err := kt.AddEntry(principal, realm, password, t0, kvno, et); err != nil {
			t.Fatal(err)
		}
	}
	return kt
}

// fixedCreds hands out one ticket, as a KDC would have issued it.
type fixedCreds struct {
	tkt   messages.Ticket
	key   types.EncryptionKey
	cname types.PrincipalName
	realm string
}

func (f fixedCreds) ServiceTicket(string) (messages.Ticket, types.EncryptionKey, error) {
	return f.tkt, f.key, nil
}
func (f fixedCreds) Principal() (types.PrincipalName, string) { return f.cname, f.realm }

// ticket issues a ticket for user@crealm to sname, encrypted with the
// service key in kt, valid from start to end.
func ticket(t testing.TB, kt *keytab.Keytab, user, crealm, sname string, start, end time.Time) fixedCreds {
	t.Helper()
	cname := types.NewPrincipalName(nametype.KRB_NT_PRINCIPAL, user)
	sn := types.NewPrincipalName(nametype.KRB_NT_SRV_INST, sname)
	tkt, key, err := messages.NewTicket(cname, crealm, sn, realm, asn1.BitString{Bytes: make([]byte, 4), BitLength: 32},
		kt, etypeID.AES256_CTS_HMAC_SHA1_96, 2, start, start, end, end)
	if err != nil {
		t.Fatal(err)
	}
	return fixedCreds{tkt: tkt, key: key, cname: cname, realm: crealm}
}

var users = map[string]auth.Account{
	"alice": {ID: "ALICE", Name: "alice"},
	"bob":   {ID: "BOB", Name: "bob"},
	"carol": {ID: "CAROL", Name: "carol", Disabled: true},
}

func lookup(u string) (auth.Account, bool) { a, ok := users[u]; return a, ok }

func newAcceptor(t testing.TB, kt *keytab.Keytab, mod func(*AcceptorConfig)) *Acceptor {
	t.Helper()
	cfg := AcceptorConfig{Keytab: kt, Service: service, Realm: realm, Now: func() time.Time { return t0 }}
	if mod != nil {
		mod(&cfg)
	}
	a, err := NewAcceptor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func clock(t time.Time) func() time.Time { return func() time.Time { return t } }

func TestHandshake(t *testing.T) {
	kt := serviceKeytab(t, service, "service-secret", 2)
	a := newAcceptor(t, kt, nil)
	creds := ticket(t, kt, "alice", realm, service, t0.Add(-time.Minute), t0.Add(time.Hour))
	c := NewInitiator(creds, service, clock(t0.Add(3*time.Second)))
	req, done, err := c.Step(nil)
	if err != nil || done {
		t.Fatalf("AP-REQ: done=%v err=%v", done, err)
	}
	s := a.NewServer(lookup)
	rep, done, err := s.Accept(req)
	if err != nil || !done || rep == nil {
		t.Fatalf("Accept: done=%v err=%v rep=%d bytes", done, err, len(rep))
	}
	if _, done, err := c.Step(rep); err != nil || !done {
		t.Fatalf("AP-REP: done=%v err=%v", done, err)
	}
	id := s.Identity()
	if id.User != "alice" || id.Account != "ALICE" || id.Domain != realm || s.Principal() != "alice@"+realm {
		t.Fatalf("identity %+v principal %s", id, s.Principal())
	}
	sk, ck := s.SessionKey(), c.SessionKey()
	if len(sk) != 32 || !bytes.Equal(sk, ck) {
		t.Fatalf("session keys differ: %x vs %x", sk, ck)
	}
	// The session key is the acceptor subkey: neither the ticket key nor
	// the initiator subkey.
	if bytes.Equal(sk, creds.key.KeyValue) || bytes.Equal(sk, c.ctx.initiatorKey.KeyValue) {
		t.Fatal("session key is not the acceptor subkey")
	}
	data := []byte("mechTypes DER")
	if m := s.MIC(data); !c.VerifyMIC(data, m) || c.VerifyMIC([]byte("other"), m) {
		t.Fatal("acceptor MIC does not verify (or verifies other data)")
	}
	if m := c.MIC(data); !s.VerifyMIC(data, m) || s.VerifyMIC([]byte("other"), m) {
		t.Fatal("initiator MIC does not verify (or verifies other data)")
	}
	// A MIC token's direction is checked: our own does not verify as the peer's.
	if s.VerifyMIC(data, s.MIC(data)) {
		t.Fatal("acceptor accepted its own MIC as the initiator's")
	}
	if _, _, err := s.Accept(req); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("Accept after done: %v", err)
	}
}

// accept runs one AP-REQ from creds at client time ct through a.
func accept(t *testing.T, a *Acceptor, creds fixedCreds, ct time.Time) (*Server, []byte, error) {
	t.Helper()
	c := NewInitiator(creds, service, clock(ct))
	req, _, err := c.Step(nil)
	if err != nil {
		t.Fatal(err)
	}
	s := a.NewServer(lookup)
	_, _, err = s.Accept(req)
	return s, req, err
}

func wantRefused(t *testing.T, err error, why string) {
	t.Helper()
	if !errors.Is(err, auth.ErrLogonFailure) || !strings.Contains(err.Error(), why) {
		t.Fatalf("err = %v, want a logon failure saying %q", err, why)
	}
}

func TestReplayRefused(t *testing.T) {
	kt := serviceKeytab(t, service, "service-secret", 2)
	a := newAcceptor(t, kt, nil)
	creds := ticket(t, kt, "alice", realm, service, t0.Add(-time.Minute), t0.Add(time.Hour))
	_, req, err := accept(t, a, creds, t0)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = a.NewServer(lookup).Accept(req)
	wantRefused(t, err, "replayed authenticator")
	// A new acceptor sharing the cache (a policy reload) refuses it too.
	b := newAcceptor(t, kt, func(c *AcceptorConfig) { c.Replay = a.cfg.Replay })
	_, _, err = b.NewServer(lookup).Accept(req)
	wantRefused(t, err, "replayed authenticator")
	// A fresh authenticator on the same ticket is fine.
	if _, _, err := accept(t, a, creds, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
}

func TestSkewRefused(t *testing.T) {
	kt := serviceKeytab(t, service, "service-secret", 2)
	a := newAcceptor(t, kt, nil)
	creds := ticket(t, kt, "alice", realm, service, t0.Add(-time.Hour), t0.Add(time.Hour))
	for _, d := range []time.Duration{6 * time.Minute, -6 * time.Minute} {
		_, _, err := accept(t, a, creds, t0.Add(d))
		wantRefused(t, err, "clock skew too great")
	}
	for _, d := range []time.Duration{4 * time.Minute, -4 * time.Minute} {
		if _, _, err := accept(t, a, creds, t0.Add(d)); err != nil {
			t.Fatalf("skew %v: %v", d, err)
		}
	}
}

func TestTicketTimes(t *testing.T) {
	kt := serviceKeytab(t, service, "service-secret", 2)
	a := newAcceptor(t, kt, nil)
	expired := ticket(t, kt, "alice", realm, service, t0.Add(-2*time.Hour), t0.Add(-time.Hour))
	_, _, err := accept(t, a, expired, t0)
	wantRefused(t, err, "ticket expired")
	future := ticket(t, kt, "alice", realm, service, t0.Add(time.Hour), t0.Add(2*time.Hour))
	_, _, err = accept(t, a, future, t0)
	wantRefused(t, err, "not yet valid")
}

func TestWrongKeyRefused(t *testing.T) {
	kdc := serviceKeytab(t, service, "service-secret", 2)
	stale := serviceKeytab(t, service, "old-secret", 2)
	a := newAcceptor(t, stale, nil)
	creds := ticket(t, kdc, "alice", realm, service, t0.Add(-time.Minute), t0.Add(time.Hour))
	_, _, err := accept(t, a, creds, t0)
	wantRefused(t, err, "does not decrypt with the keytab")
	// A key version the keytab does not have.
	old := newAcceptor(t, serviceKeytab(t, service, "service-secret", 1), nil)
	_, _, err = accept(t, old, creds, t0)
	wantRefused(t, err, "does not decrypt with the keytab")
}

func TestOtherServiceRefused(t *testing.T) {
	kt := serviceKeytab(t, service, "service-secret", 2)
	other := "host/files.example.test"
	for _, e := range serviceKeytab(t, other, "host-secret", 2).Entries {
		kt.Entries = append(kt.Entries, e)
	}
	a := newAcceptor(t, kt, nil)
	creds := ticket(t, kt, "alice", realm, other, t0.Add(-time.Minute), t0.Add(time.Hour))
	_, _, err := accept(t, a, creds, t0)
	wantRefused(t, err, "not for this service")
	// Without a configured service, any keytab principal is accepted.
	any := newAcceptor(t, kt, func(c *AcceptorConfig) { c.Service = "" })
	if _, _, err := accept(t, any, creds, t0); err != nil {
		t.Fatal(err)
	}
}

func TestMappingInHandshake(t *testing.T) {
	kt := serviceKeytab(t, service, "service-secret", 2)
	a := newAcceptor(t, kt, func(c *AcceptorConfig) {
		c.Mapping.Map = map[string]string{"svc-backup@PARTNER.TEST": "bob"}
	})
	for _, tc := range []struct {
		user, crealm, want, why string
	}{
		{"alice", realm, "alice", ""},
		{"alice", "PARTNER.TEST", "", "not mapped"},
		{"svc-backup", "PARTNER.TEST", "bob", ""},
		{"alice/admin", realm, "", "not mapped"},
		{"dave", realm, "", "not in the users database"},
	} {
		creds := ticket(t, kt, tc.user, tc.crealm, service, t0.Add(-time.Minute), t0.Add(time.Hour))
		s, _, err := accept(t, a, creds, t0)
		if tc.why != "" {
			wantRefused(t, err, tc.why)
			continue
		}
		if err != nil || s.Identity().User != tc.want {
			t.Fatalf("%s@%s: %v, user %q", tc.user, tc.crealm, err, s.Identity().User)
		}
	}
	creds := ticket(t, kt, "carol", realm, service, t0.Add(-time.Minute), t0.Add(time.Hour))
	if _, _, err := accept(t, a, creds, t0); !errors.Is(err, auth.ErrAccountDisabled) {
		t.Fatalf("disabled user: %v", err)
	}
}

func TestMappingRules(t *testing.T) {
	m := Mapping{Realm: realm, Map: map[string]string{"Administrator@example.test": "alice"}}
	for _, tc := range []struct{ name, realm, want string }{
		{"alice", realm, "alice"},
		{"alice", "example.test", "alice"},
		{"Administrator", realm, "alice"},
		{"administrator", realm, "administrator"},
		{"alice", "OTHER", ""},
		{"cifs/host", realm, ""},
		{"", realm, ""},
	} {
		got, err := m.User(tc.name, tc.realm)
		if got != tc.want || (err == nil) != (tc.want != "") {
			t.Errorf("User(%q, %q) = %q, %v; want %q", tc.name, tc.realm, got, err, tc.want)
		}
	}
	m.Unmapped = UnmappedStrip
	if got, err := m.User("alice/admin", "OTHER"); got != "alice" || err != nil {
		t.Errorf("strip: %q %v", got, err)
	}
	for _, bad := range []Mapping{{Unmapped: "guest"}, {Map: map[string]string{"alice": "alice"}}, {Map: map[string]string{"a@R": ""}}} {
		if bad.Validate() == nil {
			t.Errorf("Validate(%+v) accepted", bad)
		}
	}
}

func TestReplayCacheBounded(t *testing.T) {
	c := NewReplayCache(2)
	k := func(i byte) [32]byte { return [32]byte{i} }
	if c.add(k(1), t0, t0.Add(time.Minute)) != nil || c.add(k(2), t0, t0.Add(2*time.Minute)) != nil {
		t.Fatal("add failed")
	}
	if err := c.add(k(1), t0, t0.Add(time.Minute)); !errors.Is(err, errReplay) {
		t.Fatalf("replay: %v", err)
	}
	if err := c.add(k(3), t0, t0.Add(time.Minute)); !errors.Is(err, errCacheFull) {
		t.Fatalf("full: %v", err)
	}
	// Once k(1) expired, its slot is reused; the cache never exceeds max.
	if err := c.add(k(3), t0.Add(90*time.Second), t0.Add(3*time.Minute)); err != nil || c.Len() != 2 {
		t.Fatalf("after expiry: %v, %d entries", err, c.Len())
	}
	if err := c.add(k(1), t0.Add(90*time.Second), t0.Add(3*time.Minute)); !errors.Is(err, errCacheFull) {
		t.Fatalf("k(1) again with the cache full of live entries: %v", err)
	}
}

func TestMalformedTokens(t *testing.T) {
	kt := serviceKeytab(t, service, "service-secret", 2)
	a := newAcceptor(t, kt, nil)
	creds := ticket(t, kt, "alice", realm, service, t0.Add(-time.Minute), t0.Add(time.Hour))
	req, _, err := NewInitiator(creds, service, clock(t0)).Step(nil)
	if err != nil {
		t.Fatal(err)
	}
	bad := [][]byte{nil, {0x60}, {0x60, 0x00}, req[:len(req)/2], append(append([]byte{}, req...), 0)}
	flip := append([]byte{}, req...)
	flip[len(flip)-40] ^= 0xff // inside the authenticator ciphertext
	for i := range 256 {
		// Arbitrary corruption: an error or (for bytes nobody checks,
		// like name types) success, never a panic.
		b := append([]byte{}, req...)
		b[i*7%len(b)] ^= 0x55
		if _, _, err := a.NewServer(lookup).Accept(b); err != nil && !errors.Is(err, auth.ErrInvalidToken) && !errors.Is(err, auth.ErrLogonFailure) {
			t.Fatalf("mutation %d: %v", i, err)
		}
	}
	for i, b := range bad {
		_, _, err := a.NewServer(lookup).Accept(b)
		if err == nil {
			t.Fatalf("token %d accepted", i)
		}
		if !errors.Is(err, auth.ErrInvalidToken) && !errors.Is(err, auth.ErrLogonFailure) {
			t.Fatalf("token %d: %v", i, err)
		}
	}
	_, _, err = a.NewServer(lookup).Accept(flip)
	wantRefused(t, err, "authenticator does not decrypt")
}

func TestInitiatorChecksAPRep(t *testing.T) {
	kt := serviceKeytab(t, service, "service-secret", 2)
	a := newAcceptor(t, kt, nil)
	creds := ticket(t, kt, "alice", realm, service, t0.Add(-time.Minute), t0.Add(time.Hour))
	c1 := NewInitiator(creds, service, clock(t0))
	req1, _, _ := c1.Step(nil)
	c2 := NewInitiator(creds, service, clock(t0.Add(time.Second)))
	req2, _, _ := c2.Step(nil)
	rep1, _, err := a.NewServer(lookup).Accept(req1)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.NewServer(lookup).Accept(req2); err != nil {
		t.Fatal(err)
	}
	// c2 must not accept the AP-REP made for c1's authenticator.
	if _, _, err := c2.Step(rep1); !errors.Is(err, auth.ErrLogonFailure) {
		t.Fatalf("AP-REP for another authenticator: %v", err)
	}
	if c2.SessionKey() != nil {
		t.Fatal("failed initiator has a session key")
	}
}

// TestNoGSSChecksum: an authenticator without the 0x8003 checksum (as
// impacket sends) is accepted like MIT and Windows do: mutual
// authentication follows the AP-REQ options; other checksum types are
// refused.
func TestNoGSSChecksum(t *testing.T) {
	kt := serviceKeytab(t, service, "service-secret", 2)
	a := newAcceptor(t, kt, nil)
	creds := ticket(t, kt, "alice", realm, service, t0.Add(-time.Minute), t0.Add(time.Hour))
	build := func(mutual bool, cksum types.Checksum, at time.Time) []byte {
		an, err := types.NewAuthenticator(realm, creds.cname)
		if err != nil {
			t.Fatal(err)
		}
		an.CTime, an.Cusec, an.Cksum = at, 0, cksum
		req, err := messages.NewAPReq(creds.tkt, creds.key, an)
		if err != nil {
			t.Fatal(err)
		}
		if mutual {
			types.SetFlag(&req.APOptions, flags.APOptionMutualRequired)
		}
		b, err := req.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return frame(tokAPReq, b)
	}
	s := a.NewServer(lookup)
	rep, done, err := s.Accept(build(false, types.Checksum{}, t0))
	if err != nil || !done || rep != nil || !bytes.Equal(s.SessionKey(), creds.key.KeyValue) {
		t.Fatalf("no checksum, no mutual: rep %d bytes, err %v", len(rep), err)
	}
	s = a.NewServer(lookup)
	if rep, _, err := s.Accept(build(true, types.Checksum{}, t0.Add(time.Second))); err != nil || rep == nil {
		t.Fatalf("no checksum, mutual-required: rep %d bytes, err %v", len(rep), err)
	}
	_, _, err = a.NewServer(lookup).Accept(build(false, types.Checksum{CksumType: 16, Checksum: make([]byte, 12)}, t0.Add(2*time.Second)))
	wantRefused(t, err, "want 0x8003")
}
