//go:build unix

package fileperm

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ownedBy is a FileInfo of a regular 0644 file owned by uid.
type ownedBy uint32

func (ownedBy) Name() string       { return "f" }
func (ownedBy) Size() int64        { return 1 }
func (ownedBy) Mode() fs.FileMode  { return 0o644 }
func (ownedBy) ModTime() time.Time { return time.Time{} }
func (ownedBy) IsDir() bool        { return false }
func (o ownedBy) Sys() any         { return &syscall.Stat_t{Uid: uint32(o)} }

func TestCheckOwner(t *testing.T) {
	cases := []struct {
		owner  uint32
		euid   int
		refuse string
	}{
		{0, 0, ""},
		{0, 1000, ""},
		{1000, 1000, ""},
		{1001, 1000, "owned by uid 1001, want root or uid 1000 (this server); run: chown root /etc/x"},
		{1001, 0, "owned by uid 1001, want root; run: chown root /etc/x"},
	}
	for _, c := range cases {
		err := checkOwner("/etc/x", ownedBy(c.owner), c.euid, "config file")
		if (c.refuse == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.refuse)) {
			t.Errorf("owner %d euid %d: err = %v, want %q", c.owner, c.euid, err, c.refuse)
		}
	}
}

// The owner check reads the real owner from a real file.
func TestCheckOwnerRealFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	fi := writeMode(t, path, 0o644)
	r := Rules{What: "config file", CheckOwner: true}
	if err := Check(path, fi, r); err != nil {
		t.Fatalf("own file refused: %v", err)
	}
	if os.Geteuid() != 0 {
		t.Skip("chown to another user needs root")
	}
	if err := os.Chown(path, 4242, 4242); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(path, fi, r); err == nil || !strings.Contains(err.Error(), "owned by uid 4242") {
		t.Errorf("file of uid 4242: err = %v", err)
	}
	if err := Check(path, fi, Rules{What: "users file"}); err != nil {
		t.Errorf("without CheckOwner: %v", err)
	}
}
