package vfstest

import (
	"bytes"
	"errors"
	"io/fs"
	"os"

	"github.com/signetsmb/signet/vfs"
)

// testSecurity: vfs.SecurityFile and vfs.SecurityFS store an opaque
// descriptor per file and directory, which follows the file across a
// rename, is readable by name (following a path inside the root only),
// is removed by an empty set, refuses oversized input, and goes with the
// file.
func testSecurity(h *tester) {
	t := h.t
	sfs, ok := h.fs.(vfs.SecurityFS)
	if !ok {
		t.Skip("FS does not implement vfs.SecurityFS")
	}
	h.create("f", "x")
	f := h.open("f", os.O_RDONLY)
	sf, ok := f.(vfs.SecurityFile)
	if !ok {
		t.Fatal("FS implements vfs.SecurityFS but its files not vfs.SecurityFile")
	}
	got, err := sf.Security()
	if errors.Is(err, vfs.ErrNotSupported) {
		t.Skip("descriptors not supported here")
	}
	noErr(t, err, "Security")
	if got != nil {
		t.Fatalf("new file has a descriptor: %x", got)
	}
	sd := []byte{1, 0, 4, 0x80, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	// A read-only open may set it: descriptors are not file data.
	noErr(t, sf.SetSecurity(sd), "SetSecurity")
	got, err = sf.Security()
	noErr(t, err, "Security")
	if !bytes.Equal(got, sd) {
		t.Fatalf("Security = %x, want %x", got, sd)
	}
	noErr(t, h.fs.Rename(h.ctx, "f", "g", false), "Rename")
	got, err = sfs.Security(h.ctx, "g")
	noErr(t, err, "Security by name after rename")
	if !bytes.Equal(got, sd) {
		t.Fatalf("after rename: %x, want %x", got, sd)
	}
	big := bytes.Repeat([]byte{7}, 3000)
	noErr(t, sf.SetSecurity(big), "SetSecurity of 3000 octets")
	got, err = sfs.Security(h.ctx, "g")
	noErr(t, err, "Security by name")
	if !bytes.Equal(got, big) {
		t.Fatalf("3000-octet descriptor came back as %d octets", len(got))
	}
	wantErr(t, sf.SetSecurity(make([]byte, vfs.MaxSecuritySize+1)), fs.ErrInvalid, "SetSecurity over MaxSecuritySize")
	noErr(t, sf.SetSecurity(nil), "SetSecurity(nil)")
	got, err = sfs.Security(h.ctx, "g")
	noErr(t, err, "Security after removal")
	if got != nil {
		t.Fatalf("removed descriptor still there: %x", got)
	}

	// Directories have one too, including the root.
	h.mkdir("d")
	d := h.open("d", os.O_RDONLY)
	noErr(t, d.(vfs.SecurityFile).SetSecurity(sd), "SetSecurity on a directory")
	got, err = sfs.Security(h.ctx, "d")
	noErr(t, err, "Security of a directory")
	if !bytes.Equal(got, sd) {
		t.Fatalf("directory: %x", got)
	}
	root := h.open(".", os.O_RDONLY)
	noErr(t, root.(vfs.SecurityFile).SetSecurity(sd), "SetSecurity on the root")
	got, err = sfs.Security(h.ctx, ".")
	noErr(t, err, "Security of the root")
	if !bytes.Equal(got, sd) {
		t.Fatalf("root: %x", got)
	}

	// Names are confined to the root like any other.
	for _, name := range []string{"../g", "/etc/passwd", "d/../../g"} {
		if _, err := sfs.Security(h.ctx, name); err == nil {
			t.Errorf("Security(%q) succeeded: it escapes the root", name)
		}
	}
	wantErr(t, errOnly(sfs.Security(h.ctx, "missing")), fs.ErrNotExist, "Security of a missing file")
	noErr(t, f.Close(), "Close")
	wantErr(t, errOnly(sf.Security()), fs.ErrClosed, "Security after Close")
	wantErr(t, sf.SetSecurity(sd), fs.ErrClosed, "SetSecurity after Close")
}

func errOnly(_ []byte, err error) error { return err }
