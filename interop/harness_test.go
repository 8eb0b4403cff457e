// Package interop proves Signet against software we did not write:
// smbclient, smbtorture, impacket, nmap and cloudsoda/go-smb2. Each test
// finds its peer on PATH and skips with an install hint when it is missing,
// except under CI=true, where a missing peer fails the test.
package interop

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	testUser     = "alice"
	testPassword = "Wonder-land#42"
)

var signetBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "signet-interop")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	signetBin = filepath.Join(dir, "signet")
	args := []string{"build", "-o", signetBin}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, "../cmd/signet")...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building signet:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// needTool returns the path of a peer tool or skips (fails under CI=true).
func needTool(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	msg := fmt.Sprintf("%s not found on PATH; install it with: apt-get install %s", name, pkg)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// needImpacket returns the python interpreter that has impacket.
func needImpacket(t testing.TB) string {
	t.Helper()
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import impacket").Run(); err == nil {
		return py
	}
	msg := "impacket not importable by /usr/bin/python3; install it with: apt-get install python3-impacket"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// signetServer is a running `signet serve` process.
type signetServer struct {
	t      testing.TB
	dir    string
	config string
	share  string
	addr   string
	port   string
	cmd    *exec.Cmd
	logMu  sync.Mutex
	log    bytes.Buffer
}

type serverOpts struct {
	requireSigning *bool  // nil: leave unset
	extra          string // extra [server] lines
	shares         string // extra [[share]] tables
}

func boolp(b bool) *bool { return &b }

// freePort returns a loopback port that was free a moment ago.
func freePort(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
}

func (o serverOpts) configText(port string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[server]\nlisten = \"127.0.0.1:%s\"\nusers_file = \"users\"\nserver_name = \"SIGNETTEST\"\n", port)
	if o.requireSigning != nil {
		fmt.Fprintf(&b, "require_signing = %v\n", *o.requireSigning)
	}
	b.WriteString(o.extra)
	b.WriteString("\n[[share]]\nname = \"share\"\npath = \"share\"\n")
	b.WriteString(o.shares)
	return b.String()
}

// startSignet writes a config, adds the test user and starts the server.
func startSignet(t testing.TB, o serverOpts) *signetServer {
	t.Helper()
	s := &signetServer{t: t, dir: t.TempDir(), port: freePort(t)}
	s.addr = "127.0.0.1:" + s.port
	s.share = filepath.Join(s.dir, "share")
	s.config = filepath.Join(s.dir, "signet.toml")
	if err := os.Mkdir(s.share, 0o755); err != nil {
		t.Fatal(err)
	}
	s.writeConfig(o.configText(s.port))
	s.addUserAndStart(t)
	return s
}

// addUserAndStart adds the test user to s's users file, starts `signet
// serve` on s.config and waits until it listens on s.addr.
func (s *signetServer) addUserAndStart(t testing.TB) {
	t.Helper()
	add := exec.Command(signetBin, "user", "add", testUser, "--users-file", filepath.Join(s.dir, "users"))
	add.Env = append(os.Environ(), "SIGNET_PASSWORD="+testPassword)
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("signet user add: %v\n%s", err, out)
	}
	args := []string{"serve", "--config", s.config}
	if os.Getenv("SIGNET_SERVE_DEBUG") == "1" {
		args = append(args, "-v") // debug log lines, shown when a test fails
	}
	s.cmd = exec.Command(signetBin, args...)
	s.cmd.Stdout = &lockedWriter{s}
	s.cmd.Stderr = &lockedWriter{s}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stop)
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("signet did not start listening on %s:\n%s", s.addr, s.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type lockedWriter struct{ s *signetServer }

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.s.logMu.Lock()
	defer w.s.logMu.Unlock()
	return w.s.log.Write(p)
}

// Log returns what the server printed so far.
func (s *signetServer) Log() string {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return s.log.String()
}

// waitLog waits until the server log contains substr.
func (s *signetServer) waitLog(substr string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if strings.Contains(s.Log(), substr) {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

func (s *signetServer) writeConfig(text string) {
	tmp := s.config + ".tmp"
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		s.t.Fatal(err)
	}
	if err := os.Rename(tmp, s.config); err != nil {
		s.t.Fatal(err)
	}
}

func (s *signetServer) stop() {
	if s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
	if s.t.Failed() {
		s.t.Logf("signet log:\n%s", s.Log())
	}
	if strings.Contains(s.Log(), "DATA RACE") || strings.Contains(s.Log(), "panic:") {
		s.t.Errorf("server log shows a race or panic:\n%s", s.Log())
	}
}

// run runs a peer command with a timeout and returns combined output.
func run(t testing.TB, timeout time.Duration, name string, args ...string) (string, error) {
	t.Helper()
	return runIn(t, "", timeout, name, args...)
}

// runIn is run with the working directory set to dir ("" = the test's).
func runIn(t testing.TB, dir string, timeout time.Duration, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		return string(out), fmt.Errorf("%s timed out after %v", name, timeout)
	}
	return string(out), err
}

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func waitPort(t testing.TB, addr string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listening on %s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
