package server

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/signetsmb/signet/internal/fscc"
	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
)

// Tests of QUERY_INFO and SET_INFO [MS-SMB2 3.3.5.20, 3.3.5.21; MS-FSA
// 2.1.5.12, 2.1.5.14] through the tester.

func le64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }

// basicInfo encodes FileBasicInformation [MS-FSCC 2.4.7].
func basicInfo(create, access, write, change time.Time, attrs uint32) []byte {
	ft := func(t time.Time) uint64 {
		if t.IsZero() {
			return 0
		}
		return fscc.Filetime(t)
	}
	b := make([]byte, 40)
	binary.LittleEndian.PutUint64(b, ft(create))
	binary.LittleEndian.PutUint64(b[8:], ft(access))
	binary.LittleEndian.PutUint64(b[16:], ft(write))
	binary.LittleEndian.PutUint64(b[24:], ft(change))
	binary.LittleEndian.PutUint32(b[32:], attrs)
	return b
}

// renameInfo encodes FileRenameInformation (SMB2 form).
func renameInfo(to string, replace bool) []byte { return fscc.EncodeRename(to, replace) }

func (tc *tester) queryFile(id wire.FileID, class fscc.InfoClass, outLen uint32) ([]byte, ntstatus.Status) {
	tc.t.Helper()
	return tc.queryInfo(id, wire.InfoFile, uint8(class), outLen, 0)
}

func (tc *tester) setFile(id wire.FileID, class fscc.InfoClass, buf []byte) ntstatus.Status {
	tc.t.Helper()
	return tc.setInfo(id, wire.InfoFile, uint8(class), buf, 0)
}

// TestQueryFileInfoClasses: every supported file information class
// answers at least its fixed size; a buffer below that is
// STATUS_INFO_LENGTH_MISMATCH; a variable-size class cut short is
// STATUS_BUFFER_OVERFLOW with the data that fits [MS-SMB2 3.3.5.20.1].
func TestQueryFileInfoClasses(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	id := tc.mustCreate("a-rather-long-file-name.txt")
	tc.write(id, 0, []byte("0123456789"))
	for _, class := range []fscc.InfoClass{fscc.FileBasicInformation, fscc.FileStandardInformation, fscc.FileInternalInformation,
		fscc.FileEaInformation, fscc.FileAccessInformation, fscc.FileNameInformation, fscc.FilePositionInformation,
		fscc.FileModeInformation, fscc.FileAlignmentInformation, fscc.FileAllInformation, fscc.FileAlternateNameInformation,
		fscc.FileStreamInformation, fscc.FileCompressionInformation, fscc.FileNetworkOpenInformation,
		fscc.FileAttributeTagInformation, fscc.FileNormalizedNameInformation} {
		min, ok := fscc.FileInfoMinSize(class)
		if !ok {
			t.Fatalf("%v has no minimum size", class)
		}
		out, st := tc.queryFile(id, class, 4096)
		if st != ntstatus.Success || len(out) < min {
			t.Errorf("%v: %v, %d bytes (min %d)", class, st, len(out), min)
		}
		if min > 0 {
			if _, st := tc.queryFile(id, class, uint32(min-1)); st != ntstatus.InfoLengthMismatch {
				t.Errorf("%v with %d bytes: %v, want INFO_LENGTH_MISMATCH", class, min-1, st)
			}
		}
	}
	std, _ := tc.queryFile(id, fscc.FileStandardInformation, 64)
	if eof := binary.LittleEndian.Uint64(std[8:]); eof != 10 {
		t.Errorf("FileStandardInformation EndOfFile %d, want 10", eof)
	}
	out, st := tc.queryFile(id, fscc.FileNameInformation, 10)
	if st != ntstatus.BufferOverflow || len(out) != 10 {
		t.Errorf("FileNameInformation in 10 bytes: %v, %d bytes", st, len(out))
	}
	allMin, _ := fscc.FileInfoMinSize(fscc.FileAllInformation)
	out, st = tc.queryFile(id, fscc.FileAllInformation, uint32(allMin+2))
	if st != ntstatus.BufferOverflow || len(out) != allMin+2 {
		t.Errorf("FileAllInformation in %d bytes: %v, %d bytes", allMin+2, st, len(out))
	}
	for class, want := range map[uint8]ntstatus.Status{
		uint8(fscc.FileFullEaInformation): ntstatus.NoEasOnFile,
		0x55:                              ntstatus.InvalidInfoClass,
		uint8(fscc.FileRenameInformation): ntstatus.InvalidInfoClass,
	} {
		if _, st := tc.queryInfo(id, wire.InfoFile, class, 1024, 0); st != want {
			t.Errorf("class %d: %v, want %v", class, st, want)
		}
	}
	if _, st := tc.queryInfo(id, wire.InfoQuota, 0, 1024, 0); st != ntstatus.NotSupported {
		t.Errorf("quota: %v", st)
	}
	if _, st := tc.queryInfo(id, 9, 1, 1024, 0); st != ntstatus.InvalidParameter {
		t.Errorf("info type 9: %v", st)
	}
	r := tc.queryInfoReq(id, wire.InfoFile, uint8(fscc.FileBasicInformation), tc.neg.MaxTransactSize+1, 0)
	expectStatus(t, "OutputBufferLength over MaxTransactSize", tc.roundTrip(r), ntstatus.InvalidParameter)
}

