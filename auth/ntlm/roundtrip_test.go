package ntlm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/signetsmb/signet/auth"
)

const (
	testUser     = "alice"
	testPassword = "Pa55w.rd-Ünïcode"
)

func testServerConfig() *ServerConfig {
	return &ServerConfig{
		NbComputerName: "SIGNET", NbDomainName: "WORKGROUP",
		DnsComputerName: "signet.example", DnsDomainName: "example",
		Lookup: func(user, domain string) (auth.Account, bool) {
			return auth.Account{ID: auth.FoldName(user), Name: testUser, NTHash: NTHash(testPassword)},
				auth.FoldName(user) == auth.FoldName(testUser)
		},
	}
}

func testClientConfig() *ClientConfig {
	return &ClientConfig{
		User: testUser, Password: testPassword, Domain: "WORKGROUP",
		Workstation: "WS1", TargetSPN: "cifs/signet",
	}
}

// handshake runs NEGOTIATE, CHALLENGE, AUTHENTICATE between c and s; tamper,
// if set, may change the AUTHENTICATE_MESSAGE in transit.
func handshake(t *testing.T, c *Client, s *Server, tamper func([]byte)) error {
	t.Helper()
	neg, done, err := c.Step(nil)
	if err != nil || done {
		t.Fatalf("client NEGOTIATE: done=%v err=%v", done, err)
	}
	chal := mustAccept(t, s, neg, false)
	authMsg, done, err := c.Step(chal)
	if err != nil || !done {
		t.Fatalf("client AUTHENTICATE: done=%v err=%v", done, err)
	}
	if tamper != nil {
		tamper(authMsg)
	}
	out, done, err := s.Accept(authMsg)
	if err == nil && (!done || out != nil) {
		t.Fatalf("server final: out=%x done=%v", out, done)
	}
	return err
}

func TestRoundTrip(t *testing.T) {
	c := NewClient(testClientConfig())
	s := NewServer(testServerConfig())
	if err := handshake(t, c, s, nil); err != nil {
		t.Fatal(err)
	}
	if len(c.SessionKey()) != 16 || !bytes.Equal(c.SessionKey(), s.SessionKey()) {
		t.Fatalf("session keys differ: client %x server %x", c.SessionKey(), s.SessionKey())
	}
	id := s.Identity()
	if id != (auth.Identity{User: testUser, Domain: "WORKGROUP", Account: "ALICE"}) || s.Workstation() != "WS1" {
		t.Fatalf("identity %+v workstation %q", id, s.Workstation())
	}
	if !s.MICPresent() {
		t.Fatal("client MIC not seen")
	}
	// Integrity in both directions, several messages to exercise sequence
	// numbers and the RC4 streams.
	for i := range 3 {
		msg := []byte{byte(i), 'x'}
		if !s.VerifyMIC(msg, c.MIC(msg)) {
			t.Fatalf("client->server MIC %d", i)
		}
		if !c.VerifyMIC(msg, s.MIC(msg)) {
			t.Fatalf("server->client MIC %d", i)
		}
	}
	if s.VerifyMIC([]byte("a"), c.MIC([]byte("b"))) {
		t.Fatal("MIC over different data verified")
	}
}

func TestRoundTripVariants(t *testing.T) {
	tests := []struct {
		name   string
		client func(*ClientConfig)
	}{
		{"upper-case user", func(c *ClientConfig) { c.User = "ALICE" }},
		{"NT hash instead of password", func(c *ClientConfig) {
			h := NTHash(c.Password)
			c.Password, c.NTHash = "", h[:]
		}},
		{"empty domain", func(c *ClientConfig) { c.Domain = "" }},
		{"no SPN", func(c *ClientConfig) { c.TargetSPN = "" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cc := testClientConfig()
			tc.client(cc)
			c := NewClient(cc)
			s := NewServer(testServerConfig())
			if err := handshake(t, c, s, nil); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(c.SessionKey(), s.SessionKey()) {
				t.Fatal("session keys differ")
			}
		})
	}
}

