//go:build linux

package localfs_test

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/signetsmb/signet/vfs"
	"github.com/signetsmb/signet/vfs/localfs"
)

const secret = "TOP SECRET"

// escapeFixture is a share with symbolic links pointing out of it, next to
// an "outside" directory holding a secret file.
type escapeFixture struct {
	fs      *localfs.FS
	share   string
	outside string
	secret  os.FileInfo // of outside/secret, to compare inodes and times
}

// newEscapeFixture builds:
//
//	outside/secret          "TOP SECRET"
//	share/inside.txt        "inside"
//	share/sub/              directory
//	share/out        -> ../outside
//	share/abs        -> <abs>/outside
//	share/secretlink -> ../outside/secret
//	share/sub/deep   -> ../../outside
//	share/dangling   -> ../outside/created
//	share/inlink     -> inside.txt
//	share/indir      -> sub
//	share/loop1 <-> share/loop2
func newEscapeFixture(t *testing.T) *escapeFixture {
	t.Helper()
	base := t.TempDir()
	fx := &escapeFixture{share: filepath.Join(base, "share"), outside: filepath.Join(base, "outside")}
	must(t, os.Mkdir(fx.outside, 0o755))
	must(t, os.WriteFile(filepath.Join(fx.outside, "secret"), []byte(secret), 0o644))
	must(t, os.MkdirAll(filepath.Join(fx.share, "sub"), 0o755))
	must(t, os.WriteFile(filepath.Join(fx.share, "inside.txt"), []byte("inside"), 0o644))
	links := [][2]string{
		{"../outside", "out"},
		{fx.outside, "abs"},
		{"../outside/secret", "secretlink"},
		{"../../outside", "sub/deep"},
		{"../outside/created", "dangling"},
		{"inside.txt", "inlink"},
		{"sub", "indir"},
		{"loop2", "loop1"},
		{"loop1", "loop2"},
	}
	for _, l := range links {
		must(t, os.Symlink(l[0], filepath.Join(fx.share, l[1])))
	}
	info, err := os.Stat(filepath.Join(fx.outside, "secret"))
	must(t, err)
	fx.secret = info
	fx.fs = mustNew(t, fx.share)
	return fx
}

// checkOutside fails unless the outside directory still holds exactly the
// untouched secret.
func (fx *escapeFixture) checkOutside(t *testing.T) {
	t.Helper()
	entries, err := os.ReadDir(fx.outside)
	must(t, err)
	if len(entries) != 1 || entries[0].Name() != "secret" {
		t.Errorf("outside directory changed: %v", entries)
	}
	info, err := os.Stat(filepath.Join(fx.outside, "secret"))
	must(t, err)
	data, err := os.ReadFile(filepath.Join(fx.outside, "secret"))
	must(t, err)
	if string(data) != secret || !info.ModTime().Equal(fx.secret.ModTime()) {
		t.Errorf("secret modified: %q, mtime %v", data, info.ModTime())
	}
}

// escapingNames reach outside the share through a symbolic link.
func escapingNames() []string {
	return []string{"out", "out/secret", "abs", "abs/secret", "secretlink",
		"sub/deep", "sub/deep/secret", "dangling", "out/created", "indir/deep/secret"}
}

func TestSymlinkEscapeOpen(t *testing.T) {
	fx := newEscapeFixture(t)
	for _, name := range escapingNames() {
		for _, flag := range []int{os.O_RDONLY, os.O_RDWR, os.O_WRONLY | os.O_TRUNC,
			os.O_RDWR | os.O_CREATE, os.O_RDWR | os.O_CREATE | os.O_EXCL} {
			f, err := fx.fs.OpenFile(t.Context(), name, flag, 0o644)
			if err == nil {
				f.Close()
				t.Errorf("OpenFile(%q, %#x) succeeded", name, flag)
				continue
			}
			if flag&os.O_EXCL != 0 && errors.Is(err, fs.ErrExist) {
				continue // the link itself exists; nothing was followed
			}
			wantRefused(t, err, "OpenFile("+name+")")
		}
	}
	fx.checkOutside(t)
}

