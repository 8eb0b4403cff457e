package interop

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/signetsmb/signet/client"
)

// sambaPair is one Samba requiring signing and one that does not.
type sambaPair struct {
	mandatory, auto       string // addresses
	mandatoryDir, autoDir string // share directories
}

func startSambaPair(t *testing.T) sambaPair {
	var p sambaPair
	p.mandatory, p.mandatoryDir = startSamba(t, "mandatory")
	p.auto, p.autoDir = startSamba(t, "auto")
	return p
}

func dialSamba(t *testing.T, addr string, dialect uint16, requireSigning bool) *client.Session {
	t.Helper()
	d := &client.Dialer{
		User: testUser, Password: testPassword,
		RequireSigning: requireSigning,
		MinDialect:     dialect, MaxDialect: dialect,
		Timeout: 30 * time.Second,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := d.Dial(ctx, addr)
	if err != nil {
		t.Fatalf("Dial %s (dialect %s, require signing %v): %v", addr, client.DialectName(dialect), requireSigning, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestClientAgainstSamba runs the client against Samba with signing
// mandatory and auto, for dialects 2.0.2, 3.0.2 and 3.1.1, with the
// client requiring signing or not: the session is signed whenever either
// side requires it, and the file operations work.
func TestClientAgainstSamba(t *testing.T) {
	p := startSambaPair(t)
	servers := []struct {
		name, addr, dir string
		requires        bool
	}{
		{"mandatory", p.mandatory, p.mandatoryDir, true},
		{"auto", p.auto, p.autoDir, false},
	}
	for _, srv := range servers {
		for _, dialect := range []uint16{client.Dialect202, client.Dialect302, client.Dialect311} {
			for _, req := range []bool{true, false} {
				name := srv.name + "/" + client.DialectName(dialect) + "/require=" + map[bool]string{true: "yes", false: "no"}[req]
				t.Run(name, func(t *testing.T) {
					s := dialSamba(t, srv.addr, dialect, req)
					if s.Dialect() != dialect {
						t.Fatalf("dialect %s, want %s", client.DialectName(s.Dialect()), client.DialectName(dialect))
					}
					if want := req || srv.requires; s.Signed() != want {
						t.Fatalf("Signed() = %v, want %v", s.Signed(), want)
					}
					if dialect == client.Dialect311 && s.SigningAlgorithm() != client.SigningAESGMAC {
						t.Errorf("3.1.1 signing algorithm %s, want AES-128-GMAC", client.SigningAlgorithmName(s.SigningAlgorithm()))
					}
					exerciseShare(t, s, srv.dir, "d"+strings.ReplaceAll(name, "/", "_"))
				})
			}
		}
	}
}

// exerciseShare mounts "share" and runs the file operations in the
// directory top: Mkdir, a 4 MiB random file written and read back,
// ReadDir, Stat, Rename, Remove; Shares lists "share".
func exerciseShare(t *testing.T, s *client.Session, shareDir, top string) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sh, err := s.Mount(ctx, "share")
	if err != nil {
		t.Fatalf("Mount: %v", err)
	}
	defer sh.Umount()
	sh = sh.WithContext(ctx)
	if err := sh.Mkdir(top, 0o755); err != nil {
		t.Fatalf("Mkdir: %v", err)
	}
	if err := sh.Mkdir(top, 0o755); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second Mkdir: %v, want fs.ErrExist", err)
	}
	data := make([]byte, 4<<20+123)
	rand.Read(data)
	name := top + "/random.bin"
	writeClientFile(t, sh, name, data)
	got, err := sh.ReadFile(name)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("ReadFile: %d bytes, equal %v, err %v", len(got), bytes.Equal(got, data), err)
	}
	onDisk, err := os.ReadFile(filepath.Join(shareDir, top, "random.bin"))
	if err != nil || !bytes.Equal(onDisk, data) {
		t.Fatalf("file on the server's disk differs (%v)", err)
	}
	checkReadAt(t, sh, name, data)
	checkStatAndList(t, sh, top, len(data))
	if err := sh.Rename(name, top+"/renamed.bin"); err != nil {
		t.Fatalf("Rename: %v", err)
	}
	if _, err := sh.Stat(name); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Stat after rename: %v, want fs.ErrNotExist", err)
	}
	if err := sh.Remove(top + "/renamed.bin"); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if err := sh.Remove(top); err != nil {
		t.Fatalf("Remove dir: %v", err)
	}
	if _, err := os.Stat(filepath.Join(shareDir, top)); !os.IsNotExist(err) {
		t.Fatalf("directory still on disk: %v", err)
	}
	checkShares(t, s)
}