// TestQueryFSInfo: the file system information classes of the share
// [MS-SMB2 3.3.5.20.2; MS-FSCC 2.5].
func TestQueryFSInfo(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect300)
	id := tc.mustCreate("f")
	for _, class := range []fscc.FSInfoClass{fscc.FileFsVolumeInformation, fscc.FileFsSizeInformation,
		fscc.FileFsDeviceInformation, fscc.FileFsAttributeInformation, fscc.FileFsFullSizeInformation,
		fscc.FileFsSectorSizeInformation} {
		out, st := tc.queryInfo(id, wire.InfoFilesystem, uint8(class), 1024, 0)
		if st != ntstatus.Success || len(out) == 0 {
			t.Errorf("%v: %v, %d bytes", class, st, len(out))
		}
	}
	full, _ := tc.queryInfo(id, wire.InfoFilesystem, uint8(fscc.FileFsFullSizeInformation), 1024, 0)
	if total := binary.LittleEndian.Uint64(full); total == 0 {
		t.Errorf("FileFsFullSizeInformation reports no space: %x", full)
	}
	vol, _ := tc.queryInfo(id, wire.InfoFilesystem, uint8(fscc.FileFsVolumeInformation), 1024, 0)
	if serial := binary.LittleEndian.Uint32(vol[8:]); serial != volumeSerial("share") {
		t.Errorf("volume serial %#x", serial)
	}
	if _, st := tc.queryInfo(id, wire.InfoFilesystem, 0x66, 1024, 0); st != ntstatus.InvalidInfoClass {
		t.Errorf("unknown FS class: %v", st)
	}
}

// TestQuerySecurity: the security descriptor is returned when it fits;
// otherwise STATUS_BUFFER_TOO_SMALL [MS-SMB2 3.3.5.20.3]; setting the DACL
// needs WRITE_DAC [MS-FSA 2.1.5.16].
func TestQuerySecurity(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	id := tc.mustCreate("s")
	sd, st := tc.queryInfo(id, wire.InfoSecurity, 0, 4096, 7)
	if st != ntstatus.Success || len(sd) < 20 || sd[0] != 1 {
		t.Fatalf("security descriptor: %v % x", st, sd)
	}
	if _, st := tc.queryInfo(id, wire.InfoSecurity, 0, 8, 7); st != ntstatus.BufferTooSmall {
		t.Fatalf("security descriptor in 8 bytes: %v", st)
	}
	if st := tc.setInfo(id, wire.InfoSecurity, 0, sd, 4); st != ntstatus.AccessDenied {
		t.Fatalf("SET_INFO security without WRITE_DAC: %v", st)
	}
	cr, st := tc.create(&wire.CreateRequest{DesiredAccess: wire.WriteDAC, ShareAccess: shareAll,
		CreateDisposition: wire.FileOpen, Name: "s"})
	if st != ntstatus.Success {
		t.Fatalf("open for WRITE_DAC: %v", st)
	}
	if st := tc.setInfo(cr.FileID, wire.InfoSecurity, 0, sd, 4); st != ntstatus.Success {
		t.Fatalf("SET_INFO security: %v", st)
	}
}

