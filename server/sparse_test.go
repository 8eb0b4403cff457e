package server

import (
	"bytes"
	"context"
	"encoding/binary"
	"io/fs"
	"testing"

	"github.com/signetsmb/signet/internal/fscc"
	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
	"github.com/signetsmb/signet/vfs"
	"github.com/signetsmb/signet/vfs/memfs"
)

func rangeBuf(a, b int64) []byte {
	out := binary.LittleEndian.AppendUint64(nil, uint64(a))
	return binary.LittleEndian.AppendUint64(out, uint64(b))
}

func parseRanges(t *testing.T, out []byte) []vfs.Range {
	t.Helper()
	if len(out)%16 != 0 {
		t.Fatalf("ranges output of %d bytes", len(out))
	}
	var rs []vfs.Range
	for ; len(out) > 0; out = out[16:] {
		rs = append(rs, vfs.Range{Off: int64(binary.LittleEndian.Uint64(out)), Len: int64(binary.LittleEndian.Uint64(out[8:]))})
	}
	return rs
}

func (tc *tester) attrs(f wire.FileID) uint32 {
	tc.t.Helper()
	b, st := tc.queryInfo(f, wire.InfoFile, uint8(fscc.FileBasicInformation), 40, 0)
	if st != ntstatus.Success || len(b) < 36 {
		tc.t.Fatalf("basic info: %v", st)
	}
	return binary.LittleEndian.Uint32(b[32:])
}

func (tc *tester) fsAttrs(f wire.FileID) uint32 {
	tc.t.Helper()
	b, st := tc.queryInfo(f, wire.InfoFilesystem, uint8(fscc.FileFsAttributeInformation), 256, 0)
	if st != ntstatus.Success || len(b) < 4 {
		tc.t.Fatalf("fs attribute info: %v", st)
	}
	return binary.LittleEndian.Uint32(b)
}

// TestSparse: FSCTL_SET_SPARSE toggles FILE_ATTRIBUTE_SPARSE_FILE (no
// buffer sets it), SET_ZERO_DATA punches a hole in a sparse file that
// QUERY_ALLOCATED_RANGES then leaves out, a file that is not sparse is
// reported allocated in full, and the malformed and truncated cases get
// Windows' statuses [MS-FSA 2.1.5.10.16, 2.1.5.10.22, 2.1.5.10.25].
func TestSparse(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	f := tc.mustCreate("s")
	if tc.fsAttrs(f)&fscc.FSAttrSupportsSparseFiles == 0 {
		t.Fatal("memfs share does not announce FILE_SUPPORTS_SPARSE_FILES")
	}
	data := bytes.Repeat([]byte{0xAB}, 3*4096)
	if _, st := tc.write(f, 0, data); st != ntstatus.Success {
		t.Fatal(st)
	}
	qar := func(off, n int64, max uint32) ([]vfs.Range, ntstatus.Status) {
		ir, st := tc.ioctl(f, wire.FsctlQueryAllocatedRanges, rangeBuf(off, n), max)
		if ir == nil {
			return nil, st
		}
		return parseRanges(t, ir.Output), st
	}
	if rs, st := qar(0, 1<<20, 1024); st != ntstatus.Success || len(rs) != 1 || rs[0] != (vfs.Range{Off: 0, Len: 3 * 4096}) {
		t.Fatalf("not sparse: %v %v", rs, st)
	}
	// Zeroing a file that is not sparse keeps it allocated.
	if _, st := tc.ioctl(f, wire.FsctlSetZeroData, rangeBuf(4096, 8192), 0); st != ntstatus.Success {
		t.Fatal(st)
	}
	if rs, _ := qar(0, 1<<20, 1024); len(rs) != 1 || rs[0].Len != 3*4096 {
		t.Fatalf("zeroed, not sparse: %v", rs)
	}
	if b, _ := tc.read(f, 4096, 4096); !bytes.Equal(b, make([]byte, 4096)) {
		t.Fatal("zeroed range does not read as zeros")
	}
	if tc.attrs(f)&fscc.FileAttributeSparseFile != 0 {
		t.Fatal("sparse before SET_SPARSE")
	}
	if _, st := tc.ioctl(f, wire.FsctlSetSparse, nil, 0); st != ntstatus.Success {
		t.Fatal(st)
	}
	if tc.attrs(f)&fscc.FileAttributeSparseFile == 0 {
		t.Fatal("not sparse after SET_SPARSE without a buffer")
	}
	if _, st := tc.ioctl(f, wire.FsctlSetZeroData, rangeBuf(4096, 8192), 0); st != ntstatus.Success {
		t.Fatal(st)
	}
	want := []vfs.Range{{Off: 0, Len: 4096}, {Off: 8192, Len: 4096}}
	if rs, st := qar(0, 1<<20, 1024); st != ntstatus.Success || len(rs) != 2 || rs[0] != want[0] || rs[1] != want[1] {
		t.Fatalf("sparse with a hole: %v %v", rs, st)
	}
	if rs, st := qar(0, 1<<20, 16); st != ntstatus.BufferOverflow || len(rs) != 1 || rs[0] != want[0] {
		t.Fatalf("truncated: %v %v", rs, st)
	}
	if _, st := qar(0, 1<<20, 0); st != ntstatus.BufferTooSmall {
		t.Fatalf("no room: %v", st)
	}
	if _, st := qar(512, -1, 1024); st != ntstatus.InvalidParameter {
		t.Fatalf("wrapping range: %v", st)
	}
	if _, st := tc.ioctl(f, wire.FsctlQueryAllocatedRanges, nil, 1024); st != ntstatus.InvalidParameter {
		t.Fatalf("no input: %v", st)
	}
	if _, st := tc.ioctl(f, wire.FsctlSetZeroData, rangeBuf(10, 9), 0); st != ntstatus.InvalidParameter {
		t.Fatalf("offset past beyond-final-zero: %v", st)
	}
	// Clearing the flag reallocates the holes.
	if _, st := tc.ioctl(f, wire.FsctlSetSparse, []byte{0}, 0); st != ntstatus.Success {
		t.Fatal(st)
	}
	if tc.attrs(f)&fscc.FileAttributeSparseFile != 0 {
		t.Fatal("sparse after clearing")
	}
	if _, st := tc.ioctl(f, wire.FsctlSetSparse, []byte{1}, 0); st != ntstatus.Success {
		t.Fatal(st)
	}
	if rs, _ := qar(0, 1<<20, 1024); len(rs) != 1 || rs[0].Len != 3*4096 {
		t.Fatalf("holes not reallocated when the flag was cleared: %v", rs)
	}
	// Directories and access rights.
	d := tc.mustMkdir("d")
	if _, st := tc.ioctl(d, wire.FsctlSetSparse, nil, 0); st != ntstatus.InvalidParameter {
		t.Fatalf("directory: %v", st)
	}
	ro, _ := tc.create(&wire.CreateRequest{DesiredAccess: wire.FileReadAttributes, ShareAccess: shareAll,
		CreateDisposition: wire.FileOpen, Name: "s"})
	if _, st := tc.ioctl(ro.FileID, wire.FsctlSetSparse, nil, 0); st != ntstatus.AccessDenied {
		t.Fatalf("SET_SPARSE without write access: %v", st)
	}
	if _, st := tc.ioctl(ro.FileID, wire.FsctlQueryAllocatedRanges, rangeBuf(0, 10), 1024); st != ntstatus.AccessDenied {
		t.Fatalf("QAR without read access: %v", st)
	}
	if _, st := tc.ioctl(ro.FileID, wire.FsctlSetZeroData, rangeBuf(0, 10), 0); st != ntstatus.AccessDenied {
		t.Fatalf("SET_ZERO_DATA without write access: %v", st)
	}
}

