//go:build linux

package localfs_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/signetsmb/signet/vfs"
	"github.com/signetsmb/signet/vfs/memfs"
)

// The differential tests run the same operation sequence against localfs
// and memfs and require identical observable results: same error classes,
// same listings, same contents. memfs is the executable specification of
// the semantics localfs must have on a real disk.

// diffNames is the name space the operations draw from; it includes
// invalid names so that validation is compared too.
func diffNames() []string {
	return []string{"", "a", "b", "c", "a/a", "a/b", "b/a", "a/a/a", "a/b/c", "../a", "a\x00", "/a"}
}

// diffOp applies operation op (chosen by the first byte) to fsys and
// returns a description of its outcome.
func diffOp(t *testing.T, fsys vfs.FS, op [4]byte) string {
	ctx := t.Context()
	names := diffNames()
	name, other := names[int(op[1])%len(names)], names[int(op[2])%len(names)]
	switch op[0] % 8 {
	case 0:
		flags := []int{os.O_RDWR | os.O_CREATE, os.O_RDWR | os.O_CREATE | os.O_EXCL, os.O_WRONLY | os.O_TRUNC, os.O_RDONLY}
		return "create " + diffWrite(ctx, fsys, name, flags[op[3]%4], int64(op[3]>>2))
	case 1:
		return "mkdir " + class(fsys.Mkdir(ctx, name, 0o755))
	case 2:
		return "remove " + class(fsys.Remove(ctx, name))
	case 3:
		return "rename " + class(fsys.Rename(ctx, name, other, op[3]&1 == 1))
	case 4:
		fi, err := fsys.Stat(ctx, name)
		if err != nil {
			return "stat " + class(err)
		}
		if fi.IsDir() {
			return "stat dir"
		}
		return fmt.Sprintf("stat file %d", fi.Size)
	case 5:
		return "list " + diffList(ctx, fsys, name)
	case 6:
		return "truncate " + diffTruncate(ctx, fsys, name, int64(op[3]))
	default:
		return "read " + diffRead(ctx, fsys, name)
	}
}

func diffWrite(ctx context.Context, fsys vfs.FS, name string, flag int, off int64) string {
	f, err := fsys.OpenFile(ctx, name, flag, 0o644)
	if err != nil {
		return class(err)
	}
	defer f.Close()
	_, err = f.WriteAt([]byte("data"), off)
	return class(err)
}

func diffTruncate(ctx context.Context, fsys vfs.FS, name string, size int64) string {
	f, err := fsys.OpenFile(ctx, name, os.O_WRONLY, 0)
	if err != nil {
		return class(err)
	}
	defer f.Close()
	return class(f.Truncate(size))
}

func diffRead(ctx context.Context, fsys vfs.FS, name string) string {
	f, err := fsys.OpenFile(ctx, name, os.O_RDONLY, 0)
	if err != nil {
		return class(err)
	}
	defer f.Close()
	buf := make([]byte, 512)
	n, err := f.ReadAt(buf, 0)
	return fmt.Sprintf("%q %s", buf[:n], class(err))
}

func diffList(ctx context.Context, fsys vfs.FS, name string) string {
	f, err := fsys.OpenFile(ctx, name, os.O_RDONLY, 0)
	if err != nil {
		return class(err)
	}
	defer f.Close()
	infos, err := f.ReadDir(-1)
	if err != nil {
		return class(err)
	}
	var b strings.Builder
	for _, fi := range infos {
		fmt.Fprintf(&b, "%s:%v ", fi.Name, fi.IsDir())
	}
	return b.String()
}

// class names the most specific sentinel err matches.
func class(err error) string {
	if err == nil {
		return "ok"
	}
	for _, c := range []struct {
		err  error
		name string
	}{
		{vfs.ErrNameTooLong, "name-too-long"}, {vfs.ErrInvalidName, "invalid-name"},
		{vfs.ErrEscapesRoot, "escapes"}, {vfs.ErrNotEmpty, "not-empty"},
		{vfs.ErrIsDir, "is-dir"}, {vfs.ErrNotDir, "not-dir"},
		{vfs.ErrNotSupported, "not-supported"}, {vfs.ErrNoSpace, "no-space"},
		{fs.ErrNotExist, "not-exist"}, {fs.ErrExist, "exist"},
		{fs.ErrPermission, "permission"}, {fs.ErrInvalid, "invalid"}, {fs.ErrClosed, "closed"},
	} {
		if errors.Is(err, c.err) {
			return c.name
		}
	}
	if errors.Is(err, io.EOF) {
		return "eof"
	}
	return "other: " + err.Error()
}

// runDifferential applies ops to a fresh localfs and memfs and fails at the
// first diverging outcome.
func runDifferential(t *testing.T, ops [][4]byte) {
	local := mustNew(t, t.TempDir())
	mem := memfs.New(memfs.Options{})
	var history []string
	for _, op := range ops {
		got, want := diffOp(t, local, op), diffOp(t, mem, op)
		history = append(history, fmt.Sprintf("%v -> %s", op, want))
		if got != want {
			t.Fatalf("localfs and memfs diverge:\n%s\nlocalfs: %s\ntree now: %s",
				strings.Join(history, "\n"), got, diffTree(t, mem, "."))
		}
	}
	if got, want := diffTree(t, local, "."), diffTree(t, mem, "."); got != want {
		t.Fatalf("final trees differ:\nlocalfs: %s\nmemfs:   %s", got, want)
	}
}

// diffTree renders the tree below dir with file contents.
func diffTree(t *testing.T, fsys vfs.FS, dir string) string {
	f, err := fsys.OpenFile(t.Context(), dir, os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	infos, err := f.ReadDir(-1)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, fi := range infos {
		child := strings.TrimPrefix(dir+"/"+fi.Name, "./")
		if fi.IsDir() {
			fmt.Fprintf(&b, "%s/ [%s] ", child, diffTree(t, fsys, child))
		} else {
			fmt.Fprintf(&b, "%s=%s ", child, diffRead(t.Context(), fsys, child))
		}
	}
	return b.String()
}

func TestDifferentialRandom(t *testing.T) {
	for seed := range uint64(20) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 0))
			ops := make([][4]byte, 300)
			for i := range ops {
				ops[i] = [4]byte{byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())}
			}
			runDifferential(t, ops)
		})
	}
}

func FuzzDifferential(f *testing.F) {
	f.Add([]byte{1, 1, 0, 0, 0, 4, 0, 0, 3, 1, 2, 1, 5, 0, 0, 0})
	f.Add([]byte{0, 1, 0, 0, 3, 1, 2, 0, 3, 2, 1, 1, 7, 2, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 400 {
			return
		}
		ops := make([][4]byte, len(data)/4)
		for i := range ops {
			copy(ops[i][:], data[4*i:])
		}
		runDifferential(t, ops)
	})
}