func TestSymlinkEscapeMetadata(t *testing.T) {
	fx := newEscapeFixture(t)
	ctx := t.Context()
	for _, name := range escapingNames() {
		if _, err := fx.fs.Stat(ctx, name); err == nil {
			t.Errorf("Stat(%q) succeeded", name)
		} else {
			wantRefused(t, err, "Stat("+name+")")
		}
		err := fx.fs.SetTimes(ctx, name, time.Unix(1, 0), time.Unix(1, 0))
		wantRefused(t, err, "SetTimes("+name+")")
	}
	for _, name := range []string{"out/newdir", "abs/newdir", "sub/deep/newdir"} {
		wantRefused(t, fx.fs.Mkdir(ctx, name, 0o755), "Mkdir("+name+")")
	}
	for _, name := range []string{"out/secret", "abs/secret", "sub/deep/secret"} {
		wantRefused(t, fx.fs.Remove(ctx, name), "Remove("+name+")")
	}
	fx.checkOutside(t)
}

func TestSymlinkEscapeRename(t *testing.T) {
	fx := newEscapeFixture(t)
	ctx := t.Context()
	for _, replace := range []bool{false, true} {
		for _, pair := range [][2]string{
			{"out/secret", "stolen"},
			{"sub/deep/secret", "stolen"},
			{"inside.txt", "out/planted"},
			{"inside.txt", "abs/planted"},
			{"inside.txt", "sub/deep/secret"},
		} {
			err := fx.fs.Rename(ctx, pair[0], pair[1], replace)
			wantRefused(t, err, "Rename("+pair[0]+", "+pair[1]+")")
		}
	}
	fx.checkOutside(t)

	// Renaming or replacing the link itself is allowed and never touches
	// its target.
	must(t, fx.fs.Rename(ctx, "out", "out2", false))
	must(t, fx.fs.Rename(ctx, "inside.txt", "secretlink", true))
	if fi, err := fx.fs.Stat(ctx, "secretlink"); err != nil || fi.Size != int64(len("inside")) {
		t.Errorf("after replacing the link: %+v, %v", fi, err)
	}
	must(t, fx.fs.Remove(ctx, "out2"))
	fx.checkOutside(t)
}

func TestSymlinkEscapeReadDir(t *testing.T) {
	fx := newEscapeFixture(t)
	for _, dir := range []string{"out", "abs", "sub/deep"} {
		if _, err := fx.fs.OpenFile(t.Context(), dir, os.O_RDONLY, 0); err == nil {
			t.Errorf("opened %q for listing", dir)
		}
	}
	d, err := fx.fs.OpenFile(t.Context(), ".", os.O_RDONLY, 0)
	must(t, err)
	defer d.Close()
	infos, err := d.ReadDir(-1)
	must(t, err)
	secretID := fx.secret.Sys().(*syscall.Stat_t).Ino
	var names []string
	for _, fi := range infos {
		names = append(names, fi.Name)
		if fi.FileID == secretID || fi.Size == int64(len(secret)) && fi.Name == "secretlink" {
			t.Errorf("listing describes the outside file through %q: %+v", fi.Name, fi)
		}
		escaping := slices.Contains([]string{"out", "abs", "secretlink", "dangling", "loop1", "loop2"}, fi.Name)
		if escaping && fi.Mode.Type() != fs.ModeSymlink {
			t.Errorf("entry %q has mode %v, want the link itself", fi.Name, fi.Mode)
		}
	}
	want := []string{"abs", "dangling", "indir", "inlink", "inside.txt", "loop1", "loop2", "out", "secretlink", "sub"}
	if !slices.Equal(names, want) {
		t.Errorf("root lists %q, want %q", names, want)
	}
}

