package server

import (
	"encoding/binary"
	"testing"

	"github.com/signetsmb/signet/internal/fscc"
	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
)

// Tests of CREATE and CLOSE [MS-SMB2 3.3.5.9, 3.3.5.10; MS-FSA 2.1.5.1]
// through the tester.

// TestCreateDispositions: each CreateDisposition on an existing and a
// missing file, with the CreateAction and size it reports.
func TestCreateDispositions(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	existing := func() {
		id := tc.mustCreate("e")
		tc.write(id, 0, []byte("content"))
		tc.closeFile(id)
	}
	for _, c := range []struct {
		disp   uint32
		exists bool
		want   ntstatus.Status
		action uint32
		size   uint64
	}{
		{wire.FileOpen, false, ntstatus.ObjectNameNotFound, 0, 0},
		{wire.FileOpen, true, ntstatus.Success, wire.FileOpened, 7},
		{wire.FileCreate, false, ntstatus.Success, wire.FileCreated, 0},
		{wire.FileCreate, true, ntstatus.ObjectNameCollision, 0, 0},
		{wire.FileOpenIf, false, ntstatus.Success, wire.FileCreated, 0},
		{wire.FileOpenIf, true, ntstatus.Success, wire.FileOpened, 7},
		{wire.FileOverwrite, false, ntstatus.ObjectNameNotFound, 0, 0},
		{wire.FileOverwrite, true, ntstatus.Success, wire.FileOverwritten, 0},
		{wire.FileOverwriteIf, false, ntstatus.Success, wire.FileCreated, 0},
		{wire.FileOverwriteIf, true, ntstatus.Success, wire.FileOverwritten, 0},
		{wire.FileSupersede, false, ntstatus.Success, wire.FileCreated, 0},
		{wire.FileSupersede, true, ntstatus.Success, wire.FileSuperseded, 0},
		{6, false, ntstatus.InvalidParameter, 0, 0},
	} {
		tc.setDisposition("e")
		if c.exists {
			existing()
		}
		cr, st := tc.create(&wire.CreateRequest{DesiredAccess: rwAccess, ShareAccess: shareAll, CreateDisposition: c.disp, Name: "e"})
		if st != c.want {
			t.Errorf("disposition %d on exists=%v: %v, want %v", c.disp, c.exists, st, c.want)
			continue
		}
		if st != ntstatus.Success {
			continue
		}
		if cr.CreateAction != c.action || cr.EndOfFile != c.size || cr.FileAttributes != fscc.FileAttributeArchive {
			t.Errorf("disposition %d on exists=%v: action %d size %d attrs %#x, want %d %d", c.disp, c.exists,
				cr.CreateAction, cr.EndOfFile, cr.FileAttributes, c.action, c.size)
		}
		tc.closeFile(cr.FileID)
	}
}

// setDisposition removes name if it exists (open, delete-pending, close).
func (tc *tester) setDisposition(name string) {
	tc.t.Helper()
	id, st := tc.openFile(name, wire.FileOpen, 0)
	if st != ntstatus.Success {
		return
	}
	if st := tc.setInfo(id, wire.InfoFile, uint8(fscc.FileDispositionInformation), []byte{1}, 0); st != ntstatus.Success {
		tc.t.Fatalf("delete %q: %v", name, st)
	}
	tc.closeFile(id)
}

