package fileperm

import (
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func writeMode(t *testing.T, path string, mode fs.FileMode) fs.FileInfo {
	t.Helper()
	if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi
}

func TestCheckMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	strict := Rules{What: "config file"}
	lax := Rules{What: "users file", AllowGroupWrite: true}
	cases := []struct {
		mode   fs.FileMode
		r      Rules
		refuse string // "" = accepted
	}{
		{0o600, strict, ""},
		{0o644, strict, ""},
		{0o444, strict, ""},
		{0o664, strict, "refusing a group-writable config file (mode 0664); run: chmod go-w "},
		{0o646, strict, "refusing a world-writable config file (mode 0646)"},
		{0o666, strict, "world-writable"},
		{0o664, lax, ""},
		{0o666, lax, "refusing a world-writable users file (mode 0666); run: chmod o-w "},
	}
	for _, c := range cases {
		path := filepath.Join(t.TempDir(), "f")
		err := Check(path, writeMode(t, path, c.mode), c.r)
		switch {
		case c.refuse == "" && err != nil:
			t.Errorf("%04o %+v: %v", c.mode, c.r, err)
		case c.refuse != "" && (err == nil || !strings.Contains(err.Error(), c.refuse) || !strings.HasSuffix(err.Error(), path)):
			t.Errorf("%04o %+v: err = %v, want %q naming the file", c.mode, c.r, err, c.refuse)
		}
	}
}

func TestCheckNotRegular(t *testing.T) {
	dir := t.TempDir()
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(dir, fi, Rules{What: "config file"}); err == nil || err.Error() != "not a regular file" {
		t.Errorf("Check(dir) = %v", err)
	}
}

func TestCheckDir(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	cases := []struct {
		mode   fs.FileMode
		refuse bool
	}{
		{0o755, false},
		{0o775, false}, // group-writable folders are not checked
		{0o777, true},
		{0o777 | fs.ModeSticky, false}, // as /tmp: others cannot replace our file
	}
	for _, c := range cases {
		dir := filepath.Join(t.TempDir(), "d")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "f")
		fi := writeMode(t, path, 0o644)
		if err := os.Chmod(dir, c.mode); err != nil {
			t.Fatal(err)
		}
		err := Check(path, fi, Rules{What: "config file", CheckDir: true})
		if c.refuse != (err != nil) {
			t.Errorf("folder %v: err = %v, want refused=%v", c.mode, err, c.refuse)
		}
		if c.refuse && !strings.Contains(err.Error(), "world-writable folder without the sticky bit ("+dir) {
			t.Errorf("message %q", err)
		}
		// Without CheckDir the folder is not looked at.
		if err := Check(path, fi, Rules{What: "config file"}); err != nil {
			t.Errorf("folder %v without CheckDir: %v", c.mode, err)
		}
	}
}
