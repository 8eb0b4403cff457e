package ntlm

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/signetsmb/signet/auth"
)

// MS-NLMP 4.2.4 NTLMv2 example (SIGNING.md 13.3).
const (
	v4User            = "User"
	v4Domain          = "Domain"
	v4Password        = "Password"
	v4ServerChallenge = "0123456789abcdef"
	v4ClientChallenge = "aaaaaaaaaaaaaaaa"
	v4NTOWFv1         = "a4f49c406510bdcab6824ee7c30fd852"
	v4NTOWFv2         = "0c868a403bfd7a93a3001ef22ef02e3f"
	v4Temp            = "01010000000000000000000000000000aaaaaaaaaaaaaaaa0000000002000c0044006f006d00610069006e0001000c005300650072007600650072000000000000000000"
	v4NTProofStr      = "68cd0ab851e51c96aabc927bebef6a1c"
	v4SessionBaseKey  = "8de40ccadbc14a82f15cb0ad0de95ca3"
	v4LMv2            = "86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa"
	v4EncryptedKey    = "c5dad2544fc9799094ce1ce90bc9d03e"
)

func TestNTHash(t *testing.T) {
	got := NTHash(v4Password)
	if h := hex.EncodeToString(got[:]); h != v4NTOWFv1 {
		t.Fatalf("NTHash = %s, want %s", h, v4NTOWFv1)
	}
}

func TestNTLMv2Vector(t *testing.T) {
	key := ntowfv2(NTHash(v4Password), upperUTF16(encodeUTF16(v4User)), encodeUTF16(v4Domain))
	check := func(name string, got []byte, want string) {
		t.Helper()
		if h := hex.EncodeToString(got); h != want {
			t.Errorf("%s = %s, want %s", name, h, want)
		}
	}
	check("NTOWFv2", key, v4NTOWFv2)

	var sc, cc [8]byte
	copy(sc[:], unhex(t, v4ServerChallenge))
	copy(cc[:], unhex(t, v4ClientChallenge))
	targetInfo := appendAVPairs(nil, []avPair{
		{avNbDomainName, encodeUTF16("Domain")},
		{avNbComputerName, encodeUTF16("Server")},
	})
	temp := ntlmv2Temp([8]byte{}, cc, targetInfo)
	check("temp", temp, v4Temp)
	proof := ntProofStr(key, sc, temp)
	check("NTProofStr", proof, v4NTProofStr)
	base := hmacMD5(key, proof)
	check("SessionBaseKey", base, v4SessionBaseKey)
	check("LMv2", lmv2Response(key, sc, cc), v4LMv2)
	check("EncryptedRandomSessionKey", rc4Once(base, bytes.Repeat([]byte{0x55}, 16)), v4EncryptedKey)
}

// TestServerAcceptsVector4_2_4 runs the MS-NLMP 4.2.4 values through the
// server: a fixed ServerChallenge from the injected Rand and an
// AUTHENTICATE_MESSAGE built from the published responses.
func TestServerAcceptsVector4_2_4(t *testing.T) {
	var gotUser, gotDomain string
	srv := NewServer(&ServerConfig{
		NbComputerName: "Server", NbDomainName: "Domain",
		Rand: fixedRand(unhex(t, v4ServerChallenge)),
		Lookup: func(user, domain string) (auth.Account, bool) {
			gotUser, gotDomain = user, domain
			return auth.Account{ID: auth.FoldName(user), NTHash: NTHash(v4Password)}, auth.FoldName(user) == auth.FoldName(v4User)
		},
	})
	chal := mustAccept(t, srv, marshalNegotiate(clientNegotiateFlags), false)
	c, err := parseChallenge(chal)
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(c.serverChallenge[:]) != v4ServerChallenge {
		t.Fatalf("ServerChallenge = %x", c.serverChallenge)
	}
	a := authenticateMsg{
		flags:       c.flags,
		lmResponse:  unhex(t, v4LMv2),
		ntResponse:  unhex(t, v4NTProofStr+v4Temp),
		domain:      encodeUTF16(v4Domain),
		user:        encodeUTF16(v4User),
		workstation: encodeUTF16("COMPUTER"),
		sessionKey:  unhex(t, v4EncryptedKey),
	}
	mustAccept(t, srv, a.marshal(), true)
	if got := srv.SessionKey(); !bytes.Equal(got, bytes.Repeat([]byte{0x55}, 16)) {
		t.Fatalf("ExportedSessionKey = %x, want 55..55", got)
	}
	id := srv.Identity()
	if id.User != v4User || id.Domain != v4Domain || id.Anonymous || srv.Workstation() != "COMPUTER" {
		t.Fatalf("identity %+v workstation %q", id, srv.Workstation())
	}
	if gotUser != v4User || gotDomain != v4Domain {
		t.Fatalf("Lookup got (%q, %q)", gotUser, gotDomain)
	}
	if srv.MICPresent() {
		t.Fatal("MICPresent without MsvAvFlags")
	}
}

