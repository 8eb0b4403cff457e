package interop

import (
	"os"
	"strings"
	"testing"
	"time"
)

// TestSmbtortureSuites runs whole smbtorture suites in one smbtorture
// process each, as users run them (state carried from one subtest to the
// next, one connection setup), and holds every subtest to its line in
// test/smbtorture: a listed test passes (or skips), a known failure
// fails. The curated run (TestSmbtorture) runs the same tests one by one.
func TestSmbtortureSuites(t *testing.T) {
	bin := needTool(t, "smbtorture", "samba-testsuite")
	lists := loadTortureLists(t)
	s := startSignet(t, serverOpts{requireSigning: boolp(true)})
	for _, suite := range []string{"smb2.session", "smb2.multichannel", "smb2.lease", "smb2.durable-open",
		"smb2.durable-v2-open", "smb2.oplock", "smb2.replay", "smb2.acls", "smb2.ioctl", "smb2.streams"} { // smb2.acls: test/smbtorture/acls.list
		t.Run(suite, func(t *testing.T) {
			if slowSuites[suite] && os.Getenv("SIGNET_TORTURE_SLOW") != "1" {
				// Their subtests run one by one in TestSmbtorture too.
				t.Skipf("%s as one suite takes minutes (break timeouts); SIGNET_TORTURE_SLOW=1 runs it", suite)
			}
			expect := map[string]string{} // subtest -> known-failure reason ("" = must pass)
			for _, c := range lists {
				if rest, ok := strings.CutPrefix(c.name, suite+"."); ok {
					expect[tortureSubtest(rest)] = c.knownFailure
				}
			}
			if len(expect) == 0 && os.Getenv("SIGNET_TORTURE_LIST") != "" {
				t.Skipf("SIGNET_TORTURE_LIST leaves out %s", suite)
			}
			if len(expect) < 3 {
				t.Fatalf("only %d %s tests listed", len(expect), suite)
			}
			out, _ := runIn(t, t.TempDir(), 10*time.Minute, bin, "//127.0.0.1/share", "-p", s.port,
				"-U", testUser+"%"+testPassword, "--option=torture:sharedelay=100000", suite)
			got := map[string]string{}
			for _, m := range tortureResult.FindAllStringSubmatch(out, -1) {
				got[m[2]] = m[1]
			}
			pass := 0
			for sub, known := range expect {
				switch v := got[sub]; {
				case v == "":
					t.Errorf("%s: no result in the suite run", sub)
				case known == "" && v != "success" && v != "skip":
					t.Errorf("%s: %s", sub, v)
				case known != "" && v == "success":
					t.Errorf("%s passes but is listed as a known failure (%s)", sub, known)
				case v == "success":
					pass++
				}
			}
			t.Logf("%s as one suite: %d listed subtests pass", suite, pass)
			if t.Failed() {
				t.Logf("smbtorture output:\n%s", tail(out, 80))
			}
		})
	}
}

// slowSuites spend minutes waiting out break timeouts when run whole
// (lease 3 min, oplock and replay about 2 min each on a 2-core machine);
// CI runs their subtests one by one (TestSmbtorture) and these suites
// whole only with SIGNET_TORTURE_SLOW=1, to stay within its time budget.
var slowSuites = map[string]bool{"smb2.lease": true, "smb2.oplock": true, "smb2.replay": true}

// tortureSubtest maps a list entry below its suite to the name smbtorture
// reports: "bind1.bind1" (a test listed with its single subtest) is
// "bind1"; "generic.interface_info" stays as it is.
func tortureSubtest(rest string) string {
	if a, b, ok := strings.Cut(rest, "."); ok && a == b {
		return a
	}
	return rest
}
