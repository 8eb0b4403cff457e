package interop

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
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
		AllowUnsigned: !requireSigning,
		MinDialect:    dialect, MaxDialect: dialect,
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
					if err := s.Close(); err != nil {
						t.Fatalf("Close (LOGOFF): %v", err)
					}
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

// TestClientSambaGuest: Samba maps an unknown user to guest; the client
// refuses that session when it requires signing and accepts it unsigned
// otherwise.
func TestClientSambaGuest(t *testing.T) {
	addr, _ := startSambaConf(t, "auto", "map to guest = bad user\n")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d := &client.Dialer{User: "nosuchuser", Password: "x"} // the zero policy requires signing
	if _, err := d.Dial(ctx, addr); !errors.Is(err, client.ErrSigningRequired) {
		t.Fatalf("guest logon with the default policy: %v, want ErrSigningRequired", err)
	}
	d.AllowUnsigned = true
	s, err := d.Dial(ctx, addr)
	if err != nil {
		t.Fatalf("guest logon with AllowUnsigned: %v", err)
	}
	defer s.Close()
	if !s.Guest() || s.Signed() {
		t.Fatalf("Guest() %v, Signed() %v", s.Guest(), s.Signed())
	}
	d = &client.Dialer{User: testUser, Password: "wrong", RequireSigning: true}
	if _, err := d.Dial(ctx, addr); !errors.Is(err, client.ErrLogonFailure) && !errors.Is(err, client.ErrSigningRequired) {
		t.Fatalf("wrong password: %v", err)
	}
	// Anonymous (null session) share listing, like smbclient -L -N.
	if _, err := (&client.Dialer{}).Dial(ctx, addr); !errors.Is(err, client.ErrSigningRequired) {
		t.Fatalf("anonymous with the zero Dialer: %v, want ErrSigningRequired", err)
	}
	anon, err := (&client.Dialer{AllowUnsigned: true}).Dial(ctx, addr)
	if err != nil {
		t.Fatalf("anonymous logon: %v", err)
	}
	defer anon.Close()
	if !anon.Guest() || anon.Signed() {
		t.Fatalf("anonymous: Guest() %v, Signed() %v", anon.Guest(), anon.Signed())
	}
	checkShares(t, anon)
}

// tamperProxy forwards TCP between a client and addr and flips one byte in
// the data of the first successful READ response from the server.
func tamperProxy(t *testing.T, addr string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", addr)
			if err != nil {
				c.Close()
				return
			}
			go func() { io.Copy(s, c); s.Close() }()
			go func() { tamperFrames(c, s); c.Close() }()
		}
	}()
	return ln.Addr().String()
}

// tamperFrames copies server frames to the client, corrupting the first
// READ response carrying data.
func tamperFrames(dst io.Writer, src io.Reader) {
	done := false
	for {
		var hdr [4]byte
		if _, err := io.ReadFull(src, hdr[:]); err != nil {
			return
		}
		frame := make([]byte, binary.BigEndian.Uint32(hdr[:])&0xFFFFFF)
		if _, err := io.ReadFull(src, frame); err != nil {
			return
		}
		isRead := len(frame) > 200 && binary.LittleEndian.Uint16(frame[12:]) == 8 && binary.LittleEndian.Uint32(frame[8:]) == 0
		if isRead && !done {
			frame[150] ^= 0x80
			done = true
		}
		if _, err := dst.Write(append(hdr[:], frame...)); err != nil {
			return
		}
	}
}

// TestClientSambaTamperedResponse: a byte flipped on the wire in a signed
// READ response from Samba is detected.
func TestClientSambaTamperedResponse(t *testing.T) {
	addr, shareDir := startSamba(t, "mandatory")
	if err := os.WriteFile(filepath.Join(shareDir, "f"), bytes.Repeat([]byte("signet "), 1000), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, dialect := range []uint16{client.Dialect202, client.Dialect302, client.Dialect311} {
		t.Run(client.DialectName(dialect), func(t *testing.T) {
			s := dialSamba(t, tamperProxy(t, addr), dialect, true)
			sh, err := s.Mount(context.Background(), "share")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := sh.ReadFile("f"); !errors.Is(err, client.ErrBadSignature) {
				t.Fatalf("ReadFile through a tampering proxy: %v, want ErrBadSignature", err)
			}
		})
	}
}

// TestClientSambaFSConformance runs testing/fstest over a Samba share
// through the client (signed 3.1.1).
func TestClientSambaFSConformance(t *testing.T) {
	addr, shareDir := startSamba(t, "mandatory")
	for name, content := range map[string]string{"a/one.txt": "one", "a/b/two.txt": "two two", "top.txt": strings.Repeat("x", 3000)} {
		p := filepath.Join(shareDir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o777); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(shareDir, "empty"), 0o777); err != nil {
		t.Fatal(err)
	}
	s := dialSamba(t, addr, client.Dialect311, true)
	sh, err := s.Mount(context.Background(), "share")
	if err != nil {
		t.Fatal(err)
	}
	if err := fstest.TestFS(sh, "a/one.txt", "a/b/two.txt", "top.txt", "empty"); err != nil {
		t.Fatal(err)
	}
}
