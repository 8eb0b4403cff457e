package client

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/signetsmb/signet/internal/fscc"
)

// TestParseDirectoryInfo decodes entries produced by the server-side
// encoder of internal/fscc.
func TestParseDirectoryInfo(t *testing.T) {
	mtime := time.Date(2024, 5, 6, 7, 8, 9, 100, time.UTC)
	w, err := fscc.NewDirWriter(fscc.FileDirectoryInformation, 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	for _, fi := range []*fscc.FileInfo{
		{Name: ".", Directory: true},
		{Name: "..", Directory: true},
		{Name: "dossier", Directory: true, LastWriteTime: mtime},
		{Name: "fichier été.txt", EndOfFile: 12345, AllocationSize: 16384, LastWriteTime: mtime, CreationTime: mtime.Add(-time.Hour)},
	} {
		if !w.Add(fi) {
			t.Fatal("DirWriter full")
		}
	}
	got, err := parseDirectoryInfo(w.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d entries, want 2 (dot entries skipped)", len(got))
	}
	d, f := got[0], got[1]
	if d.Name() != "dossier" || !d.IsDir() || !d.Mode().IsDir() || !d.ModTime().Equal(mtime) {
		t.Errorf("dir entry %v", d)
	}
	if f.Name() != "fichier été.txt" || f.IsDir() || f.Size() != 12345 || f.Mode() != 0o644 ||
		f.attr.AllocationSize != 16384 || !f.attr.CreationTime.Equal(mtime.Add(-time.Hour)) {
		t.Errorf("file entry %v %+v", f, f.attr)
	}
}

func TestParseDirectoryInfoRejectsBadOffsets(t *testing.T) {
	entry := make([]byte, 64+4)
	binary.LittleEndian.PutUint32(entry[60:], 4)
	cases := map[string]func(b []byte){
		"name past end": func(b []byte) { binary.LittleEndian.PutUint32(b[60:], 100) },
		"odd name":      func(b []byte) { binary.LittleEndian.PutUint32(b[60:], 3) },
		"next too far":  func(b []byte) { binary.LittleEndian.PutUint32(b, 200) },
		"next overlaps": func(b []byte) { binary.LittleEndian.PutUint32(b, 8) },
	}
	for name, mutate := range cases {
		b := bytes.Clone(entry)
		mutate(b)
		if _, err := parseDirectoryInfo(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := parseDirectoryInfo(entry[:40]); err == nil {
		t.Error("short buffer accepted")
	}
}

// TestParseAllInfo decodes FileAllInformation from internal/fscc.
func TestParseAllInfo(t *testing.T) {
	mtime := time.Date(2023, 1, 2, 3, 4, 5, 0, time.UTC)
	fi := &fscc.FileInfo{Name: "x", EndOfFile: 99, AllocationSize: 4096, LastWriteTime: mtime, Attributes: fscc.FileAttributeReadOnly}
	b, err := fscc.AppendFileInfo(nil, fscc.FileAllInformation, fi, &fscc.QueryExtra{Path: `dir\x`})
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseAllInfo("dir/x", b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name() != "x" || got.Size() != 99 || !got.ModTime().Equal(mtime) || got.Mode() != 0o444 || got.IsDir() {
		t.Fatalf("got %v", got)
	}
	if _, err := parseAllInfo("x", b[:99]); err == nil {
		t.Fatal("short buffer accepted")
	}
	std, _ := fscc.AppendFileInfo(nil, fscc.FileStandardInformation, fi, nil)
	if n, err := parseStandardInfo(std); n != 99 || err != nil {
		t.Fatalf("standard info: %d, %v", n, err)
	}
}

func TestRenameInfoEncoding(t *testing.T) {
	b := renameInfo(`a\b.txt`, true)
	want := append([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 14, 0, 0, 0},
		'a', 0, '\\', 0, 'b', 0, '.', 0, 't', 0, 'x', 0, 't', 0)
	if !bytes.Equal(b, want) {
		t.Fatalf("renameInfo = % x", b)
	}
}

// TestNDRShareEnumRequest pins the request stub layout.
func TestNDRShareEnumRequest(t *testing.T) {
	got := netrShareEnumRequest("h", 0)
	want := []byte{
		0x04, 0x00, 0x02, 0x00, // ServerName referent
		4, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, // max 4, offset 0, actual 4
		'\\', 0, '\\', 0, 'h', 0, 0, 0, // \\h + NUL
		1, 0, 0, 0, 1, 0, 0, 0, // Level, discriminant
		0x08, 0x00, 0x02, 0x00, // container referent
		0, 0, 0, 0, 0, 0, 0, 0, // EntriesRead, NULL Buffer
		0xff, 0xff, 0xff, 0xff, // PreferedMaximumLength
		0x0c, 0x00, 0x02, 0x00, 0, 0, 0, 0, // ResumeHandle
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("stub\n% x\nwant\n% x", got, want)
	}
}

// shareEnumResponse builds a NetrShareEnum level 1 response stub.
func shareEnumResponse(shares []ShareInfo, status uint32) []byte {
	var w ndrWriter
	w.uint32(1)
	w.uint32(1)
	w.pointer(true)
	w.uint32(uint32(len(shares)))
	w.pointer(true)
	w.uint32(uint32(len(shares)))
	for _, s := range shares {
		w.pointer(true)
		w.uint32(s.Type)
		w.pointer(s.Comment != "")
	}
	for _, s := range shares {
		w.wstring(s.Name)
		if s.Comment != "" {
			w.wstring(s.Comment)
		}
	}
	w.uint32(uint32(len(shares)))
	w.pointer(false)
	w.uint32(status)
	return w.buf
}

func TestParseNetrShareEnumResponse(t *testing.T) {
	shares := []ShareInfo{{Name: "a", Type: ShareTypeDisk, Comment: "odd"}, {Name: "IPC$", Type: ShareTypeIPC | ShareTypeSpecial}}
	res, err := parseNetrShareEnumResponse(shareEnumResponse(shares, 0))
	if err != nil || len(res.shares) != 2 || res.shares[0] != shares[0] || res.shares[1] != shares[1] {
		t.Fatalf("%+v, %v", res, err)
	}
	b := shareEnumResponse(shares, 0)
	for _, n := range []int{3, 20, len(b) - 1} {
		if _, err := parseNetrShareEnumResponse(b[:n]); !errors.Is(err, errRPC) {
			t.Errorf("truncated to %d: %v", n, err)
		}
	}
	huge := shareEnumResponse(shares, 0)
	binary.LittleEndian.PutUint32(huge[12:], 1<<30) // EntriesRead
	binary.LittleEndian.PutUint32(huge[20:], 1<<30) // MaxCount
	if _, err := parseNetrShareEnumResponse(huge); err == nil {
		t.Error("absurd count accepted")
	}
}

func TestBindAckAndResponse(t *testing.T) {
	ack := appendRPCHeader(nil, rpcBindAck, 7)
	ack = append(ack, 0xb8, 0x10, 0xb8, 0x10, 1, 0, 0, 0) // frags, assoc
	ack = append(ack, 13, 0)                              // secondary address length
	ack = append(ack, []byte("\\PIPE\\srvsvc\x00")...)
	for len(ack)%4 != 0 {
		ack = append(ack, 0)
	}
	ack = append(ack, 1, 0, 0, 0, 0, 0, 0, 0)
	ack = append(ack, syntaxNDR20...)
	ack = finishPDU(ack)
	if err := checkBindAck(ack, 7); err != nil {
		t.Fatal(err)
	}
	rejected := bytes.Clone(ack)
	rejected[len(rejected)-24] = 2 // result: provider rejection
	if err := checkBindAck(rejected, 7); err == nil {
		t.Fatal("rejected context accepted")
	}
	if err := checkBindAck(ack, 8); err == nil {
		t.Fatal("wrong call id accepted")
	}
	resp := appendRPCHeader(nil, rpcResponse, 3)
	resp = append(resp, 4, 0, 0, 0, 0, 0, 0, 0, 'd', 'a', 't', 'a')
	stub, last, err := responseStub(finishPDU(resp), 3)
	if err != nil || !last || string(stub) != "data" {
		t.Fatalf("responseStub: %q %v %v", stub, last, err)
	}
	fault := appendRPCHeader(nil, rpcFault, 3)
	fault = append(fault, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0x1c, 0, 0, 0, 0)
	if _, _, err := responseStub(finishPDU(fault), 3); !errors.Is(err, errRPC) {
		t.Fatalf("fault: %v", err)
	}
}

// Fuzz targets: the decoders never panic on hostile input.

func FuzzParseDirectoryInfo(f *testing.F) {
	w, _ := fscc.NewDirWriter(fscc.FileDirectoryInformation, 4096)
	w.Add(&fscc.FileInfo{Name: "a"})
	w.Add(&fscc.FileInfo{Name: "bb", Directory: true})
	f.Add(w.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		parseDirectoryInfo(b)
		parseAllInfo("x", b)
		parseStandardInfo(b)
	})
}

func FuzzParseNetrShareEnumResponse(f *testing.F) {
	f.Add(shareEnumResponse([]ShareInfo{{Name: "a", Comment: "b"}}, 0))
	f.Fuzz(func(t *testing.T, b []byte) {
		parseNetrShareEnumResponse(b)
	})
}

func FuzzRPCPDU(f *testing.F) {
	f.Add(finishPDU(append(appendRPCHeader(nil, rpcResponse, 1), 0, 0, 0, 0, 0, 0, 0, 0)))
	f.Fuzz(func(t *testing.T, b []byte) {
		checkBindAck(b, 1)
		responseStub(b, 1)
	})
}
