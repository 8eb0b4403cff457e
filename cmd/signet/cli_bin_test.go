//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Tests that run the signet binary as a user would and check its output
// and exit status.

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// signetBinary builds cmd/signet once per test run.
func signetBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "signet-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "signet")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

type binResult struct {
	stdout, stderr string
	code           int
}

// runBin runs signet with args, env added to the environment (without
// SIGNET_PASSWORD unless given) and stdin.
func runBin(t *testing.T, stdin string, env []string, args ...string) binResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, signetBinary(t), args...)
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "SIGNET_PASSWORD=") {
			cmd.Env = append(cmd.Env, e)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdin = strings.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	r := binResult{stdout: o.String(), stderr: e.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("signet %v: %v", args, err)
	}
	return r
}

func TestBinHelp(t *testing.T) {
	for _, c := range []string{"ls", "get", "put", "rm", "mkdir", "mv", "stat", "shares", "probe", "serve", "status",
		"audit", "sessions", "policy", "user", "completion"} {
		r := runBin(t, "", nil, c, "--help")
		all := r.stdout + r.stderr
		if r.code != 0 || !strings.Contains(all, "usage: signet "+c) || strings.Contains(all, "usage: signet "+c+" "+c+" ") ||
			strings.Contains(all, "help requested") {
			t.Errorf("signet %s --help: exit %d\n%s", c, r.code, all)
		}
	}
	r := runBin(t, "", nil, "user", "--help")
	for _, sub := range []string{"add NAME", "passwd NAME", "del NAME", "disable NAME", "enable NAME", "list", "--password-stdin"} {
		if !strings.Contains(r.stderr, sub) {
			t.Errorf("user --help lacks %q:\n%s", sub, r.stderr)
		}
	}
	r = runBin(t, "", nil, "policy", "--help")
	for _, sub := range []string{"show", "set KEY=VALUE"} {
		if !strings.Contains(r.stderr, sub) {
			t.Errorf("policy --help lacks %q:\n%s", sub, r.stderr)
		}
	}
	r = runBin(t, "", nil, "--version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "signet ") || !strings.Contains(r.stdout, "go1.") {
		t.Errorf("--version: %d %q", r.code, r.stdout)
	}
	r = runBin(t, "", nil, "completion", "bash")
	if r.code != 0 || !strings.Contains(r.stdout, "complete -F _signet signet") || !strings.Contains(r.stdout, "passwd") {
		t.Fatalf("completion: %d\n%s", r.code, r.stdout)
	}
	if bash, err := exec.LookPath("bash"); err == nil {
		f := filepath.Join(t.TempDir(), "c.sh")
		os.WriteFile(f, []byte(r.stdout), 0o644)
		if out, err := exec.Command(bash, "-n", f).CombinedOutput(); err != nil {
			t.Errorf("bash -n: %v %s", err, out)
		}
	}
}