// TestCreateValidation: fixed-field checks [MS-SMB2 3.3.5.9].
func TestCreateValidation(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect300)
	tc.mustCreate("file")
	tc.mustMkdir("dir")
	base := func() *wire.CreateRequest {
		return &wire.CreateRequest{DesiredAccess: rwAccess, ShareAccess: shareAll, CreateDisposition: wire.FileOpenIf, Name: "v"}
	}
	for name, c := range map[string]struct {
		edit func(*wire.CreateRequest)
		want ntstatus.Status
	}{
		"impersonation 4":   {func(q *wire.CreateRequest) { q.ImpersonationLevel = 4 }, ntstatus.BadImpersonationLevel},
		"undefined options": {func(q *wire.CreateRequest) { q.CreateOptions = 0x01000000 }, ntstatus.InvalidParameter},
		"dir and non-dir":   {func(q *wire.CreateRequest) { q.CreateOptions = wire.FileDirectoryFile | wire.FileNonDirectoryFile }, ntstatus.InvalidParameter},
		"bad share access":  {func(q *wire.CreateRequest) { q.ShareAccess = 8 }, ntstatus.InvalidParameter},
		"reserved access":   {func(q *wire.CreateRequest) { q.DesiredAccess = 0x00000200 }, ntstatus.AccessDenied},
		"delete-on-close only": {func(q *wire.CreateRequest) {
			q.CreateOptions = wire.FileDeleteOnClose
			q.DesiredAccess = wire.FileReadData
		}, ntstatus.InvalidParameter},
		"bad attributes":  {func(q *wire.CreateRequest) { q.FileAttributes = 0x00010000 }, ntstatus.InvalidParameter},
		"open by file id": {func(q *wire.CreateRequest) { q.CreateOptions = wire.FileOpenByFileID }, ntstatus.NotSupported},
		"dir overwrite_if": {func(q *wire.CreateRequest) {
			q.CreateOptions = wire.FileDirectoryFile
			q.CreateDisposition = wire.FileOverwriteIf
		}, ntstatus.InvalidParameter},
		"system security":       {func(q *wire.CreateRequest) { q.DesiredAccess = wire.AccessSystemSecurity }, ntstatus.PrivilegeNotHeld},
		"absolute name":         {func(q *wire.CreateRequest) { q.Name = `\v` }, ntstatus.InvalidParameter},
		"outside the share":     {func(q *wire.CreateRequest) { q.Name = `..\v` }, ntstatus.ObjectPathSyntaxBad},
		"stream type":           {func(q *wire.CreateRequest) { q.Name = `v:s:$FOO` }, ntstatus.ObjectNameInvalid},
		"empty stream":          {func(q *wire.CreateRequest) { q.Name = `v:` }, ntstatus.ObjectNameInvalid},
		"wildcard":              {func(q *wire.CreateRequest) { q.Name = `v*` }, ntstatus.ObjectNameInvalid},
		"missing parent":        {func(q *wire.CreateRequest) { q.Name = `nodir\v` }, ntstatus.ObjectPathNotFound},
		"file as parent":        {func(q *wire.CreateRequest) { q.Name = `file\v` }, ntstatus.ObjectPathNotFound},
		"dir option on a file":  {func(q *wire.CreateRequest) { q.Name, q.CreateOptions = "file", wire.FileDirectoryFile }, ntstatus.NotADirectory},
		"non-dir option on dir": {func(q *wire.CreateRequest) { q.Name, q.CreateOptions = "dir", wire.FileNonDirectoryFile }, ntstatus.FileIsADirectory},
		"overwrite a dir":       {func(q *wire.CreateRequest) { q.Name, q.CreateDisposition = "dir", wire.FileOverwriteIf }, ntstatus.InvalidParameter},
		"short context name":    {func(q *wire.CreateRequest) { q.Contexts = []wire.CreateContext{{Name: "Mx"}} }, ntstatus.InvalidParameter},
		"short AlSi": {func(q *wire.CreateRequest) {
			q.Contexts = []wire.CreateContext{{Name: wire.CtxNameAlSi, Data: []byte{1}}}
		}, ntstatus.InvalidParameter},
		"short TWrp": {func(q *wire.CreateRequest) {
			q.Contexts = []wire.CreateContext{{Name: wire.CtxNameTWrp, Data: []byte{1}}}
		}, ntstatus.InvalidParameter},
		"timewarp": {func(q *wire.CreateRequest) {
			q.Contexts = []wire.CreateContext{{Name: wire.CtxNameTWrp, Data: make([]byte, 8)}}
		}, ntstatus.ObjectNameNotFound},
		"delete root": {func(q *wire.CreateRequest) { q.Name, q.CreateOptions = "", wire.FileDeleteOnClose }, ntstatus.CannotDelete},
	} {
		q := base()
		c.edit(q)
		if _, st := tc.create(q); st != c.want {
			t.Errorf("%s: %v, want %v", name, st, c.want)
		}
	}
	r := tc.createReq(base())
	binary.LittleEndian.PutUint16(r.msg[wire.HeaderSize+46:], 3) // odd name length
	expectStatus(t, "odd name length", tc.roundTrip(r), ntstatus.InvalidParameter)
}

