package wiretap

import (
	"bytes"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/smbcrypto"
	"github.com/signetsmb/signet/internal/wire"
)

// Published values of the Microsoft 3.1.1 example (testdata/README.md).
const (
	ms311H1 = "dd94efc5321bb618a2e208ba8920d2f422992526947a409b5037de1e0fe8c736" +
		"2b8c47122594cde0ce26aa9dfc8bcdbde0621957672623351a7540f1e54a0426"
	ms311H2 = "324bfa92a4f3a190e466ebea08d9c110dc88bfed758d9846ecc6f541cc1d02ae" +
		"3c94a79f36011e997e13f841b91b50957ad07b19c8e2539c0b23fdae09d2c513"
	ms311H3 = "ac0b0f2b9986257700365e416d142a6edc96df03594a19e52a15f6bd0d041cd5" +
		"d432f8ed42c55e33197a50c9ec00f1462b50c592211b1471a04b56088fdfd5f9"
	ms311H4 = "2729e3440dfddd839e37193f6e8f20c20cefb3469e453a70cd980eec06b88357" +
		"40a73760085633364c8989895ece81bf102deeb14d4b7d48afa76901a7a38387"
	ms311H5 = "0dd13628cc3ed218ef9df9772d436d0887ab9814bfae63a80aa845f36909db79" +
		"28622dddad522d9751640a459762c5a9d6bb084cbb3ce6bdadef5d5bce3c6c01"
	ms311SessionKey = "270e1ba896585eeb7af3472d3b4c75a7"
	ms311SigningKey = "73fe7a9a77bef0bde49c650d8ccb5f76"
	ms311Challenge  = "0d1d8ba31179d008"
	ms311EncKey     = "3b9bdff38f5ee8f9663f11a0f4c03a78"
	// ms311Password is not published with the example. It is the default
	// password of Microsoft's protocol test suites (WindowsProtocolTestSuites),
	// and it reproduces the example's NTProofStr and its published
	// ExportedSessionKey, which the test below checks.
	ms311Password = "Password01!"
)

