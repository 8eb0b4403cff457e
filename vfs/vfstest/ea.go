package vfstest

import (
	"bytes"
	"errors"
	"io/fs"
	"os"

	"github.com/signetsmb/signet/vfs"
)

// testEAs covers vfs.EAFS and vfs.EAFile: set, list sorted, replace,
// remove with an empty value; EAs follow the file across a rename, are
// seen through another open (and a stream's open, when the FS has
// streams) and go away with the file.
func testEAs(h *tester) {
	t := h.t
	efs, ok := h.fs.(vfs.EAFS)
	if !ok || !efs.SupportsEAs() {
		t.Skip("FS does not implement vfs.EAFS")
	}
	h.create("f", "x")
	f := h.open("f", os.O_RDONLY)
	ef, ok := f.(vfs.EAFile)
	if !ok {
		t.Fatal("EAFS whose File does not implement vfs.EAFile")
	}
	err := ef.SetEA("B", 0, []byte("two"))
	if errors.Is(err, vfs.ErrNotSupported) {
		t.Skip("file system cannot store EAs")
	}
	noErr(t, err, "SetEA")
	noErr(t, ef.SetEA("A", 0x80, []byte("one")), "SetEA")
	noErr(t, ef.SetEA("B", 0, []byte("2")), "SetEA replace")
	noErr(t, ef.SetEA("missing", 0, nil), "SetEA removing a missing EA")
	noErr(t, h.fs.Rename(h.ctx, "f", "g", false), "Rename")
	g := h.open("g", os.O_RDONLY)
	eas, err := g.(vfs.EAFile).EAs()
	noErr(t, err, "EAs")
	if len(eas) != 2 || eas[0].Name != "A" || eas[0].Flags != 0x80 || !bytes.Equal(eas[0].Value, []byte("one")) ||
		eas[1].Name != "B" || !bytes.Equal(eas[1].Value, []byte("2")) {
		t.Fatalf("EAs = %+v", eas)
	}
	if sfs, ok := h.fs.(vfs.StreamFS); ok {
		s, err := sfs.OpenStream(h.ctx, "g", "s", os.O_RDWR|os.O_CREATE)
		if err == nil {
			if se, ok := s.(vfs.EAFile); ok {
				got, err := se.EAs()
				if err != nil || len(got) != 2 {
					t.Errorf("EAs through a stream = %+v, %v", got, err)
				}
			}
			s.Close()
		}
	}
	noErr(t, ef.SetEA("A", 0, nil), "SetEA remove")
	eas, _ = ef.EAs()
	if len(eas) != 1 || eas[0].Name != "B" {
		t.Fatalf("EAs after remove = %+v", eas)
	}
	wantErr(t, ef.SetEA("", 0, []byte("x")), fs.ErrInvalid, "SetEA with an empty name")
	wantErr(t, ef.SetEA("a\x00b", 0, []byte("x")), fs.ErrInvalid, "SetEA with NUL")
	noErr(t, h.fs.Remove(h.ctx, "g"), "Remove")
	h.create("g", "")
	n := h.open("g", os.O_RDONLY)
	if eas, _ := n.(vfs.EAFile).EAs(); len(eas) != 0 {
		t.Fatalf("a new file inherits EAs %+v", eas)
	}
	noErr(t, f.Close(), "Close")
	_, err = ef.EAs()
	wantErr(t, err, fs.ErrClosed, "EAs after Close")
}

// testEAsOf: EAsOf reads the EAs of a file by name, as EAs does through
// an open, and refuses names outside the root.
func testEAsOf(h *tester) {
	t := h.t
	efs, ok := h.fs.(vfs.EAFS)
	if !ok || !efs.SupportsEAs() {
		t.Skip("FS does not implement vfs.EAFS")
	}
	h.mkdir("d")
	h.create("d/f", "x")
	f := h.open("d/f", os.O_RDONLY)
	defer f.Close()
	err := f.(vfs.EAFile).SetEA("K", 0, []byte("v"))
	if errors.Is(err, vfs.ErrNotSupported) {
		t.Skip("file system cannot store EAs")
	}
	noErr(t, err, "SetEA")
	eas, err := efs.EAsOf(h.ctx, "d/f")
	noErr(t, err, "EAsOf")
	if len(eas) != 1 || eas[0].Name != "K" || string(eas[0].Value) != "v" {
		t.Fatalf("EAsOf = %+v", eas)
	}
	if eas, err := efs.EAsOf(h.ctx, "d"); err != nil || len(eas) != 0 {
		t.Fatalf("EAsOf of a directory without EAs = %+v, %v", eas, err)
	}
	_, err = efs.EAsOf(h.ctx, "d/missing")
	wantErr(t, err, fs.ErrNotExist, "EAsOf of a missing file")
	if _, err := efs.EAsOf(h.ctx, "../d/f"); err == nil {
		t.Error("EAsOf outside the root succeeded")
	}
}
