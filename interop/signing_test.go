package interop

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signetsmb/signet/internal/smbtest/wiretap"
	"github.com/signetsmb/signet/internal/wire"
)

// smbclientVia runs smbclient against addr's port with the given options.
func smbclientAt(t *testing.T, port string, args ...string) (string, error) {
	t.Helper()
	bin := needTool(t, "smbclient", "smbclient")
	base := []string{"//127.0.0.1/share", "-p", port}
	return run(t, 2*time.Minute, bin, append(base, args...)...)
}

// TestWireSignatures checks from the wire, for every dialect, that a
// session with a server requiring signing is signed end to end: a
// recording proxy reconstructs the keys from the NTLM exchange (knowing the
// password, as Wireshark does) and verifies every request and response
// after SESSION_SETUP, including the final SESSION_SETUP response.
func TestWireSignatures(t *testing.T) {
	needTool(t, "smbclient", "smbclient")
	s := startSignet(t, serverOpts{requireSigning: boolp(true)})
	for _, d := range smbclientDialects {
		t.Run(d, func(t *testing.T) {
			tap := wiretap.Start(t, wiretap.Config{Target: s.addr, Password: testPassword})
			out, err := smbclientAt(t, tap.Port(), "-U", testUser+"%"+testPassword, "-m", d,
				"--option=client min protocol="+d, "--option=client signing=disabled",
				"-c", "mkdir wire"+d+"; ls; rmdir wire"+d)
			if err != nil {
				t.Fatalf("smbclient: %v\n%s", err, out)
			}
			rep := tap.Report()
			if v := rep.Verdict(); v != "signed" {
				t.Fatalf("verdict %q\n%s", v, rep)
			}
			if rep.Responses().Valid < 5 || rep.Requests().Valid < 5 {
				t.Fatalf("too little signed traffic checked: %s", rep)
			}
			t.Logf("%s: requests %v, responses %v", d, rep.Requests(), rep.Responses())
		})
	}
}

// TestRefusals: wrong passwords, anonymous and guest logons with signing
// required, and requests whose signature was flipped or stripped in
// transit are refused and counted, and the server keeps serving the other
// sessions.
func TestRefusals(t *testing.T) {
	needTool(t, "smbclient", "smbclient")
	s := startSignet(t, serverOpts{requireSigning: boolp(true)})
	good := func() {
		t.Helper()
		out, err := smbclientAt(t, s.port, "-U", testUser+"%"+testPassword, "-c", "ls")
		if err != nil || !strings.Contains(out, "blocks available") {
			t.Fatalf("a good session failed: %v\n%s", err, out)
		}
	}

	out, _ := smbclientAt(t, s.port, "-U", testUser+"%wrong-password", "-c", "ls")
	if !strings.Contains(out, "NT_STATUS_LOGON_FAILURE") {
		t.Errorf("wrong password: want NT_STATUS_LOGON_FAILURE, got:\n%s", out)
	}
	out, _ = smbclientAt(t, s.port, "-N", "-c", "ls")
	if strings.Contains(out, "blocks available") || !s.waitLog("anonymous logon refused: signing is required", 5*time.Second) {
		t.Errorf("anonymous logon not refused with a log line:\n%s\n%s", out, s.Log())
	}
	out, _ = smbclientAt(t, s.port, "-U", "guest%", "-c", "ls")
	if !strings.Contains(out, "NT_STATUS_LOGON_FAILURE") {
		t.Errorf("guest: want NT_STATUS_LOGON_FAILURE, got:\n%s", out)
	}
	good()

	for _, tc := range []struct {
		name, log string
		mutate    func([]byte) []byte
	}{
		{"flipped byte", "request refused: bad signature", func(m []byte) []byte { return wiretap.Corrupt(m, wire.HeaderSize+8) }},
		{"stripped signature", "request refused: unsigned request on a session that requires signing", wiretap.StripSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var done atomic.Bool
			tap := wiretap.Start(t, wiretap.Config{Target: s.addr, Password: testPassword,
				Mutate: func(dir wiretap.Direction, msg []byte, info wiretap.MsgInfo) []byte {
					if dir == wiretap.ClientToServer && info.Header.Command == wire.CmdCreate && done.CompareAndSwap(false, true) {
						return tc.mutate(msg)
					}
					return nil
				}})
			// Another session works while the attacked one is refused.
			var wg sync.WaitGroup
			wg.Add(1)
			go func() { defer wg.Done(); good() }()
			out, _ := smbclientAt(t, tap.Port(), "-U", testUser+"%"+testPassword, "--option=client signing=required", "-c", "ls")
			wg.Wait()
			if !done.Load() {
				t.Fatal("no CREATE was tampered with")
			}
			if strings.Contains(out, "blocks available") {
				t.Errorf("tampered request was served:\n%s", out)
			}
			if !s.waitLog(tc.log, 5*time.Second) {
				t.Fatalf("no refusal logged (%q):\n%s", tc.log, s.Log())
			}
			if !strings.Contains(s.Log(), "refused_total=1") {
				t.Errorf("refusal not counted:\n%s", s.Log())
			}
			rep := tap.Report()
			if rep.Requests().Invalid+rep.Requests().Unsigned == 0 {
				t.Errorf("the tap did not see the tampered request: %s", rep)
			}
			good()
		})
	}
	if s.cmd.ProcessState != nil {
		t.Fatal("server exited")
	}
}