// TestSetBasicInfo: FileBasicInformation sets times and attributes, which
// queries then report; zero fields leave things alone; a directory
// attribute on a file is refused [MS-FSA 2.1.5.14.2]. The backend keeps
// metadata records, as localfs does.
func TestSetBasicInfo(t *testing.T) {
	tc := newSessionTester(t, &testerConfig{FS: newMetaFS()}, wire.Dialect311)
	id := tc.mustCreate("b")
	when := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	if st := tc.setFile(id, fscc.FileBasicInformation, basicInfo(when, when, when, when, fscc.FileAttributeHidden)); st != ntstatus.Success {
		t.Fatalf("SET basic: %v", st)
	}
	b, _ := tc.queryFile(id, fscc.FileBasicInformation, 40)
	for i, name := range []string{"creation", "access", "write", "change"} {
		if got := binary.LittleEndian.Uint64(b[8*i:]); got != fscc.Filetime(when) {
			t.Errorf("%s time %d, want %d", name, got, fscc.Filetime(when))
		}
	}
	if attrs := binary.LittleEndian.Uint32(b[32:]); attrs&fscc.FileAttributeHidden == 0 {
		t.Errorf("attributes %#x lack HIDDEN", attrs)
	}
	if st := tc.setFile(id, fscc.FileBasicInformation, basicInfo(time.Time{}, time.Time{}, time.Time{}, time.Time{}, fscc.FileAttributeDirectory)); st != ntstatus.InvalidParameter {
		t.Errorf("DIRECTORY attribute on a file: %v", st)
	}
	if st := tc.setFile(id, fscc.FileBasicInformation, make([]byte, 20)); st != ntstatus.InfoLengthMismatch {
		t.Errorf("short FileBasicInformation: %v", st)
	}
	frozen := make([]byte, 40)
	binary.LittleEndian.PutUint64(frozen[16:], ^uint64(0)) // -1: stop updating LastWriteTime
	if st := tc.setFile(id, fscc.FileBasicInformation, frozen); st != ntstatus.Success {
		t.Errorf("freeze write time: %v", st)
	}
	tc.write(id, 0, []byte("x"))
	b, _ = tc.queryFile(id, fscc.FileBasicInformation, 40)
	if got := binary.LittleEndian.Uint64(b[16:]); got != fscc.Filetime(when) {
		t.Errorf("write time moved while frozen: %d", got)
	}
	binary.LittleEndian.PutUint64(frozen[16:], ^uint64(1)) // -2: thaw
	if st := tc.setFile(id, fscc.FileBasicInformation, frozen); st != ntstatus.Success {
		t.Errorf("thaw write time: %v", st)
	}
	if st := tc.setFile(id, fscc.FileBasicInformation, basicInfo(time.Time{}, time.Time{}, time.Time{}, time.Time{}, fscc.FileAttributeReadOnly)); st != ntstatus.Success {
		t.Errorf("set READONLY: %v", st)
	}
	if _, st := tc.openFile("b", wire.FileOpen, 0); st != ntstatus.AccessDenied {
		t.Errorf("write open after READONLY: %v", st)
	}
	if st := tc.setFile(id, fscc.FileDispositionInformation, []byte{1}); st != ntstatus.CannotDelete {
		t.Errorf("delete a READONLY file: %v", st)
	}
	ro, st := tc.create(&wire.CreateRequest{DesiredAccess: wire.FileReadData, ShareAccess: shareAll, CreateDisposition: wire.FileOpen, Name: "b"})
	if st != ntstatus.Success {
		t.Fatalf("read open: %v", st)
	}
	if st := tc.setFile(ro.FileID, fscc.FileBasicInformation, basicInfo(when, time.Time{}, time.Time{}, time.Time{}, 0)); st != ntstatus.AccessDenied {
		t.Errorf("SET basic without WRITE_ATTRIBUTES: %v", st)
	}
}