// TestCreateContexts: MxAc reports the maximal access, QFid the on-disk
// file id, AlSi reserves space; durable-handle and lease requests are
// declined by not answering them [MS-SMB2 3.3.5.9].
func TestCreateContexts(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	alloc := make([]byte, 8)
	binary.LittleEndian.PutUint64(alloc, 1<<20)
	cr, st := tc.create(&wire.CreateRequest{DesiredAccess: rwAccess, ShareAccess: shareAll, CreateDisposition: wire.FileCreate,
		Name: "ctx", Contexts: []wire.CreateContext{
			{Name: wire.CtxNameMxAc}, {Name: wire.CtxNameQFid}, {Name: wire.CtxNameAlSi, Data: alloc},
			{Name: wire.CtxNameDHnQ, Data: make([]byte, 16)}, {Name: wire.CtxNameRqLs, Data: make([]byte, 32)},
		}})
	if st != ntstatus.Success {
		t.Fatal(st)
	}
	got := map[string][]byte{}
	for _, c := range cr.Contexts {
		got[c.Name] = c.Data
	}
	if len(got) != 2 || len(got[wire.CtxNameMxAc]) != 8 || binary.LittleEndian.Uint32(got[wire.CtxNameMxAc][4:]) != accessFull ||
		len(got[wire.CtxNameQFid]) != 32 {
		t.Fatalf("contexts %x", got)
	}
	if cr.AllocationSize < 1<<20 || cr.EndOfFile != 0 {
		t.Fatalf("AlSi: allocation %d, EOF %d", cr.AllocationSize, cr.EndOfFile)
	}
	info, _ := tc.queryInfo(cr.FileID, wire.InfoFile, uint8(fscc.FileInternalInformation), 8, 0)
	if len(info) != 8 || binary.LittleEndian.Uint64(info) != binary.LittleEndian.Uint64(got[wire.CtxNameQFid]) {
		t.Fatalf("QFid %x differs from FileInternalInformation %x", got[wire.CtxNameQFid][:8], info)
	}
}

// TestCreateShareModes: an open that does not share what a later open
// wants to do makes the later open fail with STATUS_SHARING_VIOLATION
// [MS-FSA 2.1.5.1.2].
func TestCreateShareModes(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect210)
	cr, st := tc.create(&wire.CreateRequest{DesiredAccess: wire.FileReadData, ShareAccess: wire.FileShareRead,
		CreateDisposition: wire.FileCreate, Name: "s"})
	if st != ntstatus.Success {
		t.Fatal(st)
	}
	if _, st := tc.openFile("s", wire.FileOpen, 0); st != ntstatus.SharingViolation {
		t.Fatalf("read/write open of a file shared for read: %v", st)
	}
	// The first open reads and shares only reading; a read open not
	// sharing reading conflicts with it.
	if _, st := tc.create(&wire.CreateRequest{DesiredAccess: wire.FileReadData, ShareAccess: wire.FileShareWrite,
		CreateDisposition: wire.FileOpen, Name: "s"}); st != ntstatus.SharingViolation {
		t.Fatalf("read open not sharing read: %v", st)
	}
	ro, st := tc.create(&wire.CreateRequest{DesiredAccess: wire.FileReadData, ShareAccess: wire.FileShareRead | wire.FileShareWrite,
		CreateDisposition: wire.FileOpen, Name: "s"})
	if st != ntstatus.Success {
		t.Fatalf("compatible read open: %v", st)
	}
	tc.closeFile(cr.FileID)
	tc.closeFile(ro.FileID)
	id, st := tc.openFile("s", wire.FileOpen, 0)
	if st != ntstatus.Success {
		t.Fatalf("open after the others closed: %v", st)
	}
	tc.closeFile(id)
}

