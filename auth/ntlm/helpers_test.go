package ntlm

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"
)

// unhex decodes hex text, ignoring white space; it fails the test on error.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// readHexFile reads a testdata file of hex lines; lines starting with '#'
// are comments.
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

// windowsExchange holds the NTLM messages of SIGNING.md 13.2, cut out of the
// SMB 3.1.1 messages of 13.1 at the offsets given there.
type windowsExchange struct {
	negotiate, challenge, authenticate []byte
	exportedKey                        []byte
}

func loadWindowsExchange(t testing.TB) windowsExchange {
	t.Helper()
	m3 := readHexFile(t, "smb311_msg3_session_setup_req1.hex")
	m4 := readHexFile(t, "smb311_msg4_session_setup_resp1.hex")
	m5 := readHexFile(t, "smb311_msg5_session_setup_req2.hex")
	if len(m3) != 162 || len(m4) != 251 || len(m5) != 551 {
		t.Fatalf("testdata sizes %d %d %d", len(m3), len(m4), len(m5))
	}
	return windowsExchange{
		negotiate:    m3[0x7a : 0x7a+40],
		challenge:    m4[0x67 : 0x67+148],
		authenticate: m5[0x6d : 0x6d+422],
		exportedKey:  unhex(t, "270e1ba896585eeb7af3472d3b4c75a7"),
	}
}

// fixedRand returns a reader yielding the concatenation of parts, for
// injected randomness.
func fixedRand(parts ...[]byte) *bytes.Reader {
	return bytes.NewReader(bytes.Join(parts, nil))
}

// fromFiletime converts a little-endian FILETIME to time.Time.
func fromFiletime(le []byte) time.Time {
	var ft uint64
	for i := 7; i >= 0; i-- {
		ft = ft<<8 | uint64(le[i])
	}
	return time.Unix(0, int64(ft-filetimeEpochOffset)*100).UTC()
}