// TestSetSizeInfo: FileEndOfFileInformation truncates and extends,
// FileAllocationInformation below the size truncates [MS-FSA 2.1.5.14.4,
// 2.1.5.14.1]; negative sizes and directories are refused.
func TestSetSizeInfo(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect210)
	id := tc.mustCreate("z")
	size := func() uint64 {
		b, _ := tc.queryFile(id, fscc.FileStandardInformation, 64)
		return binary.LittleEndian.Uint64(b[8:])
	}
	if st := tc.setFile(id, fscc.FileEndOfFileInformation, le64(5000)); st != ntstatus.Success || size() != 5000 {
		t.Fatalf("extend: %v, size %d", st, size())
	}
	if st := tc.setFile(id, fscc.FileAllocationInformation, le64(1<<20)); st != ntstatus.Success || size() != 5000 {
		t.Fatalf("allocate above EOF: %v, size %d", st, size())
	}
	if st := tc.setFile(id, fscc.FileAllocationInformation, le64(100)); st != ntstatus.Success || size() != 100 {
		t.Fatalf("allocate below EOF: %v, size %d", st, size())
	}
	if st := tc.setFile(id, fscc.FileEndOfFileInformation, le64(1<<63)); st != ntstatus.InvalidParameter {
		t.Fatalf("negative EOF: %v", st)
	}
	if st := tc.setFile(id, fscc.FileEndOfFileInformation, []byte{1}); st != ntstatus.InfoLengthMismatch {
		t.Fatalf("short EOF: %v", st)
	}
	dir := tc.mustMkdir("d")
	if st := tc.setFile(dir, fscc.FileEndOfFileInformation, le64(1)); st != ntstatus.AccessDenied && st != ntstatus.InvalidParameter {
		t.Fatalf("EOF of a directory: %v", st)
	}
}

// TestSetPositionAndMode: FilePositionInformation and FileModeInformation
// are per-open state that queries report; READ moves the position.
func TestSetPositionAndMode(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	id := tc.mustCreate("p")
	tc.write(id, 0, make([]byte, 100))
	tc.read(id, 10, 20)
	if b, _ := tc.queryFile(id, fscc.FilePositionInformation, 8); binary.LittleEndian.Uint64(b) != 30 {
		t.Errorf("position after READ at 10 of 20: %d", binary.LittleEndian.Uint64(b))
	}
	if st := tc.setFile(id, fscc.FilePositionInformation, le64(77)); st != ntstatus.Success {
		t.Errorf("SET position: %v", st)
	}
	if b, _ := tc.queryFile(id, fscc.FilePositionInformation, 8); binary.LittleEndian.Uint64(b) != 77 {
		t.Errorf("position %d, want 77", binary.LittleEndian.Uint64(b))
	}
	if st := tc.setFile(id, fscc.FileModeInformation, binary.LittleEndian.AppendUint32(nil, fscc.FileWriteThrough)); st != ntstatus.Success {
		t.Errorf("SET mode: %v", st)
	}
	if b, _ := tc.queryFile(id, fscc.FileModeInformation, 4); binary.LittleEndian.Uint32(b) != fscc.FileWriteThrough {
		t.Errorf("mode %x", b)
	}
	if st := tc.setFile(id, fscc.FileModeInformation, []byte{0x10, 0, 0, 0}); st != ntstatus.InvalidParameter {
		t.Errorf("SET mode synchronous-I/O: %v", st)
	}
	if st := tc.setFile(id, fscc.FileFullEaInformation, make([]byte, 16)); st != ntstatus.InvalidEaName {
		t.Errorf("SET EA: %v", st)
	}
	if st := tc.setFile(id, 0x55, make([]byte, 16)); st != ntstatus.InvalidInfoClass {
		t.Errorf("SET unknown class: %v", st)
	}
	for typ, want := range map[uint8]ntstatus.Status{wire.InfoFilesystem: ntstatus.NotSupported, wire.InfoQuota: ntstatus.NotSupported, 9: ntstatus.InvalidParameter} {
		if st := tc.setInfo(id, typ, 1, make([]byte, 8), 0); st != want {
			t.Errorf("SET info type %d: %v, want %v", typ, st, want)
		}
	}
}

