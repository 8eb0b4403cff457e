package server

import (
	"encoding/binary"
	"slices"
	"strings"
	"testing"

	"github.com/signetsmb/signet/internal/fscc"
	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
)

// Tests of QUERY_DIRECTORY [MS-SMB2 3.3.5.18; MS-FSA 2.1.5.6.3] through
// the tester.

// dirNames returns the FileName of each entry of a QUERY_DIRECTORY
// output buffer of class, following NextEntryOffset [MS-FSCC 2.4].
func dirNames(t testing.TB, class fscc.InfoClass, buf []byte) []string {
	t.Helper()
	fixed, ok := fscc.DirEntryMinSize(class)
	if !ok {
		t.Fatalf("class %v", class)
	}
	lenAt := 60
	if class == fscc.FileNamesInformation {
		lenAt = 8
	}
	var names []string
	for len(buf) > 0 {
		if len(buf) < fixed {
			t.Fatalf("short entry %x", buf)
		}
		next := binary.LittleEndian.Uint32(buf)
		n := int(binary.LittleEndian.Uint32(buf[lenAt:]))
		if fixed+n > len(buf) || next%8 != 0 || int(next) > len(buf) {
			t.Fatalf("bad entry: next %d, name length %d, %d bytes left", next, n, len(buf))
		}
		names = append(names, wire.DecodeUTF16(buf[fixed:fixed+n]))
		if next == 0 {
			break
		}
		buf = buf[next:]
	}
	return names
}

// listDir lists dir with pattern and class until STATUS_NO_MORE_FILES.
func (tc *tester) listDir(dir wire.FileID, class fscc.InfoClass, pattern string, outLen uint32) ([]string, ntstatus.Status) {
	tc.t.Helper()
	var all []string
	flags := wire.QueryDirRestartScans
	for {
		out, st := tc.queryDirectory(dir, uint8(class), flags, pattern, outLen)
		flags = 0
		if st != ntstatus.Success {
			return all, st
		}
		all = append(all, dirNames(tc.t, class, out)...)
	}
}

// populate creates the files and directories of names (a trailing "/"
// makes a directory) and returns an open of dir.
func (tc *tester) populate(dir string, names ...string) wire.FileID {
	tc.t.Helper()
	id := tc.mustMkdir(dir)
	for _, n := range names {
		p := dir + `\` + strings.TrimSuffix(n, "/")
		if strings.HasSuffix(n, "/") {
			tc.closeFile(tc.mustMkdir(p))
		} else {
			tc.closeFile(tc.mustCreate(p))
		}
	}
	return id
}

// TestQueryDirectoryPatterns: the listing is sorted, starts with "." and
// "..", and filters by the pattern, including DOS wildcards; no match on
// the first query is STATUS_NO_SUCH_FILE, the end is
// STATUS_NO_MORE_FILES [MS-FSA 2.1.5.6.3].
func TestQueryDirectoryPatterns(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	dir := tc.populate("d", "b.txt", "a.txt", "c.doc", "sub/", "Readme")
	for pattern, want := range map[string][]string{
		"*":       {".", "..", "Readme", "a.txt", "b.txt", "c.doc", "sub"},
		"":        {".", "..", "Readme", "a.txt", "b.txt", "c.doc", "sub"},
		"*.txt":   {"a.txt", "b.txt"},
		"*.TXT":   {"a.txt", "b.txt"},
		"?.doc":   {"c.doc"},
		"b.txt":   {"b.txt"},
		"README":  {"Readme"},
		"<.txt":   {"a.txt", "b.txt"},
		`a"txt`:   {"a.txt"},
		">.doc":   {"c.doc"},
		"*.*":     {".", "..", "Readme", "a.txt", "b.txt", "c.doc", "sub"},
		"nothing": nil,
		"*.xyz":   nil,
	} {
		got, st := tc.listDir(dir, fscc.FileNamesInformation, pattern, 4096)
		wantSt := ntstatus.NoMoreFiles
		if want == nil {
			wantSt = ntstatus.NoSuchFile
		}
		if st != wantSt || !slices.Equal(got, want) {
			t.Errorf("pattern %q: %q, %v; want %q, %v", pattern, got, st, want, wantSt)
		}
	}
}

// TestQueryDirectoryClasses: every directory information class lists the
// same names; an unknown class is STATUS_INVALID_INFO_CLASS.
func TestQueryDirectoryClasses(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect302)
	dir := tc.populate("d", "one", "two/")
	want := []string{".", "..", "one", "two"}
	for _, class := range []fscc.InfoClass{fscc.FileDirectoryInformation, fscc.FileFullDirectoryInformation,
		fscc.FileBothDirectoryInformation, fscc.FileNamesInformation, fscc.FileIDBothDirectoryInformation,
		fscc.FileIDFullDirectoryInformation, fscc.FileIDExtdDirectoryInformation} {
		got, st := tc.listDir(dir, class, "*", 65536)
		if st != ntstatus.NoMoreFiles || !slices.Equal(got, want) {
			t.Errorf("%v: %q, %v", class, got, st)
		}
	}
	if _, st := tc.queryDirectory(dir, 0x77, wire.QueryDirRestartScans, "*", 1024); st != ntstatus.InvalidInfoClass {
		t.Errorf("unknown class: %v", st)
	}
	if _, st := tc.queryDirectory(dir, uint8(fscc.FileBasicInformation), wire.QueryDirRestartScans, "*", 1024); st != ntstatus.InvalidInfoClass {
		t.Errorf("FileBasicInformation: %v", st)
	}
}

