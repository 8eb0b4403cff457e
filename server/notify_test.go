package server

import (
	"encoding/binary"
	"fmt"
	"slices"
	"testing"

	"github.com/signetsmb/signet/internal/fscc"
	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
)

// Tests of CHANGE_NOTIFY and CANCEL [MS-SMB2 3.3.5.19, 3.3.5.16] through
// the tester.

// notifyEntries decodes FILE_NOTIFY_INFORMATION entries as "action:name".
func notifyEntries(t testing.TB, resp *resp) []string {
	t.Helper()
	buf, err := wire.ParseOutputBuffer(resp.msg)
	if err != nil {
		t.Fatalf("CHANGE_NOTIFY response: %v", err)
	}
	var out []string
	for len(buf) >= 12 {
		next := binary.LittleEndian.Uint32(buf)
		n := int(binary.LittleEndian.Uint32(buf[8:]))
		if 12+n > len(buf) {
			t.Fatalf("bad entry %x", buf)
		}
		out = append(out, fmt.Sprintf("%d:%s", binary.LittleEndian.Uint32(buf[4:]), wire.DecodeUTF16(buf[12:12+n])))
		if next == 0 {
			break
		}
		buf = buf[next:]
	}
	return out
}

// pendingNotify sends a CHANGE_NOTIFY on dir and checks it went async.
func (tc *tester) pendingNotify(dir wire.FileID, filter uint32, tree bool, outLen uint32) *req {
	tc.t.Helper()
	n := tc.changeNotifyReq(dir, filter, tree, outLen)
	tc.send(n)
	if r := tc.waitInterim(n); !r.isInterim() {
		tc.t.Fatalf("CHANGE_NOTIFY did not go async: %v", r)
	}
	return n
}

// TestChangeNotify: a CHANGE_NOTIFY goes async and completes on the next
// change under its filter; changes between requests are buffered and
// answer the next request at once; renames report old and new names
// together [MS-SMB2 3.3.5.19; MS-FSCC 2.4.42].
func TestChangeNotify(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	dir := tc.mustMkdir("w")
	n := tc.pendingNotify(dir, filterFileName|filterDirName, false, 4096)
	id := tc.mustCreate(`w\new.txt`)
	resp := tc.wait(n)
	expectStatus(t, "CHANGE_NOTIFY", resp, ntstatus.Success)
	if got := notifyEntries(t, resp); !slices.Equal(got, []string{"1:new.txt"}) {
		t.Fatalf("entries %q", got)
	}
	if !resp.hdr.IsAsync() || resp.hdr.AsyncID != tc.asyncID(n) {
		t.Fatalf("final response header %+v", resp.hdr)
	}
	tc.setFile(id, fscc.FileRenameInformation, renameInfo(`w\renamed.txt`, false))
	tc.closeFile(tc.mustMkdir(`w\sub`))
	tc.write(id, 0, []byte("size changes are not under the filter"))
	resp = tc.roundTrip(tc.changeNotifyReq(dir, 0, false, 4096)) // the first request's filter holds
	expectStatus(t, "CHANGE_NOTIFY with buffered changes", resp, ntstatus.Success)
	if got := notifyEntries(t, resp); !slices.Equal(got, []string{"4:new.txt", "5:renamed.txt", "1:sub"}) {
		t.Fatalf("buffered entries %q", got)
	}
}

// TestChangeNotifyWatchTree: WATCH_TREE reports changes below the
// directory with relative paths; without it they are not reported.
func TestChangeNotifyWatchTree(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect300)
	top := tc.mustMkdir("top")
	tc.closeFile(tc.mustMkdir(`top\a`))
	flat := tc.mustMkdir(`top\a\b`)
	deep := tc.pendingNotify(top, filterFileName|filterSize, true, 4096)
	shallow := tc.pendingNotify(flat, filterFileName, false, 4096)
	tc.mustCreate(`top\a\b\x`)
	for _, c := range []struct {
		r    *req
		want string
	}{{deep, `1:a\b\x`}, {shallow, "1:x"}} {
		resp := tc.wait(c.r)
		if got := notifyEntries(t, resp); !slices.Equal(got, []string{c.want}) {
			t.Errorf("entries %q, want %q", got, c.want)
		}
	}
}