// TestRename: FileRenameInformation(Ex) renames within and across
// directories, refuses collisions unless ReplaceIfExists, never replaces
// a directory or an open file, and needs DELETE access [MS-FSA 2.1.5.14.11].
func TestRename(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	tc.closeFile(tc.mustMkdir("dir"))
	id := tc.mustCreate("a")
	if st := tc.setFile(id, fscc.FileRenameInformation, renameInfo("b", false)); st != ntstatus.Success {
		t.Fatalf("rename a -> b: %v", st)
	}
	if _, st := tc.openFile("a", wire.FileOpen, 0); st != ntstatus.ObjectNameNotFound {
		t.Fatalf("old name after rename: %v", st)
	}
	if st := tc.setFile(id, fscc.FileRenameInformation, renameInfo(`dir\c`, false)); st != ntstatus.Success {
		t.Fatalf("rename b -> dir\\c: %v", st)
	}
	name, _ := tc.queryFile(id, fscc.FileNameInformation, 256)
	if got := wire.DecodeUTF16(name[4:]); got != `\dir\c` {
		t.Fatalf("name after rename %q", got)
	}
	other := tc.mustCreate("other")
	tc.closeFile(other)
	for _, c := range []struct {
		what string
		buf  []byte
		want ntstatus.Status
	}{
		{"onto an existing file", renameInfo("other", false), ntstatus.ObjectNameCollision},
		{"onto a directory", renameInfo("dir", true), ntstatus.AccessDenied},
		{"invalid name", renameInfo("x*y", false), ntstatus.ObjectNameInvalid},
		{"outside the share", renameInfo(`..\x`, false), ntstatus.ObjectPathSyntaxBad},
		{"into a missing directory", renameInfo(`nodir\x`, false), ntstatus.ObjectPathNotFound},
		{"short buffer", []byte{0, 1}, ntstatus.InfoLengthMismatch},
		{"root directory handle", append(append([]byte{0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0}, 2, 0, 0, 0), 'x', 0), ntstatus.InvalidParameter},
	} {
		if st := tc.setFile(id, fscc.FileRenameInformation, c.buf); st != c.want {
			t.Errorf("rename %s: %v, want %v", c.what, st, c.want)
		}
	}
	if st := tc.setFile(id, fscc.FileRenameInformation, renameInfo("other", true)); st != ntstatus.Success {
		t.Fatalf("rename replacing: %v", st)
	}
	open := tc.mustCreate("busy")
	ex := renameInfo("busy", false)
	ex[0] = 1 // Flags: FILE_RENAME_REPLACE_IF_EXISTS
	if st := tc.setFile(id, fscc.FileRenameInformationEx, ex); st != ntstatus.AccessDenied {
		t.Fatalf("rename replacing an open file: %v", st)
	}
	tc.closeFile(open)
	if st := tc.setFile(id, fscc.FileRenameInformationEx, ex); st != ntstatus.Success {
		t.Fatalf("RenameEx replacing: %v", st)
	}
	ro, _ := tc.create(&wire.CreateRequest{DesiredAccess: wire.FileReadData, ShareAccess: shareAll, CreateDisposition: wire.FileOpen, Name: "busy"})
	if st := tc.setFile(ro.FileID, fscc.FileRenameInformation, renameInfo("zzz", false)); st != ntstatus.AccessDenied {
		t.Fatalf("rename without DELETE: %v", st)
	}
	// A directory with an open file below cannot be renamed.
	d, _ := tc.create(&wire.CreateRequest{DesiredAccess: wire.Delete | wire.FileReadData, ShareAccess: shareAll,
		CreateDisposition: wire.FileOpen, CreateOptions: wire.FileDirectoryFile, Name: "dir"})
	child := tc.mustCreate(`dir\child`)
	if st := tc.setFile(d.FileID, fscc.FileRenameInformation, renameInfo("dir2", false)); st != ntstatus.AccessDenied {
		t.Fatalf("rename a directory with an open child: %v", st)
	}
	tc.closeFile(child)
	if st := tc.setFile(d.FileID, fscc.FileRenameInformation, renameInfo("dir2", false)); st != ntstatus.Success {
		t.Fatalf("rename a directory: %v", st)
	}
}

