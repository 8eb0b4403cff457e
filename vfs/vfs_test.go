package vfs_test

import (
	"errors"
	"fmt"
	"go/build"
	"io/fs"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/signetsmb/signet/vfs"
)

func TestCleanName(t *testing.T) {
	valid := map[string]string{
		"":              ".",
		".":             ".",
		"./":            ".",
		"a":             "a",
		"a/b":           "a/b",
		"a//b/":         "a/b",
		"./a/./b/.":     "a/b",
		"…/x":           "…/x",
		"...":           "...",
		"a/..b/c..":     "a/..b/c..",
		"back\\slash":   "back\\slash",
		"sp ace/ü ñ":    "sp ace/ü ñ",
		"a/b/c/d/e/f/g": "a/b/c/d/e/f/g",
	}
	for in, want := range valid {
		got, err := vfs.CleanName(in)
		if err != nil || got != want {
			t.Errorf("CleanName(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"..", "../a", "a/..", "a/../b", "a/b/../../..", "/", "/a", "//a",
		"a\x00", "\x00", "a/\x00/b", "./.."} {
		got, err := vfs.CleanName(in)
		if !errors.Is(err, vfs.ErrInvalidName) || !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("CleanName(%q) = %q, %v; want ErrInvalidName", in, got, err)
		}
	}
}

func FuzzCleanName(f *testing.F) {
	for _, s := range []string{"", ".", "a/b", "../x", "a/../../x", "/etc/passwd", "a\x00b", "a//b/./c/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		clean, err := vfs.CleanName(name)
		if err != nil {
			if !errors.Is(err, vfs.ErrInvalidName) {
				t.Fatalf("CleanName(%q) error %v is not ErrInvalidName", name, err)
			}
			return
		}
		checkCanonical(t, name, clean)
		again, err := vfs.CleanName(clean)
		if err != nil || again != clean {
			t.Fatalf("CleanName not idempotent: %q -> %q -> %q, %v", name, clean, again, err)
		}
	})
}

// checkCanonical fails unless clean is a canonical name that stays inside
// the root.
func checkCanonical(t *testing.T, name, clean string) {
	t.Helper()
	if clean == vfs.Root {
		return
	}
	if strings.IndexByte(clean, 0) >= 0 || strings.HasPrefix(clean, "/") {
		t.Fatalf("CleanName(%q) = %q: NUL or absolute", name, clean)
	}
	for c := range strings.SplitSeq(clean, "/") {
		if c == "" || c == "." || c == ".." {
			t.Fatalf("CleanName(%q) = %q: bad component %q", name, clean, c)
		}
	}
}

func TestCheckOpenFlag(t *testing.T) {
	ok := []int{
		os.O_RDONLY, os.O_WRONLY, os.O_RDWR,
		os.O_RDWR | os.O_CREATE | os.O_EXCL,
		os.O_WRONLY | os.O_CREATE | os.O_TRUNC | os.O_SYNC,
		os.O_RDONLY | os.O_CREATE,
	}
	for _, flag := range ok {
		if err := vfs.CheckOpenFlag(flag); err != nil {
			t.Errorf("CheckOpenFlag(%#x) = %v", flag, err)
		}
	}
	bad := []int{
		os.O_RDONLY | os.O_TRUNC,
		os.O_WRONLY | os.O_RDWR,
		os.O_RDWR | os.O_APPEND,
		os.O_RDONLY | 0x40000000,
	}
	for _, flag := range bad {
		if err := vfs.CheckOpenFlag(flag); !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("CheckOpenFlag(%#x) = %v, want fs.ErrInvalid", flag, err)
		}
	}
}

func TestAccessModes(t *testing.T) {
	cases := []struct {
		flag        int
		read, write bool
	}{
		{os.O_RDONLY, true, false},
		{os.O_WRONLY | os.O_CREATE, false, true},
		{os.O_RDWR | os.O_TRUNC, true, true},
	}
	for _, c := range cases {
		if vfs.Readable(c.flag) != c.read || vfs.Writable(c.flag) != c.write {
			t.Errorf("flag %#x: Readable %v Writable %v, want %v %v",
				c.flag, vfs.Readable(c.flag), vfs.Writable(c.flag), c.read, c.write)
		}
	}
}

