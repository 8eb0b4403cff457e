package main

import (
	"errors"
	"math"
	"os"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary act as the ceiling's sending process
// and as the null-share server (measureCeiling and startNull run their
// own executable again).
func TestMain(m *testing.M) {
	if ceilingSender() || nullServer() {
		return
	}
	os.Exit(m.Run())
}

func TestMedianAndSpread(t *testing.T) {
	for _, c := range []struct {
		in          []float64
		med, lo, hi float64
	}{
		{[]float64{3}, 3, 3, 3},
		{[]float64{5, 1, 3}, 3, 1, 5},
		{[]float64{4, 1, 3, 2}, 2.5, 1, 4},
		{[]float64{10, 10, 40}, 10, 10, 40},
	} {
		in := append([]float64(nil), c.in...)
		if got := median(c.in); got != c.med {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.med)
		}
		for i := range in {
			if in[i] != c.in[i] {
				t.Fatalf("median reordered its input: %v", c.in)
			}
		}
		lo, hi, rel := spread(c.in)
		if lo != c.lo || hi != c.hi || math.Abs(rel-(c.hi-c.lo)/c.med) > 1e-12 {
			t.Errorf("spread(%v) = %v %v %v", c.in, lo, hi, rel)
		}
	}
	if !math.IsNaN(median(nil)) {
		t.Error("median of nothing is not NaN")
	}
}

func TestStatTimes(t *testing.T) {
	// A command name with a space and a parenthesis; utime 150 ticks,
	// stime 50, cutime 300, cstime 100 (USER_HZ 100).
	line := "4242 (smbd (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 150 50 300 100 20 0 1 0 123 456 78 1844674407"
	own, ch, err := statTimes(line)
	if err != nil {
		t.Fatal(err)
	}
	if own != 2 || ch != 4 {
		t.Errorf("statTimes = %v, %v; want 2, 4", own, ch)
	}
	for _, bad := range []string{"", "12 (x", "12 (x) S 1 2", "12 (x) S 1 2 3 4 5 6 7 8 9 10 z 1 2 3 4"} {
		if _, _, err := statTimes(bad); err == nil {
			t.Errorf("statTimes(%q) gave no error", bad)
		}
	}
	// This process: readable, and its CPU does not go backwards.
	a := serverCPU([]int{os.Getpid()})
	for t0 := time.Now(); time.Since(t0) < 30*time.Millisecond; {
	}
	if b := serverCPU([]int{os.Getpid()}); b < a {
		t.Errorf("CPU went from %v to %v", a, b)
	}
}

func TestPSS(t *testing.T) {
	v, ok := pssOf("55e0-7fff ---p 00000000 00:00 0  [rollup]\nRss:   1760 kB\nPss:     246 kB\nPss_Anon: 10 kB\n")
	if !ok || v != 246<<10 {
		t.Errorf("pssOf = %d, %v", v, ok)
	}
	if _, ok := pssOf("Rss: 1 kB\n"); ok {
		t.Error("pssOf without a Pss line succeeded")
	}
	if pss([]int{os.Getpid()}) <= 0 {
		t.Error("no PSS for this process")
	}
}

func TestSmbclientRate(t *testing.T) {
	out := []byte("getting file \\bench-r.bin of size 1073741824 as /dev/shm/x (976562.5 KiloBytes/sec) (average 976562.5 KiloBytes/sec)\n")
	v, ok := smbclientRate(out)
	if !ok || math.Abs(v-1000) > 1e-9 {
		t.Errorf("smbclientRate = %v, %v; want 1000 MB/s", v, ok)
	}
	if _, ok := smbclientRate([]byte("NT_STATUS_ACCESS_DENIED")); ok {
		t.Error("rate found in an error")
	}
}