func TestSymlinkInsideShare(t *testing.T) {
	fx := newEscapeFixture(t)
	ctx := t.Context()
	f, err := fx.fs.OpenFile(ctx, "inlink", os.O_RDONLY, 0)
	must(t, err)
	defer f.Close()
	buf := make([]byte, 16)
	n, err := f.ReadAt(buf, 0)
	if string(buf[:n]) != "inside" || err != io.EOF {
		t.Errorf("read through inlink = %q, %v", buf[:n], err)
	}
	link, err := fx.fs.Stat(ctx, "inlink")
	must(t, err)
	target, err := fx.fs.Stat(ctx, "inside.txt")
	must(t, err)
	if link.FileID != target.FileID || link.Name != "inlink" || !link.IsRegular() {
		t.Errorf("Stat(inlink) = %+v, want the target %+v named inlink", link, target)
	}
	g, err := fx.fs.OpenFile(ctx, "indir/new", os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	must(t, err)
	g.Close()
	if _, err := fx.fs.Stat(ctx, "sub/new"); err != nil {
		t.Errorf("file created through indir is not in sub: %v", err)
	}
	d, err := fx.fs.OpenFile(ctx, ".", os.O_RDONLY, 0)
	must(t, err)
	defer d.Close()
	infos, err := d.ReadDir(-1)
	must(t, err)
	for _, fi := range infos {
		if fi.Name == "inlink" && fi.FileID != target.FileID {
			t.Errorf("ReadDir(inlink) = %+v, want the target", fi)
		}
	}
	if _, err := fx.fs.Stat(ctx, "loop1"); err == nil {
		t.Errorf("Stat(loop1) succeeded on a symlink loop")
	}
}

// TestSymlinkSwapRace swaps a directory inside the share with a symbolic
// link to the outside directory (atomically, with RENAME_EXCHANGE) while
// other goroutines open, stat and create files through it. Nothing outside
// may ever be read, described or created.
func TestSymlinkSwapRace(t *testing.T) {
	fx := newEscapeFixture(t)
	must(t, os.Mkdir(filepath.Join(fx.share, "d"), 0o755))
	must(t, os.WriteFile(filepath.Join(fx.share, "d", "secret"), []byte("decoy"), 0o644))
	must(t, os.Symlink("../outside", filepath.Join(fx.share, "swap")))
	secretID := fx.secret.Sys().(*syscall.Stat_t).Ino

	stop := make(chan struct{})
	var swaps, opens atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		d, s := filepath.Join(fx.share, "d"), filepath.Join(fx.share, "swap")
		for i := 0; i < 20000; i++ {
			if err := unix.Renameat2(unix.AT_FDCWD, d, unix.AT_FDCWD, s, unix.RENAME_EXCHANGE); err != nil {
				t.Errorf("RENAME_EXCHANGE: %v", err)
				break
			}
			swaps.Add(1)
		}
		close(stop)
	})
	for range 2 {
		wg.Go(func() { raceVictim(t, fx, stop, secretID, &opens) })
	}
	wg.Wait()
	t.Logf("%d swaps, %d successful opens", swaps.Load(), opens.Load())
	if opens.Load() == 0 {
		t.Errorf("no open succeeded; the race was not exercised")
	}
	fx.checkOutside(t)
}

// raceVictim hammers d/secret and d/new until stop is closed.
func raceVictim(t *testing.T, fx *escapeFixture, stop <-chan struct{}, secretID uint64, opens *atomic.Int64) {
	ctx := t.Context()
	buf := make([]byte, 64)
	for {
		select {
		case <-stop:
			return
		default:
		}
		if f, err := fx.fs.OpenFile(ctx, "d/secret", os.O_RDONLY, 0); err == nil {
			n, _ := f.ReadAt(buf, 0)
			f.Close()
			opens.Add(1)
			if string(buf[:n]) != "decoy" {
				t.Errorf("read %q through a swapped link", buf[:n])
			}
		}
		if fi, err := fx.fs.Stat(ctx, "d/secret"); err == nil && fi.FileID == secretID {
			t.Errorf("Stat described the outside file")
		}
		if f, err := fx.fs.OpenFile(ctx, "d/new", os.O_RDWR|os.O_CREATE, 0o644); err == nil {
			f.Close()
			fx.fs.Remove(ctx, "d/new")
		}
	}
}

// wantRefused fails unless err is an escape refusal.
func wantRefused(t *testing.T, err error, what string) {
	t.Helper()
	if !errors.Is(err, vfs.ErrEscapesRoot) {
		t.Errorf("%s: error %v, want vfs.ErrEscapesRoot", what, err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