// TestServerRejectsVectorWithoutTrailingZeros checks that the blob is hashed
// as received: impacket's variant of 4.2.4 (temp without its last 4 zero
// bytes, NTProofStr b232...) verifies only against those exact bytes.
func TestServerRejectsVectorWithoutTrailingZeros(t *testing.T) {
	temp := unhex(t, v4Temp)
	temp = temp[:len(temp)-4]
	for _, tc := range []struct {
		proof string
		ok    bool
	}{
		{"b232050b98e5f4e336bd187921a27bb2", true},
		{v4NTProofStr, false},
	} {
		srv := NewServer(&ServerConfig{
			Rand: fixedRand(unhex(t, v4ServerChallenge)),
			Lookup: func(string, string) (auth.Account, bool) {
				return auth.Account{ID: "USER", NTHash: NTHash(v4Password)}, true
			},
		})
		chal := mustAccept(t, srv, marshalNegotiate(clientNegotiateFlags&^flagKeyExch), false)
		c, _ := parseChallenge(chal)
		a := authenticateMsg{
			flags:      c.flags,
			ntResponse: append(unhex(t, tc.proof), temp...),
			domain:     encodeUTF16(v4Domain),
			user:       encodeUTF16(v4User),
		}
		_, done, err := srv.Accept(a.marshal())
		if done != tc.ok || (err == nil) != tc.ok {
			t.Fatalf("proof %s: done=%v err=%v, want ok=%v", tc.proof, done, err, tc.ok)
		}
		if tc.ok && hex.EncodeToString(srv.SessionKey()) != "e0029235f11808e612eaa1ace613785f" {
			t.Fatalf("SessionBaseKey = %x", srv.SessionKey())
		}
	}
}

// TestSealAndSignVector4_2_4_4 checks key derivation and the signature of
// MS-NLMP 4.2.4.4 (SIGNING.md 13.4): the RC4 stream that seals the data
// continues into the checksum.
func TestSealAndSignVector4_2_4_4(t *testing.T) {
	exported := bytes.Repeat([]byte{0x55}, 16)
	flags := flagExtendedSessionSecurity | flag128 | flagKeyExch
	if got := hex.EncodeToString(signKey(exported, clientSignMagic)); got != "4788dc861b4782f35d43fd98fe1a2d39" {
		t.Errorf("ClientSignKey = %s", got)
	}
	if got := hex.EncodeToString(sealKey(exported, flags, clientSealMagic)); got != "59f600973cc4960a25480a7c196e4c58" {
		t.Errorf("ClientSealKey = %s", got)
	}
	sec := newSecurity(exported, flags, false)
	plain := encodeUTF16("Plaintext")
	sealed := make([]byte, len(plain))
	sec.out.handle.XORKeyStream(sealed, plain)
	if got := hex.EncodeToString(sealed); got != "54e50165bf1936dc996020c1811b0f06fb5f" {
		t.Errorf("sealed = %s", got)
	}
	if got := hex.EncodeToString(sec.sign(plain)); got != "010000007fb38ec5c55d497600000000" {
		t.Errorf("signature = %s", got)
	}
	// The server side verifies the same signature with the same stream.
	srv := newSecurity(exported, flags, true)
	srv.in.handle.XORKeyStream(make([]byte, len(plain)), sealed)
	if !srv.verify(plain, unhex(t, "010000007fb38ec5c55d497600000000")) {
		t.Error("server failed to verify the 4.2.4.4 signature")
	}
}

