package vfstest

import (
	"io/fs"
	"os"

	"github.com/signetsmb/signet/vfs"
)

func testMkdir(h *tester) {
	t := h.t
	h.mkdir("a")
	h.mkdir("a/b")
	if !h.stat("a/b").IsDir() {
		t.Errorf("a/b is not a directory")
	}
	h.create("f", "")
	for _, name := range []string{"a", "a/b", "f", "", "."} {
		wantErr(t, h.fs.Mkdir(h.ctx, name, 0o755), fs.ErrExist, "Mkdir existing "+name)
	}
	wantErr(t, h.fs.Mkdir(h.ctx, "missing/x", 0o755), fs.ErrNotExist, "Mkdir in missing dir")
}

func testRemove(h *tester) {
	t := h.t
	h.mkdir("d")
	h.create("d/f", "x")
	wantErr(t, h.fs.Remove(h.ctx, "d"), vfs.ErrNotEmpty, "Remove non-empty dir")
	h.wantContent("d/f", "x")
	noErr(t, h.fs.Remove(h.ctx, "d/f"), "Remove file")
	h.wantNotExist("d/f")
	noErr(t, h.fs.Remove(h.ctx, "d"), "Remove empty dir")
	h.wantNotExist("d")
	wantErr(t, h.fs.Remove(h.ctx, "d"), fs.ErrNotExist, "Remove missing")
	wantErr(t, h.fs.Remove(h.ctx, "nope/x"), fs.ErrNotExist, "Remove in missing dir")
	for _, root := range []string{"", "."} {
		wantErr(t, h.fs.Remove(h.ctx, root), fs.ErrPermission, "Remove root")
	}
}

func testRemoveOpenFile(h *tester) {
	t := h.t
	h.create("f", "still here")
	f := h.open("f", os.O_RDWR)
	noErr(t, h.fs.Remove(h.ctx, "f"), "Remove open file")
	h.wantNotExist("f")
	if got := h.readAll(f); got != "still here" {
		t.Errorf("read after Remove = %q", got)
	}
	_, err := f.WriteAt([]byte("!"), 10)
	noErr(t, err, "WriteAt after Remove")
	// A new file may take the name without disturbing the open one.
	h.create("f", "new")
	if got := h.readAll(f); got != "still here!" {
		t.Errorf("unlinked file changed to %q", got)
	}
}

func testRenameFile(h *tester) {
	t := h.t
	h.mkdir("d")
	h.create("a", "A")
	noErr(t, h.fs.Rename(h.ctx, "a", "b", false), "rename a b")
	h.wantNotExist("a")
	h.wantContent("b", "A")
	noErr(t, h.fs.Rename(h.ctx, "b", "d/c", false), "rename across dirs")
	h.wantNotExist("b")
	h.wantContent("d/c", "A")
	if got := h.list("d"); !equalStrings(got, []string{"c"}) {
		t.Errorf("d lists %q, want [c]", got)
	}
	// Renaming a name to itself is a successful no-op.
	for _, replace := range []bool{false, true} {
		noErr(t, h.fs.Rename(h.ctx, "d/c", "d/c", replace), "rename to itself")
		h.wantContent("d/c", "A")
	}
}

func testRenameDir(h *tester) {
	t := h.t
	h.mkdir("a")
	h.mkdir("a/sub")
	h.create("a/sub/f", "deep")
	h.mkdir("z")
	noErr(t, h.fs.Rename(h.ctx, "a", "z/b", false), "rename dir")
	h.wantNotExist("a")
	h.wantContent("z/b/sub/f", "deep")
	if got := h.list("z"); !equalStrings(got, []string{"b"}) {
		t.Errorf("z lists %q, want [b]", got)
	}
}

func testRenameNoReplace(h *tester) {
	t := h.t
	h.create("a", "A")
	h.create("b", "B")
	h.mkdir("d")
	for _, target := range []string{"b", "d"} {
		err := h.fs.Rename(h.ctx, "a", target, false)
		wantErr(t, err, fs.ErrExist, "rename onto existing "+target+" without replace")
	}
	err := h.fs.Rename(h.ctx, "d", "b", false)
	wantErr(t, err, fs.ErrExist, "rename dir onto existing file without replace")
	h.wantContent("a", "A")
	h.wantContent("b", "B")
	if !h.stat("d").IsDir() {
		t.Errorf("d is no longer a directory")
	}
}

func testRenameReplace(h *tester) {
	t := h.t
	h.create("a", "A")
	h.create("b", "B")
	id := h.stat("a").FileID
	noErr(t, h.fs.Rename(h.ctx, "a", "b", true), "rename with replace")
	h.wantNotExist("a")
	h.wantContent("b", "A")
	if got := h.stat("b").FileID; got != id {
		t.Errorf("replaced file has FileID %d, want the source's %d", got, id)
	}
	// Directories are never replaced, and cannot replace files.
	h.mkdir("d")
	h.mkdir("e")
	wantErr(t, h.fs.Rename(h.ctx, "b", "d", true), fs.ErrExist, "replace a directory with a file")
	wantErr(t, h.fs.Rename(h.ctx, "e", "d", true), fs.ErrExist, "replace a directory with a directory")
	wantErr(t, h.fs.Rename(h.ctx, "d", "b", true), vfs.ErrNotDir, "replace a file with a directory")
	h.wantContent("b", "A")
	if got := h.list("."); !equalStrings(got, []string{"b", "d", "e"}) {
		t.Errorf("root lists %q, want [b d e]", got)
	}
}

func testRenameErrors(h *tester) {
	t := h.t
	h.create("f", "x")
	h.mkdir("d")
	h.mkdir("d/sub")
	cases := []struct {
		old, new string
		want     error
	}{
		{"missing", "g", fs.ErrNotExist},
		{"f", "nodir/g", fs.ErrNotExist},
		{"f", "f/g", vfs.ErrNotDir},
		{"d", "d/sub/d", fs.ErrInvalid},
		{"d", "d/x", fs.ErrInvalid},
		{".", "x", fs.ErrPermission},
		{"", "x", fs.ErrPermission},
		{"f", ".", fs.ErrPermission},
	}
	for _, c := range cases {
		for _, replace := range []bool{false, true} {
			err := h.fs.Rename(h.ctx, c.old, c.new, replace)
			wantErr(t, err, c.want, "rename "+c.old+" -> "+c.new)
		}
	}
	if got := h.list("."); !equalStrings(got, []string{"d", "f"}) {
		t.Errorf("root lists %q after failed renames, want [d f]", got)
	}
	if got := h.list("d"); !equalStrings(got, []string{"sub"}) {
		t.Errorf("d lists %q after failed renames, want [sub]", got)
	}
}

func testRenameOpenFile(h *tester) {
	t := h.t
	h.create("a", "1")
	f := h.open("a", os.O_RDWR)
	noErr(t, h.fs.Rename(h.ctx, "a", "b", false), "rename open file")
	_, err := f.WriteAt([]byte("2"), 1)
	noErr(t, err, "WriteAt after rename")
	h.wantContent("b", "12")
	fi, err := f.Stat()
	noErr(t, err, "Stat after rename")
	if fi.FileID != h.stat("b").FileID {
		t.Errorf("open file and renamed file differ")
	}
}
