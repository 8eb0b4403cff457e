package spnego

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/signetsmb/signet/auth"
	"github.com/signetsmb/signet/auth/ntlm"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// readHexFile reads a testdata file of hex lines; '#' lines are comments.
func readHexFile(t testing.TB, name string) []byte {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var sb strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := sc.Text(); !strings.HasPrefix(line, "#") {
			sb.WriteString(line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return unhex(t, sb.String())
}

// windows holds the SPNEGO tokens and NTLM messages of the SMB 3.1.1
// exchange of SIGNING.md 13.1/13.2, cut out at the security buffer offsets
// of the SMB2 headers.
type windows struct {
	hint, init, challengeResp, authResp []byte // SPNEGO tokens, messages 2-5
	negotiate, challenge, authenticate  []byte // NTLM messages inside them
}

func loadWindows(t testing.TB) windows {
	t.Helper()
	m2 := readHexFile(t, "smb311_msg2_negotiate_resp.hex")
	m3 := readHexFile(t, "smb311_msg3_session_setup_req1.hex")
	m4 := readHexFile(t, "smb311_msg4_session_setup_resp1.hex")
	m5 := readHexFile(t, "smb311_msg5_session_setup_req2.hex")
	buf := func(m []byte, at int) []byte { // SecurityBufferOffset/Length
		off := binary.LittleEndian.Uint16(m[at:])
		n := binary.LittleEndian.Uint16(m[at+2:])
		return m[off : off+n]
	}
	return windows{
		hint:          buf(m2, 64+56),
		init:          buf(m3, 64+12),
		challengeResp: buf(m4, 64+4),
		authResp:      buf(m5, 64+12),
		negotiate:     m3[0x7a : 0x7a+40],
		challenge:     m4[0x67 : 0x67+148],
		authenticate:  m5[0x6d : 0x6d+422],
	}
}

const (
	testUser     = "bob"
	testPassword = "correct horse"
)

func newNTLMServer(allowAnonymous bool) *ntlm.Server {
	return ntlm.NewServer(&ntlm.ServerConfig{
		NbComputerName: "SIGNET", NbDomainName: "WORKGROUP",
		AllowAnonymous: allowAnonymous,
		Lookup: func(user, _ string) (auth.Account, bool) {
			return auth.Account{ID: auth.FoldName(user), NTHash: ntlm.NTHash(testPassword)},
				auth.FoldName(user) == auth.FoldName(testUser)
		},
	})
}

func newNTLMClient(password string) *ntlm.Client {
	return ntlm.NewClient(&ntlm.ClientConfig{
		User: testUser, Password: password, Domain: "WORKGROUP",
		Workstation: "WS", TargetSPN: "cifs/signet",
	})
}

// windowsNTLMServer is configured like the Windows server of the exchange,
// with its challenge and clock injected.
func windowsNTLMServer(t testing.TB, w windows) *ntlm.Server {
	ts := w.challenge[len(w.challenge)-12 : len(w.challenge)-4] // MsvAvTimestamp value, before EOL
	var ft uint64
	for i := 7; i >= 0; i-- {
		ft = ft<<8 | uint64(ts[i])
	}
	now := time.Unix(0, int64(ft-116444736000000000)*100)
	return ntlm.NewServer(&ntlm.ServerConfig{
		NbComputerName: "SUT311", NbDomainName: "SUT311",
		DnsComputerName: "SUT311", DnsDomainName: "SUT311",
		Rand: bytes.NewReader(w.challenge[24:32]),
		Now:  func() time.Time { return now },
	})
}
