package wire

import (
	"bytes"
	"testing"
)

func withHeader(cmd Command, appendBody func([]byte) []byte) []byte {
	return appendBody(AppendHeader(nil, &Header{Command: cmd}))
}

func TestCreateRoundTrip(t *testing.T) {
	req := &CreateRequest{
		RequestedOplockLevel: OplockLevelII, ImpersonationLevel: ImpersonationImpersonation,
		DesiredAccess: GenericRead | FileWriteData, FileAttributes: 0x80, ShareAccess: FileShareValid,
		CreateDisposition: FileOpenIf, CreateOptions: FileNonDirectoryFile, Name: `dir\file.txt`,
		Contexts: []CreateContext{{Name: CtxNameMxAc}, {Name: CtxNameQFid}, {Name: "ExtA", Data: []byte{1, 2, 3}}},
	}
	msg := withHeader(CmdCreate, func(b []byte) []byte { return AppendCreateRequest(b, req) })
	got, err := ParseCreateRequest(msg)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != req.Name || got.DesiredAccess != req.DesiredAccess || got.CreateDisposition != FileOpenIf ||
		len(got.Contexts) != 3 || got.Contexts[1].Name != "QFid" || !bytes.Equal(got.Contexts[2].Data, []byte{1, 2, 3}) {
		t.Fatalf("%+v", got)
	}
	resp := &CreateResponse{CreateAction: FileCreated, EndOfFile: 42, FileAttributes: 0x20, FileID: FileID{1, 2},
		Contexts: []CreateContext{{Name: "MxAc", Data: make([]byte, 8)}}}
	rmsg := withHeader(CmdCreate, func(b []byte) []byte { return AppendCreateResponse(b, resp) })
	r2, err := ParseCreateResponse(rmsg)
	if err != nil || r2.FileID != resp.FileID || r2.EndOfFile != 42 || len(r2.Contexts) != 1 || len(r2.Contexts[0].Data) != 8 {
		t.Fatalf("%+v %v", r2, err)
	}
	// A context whose data runs past its end is refused.
	bad := append([]byte{}, msg...)
	off := le.Uint32(bad[HeaderSize+48:])
	le.PutUint32(bad[off+12:], 1000)
	if _, err := ParseCreateRequest(bad); err == nil {
		t.Fatal("overlong context accepted")
	}
}

func TestReadWriteRoundTrip(t *testing.T) {
	w := &WriteRequest{Offset: 1 << 33, FileID: FileID{3, 4}, Flags: WriteFlagWriteThrough, Data: []byte("hello")}
	msg := withHeader(CmdWrite, func(b []byte) []byte { return AppendWriteRequest(b, w) })
	got, err := ParseWriteRequest(msg)
	if err != nil || got.Offset != w.Offset || string(got.Data) != "hello" || got.Flags != WriteFlagWriteThrough {
		t.Fatalf("%+v %v", got, err)
	}
	r := &ReadRequest{Length: 1 << 20, Offset: 7, FileID: FileID{5, 6}, MinimumCount: 1}
	rmsg := withHeader(CmdRead, func(b []byte) []byte { return AppendReadRequest(b, r) })
	gr, err := ParseReadRequest(rmsg)
	if err != nil || gr.Length != r.Length || gr.Offset != 7 || gr.FileID != r.FileID {
		t.Fatalf("%+v %v", gr, err)
	}
	resp := make([]byte, HeaderSize+ReadResponseHeaderSize+3)
	PutReadResponse(resp[HeaderSize:], 3)
	copy(resp[HeaderSize+ReadResponseHeaderSize:], "abc")
	data, err := ParseReadResponse(resp)
	if err != nil || string(data) != "abc" {
		t.Fatalf("%q %v", data, err)
	}
}

func TestQueryRoundTrips(t *testing.T) {
	q := &QueryDirectoryRequest{InfoClass: 37, Flags: QueryDirRestartScans, FileID: FileID{1, 1}, Pattern: "*.txt", OutputBufferLength: 65536}
	msg := withHeader(CmdQueryDirectory, func(b []byte) []byte { return AppendQueryDirectoryRequest(b, q) })
	got, err := ParseQueryDirectoryRequest(msg)
	if err != nil || got.Pattern != "*.txt" || got.InfoClass != 37 || got.OutputBufferLength != 65536 {
		t.Fatalf("%+v %v", got, err)
	}
	qi := &QueryInfoRequest{InfoType: InfoFile, InfoClass: 18, OutputBufferLength: 4096, FileID: FileID{9, 9}}
	msg = withHeader(CmdQueryInfo, func(b []byte) []byte { return AppendQueryInfoRequest(b, qi) })
	gqi, err := ParseQueryInfoRequest(msg)
	if err != nil || gqi.InfoClass != 18 || gqi.FileID != qi.FileID {
		t.Fatalf("%+v %v", gqi, err)
	}
	qi.Input = []byte("EA list")
	msg = withHeader(CmdQueryInfo, func(b []byte) []byte { return AppendQueryInfoRequest(b, qi) })
	if gqi, err = ParseQueryInfoRequest(msg); err != nil || string(gqi.Input) != "EA list" {
		t.Fatalf("with input: %+v %v", gqi, err)
	}
	si := &SetInfoRequest{InfoType: InfoFile, InfoClass: 20, Buffer: []byte{1, 0, 0, 0, 0, 0, 0, 0}, FileID: FileID{2, 2}}
	msg = withHeader(CmdSetInfo, func(b []byte) []byte { return AppendSetInfoRequest(b, si) })
	gsi, err := ParseSetInfoRequest(msg)
	if err != nil || gsi.InfoClass != 20 || len(gsi.Buffer) != 8 {
		t.Fatalf("%+v %v", gsi, err)
	}
	out := withHeader(CmdQueryInfo, func(b []byte) []byte { return AppendOutputBuffer(b, []byte("xyz")) })
	if b, err := ParseOutputBuffer(out); err != nil || string(b) != "xyz" {
		t.Fatalf("%q %v", b, err)
	}
	l := &LockRequest{FileID: FileID{1, 2}, Locks: []LockElement{{Offset: 0, Length: 10, Flags: LockFlagExclusive}, {Offset: 20, Length: 1, Flags: LockFlagUnlock}}}
	msg = withHeader(CmdLock, func(b []byte) []byte { return AppendLockRequest(b, l) })
	gl, err := ParseLockRequest(msg)
	if err != nil || len(gl.Locks) != 2 || gl.Locks[1].Flags != LockFlagUnlock {
		t.Fatalf("%+v %v", gl, err)
	}
	// A lock count larger than the message is refused.
	le.PutUint16(msg[HeaderSize+2:], 3)
	if _, err := ParseLockRequest(msg); err == nil {
		t.Fatal("lock count past the end accepted")
	}
}

func FuzzFileParsers(f *testing.F) {
	f.Add(withHeader(CmdCreate, func(b []byte) []byte {
		return AppendCreateRequest(b, &CreateRequest{Name: "a", Contexts: []CreateContext{{Name: "MxAc"}}})
	}))
	f.Fuzz(func(t *testing.T, b []byte) {
		ParseCreateRequest(b)
		ParseCreateResponse(b)
		ParseCloseRequest(b)
		ParseReadRequest(b)
		ParseWriteRequest(b)
		ParseQueryDirectoryRequest(b)
		ParseQueryInfoRequest(b)
		ParseSetInfoRequest(b)
		ParseLockRequest(b)
		ParseChangeNotifyRequest(b)
		ParseCreateContexts(b)
		ParseReadResponse(b)
		ParseOutputBuffer(b)
	})
}
