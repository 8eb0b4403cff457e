package userdb

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMachineSID: the machine SID is drawn once, kept next to the users
// file (private), and read back unchanged; a damaged file is an error,
// not a new SID (which would orphan every stored descriptor).
func TestMachineSID(t *testing.T) {
	users := filepath.Join(t.TempDir(), "users")
	a, err := MachineSID(users)
	if err != nil {
		t.Fatal(err)
	}
	if !machineSIDPattern.MatchString(a) {
		t.Fatalf("machine SID %q", a)
	}
	fi, err := os.Stat(users + SIDFileSuffix)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("SID file: %v %v", fi, err)
	}
	b, err := MachineSID(users)
	if err != nil || b != a {
		t.Fatalf("second read: %q %v, want %q", b, err, a)
	}
	other, _ := MachineSID(filepath.Join(t.TempDir(), "users"))
	if other == a {
		t.Fatalf("two machines drew the same SID %q", a)
	}
	if err := os.WriteFile(users+SIDFileSuffix, []byte("S-1-5-32-544\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := MachineSID(users); err == nil || !strings.Contains(err.Error(), "not a machine SID") {
		t.Fatalf("damaged SID file: %v", err)
	}
}
