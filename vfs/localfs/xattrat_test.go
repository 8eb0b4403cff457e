//go:build linux

package localfs

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestXattrAt: getxattrat(2) and listxattrat(2), where the kernel has
// them, answer exactly as lgetxattr(2) and llistxattr(2) through /proc do
// (the fallback on older kernels) for a file with and without the
// attribute, a buffer too small, a size query, a symbolic link (not
// followed) and a missing name; and the fallback state gives the /proc
// answers.
func TestXattrAt(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "with"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "without"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("with", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := unix.Setxattr(filepath.Join(dir, "with"), "user.test", []byte("value!"), 0); err != nil {
		t.Skipf("no user xattrs here: %v", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	fd := int(d.Fd())
	if _, err := getxattrat(fd, "with", "user.test", nil); err == unix.ENOSYS {
		t.Logf("kernel without getxattrat(2): only the fallback is checked")
	}
	type answer struct {
		n    int
		err  error
		data []byte
	}
	ask := func(get func(int, string, string, []byte) (int, error), name string, size int) answer {
		var b []byte
		if size >= 0 {
			b = make([]byte, size)
		}
		n, err := get(fd, name, "user.test", b)
		if err == nil && b != nil {
			b = b[:n]
		}
		return answer{n, err, b}
	}
	defer getxattratState.v.Store(getxattratState.v.Load())
	defer listxattratState.v.Store(listxattratState.v.Load())
	listProc := func(fd int, name, _ string, b []byte) (int, error) { return unix.Llistxattr(procPath(fd, name), b) }
	listAt := func(fd int, name, _ string, b []byte) (int, error) { return llistxattrAt(fd, name, b) }
	for _, state := range []int32{0, 1, 2} {
		for _, c := range []struct {
			name string
			size int
		}{{"with", 64}, {"with", 3}, {"with", -1}, {"without", 64}, {"link", 64}, {"missing", 64}} {
			getxattratState.v.Store(state)
			listxattratState.v.Store(state)
			for _, pair := range []struct {
				op       string
				at, proc func(int, string, string, []byte) (int, error)
			}{{"get", lgetxattrAt, lgetxattrProc}, {"list", listAt, listProc}} {
				want := ask(pair.proc, c.name, c.size)
				got := ask(pair.at, c.name, c.size)
				if got.n != want.n || got.err != want.err || !bytes.Equal(got.data, want.data) {
					t.Errorf("%s, state %d, %s (buffer %d): %d %v %q, through /proc %d %v %q",
						pair.op, state, c.name, c.size, got.n, got.err, got.data, want.n, want.err, want.data)
				}
			}
		}
	}
	getxattratState.v.Store(0)
	listxattratState.v.Store(0)
	if _, err := lgetxattrAt(fd, "with", "user.test", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := llistxattrAt(fd, "with", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := getxattrat(fd, "with", "user.test", nil); err != unix.ENOSYS && getxattratState.v.Load() != 1 {
		t.Errorf("getxattrat works here but the state is %d", getxattratState.v.Load())
	}
	if _, err := listxattrat(fd, "with", nil); err != unix.ENOSYS && listxattratState.v.Load() != 1 {
		t.Errorf("listxattrat works here but the state is %d", listxattratState.v.Load())
	}
}