func TestSealKeyLengths(t *testing.T) {
	key := bytes.Repeat([]byte{0x55}, 16)
	k128 := sealKey(key, flag128|flag56, clientSealMagic)
	k56 := sealKey(key, flag56, clientSealMagic)
	k40 := sealKey(key, 0, clientSealMagic)
	want56 := signKey(key[:7], clientSealMagic)
	want40 := signKey(key[:5], clientSealMagic)
	if !bytes.Equal(k56, want56) || !bytes.Equal(k40, want40) || bytes.Equal(k128, k56) {
		t.Fatalf("seal keys 128=%x 56=%x 40=%x", k128, k56, k40)
	}
}

// TestWindowsExchangeMessages parses the real Windows messages of
// SIGNING.md 13.2.
func TestWindowsExchangeMessages(t *testing.T) {
	w := loadWindowsExchange(t)
	if f, err := parseNegotiate(w.negotiate); err != nil || f != 0xe2088297 {
		t.Fatalf("NEGOTIATE flags %#x, %v", f, err)
	}
	c, err := parseChallenge(w.challenge)
	if err != nil || c.flags != 0xe28a8215 || hex.EncodeToString(c.serverChallenge[:]) != "0d1d8ba31179d008" {
		t.Fatalf("CHALLENGE %+v, %v", c, err)
	}
	if name, _ := decodeUTF16(c.targetName); name != "SUT311" {
		t.Fatalf("TargetName %q", name)
	}
	a, err := parseAuthenticate(w.authenticate)
	if err != nil {
		t.Fatal(err)
	}
	user, _ := decodeUTF16(a.user)
	domain, _ := decodeUTF16(a.domain)
	ws, _ := decodeUTF16(a.workstation)
	if a.flags != 0xe2888215 || user != "administrator" || domain != "SUT311" || ws != "DRIVER311" ||
		len(a.ntResponse) != 238 || !a.micFree {
		t.Fatalf("AUTHENTICATE flags %#x user %q domain %q ws %q nt %d micFree %v",
			a.flags, user, domain, ws, len(a.ntResponse), a.micFree)
	}
	pairs, err := parseAVPairs(a.ntResponse[ntProofLen+ntlmv2BlobHeaderLen:])
	if err != nil {
		t.Fatal(err)
	}
	spn, _ := findAV(pairs, avTargetName)
	if s, _ := decodeUTF16(spn); s != "cifs/SUT311" || msvAvFlags(pairs) != avFlagMIC {
		t.Fatalf("MsvAvTargetName %q MsvAvFlags %#x", s, msvAvFlags(pairs))
	}
	if hex.EncodeToString(a.sessionKey) != "3b9bdff38f5ee8f9663f11a0f4c03a78" {
		t.Fatalf("EncryptedRandomSessionKey %x", a.sessionKey)
	}
}

// TestWindowsExchangeMIC verifies the AUTHENTICATE MIC of the Windows
// exchange with its published ExportedSessionKey, through the server's own
// check, without modifying the message.
func TestWindowsExchangeMIC(t *testing.T) {
	w := loadWindowsExchange(t)
	orig := bytes.Clone(w.authenticate)
	if got := computeMIC(w.exportedKey, w.negotiate, w.challenge, w.authenticate); hex.EncodeToString(got) != "ecac77a5f385a8bf9c38c706eeeddcd3" {
		t.Fatalf("MIC = %x", got)
	}
	a, _ := parseAuthenticate(w.authenticate)
	srv := &Server{negotiate: w.negotiate, challenge: w.challenge}
	if err := srv.checkMIC(&a, w.authenticate, w.exportedKey); err != nil || !srv.MICPresent() {
		t.Fatalf("checkMIC: %v", err)
	}
	if !bytes.Equal(orig, w.authenticate) {
		t.Fatal("checkMIC modified the message")
	}
	bad := bytes.Clone(w.authenticate)
	bad[authenticateMICAt] ^= 1
	a, _ = parseAuthenticate(bad)
	if err := srv.checkMIC(&a, bad, w.exportedKey); !errors.Is(err, auth.ErrLogonFailure) {
		t.Fatalf("tampered MIC: %v", err)
	}
}

