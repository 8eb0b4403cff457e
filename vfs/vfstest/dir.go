package vfstest

import (
	"io"
	"os"
	"strings"

	"github.com/signetsmb/signet/vfs"
)

func testReadDir(h *tester) {
	t := h.t
	if got := h.list("."); len(got) != 0 {
		t.Fatalf("new FS root lists %q, want nothing", got)
	}
	for _, name := range []string{"b", "a", "C", ".hidden", "a0"} {
		h.create(name, name)
	}
	h.mkdir("dir")
	h.create("dir/inner", "")

	d := h.open(".", os.O_RDONLY)
	infos, err := d.ReadDir(-1)
	noErr(t, err, "ReadDir")
	want := []string{".hidden", "C", "a", "a0", "b", "dir"}
	var got []string
	for _, fi := range infos {
		got = append(got, fi.Name)
		st := h.stat(fi.Name)
		if fi.FileID != st.FileID || fi.IsDir() != st.IsDir() || fi.Size != st.Size {
			t.Errorf("ReadDir entry %+v disagrees with Stat %+v", fi, st)
		}
	}
	if !equalStrings(got, want) {
		t.Errorf("ReadDir names = %q, want %q", got, want)
	}
	if infos, err := d.ReadDir(-1); len(infos) != 0 || err != nil {
		t.Errorf("ReadDir(-1) at end = %d entries, %v; want none, nil", len(infos), err)
	}
	if infos, err := d.ReadDir(1); len(infos) != 0 || err != io.EOF {
		t.Errorf("ReadDir(1) at end = %d entries, %v; want none, io.EOF", len(infos), err)
	}
}

func testReadDirPaging(h *tester) {
	t := h.t
	var want []string
	for i := range 7 {
		name := string(rune('a' + i))
		want = append(want, name)
		h.create(name, "")
	}
	d := h.open(".", os.O_RDONLY)
	var got []string
	for _, n := range []int{3, 3, 3} {
		infos, err := d.ReadDir(n)
		noErr(t, err, "ReadDir(n)")
		for _, fi := range infos {
			got = append(got, fi.Name)
		}
	}
	if !equalStrings(got, want) {
		t.Errorf("paged ReadDir = %q, want %q", got, want)
	}
	noErr(t, d.RewindDir(), "RewindDir")
	h.create("0-new", "")
	first, err := d.ReadDir(2)
	noErr(t, err, "ReadDir after RewindDir")
	rest, err := d.ReadDir(-1)
	noErr(t, err, "ReadDir(-1) after RewindDir")
	if len(first) != 2 || first[0].Name != "0-new" || len(first)+len(rest) != 8 {
		t.Errorf("after RewindDir got %d+%d entries starting %q, want 8 starting 0-new",
			len(first), len(rest), first[0].Name)
	}
}

func testReadDirSnapshot(h *tester) {
	t := h.t
	for _, name := range []string{"a", "b", "c"} {
		h.create(name, "")
	}
	d := h.open(".", os.O_RDONLY)
	first, err := d.ReadDir(1)
	noErr(t, err, "ReadDir(1)")
	noErr(t, h.fs.Remove(h.ctx, "b"), "Remove b")
	rest, err := d.ReadDir(-1)
	noErr(t, err, "ReadDir(-1)")
	var got []string
	for _, fi := range append(first, rest...) {
		got = append(got, fi.Name)
	}
	if !equalStrings(got, []string{"a", "c"}) {
		t.Errorf("listing with b removed mid-way = %q, want [a c]", got)
	}
}

func testReadDirNotDir(h *tester) {
	t := h.t
	h.create("f", "")
	f := h.open("f", os.O_RDONLY)
	_, err := f.ReadDir(-1)
	wantErr(t, err, vfs.ErrNotDir, "ReadDir on a file")
	wantErr(t, f.RewindDir(), vfs.ErrNotDir, "RewindDir on a file")
}

// unicodeNames are valid names that an SMB client commonly sends.
func unicodeNames() []string {
	return []string{
		"héllo wörld.txt",
		"日本語 ファイル",
		"emoji 🎉.dat",
		" leading space",
		"trailing space ",
		"tab\tand newline\n",
		"Ωmega",
		"back\\slash",
		strings.Repeat("é", 127), // 254 bytes
	}
}

func testUnicodeNames(h *tester) {
	t := h.t
	h.mkdir("dir ü")
	var want []string
	for _, name := range unicodeNames() {
		h.create("dir ü/"+name, name)
		want = append(want, name)
	}
	for _, name := range want {
		h.wantContent("dir ü/"+name, name)
	}
	got := h.list("dir ü")
	if len(got) != len(want) {
		t.Fatalf("listed %d names, want %d: %q", len(got), len(want), got)
	}
	for i := 1; i < len(got); i++ {
		if got[i-1] >= got[i] {
			t.Errorf("ReadDir not sorted: %q before %q", got[i-1], got[i])
		}
	}
	noErr(t, h.fs.Rename(h.ctx, "dir ü/Ωmega", "dir ü/ωmega", false), "rename unicode")
	h.wantContent("dir ü/ωmega", "Ωmega")
	h.wantNotExist("dir ü/Ωmega")
}

func testNameTooLong(h *tester) {
	t := h.t
	long := strings.Repeat("n", 256)
	_, err := h.fs.OpenFile(h.ctx, long, os.O_RDWR|os.O_CREATE, 0o644)
	wantErr(t, err, vfs.ErrNameTooLong, "create 256-byte name")
	wantErr(t, h.fs.Mkdir(h.ctx, long, 0o755), vfs.ErrNameTooLong, "Mkdir 256-byte name")
	_, err = h.fs.Stat(h.ctx, long)
	wantErr(t, err, vfs.ErrNameTooLong, "Stat 256-byte name")
	if got := h.list("."); len(got) != 0 {
		t.Errorf("root lists %q, want nothing", got)
	}
}
