package interop

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/signetsmb/signet/client"
	"github.com/signetsmb/signet/internal/wire"
)

// TestClientSignetRoundTrip: the Signet client moves a 64 MiB file to and
// from the Signet server with several requests in flight, byte-identical
// (also checked on disk), for every dialect, signing required.
func TestClientSignetRoundTrip(t *testing.T) {
	s := startSignet(t, serverOpts{requireSigning: boolp(true)})
	data := make([]byte, 64<<20)
	rand.Read(data)
	want := sha256.Sum256(data)
	for _, d := range []uint16{wire.Dialect202, wire.Dialect210, wire.Dialect300, wire.Dialect302, wire.Dialect311} {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		sess, err := (&client.Dialer{User: testUser, Password: testPassword, RequireSigning: true, MinDialect: d, MaxDialect: d}).Dial(ctx, s.addr)
		if err != nil {
			t.Fatalf("%s: %v", wire.DialectName(d), err)
		}
		sh, err := sess.Mount(ctx, "share")
		if err != nil {
			t.Fatal(err)
		}
		f, err := sh.Create("rt.bin")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.ReadFrom(bytes.NewReader(data)); err != nil {
			t.Fatalf("%s: upload: %v", wire.DialectName(d), err)
		}
		f.Close()
		onDisk, _ := os.ReadFile(filepath.Join(s.share, "rt.bin"))
		if sha256.Sum256(onDisk) != want {
			t.Fatalf("%s: file on disk differs", wire.DialectName(d))
		}
		g, err := sh.OpenFile("rt.bin", os.O_RDONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		if _, err := io.Copy(h, g); err != nil || [32]byte(h.Sum(nil)) != want {
			t.Fatalf("%s: download differs (%v)", wire.DialectName(d), err)
		}
		g.Close()
		if err := sh.Remove("rt.bin"); err != nil {
			t.Fatal(err)
		}
		sess.Close()
		cancel()
	}
}