// ms311Messages loads the five published messages.
func ms311Messages(t testing.TB) [][]byte {
	t.Helper()
	names := []string{"1_negotiate_req", "2_negotiate_resp", "3_sesssetup_req1", "4_sesssetup_resp1", "5_sesssetup_req2"}
	out := make([][]byte, len(names))
	for i, n := range names {
		b, err := os.ReadFile("testdata/ms311_" + n + ".hex")
		if err != nil {
			t.Fatal(err)
		}
		if out[i], err = hex.DecodeString(strings.Join(strings.Fields(string(b)), "")); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ms311Directions are the directions of the five published messages.
func ms311Directions() []Direction {
	return []Direction{ClientToServer, ServerToClient, ClientToServer, ServerToClient, ClientToServer}
}

// ms311Final builds the final SESSION_SETUP response a Windows server sends
// for the example: SPNEGO accept-completed with the server's mechListMIC
// (SIGNING.md 13.2), signed with key by the caller.
func ms311Final(t testing.TB, msgs [][]byte) (msg []byte, sid uint64) {
	h4, _ := wire.ParseHeader(msgs[3])
	h5, _ := wire.ParseHeader(msgs[4])
	body := unhex(t, "a11b3019a0030a0100a3120410010000003b453cdc3524164200000000")
	return wire.AppendSessionSetupResponse(header(wire.CmdSessionSetup, h5.MessageID, h4.SessionID, true, ntstatus.Success),
		&wire.SessionSetupResponse{SecurityBuffer: body}), h4.SessionID
}

// TestPublishedExchange311 feeds the Microsoft 3.1.1 example through the
// state machine with the user's password. The tap must reproduce the
// published preauth hashes H1..H5, find the NTLM CHALLENGE and AUTHENTICATE
// inside the SPNEGO tokens, reconstruct the published ExportedSessionKey
// and derive the published signing key: a final SESSION_SETUP response
// signed with that key is Valid, one signed with another key Invalid, and
// later traffic signed with it Valid.
func TestPublishedExchange311(t *testing.T) {
	msgs := ms311Messages(t)
	for _, tc := range []struct {
		name    string
		sigWith string
		want    SigStatus
	}{
		{"published-signing-key", ms311SigningKey, Valid},
		{"other-key", "00112233445566778899aabbccddeeff", Invalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tap := newTestTap(t, ms311Password)
			s := newSim(t, tap)
			cs := s.cs
			checkHash := func(step string, got smbcrypto.PreauthHash, want string) {
				t.Helper()
				if hex.EncodeToString(got[:]) != want {
					t.Errorf("%s: hash %x, want %s", step, got, want)
				}
			}
			final, sid := ms311Final(t, msgs)
			for i, m := range msgs {
				rec := s.sendFrame(ms311Directions()[i], tcpFrame(m))
				if len(rec) != 1 || rec[0].Kind != KindSMB2 || rec[0].Note != "" || rec[0].Class == ClassCounted {
					t.Fatalf("message %d recorded as %v", i+1, rec)
				}
				switch i {
				case 0:
					checkHash("H1", cs.negReq, ms311H1)
				case 1:
					checkHash("H2", cs.connHash, ms311H2)
				case 2:
					checkHash("H3", cs.pending[rec[0].MessageID].hash, ms311H3)
				case 3:
					if s := cs.sessions[sid]; s == nil {
						t.Fatalf("no session 0x%x after the first response", sid)
					} else {
						checkHash("H4", s.hash, ms311H4)
					}
				case 4:
					checkHash("H5", cs.pending[rec[0].MessageID].hash, ms311H5)
				}
			}
			sess := cs.sessions[sid]
			if hex.EncodeToString(sess.challenge[:]) != ms311Challenge || hex.EncodeToString(sess.auth.encKey) != ms311EncKey ||
				sess.auth.flags != 0xe2888215 || len(sess.auth.nt) != 0xee {
				t.Errorf("NTLM parsed as challenge %x, %+v", sess.challenge, sess.auth)
			}
			if hex.EncodeToString(sess.key) != ms311SessionKey || sess.keyErr != nil {
				t.Fatalf("ExportedSessionKey %x (%v), want %s", sess.key, sess.keyErr, ms311SessionKey)
			}

			rec, _ := s.send(ServerToClient, part{final, mustSigner(t, smbcrypto.AESCMAC, unhex(t, tc.sigWith))})
			if rec[0].Class != ClassSetupFinal || rec[0].SigValid != tc.want {
				t.Fatalf("final response: %s", &rec[0])
			}
			sr := s.sessionReport(sid)
			if !sr.Established || !sr.KeyKnown || sr.SetupSig != tc.want || sr.User != "administrator" || sr.Domain != "SUT311" {
				t.Errorf("%+v", sr)
			}
			c := s.connReport()
			if c.Dialect != wire.Dialect311 || c.SigningAlgorithm != smbcrypto.AESCMAC || !c.SigningAlgorithmKnown ||
				c.Cipher != 2 || c.ClientSecurityMode != 0 || c.ServerSecurityMode != 1 {
				t.Errorf("%+v", c)
			}

			// A TREE_CONNECT signed with the published key, as the 3.1.1
			// client must send it.
			tc := append(header(wire.CmdTreeConnect, 4, sid, false, 0), 9, 0, 0, 0, 0x48, 0, 0, 0)
			rec, _ = s.send(ClientToServer, part{tc, mustSigner(t, smbcrypto.AESCMAC, unhex(t, ms311SigningKey))})
			if rec[0].SigValid != Valid || rec[0].Class != ClassCounted {
				t.Errorf("%s", &rec[0])
			}
		})
	}
}

// TestPublishedExchangeWrongPassword: with another password the NTProofStr
// check fails; the session is reported without key, with the reason, and
// its signed messages are NoKey.
func TestPublishedExchangeWrongPassword(t *testing.T) {
	msgs := ms311Messages(t)
	tap := newTestTap(t, "password01!")
	s := newSim(t, tap)
	for i, m := range msgs {
		s.sendFrame(ms311Directions()[i], tcpFrame(m))
	}
	final, sid := ms311Final(t, msgs)
	rec, _ := s.send(ServerToClient, part{final, mustSigner(t, smbcrypto.AESCMAC, unhex(t, ms311SigningKey))})
	if rec[0].SigValid != NoKey {
		t.Errorf("%s", &rec[0])
	}
	if sr := s.sessionReport(sid); sr.KeyKnown || !strings.Contains(sr.KeyNote, "NTProofStr mismatch") {
		t.Errorf("%+v", sr)
	}
}

// TestFindNTLMInPublishedTokens locates the NTLM messages inside the
// published SPNEGO tokens at the offsets SIGNING.md 13.2 gives.
func TestFindNTLMInPublishedTokens(t *testing.T) {
	msgs := ms311Messages(t)
	chal, ok := serverChallenge(msgs[3])
	if !ok || hex.EncodeToString(chal[:]) != ms311Challenge {
		t.Errorf("challenge %x %v", chal, ok)
	}
	if m := findNTLM(msgs[3], ntlmChallenge); len(m) < 148 || !bytes.HasPrefix(m, []byte("NTLMSSP\x00")) || len(msgs[3])-len(m) != 0x67 {
		t.Errorf("CHALLENGE found at %d", len(msgs[3])-len(m))
	}
	if m := findNTLM(msgs[4], ntlmAuthenticate); len(msgs[4])-len(m) != 0x6d {
		t.Errorf("AUTHENTICATE found at %d", len(msgs[4])-len(m))
	}
	if findNTLM(msgs[4], ntlmChallenge) != nil || findNTLM(msgs[2], ntlmAuthenticate) != nil {
		t.Error("found a message type that is not there")
	}
	a, err := parseAuthenticate(msgs[4])
	if err != nil || a.userName() != "administrator" || a.domainName() != "SUT311" {
		t.Fatalf("%v %+v", err, a)
	}
}
