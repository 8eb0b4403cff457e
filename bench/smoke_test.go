package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestSmoke runs the whole program against Signet alone with tiny sizes
// (Samba is compared by `go run ./bench -short` in CI): every part runs,
// every copy is checked (but the null share's, which stores nothing), and
// the report has a figure for each. It builds
// cmd/signet, so it is left out of -short.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts the Signet server")
	}
	cfg, err := parseFlags([]string{"-short", "-samba", "off", "-size", "4MiB", "-small-files", "40", "-small-clients", "1,4",
		"-dir-entries", "300", "-idle", "30", "-port", "20690", "-dir", t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	var out, log bytes.Buffer
	if err := run(cfg, &out, &log); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	report := out.String()
	for _, want := range []string{
		"| " + srvCeiling + " | ",
		"| Signet | " + cliSigGMAC + " | read |", "| Signet | " + cliSigMem + " | read |", "| Signet | " + cliSigCMAC + " | write |",
		"| Signet | " + cliSigHMAC + " | read |", "| Signet | " + cliGoSMB2 + " | write |",
		"| Signet | " + cliSigEnc + " | read |", "| " + srvUnsigned + " | " + cliSigNoSign + " | write |",
		"| Signet | " + smallClient(4) + " |", "| Signet | Signet client 3.1.1 AES-128-GMAC | " + dirOp(300) + " |",
		"| Signet | " + idleClient + " | " + idleOp(30) + " |",
		"| " + srvNull + " | " + cliSigMem + " | read |", "| " + srvNull + " | " + cliSigMem + " | write |",
		"Signet / TCP ceiling", "signed (GMAC) / unsigned", cliSigMem + " read: null share / TCP ceiling",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	if strings.Contains(report, "| Samba") || strings.Contains(report, "smbclient 3") && strings.Contains(report, "| Signet | smbclient") {
		t.Errorf("Samba or smbclient measured with -samba off:\n%s", report)
	}
}
