package server

import (
	"encoding/binary"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/signetsmb/signet/internal/fscc"
	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
	"github.com/signetsmb/signet/vfs/memfs"
)

// streamList decodes FileStreamInformation into "name=size" strings.
func (tc *tester) streamList(f wire.FileID) []string {
	tc.t.Helper()
	b, st := tc.queryInfo(f, wire.InfoFile, uint8(fscc.FileStreamInformation), 4096, 0)
	if st != ntstatus.Success {
		tc.t.Fatalf("FileStreamInformation: %v", st)
	}
	var out []string
	for off := 0; off+24 <= len(b); {
		n := int(binary.LittleEndian.Uint32(b[off+4:]))
		u := make([]uint16, n/2)
		for i := range u {
			u[i] = binary.LittleEndian.Uint16(b[off+24+2*i:])
		}
		out = append(out, string(utf16.Decode(u))+"="+itoa(int(binary.LittleEndian.Uint64(b[off+8:]))))
		next := int(binary.LittleEndian.Uint32(b[off:]))
		if next == 0 {
			break
		}
		off += next
	}
	return out
}

func itoa(n int) string {
	var b []byte
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
		if n == 0 {
			return string(b)
		}
	}
}

// TestStreams: a stream CREATE makes the file and the stream; names are
// case-insensitive; FileStreamInformation lists the unnamed stream
// first; share modes are per stream; a stream renames with ":new" and
// goes with delete-on-close, leaving its file.
func TestStreams(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	s, st := tc.openFile("f:One", wire.FileCreate, 0)
	if st != ntstatus.Success {
		t.Fatalf("create f:One: %v", st)
	}
	if _, st := tc.write(s, 0, []byte("abc")); st != ntstatus.Success {
		t.Fatal(st)
	}
	if tc.fsAttrs(s)&fscc.FSAttrNamedStreams == 0 {
		t.Fatal("FILE_NAMED_STREAMS not announced")
	}
	tc.closeFile(s)
	f := tc.mustCreate("f")
	if got := strings.Join(tc.streamList(f), ","); got != "::$DATA=0,:One:$DATA=3" {
		t.Fatalf("streams %q", got)
	}
	s, st = tc.openFile("F:oNE:$data", wire.FileOpen, 0)
	if st != ntstatus.Success {
		t.Fatalf("open in another case: %v", st)
	}
	if b, _ := tc.read(s, 0, 10); string(b) != "abc" {
		t.Fatalf("stream reads %q", b)
	}
	if b, _ := tc.read(f, 0, 10); len(b) != 0 {
		t.Fatalf("main stream reads %q", b)
	}
	if got := strings.Join(tc.streamList(s), ","); got != "::$DATA=0,:One:$DATA=3" {
		t.Fatalf("streams through the stream open %q", got)
	}
	tc.closeFile(s)

	// Share modes per stream.
	excl, st := tc.create(&wire.CreateRequest{DesiredAccess: rwAccess, CreateDisposition: wire.FileOpen, Name: "f:One"})
	if st != ntstatus.Success {
		t.Fatal(st)
	}
	if _, st := tc.openFile("f:One", wire.FileOpen, 0); st != ntstatus.SharingViolation {
		t.Fatalf("second open of an exclusive stream: %v", st)
	}
	two, st := tc.openFile("f:two", wire.FileCreate, 0)
	if st != ntstatus.Success {
		t.Fatalf("another stream of the file: %v", st)
	}
	// The file cannot be opened for delete while a stream is open without
	// FILE_SHARE_DELETE.
	if _, st := tc.create(&wire.CreateRequest{DesiredAccess: wire.Delete, ShareAccess: shareAll, CreateDisposition: wire.FileOpen, Name: "f"}); st != ntstatus.SharingViolation {
		t.Fatalf("delete open of the file with an exclusive stream open: %v", st)
	}
	tc.closeFile(excl.FileID)

	// Rename and delete-on-close of a stream.
	if st := tc.setInfo(two, wire.InfoFile, uint8(fscc.FileRenameInformation), fscc.EncodeRename(":Three:$DATA", false), 0); st != ntstatus.Success {
		t.Fatalf("rename stream: %v", st)
	}
	if st := tc.setInfo(two, wire.InfoFile, uint8(fscc.FileRenameInformation), fscc.EncodeRename(":one", false), 0); st != ntstatus.ObjectNameCollision {
		t.Fatalf("rename onto an existing stream: %v", st)
	}
	if st := tc.setInfo(two, wire.InfoFile, uint8(fscc.FileDispositionInformation), []byte{1}, 0); st != ntstatus.Success {
		t.Fatal(st)
	}
	tc.closeFile(two)
	if got := strings.Join(tc.streamList(f), ","); got != "::$DATA=0,:One:$DATA=3" {
		t.Fatalf("after delete of a stream %q", got)
	}
	// Overwriting the file drops its streams.
	if _, st := tc.openFile("f", wire.FileOverwrite, 0); st != ntstatus.Success {
		t.Fatal(st)
	}
	if got := strings.Join(tc.streamList(f), ","); got != "::$DATA=0" {
		t.Fatalf("after overwrite %q", got)
	}
}