func writeClientFile(t *testing.T, sh *client.Share, name string, data []byte) {
	t.Helper()
	f, err := sh.Create(name)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	n, err := io.Copy(f, bytes.NewReader(data))
	if err != nil || n != int64(len(data)) {
		t.Fatalf("copy to %s: %d bytes, %v", name, n, err)
	}
	if err := f.Sync(); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func checkReadAt(t *testing.T, sh *client.Share, name string, data []byte) {
	t.Helper()
	f, err := sh.OpenFile(name, os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, len(data))
	if n, err := f.ReadAt(buf, 0); n != len(data) || err != nil || !bytes.Equal(buf, data) {
		t.Fatalf("ReadAt whole file: %d, %v", n, err)
	}
	n, err := f.ReadAt(buf, int64(len(data)-10))
	if n != 10 || err != io.EOF || !bytes.Equal(buf[:10], data[len(data)-10:]) {
		t.Fatalf("ReadAt across EOF: %d, %v", n, err)
	}
}

func checkStatAndList(t *testing.T, sh *client.Share, top string, size int) {
	t.Helper()
	fi, err := sh.Stat(top + "/random.bin")
	if err != nil || fi.Size() != int64(size) || fi.IsDir() || fi.Name() != "random.bin" {
		t.Fatalf("Stat: %v, %v", fi, err)
	}
	if time.Since(fi.ModTime()) > time.Hour || time.Until(fi.ModTime()) > time.Hour {
		t.Errorf("ModTime %v is not recent", fi.ModTime())
	}
	entries, err := sh.ReadDir(top)
	if err != nil || len(entries) != 1 || entries[0].Name() != "random.bin" {
		t.Fatalf("ReadDir: %v, %v", entries, err)
	}
	root, err := sh.ReadDir(".")
	if err != nil || !slices.ContainsFunc(root, func(e fs.DirEntry) bool { return e.Name() == top && e.IsDir() }) {
		t.Fatalf("ReadDir(.) = %v, %v; want %s/", root, err, top)
	}
}

func checkShares(t *testing.T, s *client.Session) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	shares, err := s.Shares(ctx)
	if err != nil {
		t.Fatalf("Shares: %v", err)
	}
	if !slices.ContainsFunc(shares, func(si client.ShareInfo) bool {
		return si.Name == "share" && si.Type == client.ShareTypeDisk
	}) {
		t.Fatalf("Shares = %+v, want share (Disk)", shares)
	}
}

// TestClientSambaThroughput copies 256 MiB each way over a signed 3.1.1
// session and logs the rates (skipped with -short).
func TestClientSambaThroughput(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	addr, _ := startSamba(t, "mandatory")
	s := dialSamba(t, addr, client.Dialect311, true)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	sh, err := s.Mount(ctx, "share")
	if err != nil {
		t.Fatal(err)
	}
	sh = sh.WithContext(ctx)
	const size = 256 << 20
	f, err := sh.Create("big.bin")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if n, err := io.Copy(f, io.LimitReader(zeroReader{}, size)); err != nil || n != size {
		t.Fatalf("upload: %d, %v", n, err)
	}
	up := time.Since(start)
	f.Close()
	f, err = sh.OpenFile("big.bin", os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	start = time.Now()
	if n, err := io.Copy(io.Discard, f); err != nil || n != size {
		t.Fatalf("download: %d, %v", n, err)
	}
	down := time.Since(start)
	mbps := func(d time.Duration) float64 { return float64(size) / d.Seconds() / 1e6 }
	t.Logf("signed 3.1.1 (%s): upload %.0f MB/s, download %.0f MB/s",
		client.SigningAlgorithmName(s.SigningAlgorithm()), mbps(up), mbps(down))
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