// TestCreateDeleteOnClose: FILE_DELETE_ON_CLOSE removes the file at the
// last close; while it is pending new opens fail with
// STATUS_DELETE_PENDING; a non-empty directory cannot be opened so
// [MS-FSA 2.1.5.1, 2.1.5.4].
func TestCreateDeleteOnClose(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	cr, st := tc.create(&wire.CreateRequest{DesiredAccess: rwAccess, ShareAccess: shareAll, CreateDisposition: wire.FileCreate,
		CreateOptions: wire.FileDeleteOnClose, Name: "doc"})
	if st != ntstatus.Success {
		t.Fatal(st)
	}
	if _, st := tc.openFile("doc", wire.FileOpen, 0); st != ntstatus.DeletePending {
		t.Fatalf("open of a delete-pending file: %v", st)
	}
	tc.closeFile(cr.FileID)
	if _, st := tc.openFile("doc", wire.FileOpen, 0); st != ntstatus.ObjectNameNotFound {
		t.Fatalf("open after the delete-on-close: %v", st)
	}
	dir := tc.mustMkdir("full")
	tc.closeFile(tc.mustCreate(`full\child`))
	if _, st := tc.create(&wire.CreateRequest{DesiredAccess: wire.Delete | wire.FileReadData, ShareAccess: shareAll,
		CreateDisposition: wire.FileOpen, CreateOptions: wire.FileDirectoryFile | wire.FileDeleteOnClose, Name: "full"}); st != ntstatus.DirectoryNotEmpty {
		t.Fatalf("delete-on-close of a non-empty directory: %v", st)
	}
	tc.closeFile(dir)
}

// TestCreateReadOnlyAttribute: a file created with
// FILE_ATTRIBUTE_READONLY cannot be opened for writing or deleted
// [MS-FSA 2.1.5.1.2.1].
func TestCreateReadOnlyAttribute(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect302)
	cr, st := tc.create(&wire.CreateRequest{DesiredAccess: wire.FileReadData | wire.FileReadAttributes, ShareAccess: shareAll,
		CreateDisposition: wire.FileCreate, FileAttributes: fscc.FileAttributeReadOnly, Name: "ro"})
	if st != ntstatus.Success || cr.FileAttributes&fscc.FileAttributeReadOnly == 0 {
		t.Fatalf("create read-only: %v %+v", st, cr)
	}
	tc.closeFile(cr.FileID)
	if _, st := tc.openFile("ro", wire.FileOpen, 0); st != ntstatus.AccessDenied {
		t.Fatalf("write open of a read-only file: %v", st)
	}
	if _, st := tc.create(&wire.CreateRequest{DesiredAccess: wire.Delete, ShareAccess: shareAll, CreateDisposition: wire.FileOpen,
		CreateOptions: wire.FileDeleteOnClose, Name: "ro"}); st != ntstatus.CannotDelete {
		t.Fatalf("delete-on-close of a read-only file: %v", st)
	}
	max, st := tc.create(&wire.CreateRequest{DesiredAccess: wire.MaximumAllowed, ShareAccess: shareAll, CreateDisposition: wire.FileOpen, Name: "ro"})
	if st != ntstatus.Success {
		t.Fatalf("MAXIMUM_ALLOWED open: %v", st)
	}
	if _, st := tc.write(max.FileID, 0, []byte("x")); st != ntstatus.AccessDenied {
		t.Fatalf("WRITE through a MAXIMUM_ALLOWED open of a read-only file: %v", st)
	}
	if _, st := tc.create(&wire.CreateRequest{DesiredAccess: wire.FileReadData, CreateDisposition: wire.FileCreate,
		CreateOptions: wire.FileDeleteOnClose, FileAttributes: fscc.FileAttributeReadOnly, Name: "ro2"}); st != ntstatus.InvalidParameter && st != ntstatus.CannotDelete {
		t.Fatalf("create read-only with delete-on-close: %v", st)
	}
}

