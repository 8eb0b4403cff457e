package server

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/signetsmb/signet/internal/fscc"
	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
	"github.com/signetsmb/signet/vfs/memfs"
)

// queryEAs sends QUERY_INFO FileFullEaInformation with flags and an
// optional FILE_GET_EA_INFORMATION list.
func (tc *tester) queryEAs(f wire.FileID, flags uint32, names []string, outLen uint32) ([]fscc.EA, ntstatus.Status) {
	tc.t.Helper()
	r := tc.newReq(wire.CmdQueryInfo)
	var in []byte
	if names != nil {
		in = fscc.AppendGetEAs(nil, names)
	}
	r.msg = wire.AppendQueryInfoRequest(r.msg, &wire.QueryInfoRequest{InfoType: wire.InfoFile,
		InfoClass: uint8(fscc.FileFullEaInformation), OutputBufferLength: outLen, Input: in, Flags: flags, FileID: f})
	r.payload = int(outLen)
	resp := tc.roundTrip(r)
	if resp.status != ntstatus.Success && resp.status != ntstatus.BufferOverflow {
		return nil, resp.status
	}
	out, err := wire.ParseOutputBuffer(resp.msg)
	if err != nil {
		tc.t.Fatal(err)
	}
	eas, err := fscc.DecodeFullEAList(out)
	if err != nil {
		tc.t.Fatalf("EA list from the server: %v", err)
	}
	return eas, resp.status
}

// queryEAsAt queries FileFullEaInformation with an EA index.
func (tc *tester) queryEAsAt(f wire.FileID, flags, index uint32) ([]fscc.EA, ntstatus.Status) {
	tc.t.Helper()
	r := tc.newReq(wire.CmdQueryInfo)
	r.msg = wire.AppendQueryInfoRequest(r.msg, &wire.QueryInfoRequest{InfoType: wire.InfoFile,
		InfoClass: uint8(fscc.FileFullEaInformation), OutputBufferLength: 1024, AdditionalInformation: index, Flags: flags, FileID: f})
	r.payload = 1024
	resp := tc.roundTrip(r)
	if resp.status != ntstatus.Success {
		return nil, resp.status
	}
	out, err := wire.ParseOutputBuffer(resp.msg)
	if err != nil {
		tc.t.Fatal(err)
	}
	eas, err := fscc.DecodeFullEAList(out)
	if err != nil {
		tc.t.Fatal(err)
	}
	return eas, resp.status
}

func eaNames(eas []fscc.EA) string {
	var b []byte
	for _, e := range eas {
		b = append(b, e.Name...)
		b = append(b, '=')
		b = append(b, e.Value...)
		b = append(b, ';')
	}
	return string(b)
}