func TestLogonFailures(t *testing.T) {
	tests := []struct {
		name   string
		client func(*ClientConfig)
		tamper func([]byte)
	}{
		{"wrong password", func(c *ClientConfig) { c.Password = "wrong" }, nil},
		{"unknown user", func(c *ClientConfig) { c.User = "mallory" }, nil},
		{"tampered MIC", nil, func(m []byte) { m[authenticateMICAt+3] ^= 0x80 }},
		{"tampered flags", nil, func(m []byte) { m[authenticateFlagsAt] ^= byte(flagSeal) }},
		{"tampered NTProofStr", nil, func(m []byte) {
			off := binary.LittleEndian.Uint32(m[authFieldNT+4:])
			m[off] ^= 1
		}},
		{"tampered encrypted session key", nil, func(m []byte) {
			off := binary.LittleEndian.Uint32(m[authFieldSessionKey+4:])
			m[off] ^= 1
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cc := testClientConfig()
			if tc.client != nil {
				tc.client(cc)
			}
			s := NewServer(testServerConfig())
			err := handshake(t, NewClient(cc), s, tc.tamper)
			if !errors.Is(err, auth.ErrLogonFailure) {
				t.Fatalf("err = %v, want ErrLogonFailure", err)
			}
			if s.SessionKey() != nil || s.Identity() != (auth.Identity{}) {
				t.Fatal("failed logon left a key or identity")
			}
			if _, _, err := s.Accept(nil); err == nil {
				t.Fatal("Accept after failure succeeded")
			}
		})
	}
}

// TestDisabledAccount: a disabled account fails with ErrAccountDisabled
// only when the password is right; a wrong password still reads as a
// plain logon failure, so the account's state leaks to nobody else.
func TestDisabledAccount(t *testing.T) {
	cfg := testServerConfig()
	cfg.Lookup = func(user, _ string) (auth.Account, bool) {
		return auth.Account{ID: "ALICE", Name: "alice", NTHash: NTHash(testPassword), Disabled: true}, user == testUser
	}
	s := NewServer(cfg)
	err := handshake(t, NewClient(testClientConfig()), s, nil)
	if !errors.Is(err, auth.ErrAccountDisabled) || errors.Is(err, auth.ErrLogonFailure) {
		t.Fatalf("right password: err = %v, want ErrAccountDisabled only", err)
	}
	if s.SessionKey() != nil || s.Identity() != (auth.Identity{}) {
		t.Fatal("disabled logon left a key or identity")
	}
	cc := testClientConfig()
	cc.Password = "wrong"
	err = handshake(t, NewClient(cc), NewServer(cfg), nil)
	if !errors.Is(err, auth.ErrLogonFailure) || errors.Is(err, auth.ErrAccountDisabled) {
		t.Fatalf("wrong password: err = %v, want ErrLogonFailure only", err)
	}
}

// TestTamperedNegotiateDetected changes the client's NEGOTIATE in transit
// (dropping KEY_EXCH and SIGN); the MIC over the transcript must catch it.
func TestTamperedNegotiateDetected(t *testing.T) {
	c := NewClient(testClientConfig())
	s := NewServer(testServerConfig())
	neg, _, _ := c.Step(nil)
	bad := bytes.Clone(neg)
	binary.LittleEndian.PutUint32(bad[12:], clientNegotiateFlags&^(flagKeyExch|flagSign))
	chal := mustAccept(t, s, bad, false)
	authMsg, _, err := c.Step(chal)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Accept(authMsg); !errors.Is(err, auth.ErrLogonFailure) {
		t.Fatalf("err = %v, want ErrLogonFailure", err)
	}
}

// TestNoKeyExchange negotiates without KEY_EXCH: ExportedSessionKey is then
// SessionBaseKey on both sides.
func TestNoKeyExchange(t *testing.T) {
	c := NewClient(testClientConfig())
	c.negotiate = marshalNegotiate(clientNegotiateFlags &^ flagKeyExch)
	c.state = clientAwaitChallenge
	s := NewServer(testServerConfig())
	chal := mustAccept(t, s, c.negotiate, false)
	authMsg, _, err := c.Step(chal)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := parseAuthenticate(authMsg)
	if len(a.sessionKey) != 0 || a.flags&flagKeyExch != 0 {
		t.Fatalf("key exchanged without KEY_EXCH: %x flags %#x", a.sessionKey, a.flags)
	}
	mustAccept(t, s, authMsg, true)
	if !bytes.Equal(c.SessionKey(), s.SessionKey()) || len(s.SessionKey()) != 16 {
		t.Fatal("session keys differ")
	}
	if !s.VerifyMIC([]byte("m"), c.MIC([]byte("m"))) {
		t.Fatal("MIC without KEY_EXCH")
	}
}

