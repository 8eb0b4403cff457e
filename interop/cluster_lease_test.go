package interop

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/signetsmb/signet/client"
	"github.com/signetsmb/signet/cluster/etcdtest"
)

// TestClusterLeaseBreakFlush is the lease part of issue 15's must-show 1
// against real clients: three etcd members, three `signet serve` nodes
// over one folder. The Signet client writes 200 KiB through node A under
// an RWH lease (the file on disk stays empty: the writes are cached); a
// second client opens the file through node B (smbclient `get`) or node C
// (the Signet client): A breaks the lease at B's (C's) request, the
// writer flushes before it acknowledges, and the reader's SHA-256 is the
// writer's. Then node A is killed while its client holds an RWH lease: an
// open through B waits for A only until A's etcd lease (2 s) expires.
func TestClusterLeaseBreakFlush(t *testing.T) {
	needTool(t, "smbclient", "smbclient")
	ec := etcdtest.Start(t, 3)
	shared := t.TempDir()
	a := startClusterNode(t, "a", shared, ec.Endpoints())
	b := startClusterNode(t, "b", shared, ec.Endpoints())
	c := startClusterNode(t, "c", shared, ec.Endpoints())
	for _, s := range []*signetServer{a, b, c} {
		if !s.waitLog("cluster: joined", 5*time.Second) {
			t.Fatalf("node did not join:\n%s", s.Log())
		}
	}
	for _, r := range []struct {
		second string
		node   *signetServer
	}{{"smbclient", b}, {"signet", c}} {
		t.Run(r.second, func(t *testing.T) {
			broke, want, got := leaseBreakFlushAt(t, a.addr, r.node.addr, shared, "cached-"+r.second+".bin", r.second)
			if !broke {
				t.Fatal("node a did not break the write-caching lease for the other node's open")
			}
			if got != want {
				t.Fatalf("%s through another node read SHA-256 %x, writer has %x (cached writes not flushed before the break)", r.second, got[:8], want[:8])
			}
			t.Logf("writer (node a) and %s (other node) both have SHA-256 %x", r.second, want[:8])
		})
	}

	// Node a dies while its client holds an RWH lease.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sess, err := (&client.Dialer{User: testUser, Password: testPassword, NoReconnect: true}).Dial(ctx, a.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	sh, err := sess.Mount(ctx, "share")
	if err != nil {
		t.Fatal(err)
	}
	f, err := sh.Create("orphan.bin")
	if err != nil {
		t.Fatal(err)
	}
	if l := f.Lease(); l.State&client.LeaseWrite == 0 {
		t.Fatalf("no write-caching lease on node a: %+v", l)
	}
	a.cmd.Process.Signal(syscall.SIGKILL)
	a.cmd.Wait()
	a.cmd.Process = nil
	start := time.Now()
	fb := goSMB2Mount(t, b.addr, 0x0311, "share")
	g, err := fb.OpenFile("orphan.bin", os.O_RDWR, 0)
	if err != nil {
		t.Fatalf("open through b after a died: %v", err)
	}
	g.Close()
	if d := time.Since(start); d > 6*time.Second {
		t.Fatalf("open through b waited %v for dead node a (lease_ttl 2s)", d)
	}
	t.Logf("open through b after node a's death took %v", time.Since(start).Round(time.Millisecond))
}

// TestClusterLockImpacket is the share-mode and byte-range part of issue
// 15's must-show 1 against a client we did not write: impacket opens a
// file with deny-write through node A of a three-node cluster, and a write
// open through node B fails with STATUS_SHARING_VIOLATION (a read open
// succeeds, and the write open once A closed). Then impacket locks bytes 0-9 of a file
// exclusively through node A of a three-node cluster; through node C the
// same range cannot be locked (STATUS_LOCK_NOT_GRANTED) nor read
// (STATUS_FILE_LOCK_CONFLICT), the range beside it can; after A unlocks,
// C locks it.
func TestClusterLockImpacket(t *testing.T) {
	py := needImpacket(t)
	ec := etcdtest.Start(t, 3)
	shared := t.TempDir()
	a := startClusterNode(t, "a", shared, ec.Endpoints())
	b := startClusterNode(t, "b", shared, ec.Endpoints())
	c := startClusterNode(t, "c", shared, ec.Endpoints())
	out, err := run(t, time.Minute, py, "testdata/impacket_cluster_lock.py", a.port, c.port, testUser, testPassword, b.port)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var res map[string]any
	if jerr := json.Unmarshal([]byte(lines[len(lines)-1]), &res); jerr != nil {
		t.Fatalf("impacket: %v / %v\n%s", err, jerr, out)
	}
	want := map[string]any{
		"ok":                       true,
		"a_open_deny_write":        "0x00000000",
		"b_open_write":             "0xc0000043", // STATUS_SHARING_VIOLATION
		"b_open_read":              "0x00000000",
		"b_open_write_after_close": "0x00000000",
		"a_lock":                   "0x00000000",
		"c_lock_inside":            "0xc0000055", // STATUS_LOCK_NOT_GRANTED
		"c_lock_beside":            "0x00000000",
		"c_read_inside":            "0xc0000054", // STATUS_FILE_LOCK_CONFLICT
		"a_unlock":                 "0x00000000",
		"c_lock_after_unlock":      "0x00000000",
	}
	for k, v := range want {
		if res[k] != v {
			t.Errorf("%s = %v, want %v (all: %v)", k, res[k], v, res)
		}
	}
}