// TestChangeNotifyCancel: CANCEL of a pending CHANGE_NOTIFY, by AsyncId
// or by MessageId, completes it with STATUS_CANCELLED
// [MS-SMB2 3.3.5.16].
func TestChangeNotifyCancel(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	dir := tc.mustMkdir("c")
	n := tc.pendingNotify(dir, filterFileName, false, 1024)
	tc.cancel(n)
	expectStatus(t, "cancelled by AsyncId", tc.wait(n), ntstatus.Cancelled)

	n = tc.pendingNotify(dir, filterFileName, false, 1024)
	delete(tc.asyncIDs, n.hdr.MessageID) // sync form: by MessageId
	tc.cancel(n)
	expectStatus(t, "cancelled by MessageId", tc.wait(n), ntstatus.Cancelled)

	// A CANCEL of another session does not cancel it.
	n = tc.pendingNotify(dir, filterFileName, false, 1024)
	c := tc.simpleReq(wire.CmdCancel)
	c.keepID, c.hdr.MessageID, c.hdr.SessionID = true, n.hdr.MessageID, 0
	tc.send(c)
	if st := tc.echo(); st != ntstatus.Success {
		t.Fatal(st)
	}
	tc.closeFile(tc.mustCreate(`c\f`))
	expectStatus(t, "not cancelled by another session", tc.wait(n), ntstatus.Success)
}

// TestChangeNotifyCleanup: closing the directory, or disconnecting its
// tree, completes a pending CHANGE_NOTIFY with STATUS_NOTIFY_CLEANUP
// [MS-SMB2 3.3.5.10]; a directory that becomes delete-pending completes
// it with STATUS_DELETE_PENDING.
func TestChangeNotifyCleanup(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	dir := tc.mustMkdir("x")
	n := tc.pendingNotify(dir, filterFileName, false, 1024)
	if st := tc.closeFile(dir); st != ntstatus.Success {
		t.Fatal(st)
	}
	expectStatus(t, "after CLOSE", tc.wait(n), ntstatus.NotifyCleanup)

	dir = tc.mustMkdir("y")
	n = tc.pendingNotify(dir, filterFileName, false, 1024)
	tc.treeDisconnect()
	expectStatus(t, "after TREE_DISCONNECT", tc.wait(n), ntstatus.NotifyCleanup)

	tc.mustTreeConnect("share")
	d, _ := tc.create(&wire.CreateRequest{DesiredAccess: wire.Delete | wire.FileReadData, ShareAccess: shareAll,
		CreateDisposition: wire.FileCreate, CreateOptions: wire.FileDirectoryFile, Name: "z"})
	n = tc.pendingNotify(d.FileID, filterFileName, false, 1024)
	tc.setFile(d.FileID, fscc.FileDispositionInformation, []byte{1})
	expectStatus(t, "after delete", tc.wait(n), ntstatus.DeletePending)
	expectStatus(t, "on a delete-pending directory", tc.roundTrip(tc.changeNotifyReq(d.FileID, filterFileName, false, 1024)), ntstatus.DeletePending)
}

// TestChangeNotifyOverflow: changes that do not fit the client's buffer
// complete the request with STATUS_NOTIFY_ENUM_DIR [MS-SMB2 3.3.5.19].
func TestChangeNotifyOverflow(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect210)
	dir := tc.mustMkdir("o")
	n := tc.pendingNotify(dir, filterFileName, false, 16)
	tc.closeFile(tc.mustCreate(`o\a-name-longer-than-the-buffer`))
	resp := tc.wait(n)
	expectStatus(t, "overflow", resp, ntstatus.NotifyEnumDir)
}

// TestChangeNotifyInvalid: a file handle or an oversized buffer is
// STATUS_INVALID_PARAMETER; an open without FILE_LIST_DIRECTORY is
// STATUS_ACCESS_DENIED.
func TestChangeNotifyInvalid(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	f := tc.mustCreate("f")
	expectStatus(t, "on a file", tc.roundTrip(tc.changeNotifyReq(f, filterFileName, false, 1024)), ntstatus.InvalidParameter)
	dir := tc.mustMkdir("d")
	expectStatus(t, "huge buffer", tc.roundTrip(tc.changeNotifyReq(dir, filterFileName, false, tc.neg.MaxTransactSize+1)), ntstatus.InvalidParameter)
	cr, _ := tc.create(&wire.CreateRequest{DesiredAccess: wire.FileReadAttributes, ShareAccess: shareAll,
		CreateDisposition: wire.FileOpen, CreateOptions: wire.FileDirectoryFile, Name: "d"})
	expectStatus(t, "without LIST_DIRECTORY", tc.roundTrip(tc.changeNotifyReq(cr.FileID, filterFileName, false, 1024)), ntstatus.AccessDenied)
}