// TestDomainRetry: a client that computed NTOWFv2 with an empty domain but
// sent one is accepted through the empty-domain retry [MS-NLMP 3.2.5.1.2].
func TestDomainRetry(t *testing.T) {
	s := NewServer(testServerConfig())
	chal := mustAccept(t, s, marshalNegotiate(clientNegotiateFlags&^flagKeyExch), false)
	c, _ := parseChallenge(chal)
	key := ntowfv2(NTHash(testPassword), upperUTF16(encodeUTF16(testUser)), nil)
	temp := ntlmv2Temp([8]byte{1}, [8]byte{2}, appendAVPairs(nil, nil))
	a := authenticateMsg{
		flags:      c.flags,
		ntResponse: append(ntProofStr(key, c.serverChallenge, temp), temp...),
		domain:     encodeUTF16("SOMEDOMAIN"),
		user:       encodeUTF16(testUser),
	}
	mustAccept(t, s, a.marshal(), true)
	if s.Identity().Domain != "SOMEDOMAIN" {
		t.Fatalf("domain %q", s.Identity().Domain)
	}
}

func TestNTLMv1Refused(t *testing.T) {
	for _, n := range []int{0, 16, 24} {
		s := NewServer(testServerConfig())
		chal := mustAccept(t, s, marshalNegotiate(clientNegotiateFlags), false)
		c, _ := parseChallenge(chal)
		a := authenticateMsg{
			flags:      c.flags &^ flagKeyExch,
			lmResponse: make([]byte, 24),
			ntResponse: make([]byte, n),
			user:       encodeUTF16(testUser),
		}
		if _, _, err := s.Accept(a.marshal()); !errors.Is(err, auth.ErrLogonFailure) {
			t.Fatalf("NT response of %d bytes: err = %v", n, err)
		}
	}
}