// TestSentinelClasses pins which io/fs sentinels each vfs sentinel also
// matches, since the server's status mapping depends on it.
func TestSentinelClasses(t *testing.T) {
	all := []error{fs.ErrNotExist, fs.ErrExist, fs.ErrPermission, fs.ErrInvalid, fs.ErrClosed,
		vfs.ErrNotEmpty, vfs.ErrIsDir, vfs.ErrNotDir, vfs.ErrNotSupported, vfs.ErrNoSpace,
		vfs.ErrInvalidName, vfs.ErrNameTooLong, vfs.ErrEscapesRoot}
	also := map[error][]error{
		vfs.ErrInvalidName: {fs.ErrInvalid},
		vfs.ErrNameTooLong: {vfs.ErrInvalidName, fs.ErrInvalid},
		vfs.ErrEscapesRoot: {fs.ErrPermission},
	}
	for _, err := range all {
		wrapped := &fs.PathError{Op: "op", Path: "p", Err: fmt.Errorf("ctx: %w", err)}
		want := append([]error{err}, also[err]...)
		for _, target := range all {
			got := errors.Is(wrapped, target)
			if got != contains(want, target) {
				t.Errorf("errors.Is(%v, %v) = %v", err, target, got)
			}
		}
	}
}

func contains(errs []error, target error) bool {
	for _, e := range errs {
		if e == target {
			return true
		}
	}
	return false
}

func TestOpString(t *testing.T) {
	cases := map[vfs.Op]string{
		0:                                 "0",
		vfs.OpCreate:                      "create",
		vfs.OpRenameFrom | vfs.OpRenameTo: "rename-from|rename-to",
		vfs.OpOverflow:                    "overflow",
		vfs.OpModify | vfs.OpAttrib:       "modify|attrib",
		vfs.OpRemove:                      "remove",
	}
	for op, want := range cases {
		if got := op.String(); got != want {
			t.Errorf("Op(%d).String() = %q, want %q", op, got, want)
		}
	}
}

func TestUnsupported(t *testing.T) {
	ctx := t.Context()
	var u vfs.Unsupported
	if err := u.SetTimes(ctx, "x", time.Time{}, time.Time{}); !errors.Is(err, vfs.ErrNotSupported) {
		t.Errorf("Unsupported.SetTimes = %v", err)
	}
	if _, err := u.Watch(ctx, ".", false); !errors.Is(err, vfs.ErrNotSupported) {
		t.Errorf("Unsupported.Watch = %v", err)
	}
	var uf vfs.UnsupportedFile
	if err := uf.SetTimes(time.Time{}, time.Time{}); !errors.Is(err, vfs.ErrNotSupported) {
		t.Errorf("UnsupportedFile.SetTimes = %v", err)
	}
	if err := uf.Allocate(0, 1); !errors.Is(err, vfs.ErrNotSupported) {
		t.Errorf("UnsupportedFile.Allocate = %v", err)
	}
}

func TestFileInfoHelpers(t *testing.T) {
	dir := vfs.FileInfo{Mode: fs.ModeDir | 0o755}
	reg := vfs.FileInfo{Mode: 0o644}
	link := vfs.FileInfo{Mode: fs.ModeSymlink | 0o777}
	if !dir.IsDir() || dir.IsRegular() || reg.IsDir() || !reg.IsRegular() || link.IsRegular() {
		t.Errorf("IsDir/IsRegular disagree with Mode")
	}
}

// TestNoProtocolImports keeps the storage layer free of SMB: vfs and its
// subpackages may not import the server or the wire codec.
func TestNoProtocolImports(t *testing.T) {
	for _, dir := range []string{".", "localfs", "memfs", "vfstest"} {
		pkg, err := build.ImportDir(dir, 0)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		imports := append(append(pkg.Imports, pkg.TestImports...), pkg.XTestImports...)
		for _, imp := range imports {
			if strings.HasPrefix(imp, "github.com/signetsmb/signet/") &&
				!strings.HasPrefix(imp, "github.com/signetsmb/signet/vfs") {
				t.Errorf("%s imports %s", dir, imp)
			}
		}
	}
}
