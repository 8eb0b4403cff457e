package interop

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net"
	"testing"
	"time"

	smb2 "github.com/cloudsoda/go-smb2"
)

// TestGoSMB2RequireSigning: the cloudsoda/go-smb2 client with
// RequireMessageSigning mounts the share and does a 64 MiB round trip,
// directory listing, rename and removal, against a server that requires
// signing and one that does not (the client then still requires it).
func TestGoSMB2RequireSigning(t *testing.T) {
	for _, require := range []bool{true, false} {
		s := startSignet(t, serverOpts{requireSigning: boolp(require)})
		for _, dialect := range []uint16{0x0202, 0x0210, 0x0300, 0x0302, 0x0311} {
			goSMB2RoundTrip(t, s.addr, dialect)
		}
	}
}

// goSMB2Mount logs on to addr with go-smb2 (signing required, one
// dialect) and mounts share; both are undone when the test ends.
func goSMB2Mount(t *testing.T, addr string, dialect uint16, share string) *smb2.Share {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	d := &smb2.Dialer{
		Initiator:  &smb2.NTLMInitiator{User: testUser, Password: testPassword},
		Negotiator: smb2.Negotiator{RequireMessageSigning: true, SpecifiedDialect: dialect},
	}
	sess, err := d.DialConn(ctx, conn, addr)
	if err != nil {
		t.Fatalf("dialect %#x: dial: %v", dialect, err)
	}
	t.Cleanup(func() { sess.Logoff() })
	fs, err := sess.Mount(share)
	if err != nil {
		t.Fatalf("dialect %#x: mount: %v", dialect, err)
	}
	t.Cleanup(func() { fs.Umount() })
	return fs
}

func goSMB2RoundTrip(t *testing.T, addr string, dialect uint16) {
	t.Helper()
	fs := goSMB2Mount(t, addr, dialect, "share")
	data := make([]byte, 64<<20)
	rand.Read(data)
	if err := fs.Mkdir("gosmb2", 0o755); err != nil {
		t.Fatalf("dialect %#x: mkdir: %v", dialect, err)
	}
	f, err := fs.Create("gosmb2/big.bin")
	if err != nil {
		t.Fatalf("dialect %#x: create: %v", dialect, err)
	}
	if _, err := io.Copy(f, bytes.NewReader(data)); err != nil {
		t.Fatalf("dialect %#x: write: %v", dialect, err)
	}
	f.Close()
	got, err := fs.ReadFile("gosmb2/big.bin")
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("dialect %#x: read back: %v (equal=%v)", dialect, err, bytes.Equal(got, data))
	}
	ents, err := fs.ReadDir("gosmb2")
	if err != nil || len(ents) != 1 || ents[0].Name() != "big.bin" || ents[0].Size() != int64(len(data)) {
		t.Fatalf("dialect %#x: readdir: %v %v", dialect, ents, err)
	}
	if err := fs.Rename("gosmb2/big.bin", "gosmb2/moved.bin"); err != nil {
		t.Fatalf("dialect %#x: rename: %v", dialect, err)
	}
	if err := fs.Remove("gosmb2/moved.bin"); err != nil {
		t.Fatalf("dialect %#x: remove: %v", dialect, err)
	}
	if err := fs.Remove("gosmb2"); err != nil {
		t.Fatalf("dialect %#x: rmdir: %v", dialect, err)
	}
}

// goSMB2EncryptedRoundTrip mounts the encrypted share "secret" with
// go-smb2 and moves 16 MiB both ways.
func goSMB2EncryptedRoundTrip(t *testing.T, addr string, dialect uint16) {
	t.Helper()
	fs := goSMB2Mount(t, addr, dialect, "secret")
	data := make([]byte, 16<<20)
	rand.Read(data)
	if err := fs.WriteFile("enc.bin", data, 0o644); err != nil {
		t.Fatalf("dialect %#x: write: %v", dialect, err)
	}
	got, err := fs.ReadFile("enc.bin")
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("dialect %#x: read back: %v (equal %v)", dialect, err, bytes.Equal(got, data))
	}
	if err := fs.Remove("enc.bin"); err != nil {
		t.Fatalf("dialect %#x: remove: %v", dialect, err)
	}
}
