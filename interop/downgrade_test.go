package interop

import (
	"encoding/binary"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signetsmb/signet/internal/smbtest/wiretap"
	"github.com/signetsmb/signet/internal/wire"
)

// clearSigningRequired is a man in the middle that removes
// SIGNING_REQUIRED from the client's (unsigned) NEGOTIATE request, the
// classic downgrade of the signing policy.
func clearSigningRequired(hit *atomic.Bool) func(wiretap.Direction, []byte, wiretap.MsgInfo) []byte {
	return func(dir wiretap.Direction, msg []byte, info wiretap.MsgInfo) []byte {
		if dir != wiretap.ClientToServer || info.Header.Command != wire.CmdNegotiate || len(msg) < wire.HeaderSize+8 {
			return nil
		}
		out := append([]byte(nil), msg...)
		mode := binary.LittleEndian.Uint16(out[wire.HeaderSize+4:])
		binary.LittleEndian.PutUint16(out[wire.HeaderSize+4:], mode&^wire.SigningRequired)
		hit.Store(true)
		return out
	}
}

// TestDowngradeDetected: a man in the middle who edits the NEGOTIATE
// request is caught. With 3.0/3.0.2 the client's signed
// FSCTL_VALIDATE_NEGOTIATE_INFO no longer matches what the server saw and
// the server drops the connection; with 3.1.1 the preauth integrity hash
// differs, so the keys differ and the client rejects the signed final
// SESSION_SETUP response. Either way no file operation happens.
func TestDowngradeDetected(t *testing.T) {
	needTool(t, "smbclient", "smbclient")
	s := startSignet(t, serverOpts{requireSigning: boolp(false)})
	for _, d := range []string{"SMB3_00", "SMB3_02", "SMB3_11"} {
		t.Run(d, func(t *testing.T) {
			var hit atomic.Bool
			tap := wiretap.Start(t, wiretap.Config{Target: s.addr, Password: testPassword, Mutate: clearSigningRequired(&hit)})
			out, _ := smbclientAt(t, tap.Port(), "-U", testUser+"%"+testPassword, "-m", d,
				"--option=client min protocol="+d, "--option=client signing=required", "-c", "ls")
			if !hit.Load() {
				t.Fatal("NEGOTIATE not modified")
			}
			if strings.Contains(out, "blocks available") {
				t.Fatalf("the downgraded session worked:\n%s", out)
			}
			if d != "SMB3_11" && !s.waitLog("validate_negotiate_mismatch", 5*time.Second) {
				t.Errorf("server did not detect the mismatch:\n%s", s.Log())
			}
			t.Logf("%s: client saw: %s", d, lastLine(out))
		})
	}
	// Without the man in the middle the same clients work.
	out, err := smbclientAt(t, s.port, "-U", testUser+"%"+testPassword, "-m", "SMB3_02",
		"--option=client min protocol=SMB3_02", "--option=client signing=required", "-c", "ls")
	if err != nil || !strings.Contains(out, "blocks available") {
		t.Fatalf("unmodified session failed: %v\n%s", err, out)
	}
}

// TestSMB1Negotiate: an SMB1 NEGOTIATE that offers SMB2 dialects is
// answered in SMB2 and the session proceeds; an SMB1-only client is
// refused with one log line.
func TestSMB1Negotiate(t *testing.T) {
	needTool(t, "smbclient", "smbclient")
	s := startSignet(t, serverOpts{requireSigning: boolp(true)})
	// client min protocol = NT1 makes smbclient open with an SMB1
	// multi-protocol NEGOTIATE listing "SMB 2.002" and "SMB 2.???".
	out, err := smbclientAt(t, s.port, "-U", testUser+"%"+testPassword, "--option=client min protocol=NT1",
		"--option=client max protocol=SMB3", "-c", "ls")
	if err != nil || !strings.Contains(out, "blocks available") {
		t.Fatalf("SMB1-to-SMB2 negotiate failed: %v\n%s", err, out)
	}
	out, _ = smbclientAt(t, s.port, "-U", testUser+"%"+testPassword, "--option=client min protocol=NT1",
		"--option=client max protocol=NT1", "-c", "ls")
	if strings.Contains(out, "blocks available") {
		t.Fatalf("SMB1-only client was served:\n%s", out)
	}
	if !s.waitLog("SMB1-only client refused", 5*time.Second) {
		t.Fatalf("no refusal logged:\n%s", s.Log())
	}
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndexByte(s, '\n')+1:]
}