// TestWindowsExchangeMechListMIC checks the SPNEGO mechListMIC of the
// Windows exchange in both directions (SIGNING.md 13.2).
func TestWindowsExchangeMechListMIC(t *testing.T) {
	w := loadWindowsExchange(t)
	const flags = 0xe2888215
	mechTypes := unhex(t, "300c060a2b06010401823702020a")
	clientMIC := unhex(t, "0100000063775a9a5fd97f0600000000")
	serverMIC := "010000003b453cdc3524164200000000"

	for name, want := range map[string]struct {
		got  []byte
		want string
	}{
		"ClientSignKey": {signKey(w.exportedKey, clientSignMagic), "d43f36c44bce0630250a09ea0c2e8c2c"},
		"ClientSealKey": {sealKey(w.exportedKey, flags, clientSealMagic), "31e5557d99be13f1b2665c7c7c52ce70"},
		"ServerSignKey": {signKey(w.exportedKey, serverSignMagic), "e1bd8b416b0b709d295e12f2cf18e6c5"},
		"ServerSealKey": {sealKey(w.exportedKey, flags, serverSealMagic), "b0f5a0b32c81ff34a878e1409b3b0ef2"},
	} {
		if h := hex.EncodeToString(want.got); h != want.want {
			t.Errorf("%s = %s, want %s", name, h, want.want)
		}
	}

	cli := newSecurity(w.exportedKey, flags, false)
	if got := cli.sign(mechTypes); !bytes.Equal(got, clientMIC) {
		t.Errorf("client mechListMIC = %x", got)
	}
	srv := &Server{sec: newSecurity(w.exportedKey, flags, true)}
	if srv.VerifyMIC(mechTypes, bytes.Repeat([]byte{1}, 16)) {
		t.Fatal("forged mechListMIC verified")
	}
	if !srv.VerifyMIC(mechTypes, clientMIC) {
		t.Fatal("client mechListMIC did not verify (state advanced by the forgery?)")
	}
	if got := hex.EncodeToString(srv.MIC(mechTypes)); got != serverMIC {
		t.Errorf("server mechListMIC = %s, want %s", got, serverMIC)
	}
	c := &Client{sec: newSecurity(w.exportedKey, flags, false)}
	c.sec.out.seq = 1 // the client already signed once; its inbound state is fresh
	if !c.VerifyMIC(mechTypes, unhex(t, serverMIC)) {
		t.Fatal("client failed to verify the server mechListMIC")
	}
}

// TestServerChallengeMatchesWindows feeds the Windows NEGOTIATE to our
// server with Windows' challenge and clock injected: the CHALLENGE must equal
// the Windows one except for the informational VERSION (bytes 48..55).
func TestServerChallengeMatchesWindows(t *testing.T) {
	w := loadWindowsExchange(t)
	c, _ := parseChallenge(w.challenge)
	pairs, _ := parseAVPairs(c.targetInfo)
	ts, _ := findAV(pairs, avTimestamp)
	srv := NewServer(&ServerConfig{
		NbComputerName: "SUT311", NbDomainName: "SUT311",
		DnsComputerName: "SUT311", DnsDomainName: "SUT311",
		Rand: fixedRand(c.serverChallenge[:]),
		Now:  func() time.Time { return fromFiletime(ts) },
	})
	got := mustAccept(t, srv, w.negotiate, false)
	want := bytes.Clone(w.challenge)
	copy(want[48:56], got[48:56])
	if !bytes.Equal(got, want) {
		t.Fatalf("CHALLENGE\n got %x\nwant %x", got, want)
	}
}

func mustAccept(t testing.TB, s *Server, in []byte, wantDone bool) []byte {
	t.Helper()
	out, done, err := s.Accept(in)
	if err != nil || done != wantDone {
		t.Fatalf("Accept: done=%v err=%v, want done=%v", done, err, wantDone)
	}
	return out
}