// A misspelt key stops the server and policy show, naming the key meant;
// --allow-unknown turns it into a warning.
func TestBinUnknownKey(t *testing.T) {
	path := configDir(t, "[server]\nrole = \"member\"\nrequire_signin = true\nlisten = \"127.0.0.1:0\"\n")
	want := `server.require_signin: unknown key (did you mean "server.require_signing"?)`
	for _, args := range [][]string{{"serve", "--config", path}, {"policy", "show", "--config", path}} {
		r := runBin(t, "", nil, args...)
		if r.code == 0 || !strings.Contains(r.stderr, want) {
			t.Errorf("%v: exit %d\n%s", args, r.code, r.stderr)
		}
	}
	r := runBin(t, "", nil, "policy", "show", "--allow-unknown", "--config", path)
	if r.code != 0 || !strings.Contains(r.stderr, "warning:") || !strings.Contains(r.stdout, "server.require_signing") {
		t.Errorf("--allow-unknown: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// The first-start hint names the port of --listen.
func TestBinStartupHintListen(t *testing.T) {
	port := freeTCPPort(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, signetBinary(t), "serve", "--listen", "127.0.0.1:"+port)
	cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+t.TempDir(), "SIGNET_PASSWORD=pw")
	var out syncBuf
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	waitFor(t, func() bool { return strings.Contains(out.String(), "signet listening") }, out.String)
	if !strings.Contains(out.String(), "-p "+port+" ") {
		t.Errorf("hint does not name port %s:\n%s", port, out.String())
	}
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func freeTCPPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
}

func waitFor(t *testing.T, cond func() bool, log func() string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out:\n%s", log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// binServer is `signet serve` with user alice/pw and share data.
type binServer struct {
	dir, config, addr, share string
	out                      *syncBuf
}

func startBinServer(t *testing.T, serverLines string) *binServer {
	t.Helper()
	port := freeTCPPort(t)
	s := &binServer{addr: "127.0.0.1:" + port, out: &syncBuf{}}
	s.config = configDir(t, fmt.Sprintf("[server]\nlisten = %q\nusers_file = \"users\"\n%s\n", s.addr, serverLines))
	s.dir = filepath.Dir(s.config)
	s.share = filepath.Join(s.dir, "data")
	if r := runBin(t, "", []string{"SIGNET_PASSWORD=pw"}, "user", "add", "alice", "--config", s.config); r.code != 0 {
		t.Fatalf("user add: %s", r.stderr)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, signetBinary(t), "serve", "--config", s.config)
	cmd.Stdout, cmd.Stderr = s.out, s.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	waitFor(t, func() bool { return strings.Contains(s.out.String(), "admin socket") }, s.out.String)
	return s
}

func (s *binServer) url(p string) string { return "//" + s.addr + "/data" + p }

var alicePW = []string{"SIGNET_PASSWORD=pw", "USER=nobody"}

func TestBinClientFiles(t *testing.T) {
	s := startBinServer(t, "require_signing = true")
	local := t.TempDir()
	tree := filepath.Join(local, "tree")
	os.MkdirAll(filepath.Join(tree, "sub", "deeper"), 0o755)
	os.WriteFile(filepath.Join(tree, "a.txt"), []byte("alpha"), 0o644)
	os.WriteFile(filepath.Join(tree, "sub", "deeper", "b.txt"), []byte("beta"), 0o644)

	// put DIR without -r: a clear error and nothing left on the share.
	r := runBin(t, "", alicePW, "put", "-U", "alice", tree, s.url("/"))
	if r.code == 0 || !strings.Contains(r.stderr, "is a directory (use -r)") {
		t.Errorf("put DIR: %d %s", r.code, r.stderr)
	}
	if ents, _ := os.ReadDir(s.share); len(ents) != 0 {
		t.Errorf("put DIR left %v on the share", ents)
	}
	// put -r and get -r.
	if r := runBin(t, "", alicePW, "put", "-r", "-U", "alice", tree, s.url("/")); r.code != 0 {
		t.Fatalf("put -r: %s", r.stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(s.share, "tree", "sub", "deeper", "b.txt")); string(b) != "beta" {
		t.Fatalf("put -r: b.txt = %q", b)
	}
	back := filepath.Join(t.TempDir(), "back")
	if r := runBin(t, "", alicePW, "get", "-r", "-U", "alice", s.url("/tree"), back); r.code != 0 {
		t.Fatalf("get -r: %s", r.stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(back, "sub", "deeper", "b.txt")); string(b) != "beta" {
		t.Errorf("get -r: b.txt = %q", b)
	}
	if r := runBin(t, "", alicePW, "get", "-U", "alice", s.url("/tree"), back); r.code == 0 || !strings.Contains(r.stderr, "is a directory (use -r)") {
		t.Errorf("get DIR: %d %s", r.code, r.stderr)
	}
	// Errors in words.
	r = runBin(t, "", alicePW, "rm", "-U", "alice", s.url("/tree"))
	if r.code == 0 || !strings.Contains(r.stderr, "directory not empty (use -r)") {
		t.Errorf("rm non-empty: %s", r.stderr)
	}
	r = runBin(t, "", alicePW, "ls", "-U", "alice", "//"+s.addr+"/nosuch")
	if r.code == 0 || !strings.Contains(r.stderr, "no such share (STATUS_BAD_NETWORK_NAME)") {
		t.Errorf("ls no share: %s", r.stderr)
	}
	r = runBin(t, "", alicePW, "ls", "-U", "alice", s.url("/missing"))
	if r.code == 0 || !strings.Contains(r.stderr, "no such file or directory") {
		t.Errorf("ls missing: %s", r.stderr)
	}
	r = runBin(t, "", alicePW, "ls", "--min-dialect", "3.1.1", "--max-dialect", "2.1", "-U", "alice", s.url("/"))
	if r.code == 0 || !strings.Contains(r.stderr, "--min-dialect 3.1.1 is above --max-dialect 2.1") {
		t.Errorf("dialect range: %s", r.stderr)
	}
	// smb://user@host URLs and --password-stdin.
	r = runBin(t, "pw\n", []string{"USER=nobody"}, "ls", "--password-stdin", "smb://alice@"+s.addr+"/data/tree")
	if r.code != 0 || !strings.Contains(r.stdout, "a.txt") {
		t.Errorf("smb://alice@ with --password-stdin: %d %s %s", r.code, r.stdout, r.stderr)
	}
	r = runBin(t, "", alicePW, "ls", "smb://alice:pw@"+s.addr+"/data")
	if r.code == 0 || !strings.Contains(r.stderr, "password in the URL") {
		t.Errorf("password in URL: %s", r.stderr)
	}
	r = runBin(t, "x", alicePW, "put", "--password-stdin", "-U", "alice", "-", s.url("/x"))
	if r.code == 0 || !strings.Contains(r.stderr, "exclude each other") {
		t.Errorf("--password-stdin with put -: %s", r.stderr)
	}
}

// user passwd changes a password (read from standard input); the old one
// stops working and the new one works.
func TestBinUserPasswd(t *testing.T) {
	s := startBinServer(t, "require_signing = true")
	if r := runBin(t, "new-pw\n", nil, "user", "passwd", "alice", "--password-stdin", "--config", s.config); r.code != 0 {
		t.Fatalf("passwd: %s", r.stderr)
	}
	// The running server sees the users file change within moments.
	var r binResult
	waitFor(t, func() bool {
		r = runBin(t, "", alicePW, "ls", "-U", "alice", s.url("/"))
		return r.code != 0
	}, s.out.String)
	if !strings.Contains(r.stderr, "logon failed") {
		t.Errorf("old password: %d %s", r.code, r.stderr)
	}
	if r := runBin(t, "", []string{"SIGNET_PASSWORD=new-pw"}, "ls", "-U", "alice", s.url("/")); r.code != 0 {
		t.Errorf("new password: %s", r.stderr)
	}
	if r := runBin(t, "pw\n", nil, "user", "passwd", "nobody", "--password-stdin", "--config", s.config); r.code == 0 || !strings.Contains(r.stderr, `no user "nobody"`) {
		t.Errorf("passwd of unknown user: %s", r.stderr)
	}
	if r := runBin(t, "", nil, "user", "disable", "alice", "--config", s.config); r.code != 0 {
		t.Errorf("disable: %s", r.stderr)
	}
}

// The client commands take [client] require_signing from --config: under
// audit, a client that does not require signing shows up as unsigned.
func TestBinClientConfig(t *testing.T) {
	s := startBinServer(t, "require_signing = \"audit\"")
	clientCfg := filepath.Join(t.TempDir(), "client.toml")
	os.WriteFile(clientCfg, []byte("[client]\nrequire_signing = false\n"), 0o644)
	audit := func() float64 {
		r := runBin(t, "", nil, "audit", "report", "--json", "--config", s.config)
		var a struct{ Counts map[string]float64 }
		if err := json.Unmarshal([]byte(r.stdout), &a); err != nil {
			t.Fatalf("audit report: %v %s %s", err, r.stdout, r.stderr)
		}
		return a.Counts["unsigned"]
	}
	if r := runBin(t, "", alicePW, "ls", "-U", "alice", s.url("/")); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if n := audit(); n != 0 {
		t.Fatalf("default client (requires signing) audited: %v", n)
	}
	if r := runBin(t, "", alicePW, "ls", "--config", clientCfg, "-U", "alice", s.url("/")); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if n := audit(); n != 1 {
		t.Fatalf("client with require_signing = false: %v audit events", n)
	}
	if r := runBin(t, "", alicePW, "ls", "--config", clientCfg, "--require-signing=true", "-U", "alice", s.url("/")); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if n := audit(); n != 1 {
		t.Errorf("--require-signing does not override --config: %v", n)
	}
	// The admin commands in text form.
	r := runBin(t, "", nil, "audit", "report", "--config", s.config)
	if !strings.Contains(r.stdout, "clients that require_signing = true would refuse") || !strings.Contains(r.stdout, "alice") {
		t.Errorf("audit report text:\n%s", r.stdout)
	}
	r = runBin(t, "", nil, "policy", "set", "--config", s.config, "server.listen=127.0.0.1:1")
	if r.code != 3 || !strings.Contains(r.stdout, "takes effect after a restart") {
		t.Errorf("policy set listen: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(s.out.String(), "config change not applied: server.listen takes effect after a restart") {
		t.Errorf("no restart line in the log:\n%s", s.out.String())
	}
	r = runBin(t, "", nil, "policy", "set", "--config", s.config, "server.require_signin=true")
	if r.code == 0 || !strings.Contains(r.stderr, "did you mean") {
		t.Errorf("policy set typo: %d %s", r.code, r.stderr)
	}
	r = runBin(t, "", nil, "sessions", "close", "--config", s.config)
	if r.code != 2 || !strings.Contains(r.stderr, "--unsigned") {
		t.Errorf("sessions close without a filter: %d %s", r.code, r.stderr)
	}
	r = runBin(t, "", nil, "status", "--config", filepath.Join(t.TempDir(), "none.toml"))
	if r.code == 0 {
		t.Errorf("status without a server: %d %s", r.code, r.stderr)
	}
}

// [log] format = "json" gives one JSON object per line; level = "debug"
// includes debug lines.
func TestBinJSONLog(t *testing.T) {
	s := startBinServer(t, "require_signing = true\n[log]\nformat = \"json\"\nlevel = \"debug\"\n")
	if r := runBin(t, "", alicePW, "ls", "-U", "alice", s.url("/")); r.code != 0 {
		t.Fatal(r.stderr)
	}
	waitFor(t, func() bool { return strings.Contains(s.out.String(), "session ended") }, s.out.String)
	levels := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(s.out.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not JSON: %q", l)
		}
		levels[fmt.Sprint(m["level"])] = true
		if m["msg"] == "session established" && m["signed"] != true {
			t.Errorf("session line %v", m)
		}
	}
	if !levels["DEBUG"] || !levels["INFO"] {
		t.Errorf("levels %v", levels)
	}
}
