package interop

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestShareAccessRules: a share limited to other users refuses a tree
// connect with STATUS_ACCESS_DENIED; a read-only share lists but refuses
// writes; `smbclient -L` lists only the shares the user may use.
func TestShareAccessRules(t *testing.T) {
	bin := needTool(t, "smbclient", "smbclient")
	dir := t.TempDir()
	for _, d := range []string{"private", "ro"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "ro", "existing.txt"), []byte("x"), 0o644)
	s := startSignet(t, serverOpts{requireSigning: boolp(true), shares: `
[[share]]
name = "private"
path = "` + filepath.Join(dir, "private") + `"
users = ["bob"]

[[share]]
name = "ro"
path = "` + filepath.Join(dir, "ro") + `"
read_only = true
`})
	conn := func(share, cmds string) string {
		out, _ := run(t, time.Minute, bin, "//127.0.0.1/"+share, "-p", s.port, "-U", testUser+"%"+testPassword, "-c", cmds)
		return out
	}
	if out := conn("private", "ls"); !strings.Contains(out, "NT_STATUS_ACCESS_DENIED") {
		t.Errorf("user not allowed on the share: want NT_STATUS_ACCESS_DENIED, got:\n%s", out)
	}
	src := filepath.Join(t.TempDir(), "f.txt")
	os.WriteFile(src, []byte("data"), 0o644)
	out := conn("ro", "ls; put "+src+" new.txt")
	if !strings.Contains(out, "existing.txt") || !strings.Contains(out, "NT_STATUS_ACCESS_DENIED") {
		t.Errorf("read-only share: want a listing and a refused put, got:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "ro", "new.txt")); !os.IsNotExist(err) {
		t.Errorf("a file was written to the read-only share: %v", err)
	}
	out, err := run(t, time.Minute, bin, "-L", "//127.0.0.1", "-p", s.port, "-U", testUser+"%"+testPassword)
	if err != nil || !strings.Contains(out, "ro ") || strings.Contains(out, "private ") {
		t.Errorf("share list should show ro but not private: %v\n%s", err, out)
	}
}