// plainFS hides every optional capability of the FS it wraps.
type plainFS struct{ fs vfs.FS }

func (p plainFS) OpenFile(ctx context.Context, name string, flag int, perm fs.FileMode) (vfs.File, error) {
	f, err := p.fs.OpenFile(ctx, name, flag, perm)
	if err != nil {
		return nil, err
	}
	return plainFile{f}, nil
}
func (p plainFS) Stat(ctx context.Context, name string) (vfs.FileInfo, error) {
	return p.fs.Stat(ctx, name)
}
func (p plainFS) Mkdir(ctx context.Context, name string, perm fs.FileMode) error {
	return p.fs.Mkdir(ctx, name, perm)
}
func (p plainFS) Remove(ctx context.Context, name string) error { return p.fs.Remove(ctx, name) }
func (p plainFS) Rename(ctx context.Context, a, b string, replace bool) error {
	return p.fs.Rename(ctx, a, b, replace)
}
func (p plainFS) StatFS(ctx context.Context) (vfs.FSInfo, error) { return p.fs.StatFS(ctx) }

// plainFile is a vfs.File with no optional capability.
type plainFile struct{ vfs.File }

// TestSparseUnsupported: on a backend without sparse files the share does
// not announce them and the FSCTLs are INVALID_DEVICE_REQUEST, as on a
// Windows file system without the feature.
func TestSparseUnsupported(t *testing.T) {
	tc := newSessionTester(t, &testerConfig{FS: plainFS{memfs.New(memfs.Options{})}}, wire.Dialect311)
	f := tc.mustCreate("s")
	if tc.fsAttrs(f)&fscc.FSAttrSupportsSparseFiles != 0 {
		t.Fatal("FILE_SUPPORTS_SPARSE_FILES announced without the capability")
	}
	for _, ctl := range []uint32{wire.FsctlSetSparse, wire.FsctlSetZeroData, wire.FsctlQueryAllocatedRanges} {
		if _, st := tc.ioctl(f, ctl, rangeBuf(0, 1), 1024); st != ntstatus.InvalidDeviceRequest {
			t.Errorf("FSCTL %#x: %v", ctl, st)
		}
	}
}