// TestSetDisposition: FileDispositionInformation(Ex) sets and clears
// delete-pending; a non-empty directory is STATUS_DIRECTORY_NOT_EMPTY
// [MS-FSA 2.1.5.14.3].
func TestSetDisposition(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	id := tc.mustCreate("x")
	if st := tc.setFile(id, fscc.FileDispositionInformation, []byte{1}); st != ntstatus.Success {
		t.Fatal(st)
	}
	std, _ := tc.queryFile(id, fscc.FileStandardInformation, 64)
	if std[20] != 1 {
		t.Fatalf("DeletePending not reported: %x", std)
	}
	if st := tc.setFile(id, fscc.FileDispositionInformation, []byte{0}); st != ntstatus.Success {
		t.Fatal(st)
	}
	tc.closeFile(id)
	id, st := tc.openFile("x", wire.FileOpen, 0)
	if st != ntstatus.Success {
		t.Fatalf("file gone after the delete was cleared: %v", st)
	}
	if st := tc.setFile(id, fscc.FileDispositionInformationEx, []byte{0, 0, 0, 0x80}); st != ntstatus.InvalidParameter {
		t.Fatalf("DispositionEx undefined flag: %v", st)
	}
	if st := tc.setFile(id, fscc.FileDispositionInformationEx, []byte{1, 0, 0, 0}); st != ntstatus.Success {
		t.Fatalf("DispositionEx delete: %v", st)
	}
	tc.closeFile(id)
	if _, st := tc.openFile("x", wire.FileOpen, 0); st != ntstatus.ObjectNameNotFound {
		t.Fatalf("file after DispositionEx delete and close: %v", st)
	}
	d, _ := tc.create(&wire.CreateRequest{DesiredAccess: wire.Delete | wire.FileReadData, ShareAccess: shareAll,
		CreateDisposition: wire.FileCreate, CreateOptions: wire.FileDirectoryFile, Name: "d"})
	tc.closeFile(tc.mustCreate(`d\f`))
	if st := tc.setFile(d.FileID, fscc.FileDispositionInformation, []byte{1}); st != ntstatus.DirectoryNotEmpty {
		t.Fatalf("delete a non-empty directory: %v", st)
	}
	root, _ := tc.create(&wire.CreateRequest{DesiredAccess: wire.Delete | wire.FileReadData, ShareAccess: shareAll, CreateDisposition: wire.FileOpen, Name: ""})
	if st := tc.setFile(root.FileID, fscc.FileDispositionInformation, []byte{1}); st != ntstatus.CannotDelete {
		t.Fatalf("delete the share root: %v", st)
	}
	if st := tc.setFile(d.FileID, fscc.FileDispositionInformation, nil); st != ntstatus.InfoLengthMismatch {
		t.Fatalf("empty disposition: %v", st)
	}
}

// TestSetInfoReadOnlyShare: on a read-only share every SET_INFO that
// changes the file is STATUS_ACCESS_DENIED; per-open state may change.
func TestSetInfoReadOnlyShare(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	tc.closeFile(tc.mustCreate("f"))
	fs := tc.ts.fs
	ro := newSessionTester(t, &testerConfig{FS: fs, Settings: func(st *Settings) { st.Shares[0].ReadOnly = true }}, wire.Dialect311)
	cr, st := ro.create(&wire.CreateRequest{DesiredAccess: wire.FileReadData | wire.FileReadAttributes, ShareAccess: shareAll,
		CreateDisposition: wire.FileOpen, Name: "f"})
	if st != ntstatus.Success {
		t.Fatal(st)
	}
	if st := ro.setFile(cr.FileID, fscc.FileEndOfFileInformation, le64(0)); st != ntstatus.AccessDenied {
		t.Errorf("EOF on a read-only share: %v", st)
	}
	if st := ro.setInfo(cr.FileID, wire.InfoSecurity, 0, make([]byte, 20), 4); st != ntstatus.AccessDenied {
		t.Errorf("security on a read-only share: %v", st)
	}
	if st := ro.setFile(cr.FileID, fscc.FilePositionInformation, le64(3)); st != ntstatus.Success {
		t.Errorf("position on a read-only share: %v", st)
	}
	if _, st := ro.create(&wire.CreateRequest{DesiredAccess: wire.FileReadData, CreateDisposition: wire.FileOpen,
		CreateOptions: wire.FileDeleteOnClose | 0, Name: "f"}); st != ntstatus.InvalidParameter {
		t.Errorf("delete-on-close without DELETE: %v", st)
	}
	if _, st := ro.create(&wire.CreateRequest{DesiredAccess: wire.Delete, CreateDisposition: wire.FileOpen,
		CreateOptions: wire.FileDeleteOnClose, Name: "f"}); st != ntstatus.AccessDenied {
		t.Errorf("delete-on-close on a read-only share: %v", st)
	}
}