// TestCreateAccess: the granted access limits what the open may do:
// GENERIC_READ cannot write, an open without READ_DATA cannot read.
func TestCreateAccess(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	tc.closeFile(tc.mustCreate("a"))
	gr, st := tc.create(&wire.CreateRequest{DesiredAccess: wire.GenericRead, ShareAccess: shareAll, CreateDisposition: wire.FileOpen, Name: "a"})
	if st != ntstatus.Success {
		t.Fatal(st)
	}
	if _, st := tc.write(gr.FileID, 0, []byte("x")); st != ntstatus.AccessDenied {
		t.Fatalf("WRITE on GENERIC_READ: %v", st)
	}
	if st := tc.flush(gr.FileID); st != ntstatus.AccessDenied {
		t.Fatalf("FLUSH on GENERIC_READ: %v", st)
	}
	wo, st := tc.create(&wire.CreateRequest{DesiredAccess: wire.FileWriteData, ShareAccess: shareAll, CreateDisposition: wire.FileOpen, Name: "a"})
	if st != ntstatus.Success {
		t.Fatal(st)
	}
	if _, st := tc.read(wo.FileID, 0, 1); st != ntstatus.AccessDenied {
		t.Fatalf("READ on a write-only open: %v", st)
	}
	if _, st := tc.queryInfo(wo.FileID, wire.InfoFile, uint8(fscc.FileBasicInformation), 64, 0); st != ntstatus.AccessDenied {
		t.Fatalf("FileBasicInformation without READ_ATTRIBUTES: %v", st)
	}
	if _, st := tc.queryInfo(wo.FileID, wire.InfoSecurity, 0, 1024, 7); st != ntstatus.AccessDenied {
		t.Fatalf("security descriptor without READ_CONTROL: %v", st)
	}
	if st := tc.setInfo(wo.FileID, wire.InfoFile, uint8(fscc.FileDispositionInformation), []byte{1}, 0); st != ntstatus.AccessDenied {
		t.Fatalf("delete without DELETE access: %v", st)
	}
}

// TestCreateCaseInsensitive: names are looked up without regard to case
// and keep the case they were created with.
func TestCreateCaseInsensitive(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	tc.mustMkdir("Dir")
	tc.closeFile(tc.mustCreate(`Dir\MixedCase.TXT`))
	id, st := tc.openFile(`DIR\mixedcase.txt`, wire.FileOpen, 0)
	if st != ntstatus.Success {
		t.Fatalf("open with other case: %v", st)
	}
	name, _ := tc.queryInfo(id, wire.InfoFile, uint8(fscc.FileNameInformation), 256, 0)
	if len(name) < 4 || wire.DecodeUTF16(name[4:]) != `\Dir\MixedCase.TXT` {
		t.Fatalf("FileNameInformation %q", name)
	}
}

// TestCloseBehaviour: CLOSE with POSTQUERY_ATTRIB returns the attributes
// [MS-SMB2 3.3.5.10]; a closed FileId is STATUS_FILE_CLOSED; related
// CLOSE after CREATE in one compound works.
func TestCloseBehaviour(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	id := tc.mustCreate("c")
	tc.write(id, 0, []byte("12345"))
	resp := tc.roundTrip(tc.closeReq(id, wire.CloseFlagPostQueryAttrib))
	expectStatus(t, "CLOSE", resp, ntstatus.Success)
	b := resp.body
	if binary.LittleEndian.Uint16(b[2:]) != wire.CloseFlagPostQueryAttrib || binary.LittleEndian.Uint64(b[48:]) != 5 ||
		binary.LittleEndian.Uint32(b[56:]) != fscc.FileAttributeArchive {
		t.Fatalf("CLOSE body %x", b)
	}
	if st := tc.closeFile(id); st != ntstatus.FileClosed {
		t.Fatalf("second CLOSE: %v", st)
	}
	id = tc.mustCreate("c")
	resp = tc.roundTrip(tc.closeReq(id, 0))
	if binary.LittleEndian.Uint64(resp.body[48:]) != 0 {
		t.Fatalf("CLOSE without POSTQUERY_ATTRIB returned attributes: %x", resp.body)
	}
}

// TestTreeDisconnectClosesOpens: TREE_DISCONNECT closes the tree's opens,
// so their share modes no longer block others.
func TestTreeDisconnectClosesOpens(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	cr, st := tc.create(&wire.CreateRequest{DesiredAccess: rwAccess, CreateDisposition: wire.FileCreate, Name: "x"})
	if st != ntstatus.Success {
		t.Fatal(st)
	}
	tc.treeDisconnect()
	tc.mustTreeConnect("share")
	if _, st := tc.openFile("x", wire.FileOpen, 0); st != ntstatus.Success {
		t.Fatalf("open after TREE_DISCONNECT: %v", st)
	}
	if st := tc.closeFile(cr.FileID); st != ntstatus.FileClosed {
		t.Fatalf("CLOSE of an open of the disconnected tree: %v", st)
	}
}
