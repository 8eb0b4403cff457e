package interop

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/signetsmb/signet/client"
)

// readCacheBreak: the Signet client reads a file under a read-caching
// lease and reads it again from its cache; smbclient then puts new
// content; the server breaks the lease (R away), the client purges its
// cache before acknowledging, and its next read returns smbclient's data.
func readCacheBreak(t *testing.T, server, shareDir string) {
	t.Helper()
	smbclient := needTool(t, "smbclient", "smbclient")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	name := "readcache.txt"
	old := bytes.Repeat([]byte("old data "), 2000)
	sess, err := (&client.Dialer{User: testUser, Password: testPassword, RequireSigning: true}).Dial(ctx, server)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	sh, err := sess.Mount(ctx, "share")
	if err != nil {
		t.Fatal(err)
	}
	w, err := sh.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(old); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(shareDir, name)); err != nil || !bytes.Equal(b, old) {
		t.Fatalf("on disk: %d bytes, %v", len(b), err)
	}
	f, err := sh.OpenFile(name, os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Lease().State&client.LeaseRead == 0 {
		t.Fatalf("no read-caching lease: %+v", f.Lease())
	}
	buf := make([]byte, len(old))
	for range 2 {
		if _, err := f.ReadAt(buf, 0); err != nil || !bytes.Equal(buf, old) {
			t.Fatalf("read: %v", err)
		}
	}
	if n, hits := f.ReadCached(); n != len(old) || hits != 1 {
		t.Fatalf("cache holds %d bytes, %d hits; want %d, 1", n, hits, len(old))
	}
	fresh := bytes.Repeat([]byte("NEW DATA "), 2000)
	src := filepath.Join(t.TempDir(), "fresh.txt")
	if err := os.WriteFile(src, fresh, 0o644); err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(server)
	out, err := run(t, time.Minute, smbclient, "//"+host+"/share", "-p", port, "-U", testUser+"%"+testPassword,
		"-m", "SMB3_11", "--option=client signing=required", "-c", "put "+src+" "+name)
	if err != nil {
		t.Fatalf("smbclient put: %v\n%s", err, out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for f.Lease().State&client.LeaseRead != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the server did not break the read-caching lease: %+v", f.Lease())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := f.ReadAt(buf, 0); err != nil || !bytes.Equal(buf, fresh) {
		t.Fatalf("read after smbclient's put: %v, got %q...", err, buf[:18])
	}
	t.Logf("lease now %x; the client read smbclient's data", f.Lease().State)
}

func TestSignetClientReadCacheSignet(t *testing.T) {
	s := startSignet(t, serverOpts{requireSigning: boolp(true)})
	readCacheBreak(t, s.addr, s.share)
}

func TestSignetClientReadCacheSamba(t *testing.T) {
	addr, shareDir := startSambaConf(t, "mandatory", "kernel oplocks = no\nposix locking = no\n")
	readCacheBreak(t, addr, shareDir)
}
