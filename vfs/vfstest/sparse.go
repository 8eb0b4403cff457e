package vfstest

import (
	"errors"
	"io/fs"
	"os"
	"strings"

	"github.com/signetsmb/signet/vfs"
)

// testSparse covers vfs.SparseFS and vfs.SparseFile: the flag follows the
// file across a rename and reads back from another open, a punched hole
// reads as zeros, leaves the size alone and disappears from DataRanges
// (at 4 KiB granularity at least), and a write fills it again.
func testSparse(h *tester) {
	t := h.t
	sfs, ok := h.fs.(vfs.SparseFS)
	if !ok || !sfs.SupportsSparse() {
		t.Skip("FS does not implement vfs.SparseFS")
	}
	const unit = 64 << 10 // larger than any allocation unit we test on
	h.create("f", strings.Repeat("a", 3*unit))
	f := h.open("f", os.O_RDWR)
	sf, ok := f.(vfs.SparseFile)
	if !ok {
		t.Fatal("SparseFS whose File does not implement vfs.SparseFile")
	}
	if s, err := sf.Sparse(); err != nil || s {
		t.Fatalf("Sparse of a new file = %v, %v", s, err)
	}
	noErr(t, sf.SetSparse(true), "SetSparse")
	noErr(t, h.fs.Rename(h.ctx, "f", "g", false), "Rename")
	g := h.open("g", os.O_RDONLY)
	if s, err := g.(vfs.SparseFile).Sparse(); err != nil || !s {
		t.Fatalf("Sparse through another open after rename = %v, %v", s, err)
	}
	rs, err := sf.DataRanges(0, 1<<40, 100)
	noErr(t, err, "DataRanges")
	if len(rs) != 1 || rs[0] != (vfs.Range{Off: 0, Len: 3 * unit}) {
		t.Fatalf("DataRanges of a full file = %v", rs)
	}
	noErr(t, sf.PunchHole(unit, unit), "PunchHole")
	if fi := h.stat("g"); fi.Size != 3*unit {
		t.Fatalf("size after PunchHole = %d", fi.Size)
	}
	want := strings.Repeat("a", unit) + strings.Repeat("\x00", unit) + strings.Repeat("a", unit)
	h.wantContent("g", want)
	rs, err = sf.DataRanges(0, 3*unit, 100)
	noErr(t, err, "DataRanges")
	if len(rs) != 2 || rs[0] != (vfs.Range{Off: 0, Len: unit}) || rs[1] != (vfs.Range{Off: 2 * unit, Len: unit}) {
		t.Fatalf("DataRanges with a hole = %v", rs)
	}
	// Clipped to the range asked for and to the end of the file.
	rs, err = sf.DataRanges(unit/2, 3*unit, 100)
	noErr(t, err, "DataRanges")
	if len(rs) != 2 || rs[0] != (vfs.Range{Off: unit / 2, Len: unit / 2}) || rs[1].End() != 3*unit {
		t.Fatalf("DataRanges from the middle = %v", rs)
	}
	if rs, err := sf.DataRanges(0, 3*unit, 1); err != nil || len(rs) != 1 || rs[0] != (vfs.Range{Off: 0, Len: unit}) {
		t.Fatalf("DataRanges with max 1 = %v, %v", rs, err)
	}
	if rs, err := sf.DataRanges(unit, unit, 100); err != nil || len(rs) != 0 {
		t.Fatalf("DataRanges of the hole = %v, %v", rs, err)
	}
	_, err = f.WriteAt([]byte("b"), unit+10)
	noErr(t, err, "WriteAt in the hole")
	rs, err = sf.DataRanges(unit, unit, 100)
	noErr(t, err, "DataRanges")
	if len(rs) != 1 || rs[0].Off > unit+10 || rs[0].End() <= unit+10 {
		t.Fatalf("DataRanges after a write in the hole = %v", rs)
	}
	// Past the end: ignored.
	noErr(t, sf.PunchHole(3*unit, unit), "PunchHole past the end")
	if fi := h.stat("g"); fi.Size != 3*unit {
		t.Fatalf("size after PunchHole past the end = %d", fi.Size)
	}
	wantErr(t, sf.PunchHole(-1, 1), fs.ErrInvalid, "PunchHole at a negative offset")
	_, err = sf.DataRanges(-1, 1, 100)
	wantErr(t, err, fs.ErrInvalid, "DataRanges at a negative offset")
	_, err = sf.DataRanges(0, 1, 0)
	wantErr(t, err, fs.ErrInvalid, "DataRanges with max 0")
	wantErr(t, g.(vfs.SparseFile).PunchHole(0, 1), fs.ErrPermission, "PunchHole without write access")

	noErr(t, sf.SetSparse(false), "SetSparse(false)")
	if s, _ := g.(vfs.SparseFile).Sparse(); s {
		t.Fatal("still sparse after SetSparse(false)")
	}
	d := h.open(".", os.O_RDONLY)
	if dsf, ok := d.(vfs.SparseFile); ok {
		if err := dsf.SetSparse(true); !errors.Is(err, vfs.ErrIsDir) {
			t.Fatalf("SetSparse on a directory: %v", err)
		}
	}
	noErr(t, f.Close(), "Close")
	_, err = sf.Sparse()
	wantErr(t, err, fs.ErrClosed, "Sparse after Close")
}
