package interop

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"
)

type probeJSON struct {
	Host            string   `json:"host"`
	Dialects        []string `json:"dialects"`
	SigningEnabled  bool     `json:"signing_enabled"`
	SigningRequired bool     `json:"signing_required"`
}

// TestProbeAgreesWithNmap: `signet probe` and nmap's smb2-security-mode and
// smb-protocols scripts give the same verdicts (signing required or not,
// dialects) on Signet and on Samba, in both policy settings; the probe's
// exit status is non-zero exactly when signing is not required.
func TestProbeAgreesWithNmap(t *testing.T) {
	nmap := needTool(t, "nmap", "nmap")
	type target struct {
		name, addr string
		required   bool
	}
	var targets []target
	for _, req := range []bool{true, false} {
		s := startSignet(t, serverOpts{requireSigning: boolp(req)})
		targets = append(targets, target{"Signet", s.addr, req})
	}
	for _, mode := range []string{"mandatory", "auto"} {
		addr, _ := startSamba(t, mode)
		targets = append(targets, target{"Samba " + mode, addr, mode == "mandatory"})
	}
	for _, tg := range targets {
		port := tg.addr[strings.LastIndexByte(tg.addr, ':')+1:]
		cmd := exec.Command(signetBin, "probe", "--json", tg.addr)
		out, err := cmd.Output()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		var p probeJSON
		if err := json.Unmarshal(out, &p); err != nil {
			t.Fatalf("%s: probe output %q: %v", tg.name, out, err)
		}
		nm, err := run(t, 90*time.Second, nmap, "-Pn", "-p", port, "--script", "smb2-security-mode,smb-protocols",
			"--script-args", "smbport="+port, "127.0.0.1")
		if err != nil {
			t.Fatalf("nmap: %v\n%s", err, nm)
		}
		nmapRequired := strings.Contains(nm, "Message signing enabled and required")
		nmapOptional := strings.Contains(nm, "Message signing enabled but not required")
		if nmapRequired == nmapOptional {
			t.Fatalf("%s: nmap gave no verdict:\n%s", tg.name, nm)
		}
		probeDialects := normalizeDialects(p.Dialects)
		t.Logf("%s: probe required=%v dialects=%s exit=%d; nmap required=%v dialects=%s", tg.name,
			p.SigningRequired, probeDialects, code, nmapRequired, nmapDialects(nm))
		switch {
		case p.SigningRequired != nmapRequired || p.SigningRequired != tg.required:
			t.Errorf("%s: probe says required=%v, nmap %v, configured %v", tg.name, p.SigningRequired, nmapRequired, tg.required)
		case probeDialects != nmapDialects(nm):
			t.Errorf("%s: probe dialects %s, nmap %s", tg.name, probeDialects, nmapDialects(nm))
		case (code != 0) == p.SigningRequired:
			t.Errorf("%s: probe exit status %d with signing required=%v", tg.name, code, p.SigningRequired)
		}
	}
}

// normalizeDialects turns ["2.0.2","2.1","3.0",...] into nmap's "202 210 300 ...".
func normalizeDialects(ds []string) string {
	out := make([]string, len(ds))
	for i, d := range ds {
		parts := strings.Split(d, ".")
		for len(parts) < 3 {
			parts = append(parts, "0")
		}
		out[i] = strings.Join(parts, "")
	}
	return strings.Join(out, " ")
}