// TestEAs: SET_INFO FileFullEaInformation stores EAs under upper-case
// names; a full query returns them, an enumeration with
// SL_RETURN_SINGLE_ENTRY walks them one by one to STATUS_NO_MORE_EAS and
// SL_RESTART_SCAN starts over; a FILE_GET_EA_INFORMATION list returns the
// named ones (missing ones with an empty value); FileEaInformation counts
// them; an empty value deletes; the access rights and malformed lists get
// Windows' statuses [MS-FSA 2.1.5.11.15, 2.1.5.14.4].
func TestEAs(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	f := tc.mustCreate("f")
	if tc.fsAttrs(f)&fscc.FSAttrSupportsExtendedAttributes == 0 {
		t.Fatal("FILE_SUPPORTS_EXTENDED_ATTRIBUTES not announced")
	}
	if _, st := tc.queryEAs(f, 0, nil, 1024); st != ntstatus.NoEasOnFile {
		t.Fatalf("no EAs: %v", st)
	}
	set := fscc.AppendFullEAs(nil, []fscc.EA{{Name: "second", Value: []byte("2")}, {Name: "First", Value: []byte("one")}})
	if st := tc.setInfo(f, wire.InfoFile, uint8(fscc.FileFullEaInformation), set, 0); st != ntstatus.Success {
		t.Fatal(st)
	}
	eas, st := tc.queryEAs(f, slRestartScan, nil, 1024)
	if st != ntstatus.Success || eaNames(eas) != "FIRST=one;SECOND=2;" {
		t.Fatalf("all EAs: %q %v", eaNames(eas), st)
	}
	b, _ := tc.queryInfo(f, wire.InfoFile, uint8(fscc.FileEaInformation), 4, 0)
	if got := fscc.EASize(eas); len(b) != 4 || uint32(b[0])|uint32(b[1])<<8 != got || got == 0 {
		t.Fatalf("FileEaInformation % x, want %d", b, got)
	}
	one, st := tc.queryEAs(f, slRestartScan|slReturnSingleEntry, nil, 1024)
	if st != ntstatus.Success || eaNames(one) != "FIRST=one;" {
		t.Fatalf("single entry: %q %v", eaNames(one), st)
	}
	one, st = tc.queryEAs(f, slReturnSingleEntry, nil, 1024)
	if st != ntstatus.Success || eaNames(one) != "SECOND=2;" {
		t.Fatalf("next entry: %q %v", eaNames(one), st)
	}
	if _, st := tc.queryEAs(f, slReturnSingleEntry, nil, 1024); st != ntstatus.NoMoreEas {
		t.Fatalf("past the end: %v", st)
	}
	if one, st := tc.queryEAsAt(f, slIndexSpecified|slReturnSingleEntry, 2); st != ntstatus.Success || eaNames(one) != "SECOND=2;" {
		t.Fatalf("index 2: %q %v", eaNames(one), st)
	}
	for _, i := range []uint32{0, 3} {
		if _, st := tc.queryEAsAt(f, slIndexSpecified, i); st != ntstatus.NonexistentEaEntry {
			t.Fatalf("index %d: %v", i, st)
		}
	}
	if _, st := tc.queryEAs(f, slRestartScan, nil, 4); st != ntstatus.BufferTooSmall {
		t.Fatalf("no room: %v", st)
	}
	part, st := tc.queryEAs(f, slRestartScan, nil, 20)
	if st != ntstatus.BufferOverflow || len(part) != 1 {
		t.Fatalf("room for one: %q %v", eaNames(part), st)
	}
	got, st := tc.queryEAs(f, 0, []string{"second", "missing"}, 1024)
	if st != ntstatus.Success || eaNames(got) != "SECOND=2;MISSING=;" {
		t.Fatalf("by name: %q %v", eaNames(got), st)
	}
	// Delete with an empty value.
	del := fscc.AppendFullEAs(nil, []fscc.EA{{Name: "FIRST"}})
	if st := tc.setInfo(f, wire.InfoFile, uint8(fscc.FileFullEaInformation), del, 0); st != ntstatus.Success {
		t.Fatal(st)
	}
	if eas, _ := tc.queryEAs(f, slRestartScan, nil, 1024); eaNames(eas) != "SECOND=2;" {
		t.Fatalf("after delete: %q", eaNames(eas))
	}
	// Bad input.
	bad := fscc.AppendFullEAs(nil, []fscc.EA{{Name: "a*b", Value: []byte("x")}})
	if st := tc.setInfo(f, wire.InfoFile, uint8(fscc.FileFullEaInformation), bad, 0); st != ntstatus.InvalidEaName {
		t.Fatalf("invalid name: %v", st)
	}
	if st := tc.setInfo(f, wire.InfoFile, uint8(fscc.FileFullEaInformation), set[:9], 0); st != ntstatus.EaListInconsistent {
		t.Fatalf("truncated list: %v", st)
	}
	big := fscc.AppendFullEAs(nil, []fscc.EA{{Name: "A", Value: bytes.Repeat([]byte{1}, 40000)}, {Name: "B", Value: bytes.Repeat([]byte{1}, 40000)}})
	if st := tc.setInfo(f, wire.InfoFile, uint8(fscc.FileFullEaInformation), big, 0); st != ntstatus.EaTooLarge {
		t.Fatalf("over 64 KiB: %v", st)
	}
	ro, _ := tc.create(&wire.CreateRequest{DesiredAccess: wire.FileReadAttributes, ShareAccess: shareAll, CreateDisposition: wire.FileOpen, Name: "f"})
	if _, st := tc.queryEAs(ro.FileID, 0, nil, 1024); st != ntstatus.AccessDenied {
		t.Fatalf("query without FILE_READ_EA: %v", st)
	}
	if st := tc.setInfo(ro.FileID, wire.InfoFile, uint8(fscc.FileFullEaInformation), set, 0); st != ntstatus.AccessDenied {
		t.Fatalf("set without FILE_WRITE_EA: %v", st)
	}
}

