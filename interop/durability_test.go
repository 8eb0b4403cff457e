package interop

import (
	"bytes"
	"context"
	"crypto/rand"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	smb2 "github.com/cloudsoda/go-smb2"
)

// TestFlushReachesDisk: after a FLUSH from a client we did not write
// (go-smb2's File.Sync) returns, the bytes are in the file on disk, read
// outside the server.
func TestFlushReachesDisk(t *testing.T) {
	s := startSignet(t, serverOpts{requireSigning: boolp(true)})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	d := &smb2.Dialer{Initiator: &smb2.NTLMInitiator{User: testUser, Password: testPassword},
		Negotiator: smb2.Negotiator{RequireMessageSigning: true}}
	sess, err := d.DialConn(ctx, conn, s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Logoff()
	fs, err := sess.Mount("share")
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Umount()
	f, err := fs.Create("durable.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	data := make([]byte, 3<<20)
	rand.Read(data)
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatalf("FLUSH: %v", err)
	}
	// The handle is still open on the server: read the file from disk.
	got, err := os.ReadFile(filepath.Join(s.share, "durable.bin"))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("after FLUSH the file on disk differs (%d of %d bytes, %v)", len(got), len(data), err)
	}
}

// TestClientKilledMidWrite: a client killed in the middle of a large write
// leaves the server running; other sessions keep working and the partial
// file is not left locked.
func TestClientKilledMidWrite(t *testing.T) {
	bin := needTool(t, "smbclient", "smbclient")
	s := startSignet(t, serverOpts{requireSigning: boolp(true)})
	src := filepath.Join(t.TempDir(), "big.bin")
	writeRandom(t, src, 256<<20)
	cmd := exec.Command(bin, "//127.0.0.1/share", "-p", s.port, "-U", testUser+"%"+testPassword,
		"-c", "put "+src+" partial.bin")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it once the upload is under way.
	deadline := time.Now().Add(20 * time.Second)
	for {
		if fi, err := os.Stat(filepath.Join(s.share, "partial.bin")); err == nil && fi.Size() > 0 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("upload never started")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	// Another session works at once.
	out, err := run(t, time.Minute, bin, "//127.0.0.1/share", "-p", s.port, "-U", testUser+"%"+testPassword, "-c", "ls")
	if err != nil || !strings.Contains(out, "partial.bin") || strings.Contains(out, "NT_STATUS_") {
		t.Fatalf("after the killed client, a new session failed: %v\n%s", err, out)
	}
	// The dead client's open goes away once the server has torn its
	// connection down (it finishes the writes already in flight first);
	// until then the file is in use, as on Windows.
	deadline = time.Now().Add(15 * time.Second)
	for {
		out, _ = run(t, time.Minute, bin, "//127.0.0.1/share", "-p", s.port, "-U", testUser+"%"+testPassword, "-c", "rm partial.bin")
		if !strings.Contains(out, "NT_STATUS_SHARING_VIOLATION") || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if strings.Contains(out, "NT_STATUS_") {
		t.Fatalf("the partial file stayed in use: %s", out)
	}
	if _, err := os.Stat(filepath.Join(s.share, "partial.bin")); !os.IsNotExist(err) {
		t.Fatalf("partial file not removed: %v", err)
	}
	if s.cmd.ProcessState != nil {
		t.Fatal("server exited")
	}
}
