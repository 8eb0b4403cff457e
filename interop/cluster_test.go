package interop

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	smb2 "github.com/cloudsoda/go-smb2"

	"github.com/signetsmb/signet/cluster/etcdtest"
)

// startClusterNode starts `signet serve` as node name of the etcd cluster
// at endpoints, serving "share" from the folder shared (shared by every
// node).
func startClusterNode(t *testing.T, name, shared string, endpoints []string) *signetServer {
	t.Helper()
	s := &signetServer{t: t, dir: t.TempDir(), port: freePort(t), share: shared}
	s.addr = "127.0.0.1:" + s.port
	s.config = filepath.Join(s.dir, "signet.toml")
	s.writeConfig(fmt.Sprintf(`[server]
listen = %q
users_file = "users"
server_name = "SIGNETTEST"

[cluster]
endpoints = ["%s"]
node = %q
lease_ttl = "2s"
request_timeout = "1s"

[[share]]
name = "share"
path = %q
`, s.addr, strings.Join(endpoints, `", "`), name, shared))
	s.addUserAndStart(t)
	return s
}

const statusSharingViolation = 0xC0000043

func isSharingViolation(err error) bool {
	var re *smb2.ResponseError
	return errors.As(err, &re) && re.Code == statusSharingViolation
}

// TestClusterServeNodes: three `signet serve` processes, each a node of a
// three-member etcd cluster, over one folder. A file held open through
// node A by go-smb2 (which shares read and write, not delete) cannot be
// deleted through node B (go-smb2) or node C (smbclient): the share modes
// are cluster-wide. When A is killed (SIGKILL), its share modes vanish
// with its etcd lease and B deletes the file.
func TestClusterServeNodes(t *testing.T) {
	needTool(t, "smbclient", "smbclient")
	ec := etcdtest.Start(t, 3)
	shared := t.TempDir()
	a := startClusterNode(t, "a", shared, ec.Endpoints())
	b := startClusterNode(t, "b", shared, ec.Endpoints())
	c := startClusterNode(t, "c", shared, ec.Endpoints())
	if !a.waitLog("cluster: joined", 5*time.Second) {
		t.Fatalf("node a did not log joining:\n%s", a.Log())
	}

	fa := goSMB2Mount(t, a.addr, 0x0311, "share")
	f, err := fa.OpenFile("held.txt", os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("held through node a")); err != nil {
		t.Fatal(err)
	}
	fb := goSMB2Mount(t, b.addr, 0x0311, "share")
	if err := fb.Remove("held.txt"); !isSharingViolation(err) {
		t.Fatalf("delete through node b of a file open on a: %v, want STATUS_SHARING_VIOLATION", err)
	}
	// The file is readable through b (a shares read and write).
	if data, err := fb.ReadFile("held.txt"); err != nil || string(data) != "held through node a" {
		t.Fatalf("read through node b: %q %v", data, err)
	}
	out, _ := smbclientAt(t, c.port, "-U", testUser+"%"+testPassword, "-c", "del held.txt")
	if !strings.Contains(out, "NT_STATUS_SHARING_VIOLATION") {
		t.Fatalf("smbclient del through node c: want NT_STATUS_SHARING_VIOLATION, got:\n%s", out)
	}

	// Node a dies without closing: its lease (2s) takes its share modes.
	a.cmd.Process.Signal(syscall.SIGKILL)
	a.cmd.Wait()
	a.cmd.Process = nil
	deadline := time.Now().Add(8 * time.Second)
	for {
		err := fb.Remove("held.txt")
		if err == nil {
			break
		}
		if !isSharingViolation(err) || time.Now().After(deadline) {
			t.Fatalf("delete through b after a died: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if _, err := os.Stat(filepath.Join(shared, "held.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("file still on the shared folder: %v", err)
	}
}
