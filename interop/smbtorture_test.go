package interop

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// tortureCase is one line of a test/smbtorture/*.list file:
//
//	smb2.getinfo.complex
//	smb2.lock.async   # known failure: reason in one line
type tortureCase struct {
	name, knownFailure, file string
}

func loadTortureLists(t *testing.T) []tortureCase {
	pattern := "*"
	if only := os.Getenv("SIGNET_TORTURE_LIST"); only != "" {
		pattern = only // e.g. SIGNET_TORTURE_LIST=session runs session.list only
	}
	files, err := filepath.Glob("../test/smbtorture/" + pattern + ".list")
	if err != nil || len(files) == 0 {
		t.Fatalf("no smbtorture lists: %v", err)
	}
	sort.Strings(files)
	var out []tortureCase
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			c := tortureCase{file: filepath.Base(f)}
			name, comment, _ := strings.Cut(line, "#")
			c.name = strings.TrimSpace(name)
			if r, ok := strings.CutPrefix(strings.TrimSpace(comment), "known failure:"); ok {
				c.knownFailure = strings.TrimSpace(r)
				if c.knownFailure == "" {
					t.Fatalf("%s: %s: known failure without a reason", f, c.name)
				}
			}
			out = append(out, c)
		}
		fh.Close()
	}
	return out
}

// tortureResult matches smbtorture's result lines; a test name may hold
// spaces ("copy-chunk streams"), and a failure's reason follows " [".
var tortureResult = regexp.MustCompile(`(?m)^(success|failure|error|skip|xfail): ([^\[\n]*[^\[\n ])`)

// TestSmbtorture runs the curated smbtorture list against a server that
// requires signing. A listed test must pass (or skip, for tests that need a
// feature the Samba client itself cannot exercise here); a test marked as a
// known failure must fail — an unexpected pass means the list is stale.
func TestSmbtorture(t *testing.T) {
	bin := needTool(t, "smbtorture", "samba-testsuite")
	cases := loadTortureLists(t)
	s := startSignet(t, serverOpts{requireSigning: boolp(true)})
	var pass, fail, skip, known int
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// A known failure may hang until smbtorture's own timeouts; it
			// fails either way, so it gets less time.
			limit := 5 * time.Minute
			if c.knownFailure != "" {
				limit = 90 * time.Second
			}
			// smbtorture leaves scratch folders in its working directory.
			out, _ := runIn(t, t.TempDir(), limit, bin, "//127.0.0.1/share", "-p", s.port, "-U", testUser+"%"+testPassword,
				"--option=torture:sharedelay=100000", c.name)
			verdict := tortureVerdict(c.name, out)
			switch {
			case verdict == "skip":
				skip++
				t.Skipf("smbtorture skipped %s", c.name)
			case verdict == "success" && c.knownFailure == "":
				pass++
			case verdict == "success":
				t.Errorf("%s passes but %s marks it a known failure (%s): update the list", c.name, c.file, c.knownFailure)
			case c.knownFailure != "":
				known++
				t.Logf("known failure: %s", c.knownFailure)
			default:
				fail++
				t.Errorf("%s: %s\n%s", c.name, verdict, tail(out, 25))
			}
		})
	}
	t.Logf("smbtorture: %d passed, %d known failures, %d skipped, %d unexpected failures (of %d)", pass, known, skip, fail, len(cases))
}

// tortureVerdict reduces smbtorture's output for one test to success,
// skip or the failure lines. A suite-level name counts as success only if
// every subtest succeeded or skipped.
func tortureVerdict(name, out string) string {
	ms := tortureResult.FindAllStringSubmatch(out, -1)
	if len(ms) == 0 {
		return "no result (crash or connection failure)"
	}
	last := name[strings.LastIndexByte(name, '.')+1:]
	var bad []string
	allSkip := true
	for _, m := range ms {
		switch m[1] {
		case "success":
			allSkip = false
		case "skip":
		default:
			allSkip = false
			bad = append(bad, m[1]+": "+m[2])
		}
	}
	switch {
	case len(bad) > 0:
		return strings.Join(bad, ", ")
	case allSkip:
		return "skip"
	}
	_ = last
	return "success"
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return fmt.Sprint(strings.Join(lines, "\n"))
}
