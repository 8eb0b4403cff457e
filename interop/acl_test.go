package interop

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSmbcaclsSignet: Samba's smbcacls lists the security descriptor of a
// file on Signet with names (SIDs looked up over lsarpc), adds an ACE
// denying a second user read access, which then gets ACCESS_DENIED from
// smbclient while the owner still reads; the ACE survives a server restart
// (it is stored with the file), and removing it gives the access back.
//
// smbcacls 4.17 has no port option (it dials 445, then 139), so the server
// listens on port 445 of a loopback address of its own (127.x.y.z); a
// machine where the test may not bind port 445 skips it.
func TestSmbcaclsSignet(t *testing.T) {
	cacls := needTool(t, "smbcacls", "smbclient")
	smbclient := needTool(t, "smbclient", "smbclient")
	host := fmt.Sprintf("127.%d.%d.%d", 20+rand.IntN(200), rand.IntN(250), 1+rand.IntN(250))
	l, err := net.Listen("tcp", host+":445")
	if err != nil {
		t.Skipf("smbcacls dials port 445 only, and this test may not listen there: %v", err)
	}
	l.Close()

	dir := t.TempDir()
	share := filepath.Join(dir, "share")
	if err := os.Mkdir(share, 0o755); err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(dir, "signet.toml")
	text := fmt.Sprintf("[server]\nlisten = %q\nusers_file = \"users\"\nserver_name = \"SIGNETTEST\"\nrequire_signing = true\n"+
		"\n[[share]]\nname = \"share\"\npath = \"share\"\n", host+":445")
	if err := os.WriteFile(config, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{testUser, "bob"} {
		add := exec.Command(signetBin, "user", "add", u, "--users-file", filepath.Join(dir, "users"))
		add.Env = append(os.Environ(), "SIGNET_PASSWORD="+testPassword)
		if out, err := add.CombinedOutput(); err != nil {
			t.Fatalf("signet user add %s: %v\n%s", u, err, out)
		}
	}
	start := func() *signetServer {
		s := &signetServer{t: t, dir: dir, config: config, share: share, addr: host + ":445", port: "445"}
		s.cmd = exec.Command(signetBin, "serve", "--config", config)
		s.cmd.Stdout = &lockedWriter{s}
		s.cmd.Stderr = &lockedWriter{s}
		if err := s.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.stop)
		waitPort(t, s.addr)
		return s
	}
	s := start()
	if err := os.WriteFile(filepath.Join(dir, "data.txt"), []byte("secret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The file is created through Signet, so it gets a descriptor with
	// alice as its owner.
	if out, err := run(t, time.Minute, smbclient, "//"+host+"/share", "-U", testUser+"%"+testPassword,
		"-c", "put "+filepath.Join(dir, "data.txt")+" f.txt"); err != nil {
		t.Fatalf("smbclient put: %v\n%s", err, out)
	}
	cacls1 := func(args ...string) string {
		t.Helper()
		full := append([]string{"//" + host + "/share", "f.txt", "-U", testUser + "%" + testPassword}, args...)
		out, err := run(t, time.Minute, cacls, full...)
		if err != nil {
			t.Fatalf("smbcacls %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	get := func(user string) (string, error) {
		return run(t, time.Minute, smbclient, "//"+host+"/share", "-U", user+"%"+testPassword,
			"-c", "get f.txt "+filepath.Join(dir, "got-"+user))
	}
	out := cacls1()
	for _, want := range []string{`OWNER:SIGNETTEST\alice`, `ACL:SIGNETTEST\alice:ALLOWED/I/FULL`, `ACL:Everyone:ALLOWED/I/FULL`} {
		if !strings.Contains(out, want) {
			t.Fatalf("smbcacls listing lacks %q:\n%s", want, out)
		}
	}
	if out, err := get("bob"); err != nil {
		t.Fatalf("bob reads before the deny ACE: %v\n%s", err, out)
	}
	deny := `ACL:SIGNETTEST\bob:DENIED/0/READ`
	cacls1("-a", deny)
	if out := cacls1(); !strings.Contains(out, `ACL:SIGNETTEST\bob:DENIED/0x0/READ`) {
		t.Fatalf("added ACE not listed:\n%s", out)
	}
	if out, err := get("bob"); err == nil || !strings.Contains(out, "NT_STATUS_ACCESS_DENIED") {
		t.Fatalf("bob denied read: want NT_STATUS_ACCESS_DENIED, got %v\n%s", err, out)
	}

	s.stop()
	s.cmd.Process = nil // stopped: the cleanup has nothing left to do
	start()
	if out := cacls1(); !strings.Contains(out, `ACL:SIGNETTEST\bob:DENIED/0x0/READ`) {
		t.Fatalf("deny ACE lost across a restart:\n%s", out)
	}
	if out, err := get("bob"); err == nil || !strings.Contains(out, "NT_STATUS_ACCESS_DENIED") {
		t.Fatalf("bob after restart: want NT_STATUS_ACCESS_DENIED, got %v\n%s", err, out)
	}
	if out, err := get(testUser); err != nil {
		t.Fatalf("the owner reads: %v\n%s", err, out)
	}

	cacls1("-D", deny)
	if out := cacls1(); strings.Contains(out, `SIGNETTEST\bob`) {
		t.Fatalf("removed ACE still listed:\n%s", out)
	}
	if out, err := get("bob"); err != nil {
		t.Fatalf("bob reads after the ACE is removed: %v\n%s", err, out)
	}
}

// TestRpcclientLsarpc: Samba's rpcclient turns names into SIDs and back
// over Signet's lsarpc pipe, and reads the policy's domain information.
func TestRpcclientLsarpc(t *testing.T) {
	rpc := needTool(t, "rpcclient", "smbclient")
	s := startSignet(t, serverOpts{requireSigning: boolp(true)})
	out, err := run(t, time.Minute, rpc, "-p", s.port, "-U", testUser+"%"+testPassword, "127.0.0.1",
		"-c", "lsaquery; lookupnames "+testUser+"; lookupsids S-1-1-0 S-1-5-32-544 S-1-5-18")
	if err != nil {
		t.Fatalf("rpcclient: %v\n%s", err, out)
	}
	sid, ok := "", false
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == testUser && strings.HasPrefix(f[1], "S-1-5-21-") {
			sid, ok = f[1], strings.Contains(line, "(User: 1)")
		}
	}
	if !ok {
		t.Fatalf("lookupnames %s: no user SID in\n%s", testUser, out)
	}
	for _, want := range []string{`S-1-1-0 \Everyone (5)`, `S-1-5-32-544 BUILTIN\Administrators (4)`, `S-1-5-18 NT AUTHORITY\SYSTEM (5)`} {
		if !strings.Contains(out, want) {
			t.Errorf("lookupsids: %q missing in\n%s", want, out)
		}
	}
	// And back: the user's SID names the user, under the server's name.
	out, err = run(t, time.Minute, rpc, "-p", s.port, "-U", testUser+"%"+testPassword, "127.0.0.1", "-c", "lookupsids "+sid)
	if err != nil || !strings.Contains(out, sid+` SIGNETTEST\`+testUser+" (1)") {
		t.Fatalf("lookupsids %s: %v\n%s", sid, err, out)
	}
}
