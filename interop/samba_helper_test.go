package interop

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// sambaInstance is a private smbd started by startSamba.
type sambaInstance struct {
	dir  string
	cmd  *exec.Cmd
	log  lockedBuf
	addr string
}

// startSamba starts a private Samba smbd on a free loopback port with
// `server signing = signing` ("mandatory" or "auto"), one read-write share
// named "share", and the user testUser/testPassword. It returns the
// listening address and the share's directory on disk. smbd runs in the
// foreground in its own process group and is killed in Cleanup.
//
// It needs root (for the Unix account and smbd); without root it skips,
// except under CI=true where it fails.
func startSamba(t testing.TB, signing string) (addr, shareDir string) {
	t.Helper()
	return startSambaConf(t, signing, "")
}

// startSambaConf is startSamba with extra [global] lines (which override
// the defaults, e.g. "map to guest = bad user").
func startSambaConf(t testing.TB, signing, extraGlobal string) (addr, shareDir string) {
	t.Helper()
	smbd := needTool(t, "smbd", "samba")
	smbpasswd := needTool(t, "smbpasswd", "samba")
	needRoot(t, "starting smbd and adding a Unix user")
	ensureUnixUser(t, testUser)

	s := &sambaInstance{dir: t.TempDir()}
	// smbd's children switch to the user's uid and must still reach the
	// lock directory: there each process's msg.lock file tells the others
	// it is alive. Without access every other connection's share modes,
	// oplocks and leases look stale and are ignored.
	for _, d := range []string{filepath.Dir(s.dir), s.dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	shareDir = sambaShareDir(t)
	port := freePort(t)
	s.addr = "127.0.0.1:" + port
	conf := filepath.Join(s.dir, "smb.conf")
	if err := os.WriteFile(conf, []byte(sambaConfig(s.dir, shareDir, port, signing, extraGlobal)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"private", "lock", "state", "cache", "pid", "ncalrpc"} {
		if err := os.MkdirAll(filepath.Join(s.dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	add := exec.Command(smbpasswd, "-s", "-c", conf, "-a", testUser)
	add.Stdin = strings.NewReader(testPassword + "\n" + testPassword + "\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("smbpasswd -a %s: %v\n%s", testUser, err, out)
	}
	s.cmd = exec.Command(smbd, "-F", "--no-process-group", "--debug-stdout", "-d", "1", "-s", conf)
	s.cmd.Stdout, s.cmd.Stderr = &s.log, &s.log
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.stop(t) })
	s.waitListening(t)
	return s.addr, shareDir
}

// sambaConfig is the smb.conf of a private instance under dir, per
// PEERS.md.
func sambaConfig(dir, shareDir, port, signing, extraGlobal string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[global]\n")
	for _, kv := range [][2]string{
		{"smb ports", port},
		{"interfaces", "lo"},
		{"bind interfaces only", "yes"},
		{"server role", "standalone server"},
		{"server signing", signing},
		{"server min protocol", "SMB2_02"},
		{"passdb backend", "tdbsam:" + filepath.Join(dir, "private", "passdb.tdb")},
		{"private dir", filepath.Join(dir, "private")},
		{"lock directory", filepath.Join(dir, "lock")},
		{"state directory", filepath.Join(dir, "state")},
		{"cache directory", filepath.Join(dir, "cache")},
		{"pid directory", filepath.Join(dir, "pid")},
		{"ncalrpc dir", filepath.Join(dir, "ncalrpc")},
		{"log file", filepath.Join(dir, "log")},
		{"load printers", "no"},
		{"disable spoolss", "yes"},
		{"printcap name", "/dev/null"},
		{"map to guest", "never"},
		{"server services", "-nbt"},
	} {
		fmt.Fprintf(&b, "%s = %s\n", kv[0], kv[1])
	}
	b.WriteString(extraGlobal)
	fmt.Fprintf(&b, "[share]\npath = %s\nread only = no\n", shareDir)
	return b.String()
}

// sambaShareDir creates a share directory the test user can write:
// t.TempDir() is not traversable by other users, so the share lives in
// its own world-writable directory, removed in Cleanup.
func sambaShareDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "signet-samba-share-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	return dir
}

// needRoot skips (or fails under CI=true) when not running as root.
func needRoot(t testing.TB, why string) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	msg := "not root: " + why + " needs root"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// ensureUnixUser adds a Unix account without a home directory unless it
// exists; smbpasswd needs one.
func ensureUnixUser(t testing.TB, name string) {
	t.Helper()
	if err := exec.Command("id", name).Run(); err == nil {
		return
	}
	if out, err := exec.Command("useradd", "-M", name).CombinedOutput(); err != nil {
		// A concurrent test may have added it in the meantime.
		if exec.Command("id", name).Run() != nil {
			t.Fatalf("useradd -M %s: %v\n%s", name, err, out)
		}
	}
}

// waitListening waits until smbd accepts connections.
func (s *sambaInstance) waitListening(t testing.TB) {
	t.Helper()
	exited := make(chan error, 1)
	go func() { exited <- s.cmd.Wait() }()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", s.addr, 200*time.Millisecond); err == nil {
			c.Close()
			go func() { <-exited }()
			return
		}
		select {
		case err := <-exited:
			t.Fatalf("smbd exited (%v) before listening on %s:\n%s", err, s.addr, s.log.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Fatalf("smbd did not listen on %s:\n%s", s.addr, s.log.String())
}

// stop kills smbd's process group (smbd, its per-connection children and
// any samba-dcerpcd it spawned), then anything that recorded its pid under
// the instance's pid directory.
func (s *sambaInstance) stop(t testing.TB) {
	pgid := s.cmd.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && syscall.Kill(-pgid, 0) == nil {
		time.Sleep(50 * time.Millisecond)
	}
	syscall.Kill(-pgid, syscall.SIGKILL)
	pids, _ := filepath.Glob(filepath.Join(s.dir, "pid", "*.pid"))
	for _, f := range pids {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	if t.Failed() {
		t.Logf("smbd output:\n%s", s.log.String())
		if b, err := os.ReadFile(filepath.Join(s.dir, "log")); err == nil {
			t.Logf("smbd log file:\n%s", b)
		}
	}
}