func TestAnonymous(t *testing.T) {
	for _, allow := range []bool{true, false} {
		cfg := testServerConfig()
		cfg.AllowAnonymous = allow
		s := NewServer(cfg)
		c := NewClient(&ClientConfig{Workstation: "WS1"})
		err := handshake(t, c, s, nil)
		if c.SessionKey() != nil || c.MIC([]byte("x")) != nil {
			t.Fatal("anonymous client has a key")
		}
		if !allow {
			if !errors.Is(err, auth.ErrLogonFailure) {
				t.Fatalf("anonymous denied: err = %v", err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if !s.Identity().Anonymous || s.SessionKey() != nil || s.MIC([]byte("x")) != nil ||
			s.VerifyMIC([]byte("x"), make([]byte, 16)) {
			t.Fatalf("anonymous server state: %+v key %x", s.Identity(), s.SessionKey())
		}
	}
}

// TestAnonymousEmptyLM: an LmChallengeResponse of zero length is also
// anonymous [MS-NLMP 3.2.5.1.2].
func TestAnonymousEmptyLM(t *testing.T) {
	cfg := testServerConfig()
	cfg.AllowAnonymous = true
	s := NewServer(cfg)
	chal := mustAccept(t, s, marshalNegotiate(clientNegotiateFlags), false)
	c, _ := parseChallenge(chal)
	a := authenticateMsg{flags: c.flags | flagAnonymous}
	mustAccept(t, s, a.marshal(), true)
	if !s.Identity().Anonymous {
		t.Fatal("not anonymous")
	}
}

func TestServerStateErrors(t *testing.T) {
	c := NewClient(testClientConfig())
	neg, _, _ := c.Step(nil)

	s := NewServer(testServerConfig())
	a := authenticateMsg{user: encodeUTF16("x")}
	if _, _, err := s.Accept(a.marshal()); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("AUTHENTICATE before NEGOTIATE: %v", err)
	}

	s = NewServer(testServerConfig())
	mustAccept(t, s, neg, false)
	if _, _, err := s.Accept(neg); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("second NEGOTIATE: %v", err)
	}

	c = NewClient(testClientConfig())
	s = NewServer(testServerConfig())
	if err := handshake(t, c, s, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Accept(neg); err == nil {
		t.Fatal("Accept after done succeeded")
	}
}

// TestServerDoesNotModifyInput checks that Accept leaves the caller's
// buffers intact, including the MIC field.
func TestServerDoesNotModifyInput(t *testing.T) {
	c := NewClient(testClientConfig())
	s := NewServer(testServerConfig())
	neg, _, _ := c.Step(nil)
	negCopy := bytes.Clone(neg)
	chal := mustAccept(t, s, neg, false)
	authMsg, _, _ := c.Step(chal)
	authCopy := bytes.Clone(authMsg)
	mustAccept(t, s, authMsg, true)
	if !bytes.Equal(neg, negCopy) || !bytes.Equal(authMsg, authCopy) {
		t.Fatal("Accept modified its input")
	}
	// The server kept its own copy of NEGOTIATE: scribbling on the
	// caller's buffer afterwards must not matter.
	if &s.negotiate[0] == &neg[0] {
		t.Fatal("server aliases the caller's NEGOTIATE")
	}
}

func TestClientErrors(t *testing.T) {
	c := NewClient(&ClientConfig{User: "u", NTHash: []byte{1, 2, 3}})
	s := NewServer(testServerConfig())
	neg, _, _ := c.Step(nil)
	chal := mustAccept(t, s, neg, false)
	if _, _, err := c.Step(chal); err == nil {
		t.Fatal("short NTHash accepted")
	}

	c = NewClient(testClientConfig())
	if _, _, err := c.Step([]byte("junk")); err == nil {
		t.Fatal("first Step with a token succeeded")
	}

	// A server without extended session security is refused.
	c = NewClient(testClientConfig())
	c.Step(nil)
	ch := challengeMsg{flags: flagUnicode | flagNTLM}
	if _, _, err := c.Step(ch.marshal()); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("challenge without ESS: %v", err)
	}
}

// TestClientDeterministic checks that with injected Rand and Now the client
// output is reproducible, that it uses the server's timestamp (LMv2 = Z(24))
// and otherwise its own clock with a real LMv2 response.
func TestClientDeterministic(t *testing.T) {
	rnd := func() *bytes.Reader { return fixedRand(bytes.Repeat([]byte{0xaa}, 8), bytes.Repeat([]byte{0x55}, 16)) }
	now := func() time.Time { return time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC) }
	run := func(withTS bool) []byte {
		cfg := testClientConfig()
		cfg.Rand, cfg.Now = rnd(), now
		c := NewClient(cfg)
		c.Step(nil)
		pairs := []avPair{{avNbDomainName, encodeUTF16("D")}, {avNbComputerName, encodeUTF16("S")}}
		if withTS {
			pairs = append(pairs, avPair{avTimestamp, []byte{1, 2, 3, 4, 5, 6, 7, 8}})
		}
		ch := challengeMsg{flags: requiredServerFlags | flagKeyExch | flag128, targetInfo: appendAVPairs(nil, pairs)}
		out, _, err := c.Step(ch.marshal())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(c.SessionKey(), bytes.Repeat([]byte{0x55}, 16)) {
			t.Fatalf("ExportedSessionKey %x", c.SessionKey())
		}
		return out
	}
	for _, withTS := range []bool{true, false} {
		a1, a2 := run(withTS), run(withTS)
		if !bytes.Equal(a1, a2) {
			t.Fatal("client output not deterministic")
		}
		a, _ := parseAuthenticate(a1)
		temp := a.ntResponse[ntProofLen:]
		ts := temp[8:16]
		want := make([]byte, 8)
		binary.LittleEndian.PutUint64(want, filetime(now()))
		if withTS {
			want = []byte{1, 2, 3, 4, 5, 6, 7, 8}
		}
		if !bytes.Equal(ts, want) {
			t.Fatalf("timestamp %x, want %x", ts, want)
		}
		if zeroLM := bytes.Equal(a.lmResponse, make([]byte, 24)); zeroLM != withTS {
			t.Fatalf("LM response %x with server timestamp %v", a.lmResponse, withTS)
		}
	}
}

func TestIsNTLMSSP(t *testing.T) {
	if !IsNTLMSSP([]byte("NTLMSSP\x00\x01")) || IsNTLMSSP([]byte("NTLMSSP")) || IsNTLMSSP(nil) {
		t.Fatal("IsNTLMSSP")
	}
}

func TestUpperUTF16(t *testing.T) {
	in := append(encodeUTF16("aßü"), 0x00, 0xd8) // trailing unpaired surrogate
	got := upperUTF16(in)
	want := append(encodeUTF16("AßÜ"), 0x00, 0xd8)
	if !bytes.Equal(got, want) {
		t.Fatalf("upperUTF16 = %x, want %x", got, want)
	}
}
