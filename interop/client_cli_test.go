package interop

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// signetCLI runs the signet binary with the test password in the
// environment and returns stdout, stderr and the exit status.
func signetCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(signetBin, args...)
	cmd.Env = append(os.Environ(), "SIGNET_PASSWORD="+testPassword)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("signet %v: %v", args, err)
		}
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		t.Fatalf("signet %v timed out", args)
	}
	return o.String(), e.String(), code
}

// TestCLIProbeSamba: `signet probe` reports Samba's dialects and signing
// policy, as text and JSON, with exit status 2 when signing is optional.
func TestCLIProbeSamba(t *testing.T) {
	p := startSambaPair(t)
	out, errOut, code := signetCLI(t, "probe", p.mandatory)
	want := p.mandatory + ": dialects 2.0.2 2.1 3.0 3.0.2 3.1.1; signing enabled and required; " +
		"3.1.1 signing: AES-128-GMAC (accepts AES-128-GMAC, AES-128-CMAC, HMAC-SHA256); " +
		"encryption: 3.0/3.0.2 AES-128-CCM; 3.1.1 AES-128-GCM (accepts AES-128-GCM, AES-128-CCM, AES-256-GCM, AES-256-CCM)\n"
	if out != want || code != 0 {
		t.Fatalf("probe mandatory: exit %d\n%s%s\nwant\n%s", code, out, errOut, want)
	}
	out, errOut, code = signetCLI(t, "probe", p.auto)
	if !strings.Contains(out, "dialects 2.0.2 2.1 3.0 3.0.2 3.1.1; signing enabled but not required") || code != 2 {
		t.Fatalf("probe auto: exit %d\n%s%s", code, out, errOut)
	}
	out, _, code = signetCLI(t, "probe", "--json", p.mandatory, p.auto)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || code != 2 {
		t.Fatalf("probe --json: exit %d\n%s", code, out)
	}
	var r struct {
		Host               string   `json:"host"`
		Dialects           []string `json:"dialects"`
		SigningEnabled     bool     `json:"signing_enabled"`
		SigningRequired    bool     `json:"signing_required"`
		SigningAlgorithms  []string `json:"signing_algorithms"`
		PreferredAlgorithm string   `json:"preferred_signing_algorithm"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &r); err != nil {
		t.Fatal(err)
	}
	if r.Host != p.mandatory || len(r.Dialects) != 5 || !r.SigningEnabled || !r.SigningRequired ||
		r.PreferredAlgorithm != "AES-128-GMAC" || len(r.SigningAlgorithms) != 3 {
		t.Fatalf("JSON %+v", r)
	}
	if _, _, code := signetCLI(t, "probe", "127.0.0.1:"+freePort(t)); code != 1 {
		t.Fatalf("probe of a closed port: exit %d, want 1", code)
	}
}

// TestCLIFileCommandsSamba drives put, ls, stat, get, mv, mkdir, rm and
// shares against Samba with signing required by the client only.
func TestCLIFileCommandsSamba(t *testing.T) {
	addr, shareDir := startSamba(t, "auto")
	base := "//" + addr + "/share"
	u := []string{"-U", testUser}
	local := filepath.Join(t.TempDir(), "up.bin")
	data := make([]byte, 3<<20+7)
	rand.Read(data)
	if err := os.WriteFile(local, data, 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) string {
		t.Helper()
		out, errOut, code := signetCLI(t, append(args, u...)...)
		if code != 0 {
			t.Fatalf("signet %v: exit %d\n%s%s", args, code, out, errOut)
		}
		return out
	}
	run("mkdir", "-p", base+"/a/b")
	run("put", local, base+"/a/b/")
	if got, err := os.ReadFile(filepath.Join(shareDir, "a", "b", "up.bin")); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("uploaded file differs (%v)", err)
	}
	if out := run("ls", base+"/a/b"); !strings.Contains(out, "up.bin") || !strings.Contains(out, "3145735") {
		t.Fatalf("ls:\n%s", out)
	}
	if out := run("stat", base+"/a/b/up.bin"); !strings.Contains(out, "Size: 3145735") || !strings.Contains(out, "Type: file") {
		t.Fatalf("stat:\n%s", out)
	}
	down := filepath.Join(t.TempDir(), "down.bin")
	run("get", base+"/a/b/up.bin", down)
	if got, err := os.ReadFile(down); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("downloaded file differs (%v)", err)
	}
	run("mv", base+"/a/b/up.bin", "a/moved.bin")
	if _, err := os.Stat(filepath.Join(shareDir, "a", "moved.bin")); err != nil {
		t.Fatalf("mv: %v", err)
	}
	if out := run("shares", "//"+addr); !strings.Contains(out, "share") || !strings.Contains(out, "IPC$") {
		t.Fatalf("shares:\n%s", out)
	}
	run("rm", "-r", base+"/a")
	if _, err := os.Stat(filepath.Join(shareDir, "a")); !os.IsNotExist(err) {
		t.Fatalf("rm -r left %v", err)
	}
	_, errOut, code := signetCLI(t, append([]string{"stat", base + "/missing"}, u...)...)
	if code != 1 || !strings.Contains(errOut, "no such file or directory (STATUS_OBJECT_NAME_NOT_FOUND)") {
		t.Fatalf("stat of a missing file: exit %d, %s", code, errOut)
	}
	_, errOut, code = signetCLI(t, "ls", base, "-U", testUser, "--dialect", "9.9")
	if code == 0 || !strings.Contains(errOut, "unknown dialect") {
		t.Fatalf("bad --dialect: exit %d, %s", code, errOut)
	}
}