// TestCreateEABuffer: SMB2_CREATE_EA_BUFFER sets EAs on a created file,
// and an EA marked FILE_NEED_EA refuses opens with FILE_NO_EA_KNOWLEDGE.
func TestCreateEABuffer(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	ctx := wire.CreateContext{Name: wire.CtxNameExtA, Data: fscc.AppendFullEAs(nil, []fscc.EA{{Flags: fscc.FileNeedEA, Name: "need", Value: []byte("v")}})}
	cr, st := tc.create(&wire.CreateRequest{DesiredAccess: rwAccess, ShareAccess: shareAll, CreateDisposition: wire.FileCreate,
		Name: "e", Contexts: []wire.CreateContext{ctx}})
	if st != ntstatus.Success {
		t.Fatal(st)
	}
	eas, st := tc.queryEAs(cr.FileID, slRestartScan, nil, 1024)
	if st != ntstatus.Success || eaNames(eas) != "NEED=v;" || eas[0].Flags != fscc.FileNeedEA {
		t.Fatalf("EAs from the create context: %q %v", eaNames(eas), st)
	}
	// The listing reports the EA size too (FILE_FULL_DIR_INFORMATION.EaSize).
	root, _ := tc.openFile("", wire.FileOpen, 0)
	b, st := tc.queryDirectory(root, uint8(fscc.FileFullDirectoryInformation), 0, "e", 1024)
	if st != ntstatus.Success || len(b) < 68 || binary.LittleEndian.Uint32(b[64:]) != fscc.EASize(eas) {
		t.Fatalf("EaSize in the listing: % x %v, want %d", b, st, fscc.EASize(eas))
	}
	if _, st := tc.openFile("e", wire.FileOpen, wire.FileNoEaKnowledge); st != ntstatus.AccessDenied {
		t.Fatalf("FILE_NO_EA_KNOWLEDGE on a FILE_NEED_EA file: %v", st)
	}
	bad := wire.CreateContext{Name: wire.CtxNameExtA, Data: []byte{1, 2, 3}}
	if _, st := tc.create(&wire.CreateRequest{DesiredAccess: rwAccess, ShareAccess: shareAll, CreateDisposition: wire.FileCreate,
		Name: "bad", Contexts: []wire.CreateContext{bad}}); st != ntstatus.EaListInconsistent {
		t.Fatalf("malformed EA buffer: %v", st)
	}
	if _, st := tc.openFile("bad", wire.FileOpen, 0); st != ntstatus.ObjectNameNotFound {
		t.Fatalf("a refused CREATE left the file: %v", st)
	}
}

// TestEAsUnsupported: without vfs.EAFS, EA requests are
// STATUS_EAS_NOT_SUPPORTED.
func TestEAsUnsupported(t *testing.T) {
	tc := newSessionTester(t, &testerConfig{FS: plainFS{memfs.New(memfs.Options{})}}, wire.Dialect311)
	f := tc.mustCreate("f")
	if _, st := tc.queryEAs(f, 0, nil, 1024); st != ntstatus.EasNotSupported {
		t.Fatalf("query: %v", st)
	}
	set := fscc.AppendFullEAs(nil, []fscc.EA{{Name: "A", Value: []byte("1")}})
	if st := tc.setInfo(f, wire.InfoFile, uint8(fscc.FileFullEaInformation), set, 0); st != ntstatus.EasNotSupported {
		t.Fatalf("set: %v", st)
	}
}
