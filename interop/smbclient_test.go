package interop

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var smbclientDialects = []string{"SMB2_02", "SMB2_10", "SMB3_00", "SMB3_02", "SMB3_11"}

// smbclient runs smbclient against the server with one dialect and a
// client signing setting, executing cmds.
func smbclient(t *testing.T, port, dialect, signing, cmds string) (string, error) {
	t.Helper()
	bin := needTool(t, "smbclient", "smbclient")
	return run(t, 5*time.Minute, bin, "//127.0.0.1/share", "-p", port, "-U", testUser+"%"+testPassword,
		"-m", dialect, "--option=client min protocol="+dialect, "--option=client signing="+signing, "-c", cmds)
}

// TestSmbclientListEmptyShare: every dialect, client signing required and
// disabled, against a server that requires signing and one that does not:
// the session comes up and `ls` lists the empty share.
func TestSmbclientListEmptyShare(t *testing.T) {
	needTool(t, "smbclient", "smbclient")
	for _, require := range []bool{true, false} {
		s := startSignet(t, serverOpts{requireSigning: boolp(require)})
		for _, d := range smbclientDialects {
			for _, signing := range []string{"required", "disabled"} {
				out, err := smbclient(t, s.port, d, signing, "ls")
				if err != nil || !strings.Contains(out, "blocks available") || !strings.Contains(out, "  .  ") && !strings.Contains(out, "  .   ") {
					t.Errorf("server require_signing=%v, %s, client signing=%s: %v\n%s", require, d, signing, err, out)
				}
			}
		}
		if st := s.Log(); strings.Contains(st, "request refused") {
			t.Errorf("unexpected refusals:\n%s", st)
		}
	}
}

// TestSmbclientFileRoundTrip is the file-service round trip for every
// dialect with signing required: mkdir, a 64 MiB random file put and got
// back byte-identical, ls, allinfo, rename, rm, rmdir; and -L lists the
// shares.
func TestSmbclientFileRoundTrip(t *testing.T) {
	needTool(t, "smbclient", "smbclient")
	s := startSignet(t, serverOpts{requireSigning: boolp(true)})
	src := filepath.Join(t.TempDir(), "src.bin")
	want := writeRandom(t, src, 64<<20)
	for _, d := range smbclientDialects {
		t.Run(d, func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "dst.bin")
			dir := "dir" + d
			cmds := fmt.Sprintf("mkdir %[1]s; put %[2]s %[1]s\\big.bin; get %[1]s\\big.bin %[3]s; ls %[1]s\\*; allinfo %[1]s\\big.bin; "+
				"rename %[1]s\\big.bin %[1]s\\renamed.bin; ls %[1]s\\*; rm %[1]s\\renamed.bin; rmdir %[1]s; ls", dir, src, dst)
			out, err := smbclient(t, s.port, d, "required", cmds)
			if err != nil || strings.Contains(out, "NT_STATUS_") && !strings.Contains(out, "alt name") {
				t.Fatalf("%v\n%s", err, out)
			}
			if got := fileSHA(t, dst); got != want {
				t.Fatalf("file came back different: %x != %x", got, want)
			}
			for _, w := range []string{"big.bin", "renamed.bin", "create_time:", "stream: [::$DATA], 67108864 bytes"} {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if _, err := os.Stat(filepath.Join(s.share, dir)); !os.IsNotExist(err) {
				t.Errorf("directory %s still on disk after rmdir: %v", dir, err)
			}
		})
	}
	bin := needTool(t, "smbclient", "smbclient")
	out, err := run(t, time.Minute, bin, "-L", "//127.0.0.1", "-p", s.port, "-U", testUser+"%"+testPassword,
		"--option=client signing=required")
	if err != nil || !strings.Contains(out, "share           Disk") || !strings.Contains(out, "IPC$") {
		t.Fatalf("smbclient -L: %v\n%s", err, out)
	}
}

func writeRandom(t testing.TB, path string, n int) [32]byte {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func fileSHA(t testing.TB, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}
