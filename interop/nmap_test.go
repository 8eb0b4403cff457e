package interop

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

func nmapScan(t *testing.T, port string) string {
	t.Helper()
	nmap := needTool(t, "nmap", "nmap")
	out, err := run(t, 90*time.Second, nmap, "-Pn", "-p", port, "--script", "smb2-security-mode,smb-protocols",
		"--script-args", "smbport="+port, "127.0.0.1")
	if err != nil {
		t.Fatalf("nmap: %v\n%s", err, out)
	}
	return out
}

// nmapDialects extracts the dialect list smb-protocols printed, as
// "202 210 300 302 311" (nmap 7.93 prints 2:0:2, older ones 2.02).
func nmapDialects(out string) string {
	re := regexp.MustCompile(`(?m)^\|_?\s+([23])[:.]?(\d)[:.]?(\d)\s*$`)
	var ds []string
	for _, m := range re.FindAllStringSubmatch(out, -1) {
		ds = append(ds, m[1]+m[2]+m[3])
	}
	return strings.Join(ds, " ")
}

// TestNmapSigningPolicyReload: nmap sees "enabled and required" with the
// signing-required config, all five dialects, and "enabled but not
// required" after the file is changed, without a restart; SIGHUP reloads
// too.
func TestNmapSigningPolicyReload(t *testing.T) {
	s := startSignet(t, serverOpts{requireSigning: boolp(true)})
	out := nmapScan(t, s.port)
	if !strings.Contains(out, "Message signing enabled and required") {
		t.Fatalf("nmap did not report required signing:\n%s", out)
	}
	if got := nmapDialects(out); got != "202 210 300 302 311" {
		t.Fatalf("dialects %q, want 202 210 300 302 311:\n%s", got, out)
	}
	t.Logf("nmap (required): %s", grepLines(out, "signing", "202", "311"))
	pid := s.cmd.Process.Pid

	s.writeConfig(serverOpts{requireSigning: boolp(false)}.configText(s.port))
	if !s.waitLog("require_signing true -> false", 10*time.Second) {
		t.Fatalf("config change not picked up:\n%s", s.Log())
	}
	out = nmapScan(t, s.port)
	if !strings.Contains(out, "Message signing enabled but not required") {
		t.Fatalf("after reload nmap did not report optional signing:\n%s", out)
	}
	t.Logf("nmap (after edit): %s", grepLines(out, "signing"))

	// SIGHUP: write the file back, then signal (the watcher may win the
	// race; either way the server must end up requiring signing again).
	s.writeConfig(serverOpts{requireSigning: boolp(true)}.configText(s.port))
	s.cmd.Process.Signal(syscall.SIGHUP)
	if !s.waitLog("require_signing false -> true", 10*time.Second) {
		t.Fatalf("SIGHUP/config change not applied:\n%s", s.Log())
	}
	out = nmapScan(t, s.port)
	if !strings.Contains(out, "Message signing enabled and required") {
		t.Fatalf("after SIGHUP nmap did not report required signing:\n%s", out)
	}
	if s.cmd.Process.Pid != pid || s.cmd.ProcessState != nil {
		t.Fatal("server restarted")
	}
}

// TestNmapEmbeddedDefault runs `signet serve` with no config file: the
// embedded default must require signing.
func TestNmapEmbeddedDefault(t *testing.T) {
	nmap := needTool(t, "nmap", "nmap")
	port := freePort(t)
	state := t.TempDir()
	cmd := exec.Command(signetBin, "serve", "--listen", "127.0.0.1:"+port)
	cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+state, "SIGNET_PASSWORD=default-pass-1")
	var log lockedBuf
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	waitPort(t, "127.0.0.1:"+port)
	out, err := run(t, 90*time.Second, nmap, "-Pn", "-p", port, "--script", "smb2-security-mode",
		"--script-args", "smbport="+port, "127.0.0.1")
	if err != nil || !strings.Contains(out, "Message signing enabled and required") {
		t.Fatalf("embedded default does not require signing (%v):\n%s\nserver log:\n%s", err, out, log.String())
	}
}

func grepLines(out string, subs ...string) string {
	var keep []string
	for _, l := range strings.Split(out, "\n") {
		for _, s := range subs {
			if strings.Contains(l, s) {
				keep = append(keep, strings.TrimSpace(l))
				break
			}
		}
	}
	return strings.Join(keep, " | ")
}