func TestParseFlags(t *testing.T) {
	cfg, err := parseFlags([]string{"-short", "-only", "transfer,idle", "-runs", "2"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.size != 8<<20 || cfg.runs != 2 || cfg.out != "" || cfg.dirEntries != 2000 || len(cfg.idle) != 1 || cfg.idle[0] != 200 {
		t.Errorf("short config %+v", cfg)
	}
	if !cfg.parts["transfer"] || !cfg.parts["idle"] || cfg.parts["small"] {
		t.Errorf("parts %v", cfg.parts)
	}
	if c, err := parseFlags([]string{"-note", "busy machine, it's", "-out", ""}); err != nil || c.cmdline != `go run ./bench -note 'busy machine, it'\''s' -out ''` {
		t.Errorf("quoted cmdline %q (%v)", c.cmdline, err)
	}
	if cfg.cmdline != "go run ./bench -short -only transfer,idle -runs 2" {
		t.Errorf("cmdline %q", cfg.cmdline)
	}
	var names []string
	for _, x := range cfg.cases() {
		names = append(names, x.client)
	}
	if strings.Join(names, ";") != strings.Join([]string{cliSmbGMAC, cliSmbCMAC, cliSigGMAC, cliSigMem, cliSigCMAC, cliSigHMAC, cliGoSMB2}, ";") {
		t.Errorf("transfer cases %q", names)
	}
	cfg, err = parseFlags([]string{"-only", "transfer,encrypt", "-clients", "smbclient, GCM"})
	if err != nil {
		t.Fatal(err)
	}
	names = nil
	for _, x := range cfg.cases() {
		names = append(names, x.client)
	}
	if strings.Join(names, ";") != strings.Join([]string{cliSmbGMAC, cliSmbCMAC, cliSmbEnc, cliSmbCCM, cliSigEnc}, ";") {
		t.Errorf("-clients smbclient,GCM selected %q", names)
	}
	cfg, err = parseFlags(nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.size != 1<<30 || cfg.runs != 3 || cfg.out != "docs/PERFORMANCE.md" || len(cfg.parts) != len(allParts) {
		t.Errorf("default config %+v", cfg)
	}
	for _, bad := range [][]string{{"-only", "transfer,nope"}, {"-size", "1TB"}, {"-runs", "0"}, {"-samba", "maybe"}, {"-idle", "10,x"}, {"extra"}} {
		if _, err := parseFlags(bad); err == nil {
			t.Errorf("parseFlags(%q) gave no error", bad)
		}
	}
}

// sample fills results with made-up medians: Signet twice Samba on
// smbclient GMAC reads, equal on writes, and so on.
func sample() *results {
	r := newResults()
	add := func(server, client, op, unit string, cpu float64, vs ...float64) {
		for _, v := range vs {
			r.add("transfer", server, client, op, unit, v, cpu)
		}
	}
	add(srvCeiling, cliCeiling, opCeiling, unitMBps, -1, 3000, 2000, 4000)
	add(srvSignet, cliSmbGMAC, "read", unitMBps, 0.5, 2000, 2100, 1900)
	add(srvSamba, cliSmbGMAC, "read", unitMBps, 1.0, 1000, 990, 1010)
	add(srvSignet, cliSmbGMAC, "write", unitMBps, 0.9, 500)
	add(srvSamba, cliSmbGMAC, "write", unitMBps, 1.0, 500)
	add(srvSignet, cliSigGMAC, "read", unitMBps, 0.4, 2400)
	add(srvSignet, cliSigGMAC, "write", unitMBps, 0.4, 2100)
	add(srvUnsigned, cliSigNoSign, "read", unitMBps, 0.3, 2400)
	add(srvUnsigned, cliSigNoSign, "write", unitMBps, 0.3, 2400)
	r.add("bound", srvNull, cliSmbGMAC, "read", unitMBps, 1400, 0.3)
	r.add("bound", srvNull, cliSmbGMAC, "write", unitMBps, 900, 0.6)
	r.add("bound", srvNull, cliSigMem, "read", unitMBps, 2400, 0.3)
	r.add("small", srvSignet, smallClient(8), opSmall, unitFilesPS, 3000, -1)
	r.add("small", srvSamba, smallClient(8), opSmall, unitFilesPS, 1000, -1)
	r.add("idle", srvSignet, idleClient, idleOp(10000), unitKiBPerSes, 40, -1)
	return r
}

func TestRatios(t *testing.T) {
	got := map[string]float64{}
	for _, x := range sample().ratios() {
		got[x.Name] = x.Value
	}
	for name, want := range map[string]float64{
		cliSmbGMAC + " read: Signet / Samba":                                            2,
		cliSmbGMAC + " write: Signet / Samba":                                           1,
		cliSigGMAC + " read: Signet / TCP ceiling":                                      0.8,
		cliSigGMAC + " write: Signet / TCP ceiling":                                     0.7,
		"Signet read: signed (GMAC) / unsigned, Signet client":                          1,
		"Signet write: signed (GMAC) / unsigned, Signet client":                         0.875,
		cliSmbGMAC + " read: server CPU per GiB, Signet / Samba (lower is better)":      0.5,
		cliSmbGMAC + " write: server CPU per GiB, Signet / Samba (lower is better)":     0.9,
		smallClient(8) + " " + opSmall + ": Signet / Samba":                             3,
		cliSmbGMAC + " read: null share / Samba (the most any server could show)":       1.4,
		cliSmbGMAC + " write: Signet / null share (how much of that Signet reaches)":    500.0 / 900,
		cliSmbGMAC + " write: server CPU per GiB, null share / Samba (lower is better)": 0.6,
		cliSigMem + " read: null share / TCP ceiling":                                   0.8,
	} {
		v, ok := got[name]
		if !ok {
			t.Errorf("no ratio %q (have %v)", name, got)
			continue
		}
		if math.Abs(v-want) > 1e-9 {
			t.Errorf("%s = %v, want %v", name, v, want)
		}
	}
	// Signet's smbclient figures are not compared with the ceiling, and
	// nothing is compared with a side that was not measured.
	for name := range got {
		if strings.HasPrefix(name, "smbclient") && strings.Contains(name, "ceiling") || strings.Contains(name, "HMAC") {
			t.Errorf("unexpected ratio %q", name)
		}
	}
}

func TestTargets(t *testing.T) {
	byName := map[string]target{}
	for _, x := range sample().targets() {
		byName[x.Name[:2]] = x
	}
	for prefix, want := range map[string]struct{ status, got, short, bound string }{
		"1a": {"missed", "1.00x (write)", "33% short (needs 1.50x the present figure)", "read 1.40x, write 1.80x; out of reach in this run"},
		"1b": {"not measured", "-", "", ""},
		"2.": {"met", "0.70x (write)", "", ""},
		"3.": {"missed", "0.88x (write)", "8% short (needs 1.09x the present figure)", ""},
		"4.": {"met", "3.00x", "", ""},
		"5.": {"missed", "40.0 KiB", "25% over (needs 0.80x the present figure)", ""},
		"6.": {"missed", "0.90x (write)", "50% over (needs 0.67x the present figure)", "read 0.30x, write 0.60x"},
		"is": {"not measured", "-", "", ""},
	} {
		x, ok := byName[prefix]
		if !ok {
			t.Errorf("no target %q", prefix)
			continue
		}
		if b, wantBound := x.Bound, want.bound; b != wantBound {
			t.Errorf("target %s: bound %q, want %q", x.Name, b, wantBound)
		}
		if x.Status != want.status || x.Got != want.got || x.Shortfall != want.short {
			t.Errorf("target %s: %q %q %q; want %q %q %q", x.Name, x.Status, x.Got, x.Shortfall, want.status, want.got, want.short)
		}
	}
}

func TestRender(t *testing.T) {
	cfg, err := parseFlags([]string{"-runs", "3", "-size", "256MiB"})
	if err != nil {
		t.Fatal(err)
	}
	m := machine{cpu: "Test CPU", cores: 2, memGiB: 8, kernel: "Linux 6.1", goVersion: "go1.26", samba: "Version 4.17", loadBefore: "2.00 1.50 1.00", loadAfter: "3.00 2.00 1.00"}
	out := render(cfg, sample(), m, time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC), "")
	for _, want := range []string{
		"`go run ./bench -runs 3 -size 256MiB`", "started 2026-12-06 10:00 UTC",
		"Test CPU, 2 cores, 8.0 GiB memory, Linux 6.1, go1.26, Version 4.17", "2.00 1.50 1.00 at the start, 3.00 2.00 1.00 at the end",
		"Transfers move 256 MiB", "## Transfers", "## Small files", "## Idle signed sessions",
		"| Signet | " + cliSmbGMAC + " | read | 2000 | MB/s | 1900 - 2100 | 3 | 0.50 |",
		"| " + srvCeiling + " | " + cliCeiling + " | copy | 3000 | MB/s | 2000 - 4000 | 3 | - |",
		"- " + cliSmbGMAC + " read: Signet / Samba = 2.00",
		"| 4. small files from 8 clients, Signet / Samba | >= 1.5x | 3.00x | met |",
		"| 5. Signet server memory (PSS) per idle signed session at 10,000 sessions | <= 32 KiB | 40.0 KiB | missed: 25% over (needs 0.80x the present figure) |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(out, "**Loaded machine**: the 1-minute load average reached 3.00 on 2 cores") {
		t.Error("no warning of a loaded machine")
	}
	m.loadBefore, m.loadAfter = "0.10 0.1 0.1", "0.90 0.5 0.1"
	if out := render(cfg, sample(), m, time.Now(), ""); strings.Contains(out, "Loaded machine") {
		t.Error("a quiet machine called loaded")
	}
	if strings.Contains(out, "## Failed measurements") {
		t.Error("failures section without failures")
	}
	r := sample()
	r.fail(func(string, ...any) {}, errors.New("Samba smbd, smbclient read: boom\nsecond line"))
	if out := render(cfg, r, m, time.Now(), ""); !strings.Contains(out, "## Failed measurements") || !strings.Contains(out, "- Samba smbd, smbclient read: boom second line\n") {
		t.Errorf("failure not reported:\n%s", out)
	}
	if strings.Contains(out, "## Folder listing") {
		t.Error("empty part rendered")
	}
}

// TestTouchFresh: the probe touches its pages and reports a time.
func TestTouchFresh(t *testing.T) {
	v, err := touchFresh(64 << 20)
	if err != nil {
		t.Fatal(err)
	}
	if !(v > 0) || math.IsInf(v, 0) {
		t.Fatalf("fresh memory cost %v s/GiB", v)
	}
}
