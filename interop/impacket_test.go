package interop

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type impacketResult struct {
	OK              bool     `json:"ok"`
	Error           string   `json:"error"`
	Dialect         string   `json:"dialect_negotiated"`
	SigningRequired bool     `json:"signing_required"`
	Shares          []string `json:"shares"`
	Same            bool     `json:"same"`
	Listing         []string `json:"listing"`
}

func impacket(t *testing.T, port, dialect, user, password, file string) impacketResult {
	t.Helper()
	py := needImpacket(t)
	out, err := run(t, 5*time.Minute, py, "testdata/impacket_roundtrip.py", port, dialect, user, password, file)
	var res impacketResult
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if jerr := json.Unmarshal([]byte(lines[len(lines)-1]), &res); jerr != nil {
		t.Fatalf("impacket %s: %v / %v\n%s", dialect, err, jerr, out)
	}
	return res
}

// TestImpacketSignedSessions: impacket logs in with 2.0.2, 2.1 and 3.0
// against a server requiring signing, sees signing required, lists the
// shares and moves a 64 MiB file both ways byte-identically.
func TestImpacketSignedSessions(t *testing.T) {
	needImpacket(t)
	s := startSignet(t, serverOpts{requireSigning: boolp(true)})
	file := filepath.Join(t.TempDir(), "f.bin")
	writeRandom(t, file, 64<<20)
	for _, d := range []string{"0x0202", "0x0210", "0x0300"} {
		res := impacket(t, s.port, d, testUser, testPassword, file)
		if !res.OK || !res.SigningRequired || !res.Same || res.Dialect != strings.Replace(d, "0x0", "0x", 1) {
			t.Errorf("impacket %s: %+v", d, res)
		}
		if strings.Join(res.Shares, ",") != "IPC$,share" || len(res.Listing) != 3 {
			t.Errorf("impacket %s: shares %v listing %v", d, res.Shares, res.Listing)
		}
	}
	// A wrong password is STATUS_LOGON_FAILURE.
	res := impacket(t, s.port, "0x0300", testUser, "wrong", file)
	if res.OK || !strings.Contains(res.Error, "STATUS_LOGON_FAILURE") {
		t.Errorf("wrong password: %+v", res)
	}
}