// TestQueryDirectoryPaging: entries continue across queries when the
// buffer is small, RETURN_SINGLE_ENTRY returns one per query, a buffer
// too small for one entry is STATUS_INFO_LENGTH_MISMATCH, and
// RESTART_SCANS starts over [MS-SMB2 3.3.5.18].
func TestQueryDirectoryPaging(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect210)
	var names []string
	for i := range 40 {
		names = append(names, strings.Repeat(string(rune('a'+i%26)), 1+i/26)+".dat")
	}
	dir := tc.populate("d", names...)
	all, st := tc.listDir(dir, fscc.FileIDBothDirectoryInformation, "*.dat", 512)
	if st != ntstatus.NoMoreFiles || len(all) != 40 {
		t.Fatalf("paged listing: %d entries, %v", len(all), st)
	}
	if !slices.IsSorted(all) {
		t.Fatalf("listing not sorted: %q", all)
	}
	out, st := tc.queryDirectory(dir, uint8(fscc.FileNamesInformation), wire.QueryDirRestartScans|wire.QueryDirReturnSingleEntry, "*", 4096)
	if got := dirNames(t, fscc.FileNamesInformation, out); st != ntstatus.Success || !slices.Equal(got, []string{"."}) {
		t.Fatalf("single entry: %q %v", got, st)
	}
	out, _ = tc.queryDirectory(dir, uint8(fscc.FileNamesInformation), wire.QueryDirReturnSingleEntry, "*", 4096)
	if got := dirNames(t, fscc.FileNamesInformation, out); !slices.Equal(got, []string{".."}) {
		t.Fatalf("next single entry: %q", got)
	}
	if _, st := tc.queryDirectory(dir, uint8(fscc.FileIDBothDirectoryInformation), wire.QueryDirRestartScans, "*", 50); st != ntstatus.InfoLengthMismatch {
		t.Fatalf("buffer below one entry: %v", st)
	}
	out, _ = tc.queryDirectory(dir, uint8(fscc.FileNamesInformation), wire.QueryDirReopen, "b*", 4096)
	if got := dirNames(t, fscc.FileNamesInformation, out); !slices.Equal(got, []string{"b.dat", "bb.dat"}) {
		t.Fatalf("REOPEN with a new pattern: %q", got)
	}
	r := tc.queryDirReq(dir, uint8(fscc.FileNamesInformation), wire.QueryDirRestartScans, "*", 4096)
	binary.LittleEndian.PutUint16(r.msg[wire.HeaderSize+26:], 3) // odd pattern length
	expectStatus(t, "odd pattern length", tc.roundTrip(r), ntstatus.InvalidParameter)
	r = tc.queryDirReq(dir, uint8(fscc.FileNamesInformation), wire.QueryDirRestartScans, "*", tc.neg.MaxTransactSize+1)
	expectStatus(t, "buffer over MaxTransactSize", tc.roundTrip(r), ntstatus.InvalidParameter)
}

// TestQueryDirectorySnapshot: a listing is a snapshot taken on the first
// query; entries removed since are skipped, and RESTART_SCANS sees new
// ones [MS-FSA 2.1.5.6.3].
func TestQueryDirectorySnapshot(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	dir := tc.populate("d", "keep", "gone")
	out, st := tc.queryDirectory(dir, uint8(fscc.FileNamesInformation), wire.QueryDirReturnSingleEntry, "*", 4096)
	if st != ntstatus.Success || len(dirNames(t, fscc.FileNamesInformation, out)) != 1 {
		t.Fatalf("first entry: %v", st)
	}
	tc.setDisposition(`d\gone`)
	tc.closeFile(tc.mustCreate(`d\new`))
	var rest []string
	for {
		out, st := tc.queryDirectory(dir, uint8(fscc.FileNamesInformation), 0, "*", 4096)
		if st != ntstatus.Success {
			break
		}
		rest = append(rest, dirNames(t, fscc.FileNamesInformation, out)...)
	}
	if !slices.Equal(rest, []string{"..", "keep"}) {
		t.Fatalf("rest of the snapshot: %q", rest)
	}
	all, _ := tc.listDir(dir, fscc.FileNamesInformation, "*", 4096)
	if !slices.Equal(all, []string{".", "..", "keep", "new"}) {
		t.Fatalf("after RESTART_SCANS: %q", all)
	}
}

// TestQueryDirectoryNotADirectory: a file handle is STATUS_INVALID_PARAMETER
// and a directory open without FILE_LIST_DIRECTORY is STATUS_ACCESS_DENIED.
func TestQueryDirectoryNotADirectory(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	f := tc.mustCreate("f")
	if _, st := tc.queryDirectory(f, uint8(fscc.FileNamesInformation), 0, "*", 1024); st != ntstatus.InvalidParameter {
		t.Fatalf("QUERY_DIRECTORY on a file: %v", st)
	}
	tc.closeFile(tc.mustMkdir("d"))
	cr, st := tc.create(&wire.CreateRequest{DesiredAccess: wire.FileReadAttributes, ShareAccess: shareAll,
		CreateDisposition: wire.FileOpen, CreateOptions: wire.FileDirectoryFile, Name: "d"})
	if st != ntstatus.Success {
		t.Fatal(st)
	}
	if _, st := tc.queryDirectory(cr.FileID, uint8(fscc.FileNamesInformation), 0, "*", 1024); st != ntstatus.AccessDenied {
		t.Fatalf("QUERY_DIRECTORY without LIST_DIRECTORY: %v", st)
	}
	root, st := tc.create(&wire.CreateRequest{DesiredAccess: wire.FileReadData, ShareAccess: shareAll, CreateDisposition: wire.FileOpen, Name: ""})
	if st != ntstatus.Success {
		t.Fatal(st)
	}
	got, _ := tc.listDir(root.FileID, fscc.FileNamesInformation, "*", 4096)
	if !slices.Equal(got, []string{".", "..", "d", "f"}) {
		t.Fatalf("root listing %q", got)
	}
}
