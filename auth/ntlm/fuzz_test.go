package ntlm

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/signetsmb/signet/auth"
)

// fuzzServerConfig accepts anonymous logons and knows every user, so that
// fuzzed AUTHENTICATE messages reach as much code as possible.
func fuzzServerConfig(challenge []byte) *ServerConfig {
	return &ServerConfig{
		NbComputerName: "SIGNET", NbDomainName: "WORKGROUP",
		Rand:           fixedRand(challenge),
		AllowAnonymous: true,
		Lookup: func(string, string) (auth.Account, bool) {
			return auth.Account{ID: "ALICE", NTHash: NTHash(testPassword)}, true
		},
	}
}

// validAuthenticate returns a NEGOTIATE and an AUTHENTICATE_MESSAGE that the
// fuzz server (whose challenge is all 0x11) accepts.
func validAuthenticate(t testing.TB) (neg, authMsg []byte) {
	cfg := testClientConfig()
	cfg.Rand = fixedRand(bytes.Repeat([]byte{0xaa}, 8), bytes.Repeat([]byte{0x55}, 16))
	c := NewClient(cfg)
	neg, _, _ = c.Step(nil)
	s := NewServer(fuzzServerConfig(bytes.Repeat([]byte{0x11}, 8)))
	chal, _, err := s.Accept(neg)
	if err != nil {
		t.Fatal(err)
	}
	authMsg, _, err = c.Step(chal)
	if err != nil {
		t.Fatal(err)
	}
	return neg, authMsg
}

func FuzzServerAccept(f *testing.F) {
	neg, authMsg := validAuthenticate(f)
	f.Add(authMsg)
	f.Add(loadWindowsExchange(f).authenticate)
	anon := authenticateMsg{lmResponse: []byte{0}}
	f.Add(anon.marshal())
	f.Add([]byte("NTLMSSP\x00\x03\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := NewServer(fuzzServerConfig(bytes.Repeat([]byte{0x11}, 8)))
		if _, _, err := s.Accept(neg); err != nil {
			t.Fatal(err)
		}
		orig := bytes.Clone(data)
		out, done, err := s.Accept(data)
		if !bytes.Equal(orig, data) {
			t.Fatal("Accept modified its input")
		}
		if err != nil {
			if done || out != nil || !errors.Is(err, auth.ErrInvalidToken) && !errors.Is(err, auth.ErrLogonFailure) {
				t.Fatalf("error result out=%x done=%v err=%v", out, done, err)
			}
			return
		}
		if !done || out != nil {
			t.Fatalf("success without done: %v %x", done, out)
		}
		if !s.Identity().Anonymous && len(s.SessionKey()) != 16 {
			t.Fatalf("authenticated without a 16-byte key: %x", s.SessionKey())
		}
	})
}

func FuzzServerNegotiate(f *testing.F) {
	f.Add(marshalNegotiate(clientNegotiateFlags))
	f.Add(loadWindowsExchange(f).negotiate)
	f.Add([]byte("NTLMSSP\x00\x01\x00\x00\x00\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := NewServer(fuzzServerConfig(bytes.Repeat([]byte{0x11}, 8)))
		out, done, err := s.Accept(data)
		if err != nil {
			return
		}
		c, perr := parseChallenge(out)
		if done || perr != nil {
			t.Fatalf("done=%v, our CHALLENGE does not parse: %v", done, perr)
		}
		if c.flags&requiredServerFlags != requiredServerFlags || c.flags&^(supportedFlags|requiredServerFlags) != 0 {
			t.Fatalf("CHALLENGE flags %#x", c.flags)
		}
	})
}

func FuzzClientChallenge(f *testing.F) {
	f.Add(loadWindowsExchange(f).challenge)
	ch := challengeMsg{flags: requiredServerFlags, targetInfo: appendAVPairs(nil, nil)}
	f.Add(ch.marshal())
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, cfg := range []*ClientConfig{testClientConfig(), {}} {
			c := NewClient(cfg)
			c.Step(nil)
			out, done, err := c.Step(data)
			if err != nil {
				continue
			}
			if !done {
				t.Fatal("AUTHENTICATE without done")
			}
			if _, perr := parseAuthenticate(out); perr != nil {
				t.Fatalf("our AUTHENTICATE does not parse: %v", perr)
			}
		}
	})
}

func FuzzParseAVPairs(f *testing.F) {
	f.Add(appendAVPairs(nil, []avPair{{avNbDomainName, encodeUTF16("D")}, {avTimestamp, make([]byte, 8)}}))
	f.Add([]byte{1, 0, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		pairs, err := parseAVPairs(data)
		if err != nil {
			return
		}
		again, err := parseAVPairs(appendAVPairs(nil, pairs))
		if err != nil || len(again) != len(pairs) {
			t.Fatalf("round trip: %v, %d vs %d pairs", err, len(again), len(pairs))
		}
		for i := range pairs {
			if again[i].id != pairs[i].id || !bytes.Equal(again[i].value, pairs[i].value) {
				t.Fatalf("pair %d differs", i)
			}
		}
	})
}