// TestStreamNames: malformed stream names and streams of directories.
func TestStreamNames(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	tc.mustCreate("f")
	tc.mustMkdir("d")
	for name, want := range map[string]ntstatus.Status{
		"f:":                            ntstatus.ObjectNameInvalid,
		"f:s:$FOO":                      ntstatus.ObjectNameInvalid,
		"f:s:$DATA:x":                   ntstatus.ObjectNameInvalid,
		`f:..\..\x`:                     ntstatus.ObjectNameInvalid,
		"f:../x":                        ntstatus.ObjectNameInvalid,
		":s":                            ntstatus.ObjectNameInvalid,
		"f:" + strings.Repeat("x", 256): ntstatus.ObjectNameInvalid,
		"d::$DATA":                      ntstatus.FileIsADirectory,
		"nofile:s":                      ntstatus.ObjectNameNotFound,
	} {
		if _, st := tc.openFile(name, wire.FileOpen, 0); st != want {
			t.Errorf("%q: %v, want %v", name, st, want)
		}
	}
	if _, st := tc.openFile("d:s", wire.FileCreate, wire.FileDirectoryFile); st != ntstatus.NotADirectory {
		t.Errorf("stream with FILE_DIRECTORY_FILE: %v", st)
	}
	ds, st := tc.openFile("d:ds", wire.FileCreate, 0)
	if st != ntstatus.Success {
		t.Fatalf("stream of a directory: %v", st)
	}
	d, _ := tc.openFile("d", wire.FileOpen, 0)
	if got := strings.Join(tc.streamList(d), ","); got != ":ds:$DATA=0" {
		t.Fatalf("directory streams %q", got)
	}
	tc.closeFile(ds)
	f, st := tc.openFile("f::$DATA", wire.FileOpen, 0)
	if st != ntstatus.Success {
		t.Fatalf("f::$DATA: %v", st)
	}
	tc.closeFile(f)
}

// TestStreamsUnsupported: on a backend without streams a stream name is
// OBJECT_NAME_INVALID and FILE_NAMED_STREAMS is not announced.
func TestStreamsUnsupported(t *testing.T) {
	tc := newSessionTester(t, &testerConfig{FS: plainFS{memfs.New(memfs.Options{})}}, wire.Dialect311)
	f := tc.mustCreate("f")
	if tc.fsAttrs(f)&(fscc.FSAttrNamedStreams|fscc.FSAttrSupportsExtendedAttributes) != 0 {
		t.Fatal("streams or EAs announced without the capability")
	}
	if _, st := tc.openFile("f:s", wire.FileOpenIf, 0); st != ntstatus.ObjectNameInvalid {
		t.Fatalf("stream without StreamFS: %v", st)
	}
	if got := strings.Join(tc.streamList(f), ","); got != "::$DATA=0" {
		t.Fatalf("streams %q", got)
	}
}
