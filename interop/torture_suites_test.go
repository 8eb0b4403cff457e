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
	for _, suite := range []string{"smb2.session", "smb2.multichannel"} {
		t.Run(suite, func(t *testing.T) {
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

// tortureSubtest maps a list entry below its suite to the name smbtorture
// reports: "bind1.bind1" (a test listed with its single subtest) is
// "bind1"; "generic.interface_info" stays as it is.
func tortureSubtest(rest string) string {
	if a, b, ok := strings.Cut(rest, "."); ok && a == b {
		return a
	}
	return rest
}