// TestMalformedAuthenticate lists hostile AUTHENTICATE messages that must
// fail cleanly with ErrInvalidToken.
func TestMalformedAuthenticate(t *testing.T) {
	neg, valid := validAuthenticate(t)
	field := func(m []byte, at int, n uint16, off uint32) {
		binary.LittleEndian.PutUint16(m[at:], n)
		binary.LittleEndian.PutUint16(m[at+2:], n)
		binary.LittleEndian.PutUint32(m[at+4:], off)
	}
	ntOff := binary.LittleEndian.Uint32(valid[authFieldNT+4:])
	ntLen := binary.LittleEndian.Uint16(valid[authFieldNT:])
	tests := []struct {
		name   string
		mutate func([]byte) []byte
	}{
		{"short", func(m []byte) []byte { return m[:63] }},
		{"bad signature", func(m []byte) []byte { m[0] = 'X'; return m }},
		{"wrong type", func(m []byte) []byte { m[8] = 2; return m }},
		{"field past end", func(m []byte) []byte { field(m, authFieldUser, 10, uint32(len(m)-4)); return m }},
		{"field offset overflow", func(m []byte) []byte { field(m, authFieldUser, 10, 0xfffffffe); return m }},
		{"odd user name", func(m []byte) []byte { field(m, authFieldUser, 3, 88); return m }},
		{"short NTLMv2 response", func(m []byte) []byte { field(m, authFieldNT, 30, ntOff); return m }},
		{"KEY_EXCH with short key", func(m []byte) []byte { field(m, authFieldSessionKey, 8, ntOff); return m }},
		{"MIC field overlapped", func(m []byte) []byte { field(m, authFieldLM, 4, 70); return m }},
		{"NTLMv2 response cut", func(m []byte) []byte {
			// The AV list no longer parses: a malformed token, checked
			// before NTProofStr (Windows and Samba answer
			// INVALID_PARAMETER, not LOGON_FAILURE).
			field(m, authFieldNT, ntLen-6, ntOff)
			return m
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewServer(fuzzServerConfig(bytes.Repeat([]byte{0x11}, 8)))
			mustAccept(t, s, neg, false)
			_, _, err := s.Accept(tc.mutate(bytes.Clone(valid)))
			want := auth.ErrInvalidToken
			if !errors.Is(err, want) {
				t.Fatalf("err = %v, want %v", err, want)
			}
		})
	}
}

func TestMalformedMessages(t *testing.T) {
	if _, err := parseNegotiate([]byte("NTLMSSP\x00\x01\x00\x00\x00")); err == nil {
		t.Error("short NEGOTIATE accepted")
	}
	neg := marshalNegotiate(clientNegotiateFlags)
	binary.LittleEndian.PutUint32(neg[20:], 1000)
	binary.LittleEndian.PutUint16(neg[16:], 4)
	if _, err := parseNegotiate(neg); err == nil {
		t.Error("NEGOTIATE with out-of-bounds domain accepted")
	}
	ch := challengeMsg{flags: requiredServerFlags, targetInfo: appendAVPairs(nil, nil)}
	m := ch.marshal()
	binary.LittleEndian.PutUint16(m[challengeTargetInfo:], 200)
	if _, err := parseChallenge(m); err == nil {
		t.Error("CHALLENGE with out-of-bounds TargetInfo accepted")
	}
	m = ch.marshal()
	binary.LittleEndian.PutUint16(m[challengeTargetName:], 2)
	binary.LittleEndian.PutUint32(m[challengeTargetName+4:], 9999)
	if _, err := parseChallenge(m); err == nil {
		t.Error("CHALLENGE with out-of-bounds TargetName accepted")
	}
	for _, b := range [][]byte{{1, 0}, {1, 0, 5, 0, 1}, {1, 0, 0, 0}} {
		if _, err := parseAVPairs(b); err == nil {
			t.Errorf("AV pairs %x accepted", b)
		}
	}
}

// TestMalformedAVPairsAfterProof: an authentic NTLMv2 response whose AV list
// is malformed is rejected as an invalid token.
func TestMalformedAVPairsAfterProof(t *testing.T) {
	s := NewServer(testServerConfig())
	chal := mustAccept(t, s, marshalNegotiate(clientNegotiateFlags&^flagKeyExch), false)
	c, _ := parseChallenge(chal)
	key := ntowfv2(NTHash(testPassword), upperUTF16(encodeUTF16(testUser)), nil)
	temp := ntlmv2Temp([8]byte{}, [8]byte{}, []byte{6, 0, 4, 0, 2})
	temp = temp[:len(temp)-4] // no EOL
	a := authenticateMsg{
		flags:      c.flags,
		ntResponse: append(ntProofStr(key, c.serverChallenge, temp), temp...),
		user:       encodeUTF16(testUser),
	}
	if _, _, err := s.Accept(a.marshal()); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("err = %v", err)
	}
}

// TestMalformedClientChallenge: an NTLMv2 response whose client challenge
// does not parse (here the 95-byte response of NetApp's diagnostic tool,
// from Samba's smb2.session.ntlmssp_bug14932) is a malformed token,
// answered STATUS_INVALID_PARAMETER as Windows does, even though its
// NTProofStr is wrong too.
func TestMalformedClientChallenge(t *testing.T) {
	resp, _ := hex.DecodeString("abababababababababababababababab" +
		"0101000000000000" + "3f3f3f3f3f3f3f3f" + "b8823af1b3dd0815" + "00000000" +
		"11a2088150382278" + "2b9447fe54947bff" + "17275ab4f418badc" + "2c38fd5bfb0ec185" +
		"1ecc92bb9bb1c4d5" + "5314ff8c7649f545" + "9019a2")
	if len(resp) != 95 {
		t.Fatalf("blob is %d bytes", len(resp))
	}
	s := NewServer(testServerConfig())
	chal := mustAccept(t, s, marshalNegotiate(clientNegotiateFlags&^flagKeyExch), false)
	c, _ := parseChallenge(chal)
	a := authenticateMsg{
		flags:      c.flags,
		lmResponse: make([]byte, 24),
		ntResponse: resp,
		user:       encodeUTF16(testUser),
	}
	_, _, err := s.Accept(a.marshal())
	if !errors.Is(err, auth.ErrInvalidToken) || errors.Is(err, auth.ErrLogonFailure) {
		t.Fatalf("err = %v, want an invalid token", err)
	}
}
