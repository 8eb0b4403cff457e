package interop

import (
	"crypto/rand"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/signetsmb/signet/cluster/etcdtest"
)

// TestClusterFailoverPut is issue 15's must-show 2: three etcd members
// and three `signet serve` nodes over one folder. `signet put` of a large
// file (256 MiB; 1 GiB with SIGNET_DURABLE_GIB=1) to node a, with node b
// as its failover address; node a is killed with SIGKILL when half of the
// file is on disk. The client reconnects to b, which reclaims the durable
// handle from etcd once a's lease has expired, and completes the put:
// the SHA-256 on disk matches. Meanwhile one smbclient session on node c
// lists and reads another file every 100 ms and sees no error.
func TestClusterFailoverPut(t *testing.T) {
	smbclient := needTool(t, "smbclient", "smbclient")
	ec := etcdtest.Start(t, 3)
	shared := t.TempDir()
	a := startClusterNode(t, "a", shared, ec.Endpoints())
	b := startClusterNode(t, "b", shared, ec.Endpoints())
	c := startClusterNode(t, "c", shared, ec.Endpoints())
	for _, n := range []*signetServer{a, b, c} {
		if !n.waitLog("cluster: joined", 5*time.Second) {
			t.Fatalf("node did not join:\n%s", n.Log())
		}
	}
	other := make([]byte, 1<<20)
	rand.Read(other)
	if err := os.WriteFile(filepath.Join(shared, "other.bin"), other, 0o644); err != nil {
		t.Fatal(err)
	}

	// One smbclient session on c, fed commands while the put runs.
	sc := exec.Command(smbclient, "//127.0.0.1/share", "-p", c.port, "-U", testUser+"%"+testPassword)
	stdin, err := sc.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var scOut lockedBuf
	sc.Stdout, sc.Stderr = &scOut, &scOut
	if err := sc.Start(); err != nil {
		t.Fatal(err)
	}
	stopC := make(chan struct{})
	var feeder sync.WaitGroup
	rounds := 0
	feeder.Go(func() {
		defer stdin.Close()
		for {
			select {
			case <-stopC:
				io.WriteString(stdin, "quit\n")
				return
			case <-time.After(100 * time.Millisecond):
			}
			if _, err := io.WriteString(stdin, "ls other.bin\nget other.bin /dev/null\n"); err != nil {
				return
			}
			rounds++
		}
	})

	size := bigPutSize()
	local, want := bigLocalFile(t, size)
	target := filepath.Join(shared, "big.bin")
	killed := make(chan time.Time, 1)
	stopKill := make(chan struct{})
	var killer sync.WaitGroup
	defer killer.Wait()
	killer.Go(func() {
		for {
			if fi, err := os.Stat(target); err == nil && fi.Size() >= size/2 {
				a.cmd.Process.Signal(syscall.SIGKILL)
				killed <- time.Now()
				return
			}
			select {
			case <-stopKill:
				close(killed)
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	})
	start := time.Now()
	stdout, stderr, code := signetCLI(t, "put", local, "//"+a.addr+"/share/big.bin", "-U", testUser,
		"--timeout", "60s", "--failover", b.addr)
	took := time.Since(start)
	close(stopKill)
	killAt, wasKilled := <-killed
	if wasKilled {
		a.cmd.Wait()
		a.cmd.Process = nil
	}
	close(stopC)
	feeder.Wait()
	scErr := sc.Wait()

	if !wasKilled {
		t.Fatalf("the put finished before node a was killed; exit %d\n%s%s", code, stdout, stderr)
	}
	t.Logf("signet put of %d MiB: %v in all, node a killed after %v, exit %d", size>>20,
		took.Round(time.Millisecond), killAt.Sub(start).Round(time.Millisecond), code)
	if code != 0 {
		t.Fatalf("put did not survive node a's death: exit %d\n%s%s\nnode b:\n%s", code, stdout, stderr, b.Log())
	}
	if got := streamSHA(t, target); got != want {
		t.Fatalf("SHA-256 on disk %s, want %s", hex.EncodeToString(got[:]), hex.EncodeToString(want[:]))
	}
	if !strings.Contains(b.Log(), "durable handle reclaimed from another node") {
		t.Fatalf("node b did not log the reclaim:\n%s", b.Log())
	}
	t.Logf("SHA-256 %s matches after the failover to node b", hex.EncodeToString(want[:8]))

	out := scOut.String()
	gets := strings.Count(out, "getting file")
	if scErr != nil || strings.Contains(out, "NT_STATUS_") || gets == 0 || gets < rounds-1 {
		t.Fatalf("smbclient on node c: %v, %d gets of %d rounds:\n%s", scErr, gets, rounds, tail(out, 40))
	}
	t.Logf("smbclient on node c: one session, %d ls+get rounds during the put and failover, no error", gets)
}
