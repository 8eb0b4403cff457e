package interop

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signetsmb/signet/cluster/etcdtest"
)

// TestClusterConfigSync: the users file and the policy are replicated
// through etcd. Three `signet serve` nodes: a user added on node A with
// `signet user add` logs in on node C (smbclient); a read-only share
// added to A's configuration file (file watch) is served, read-only, by
// C; `signet policy set` on B changes what `signet status` reports on A
// and C. Every change also lands in the other nodes' files.
func TestClusterConfigSync(t *testing.T) {
	needTool(t, "smbclient", "smbclient")
	ec := etcdtest.Start(t, 1)
	shared := t.TempDir()
	a := startClusterNode(t, "a", shared, ec.Endpoints())
	b := startClusterNode(t, "b", shared, ec.Endpoints())
	c := startClusterNode(t, "c", shared, ec.Endpoints())
	for _, n := range []*signetServer{a, b, c} {
		if !n.waitLog("cluster: joined", 5*time.Second) {
			t.Fatalf("node did not join:\n%s", n.Log())
		}
	}
	if !strings.Contains(a.Log(), "the cluster had no users; published the local one") ||
		!strings.Contains(c.Log(), "local users is the cluster's") {
		t.Fatalf("join did not say which users file each node uses:\nA:\n%s\nC:\n%s", a.Log(), c.Log())
	}

	// One machine SID for the cluster, so a user has one SID on every node
	// (the owners stored in security descriptors on the shared folder).
	sids := make([]string, 3)
	for i, n := range []*signetServer{a, b, c} {
		raw, err := os.ReadFile(filepath.Join(n.dir, "users.sid"))
		if err != nil {
			t.Fatal(err)
		}
		sids[i] = strings.TrimSpace(string(raw))
	}
	if sids[0] != sids[1] || sids[0] != sids[2] || !strings.Contains(b.Log(), "using the cluster's machine SID") {
		t.Fatalf("machine SIDs differ between nodes: %q\nB:\n%s", sids, b.Log())
	}

	within := func(what string, d time.Duration, ok func() bool) time.Duration {
		t.Helper()
		start := time.Now()
		for !ok() {
			if time.Since(start) > d {
				t.Fatalf("%s: not within %v\nA:\n%s\nB:\n%s\nC:\n%s", what, d, a.Log(), b.Log(), c.Log())
			}
			time.Sleep(100 * time.Millisecond)
		}
		return time.Since(start)
	}

	// A user added on A logs in on C.
	add := exec.Command(signetBin, "user", "add", "carol", "--users-file", filepath.Join(a.dir, "users"))
	add.Env = append(os.Environ(), "SIGNET_PASSWORD=Carol-pw-1")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("signet user add: %v\n%s", err, out)
	}
	// (Polled on C's log, not by logging on: a failed logon costs 2 s.)
	d := within("new user of A applied on C", 10*time.Second, func() bool {
		return strings.Contains(c.Log(), "cluster: applied the cluster's new users")
	})
	t.Logf("user added on A applied on C %v after `signet user add` returned", d.Round(time.Millisecond))
	if out, err := smbclientAt(t, c.port, "-U", "carol%Carol-pw-1", "-c", "ls"); err != nil || strings.Contains(out, "NT_STATUS_") {
		t.Fatalf("new user of A logs on to C: %v\n%s", err, out)
	}
	if data, err := os.ReadFile(filepath.Join(b.dir, "users")); err != nil || !strings.Contains(string(data), "carol:") {
		t.Fatalf("B's users file lacks carol: %v\n%s", err, data)
	}

	// A read-only share added to A's file is served read-only by C.
	extra := filepath.Join(shared, "extra")
	if err := os.Mkdir(extra, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(extra, "seen.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(a.config)
	if err != nil {
		t.Fatal(err)
	}
	a.writeConfig(string(text) + "\n[[share]]\nname = \"extra\"\npath = \"" + extra + "\"\nread_only = true\n")
	smbExtra := func(s *signetServer, cmd string) string {
		bin := needTool(t, "smbclient", "smbclient")
		out, _ := run(t, time.Minute, bin, "//127.0.0.1/extra", "-p", s.port, "-U", testUser+"%"+testPassword, "-c", cmd)
		return out
	}
	d = within("share added on A served by C", 10*time.Second, func() bool {
		return strings.Contains(smbExtra(c, "ls"), "seen.txt")
	})
	t.Logf("share added on A served by C after %v", d.Round(time.Millisecond))
	local := filepath.Join(t.TempDir(), "up.txt")
	os.WriteFile(local, []byte("y"), 0o644)
	if out := smbExtra(c, "put "+local+" up.txt"); !strings.Contains(out, "NT_STATUS_") {
		t.Fatalf("write to the read-only share through C:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(extra, "up.txt")); err == nil {
		t.Fatal("file written to a read-only share through C")
	}

	// `signet policy set` on B reaches A and C.
	before := status(t, c).Server.RequireSigning
	want := "false"
	if before == "false" {
		want = "true"
	}
	signetCmd(t, nil, "policy", "set", "--config", b.config, "server.require_signing="+want)
	d = within("policy set on B seen on A and C", 10*time.Second, func() bool {
		return status(t, a).Server.RequireSigning == want && status(t, c).Server.RequireSigning == want
	})
	t.Logf("policy set on B seen in `signet status` of A and C %v after it returned", d.Round(time.Millisecond))
	// Per-node keys stay per node.
	for _, n := range []*signetServer{a, c} {
		data, _ := os.ReadFile(n.config)
		if !strings.Contains(string(data), n.addr) || !strings.Contains(string(data), "require_signing = "+want) {
			t.Fatalf("%s after the change:\n%s", n.config, data)
		}
	}
}
