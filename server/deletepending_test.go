package server

import (
	"testing"
	"time"

	"github.com/signetsmb/signet/internal/fscc"
	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
)

// TestDeletePendingBeforeBreak: an open of a file whose delete
// disposition is set fails with STATUS_DELETE_PENDING without breaking
// the batch oplock of the open that set it [MS-FSA 2.1.5.1.2]
// (smb2.oplock.doc).
func TestDeletePendingBeforeBreak(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	cr := tc.mustBatch(tc.createOplock("doc", wire.OplockBatch), "open")
	if st := tc.setInfo(cr.FileID, wire.InfoFile, uint8(fscc.FileDispositionInformation), []byte{1}, 0); st != ntstatus.Success {
		t.Fatalf("delete disposition: %v", st)
	}
	other := tc.secondClient(wire.Dialect311)
	if _, st := other.create(&wire.CreateRequest{DesiredAccess: wire.FileReadData, ShareAccess: shareAll,
		CreateDisposition: wire.FileOpen, Name: "doc"}); st != ntstatus.DeletePending {
		t.Fatalf("second open: %v, want STATUS_DELETE_PENDING", st)
	}
	tc.expectNoFrame(50 * time.Millisecond)
}

// TestDeletePendingParked: a delete-pending file whose open waits for a
// durable reconnect is not refused: the new open closes the parked one,
// which deletes the file, and creates it anew
// (smb2.durable-open.delete_on_close1).
func TestDeletePendingParked(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	cr := tc.parseCreate(tc.roundTrip(tc.createReq(&wire.CreateRequest{RequestedOplockLevel: wire.OplockBatch,
		DesiredAccess: rwAccess, CreateDisposition: wire.FileOpenIf, CreateOptions: wire.FileDeleteOnClose, Name: "p",
		Contexts: []wire.CreateContext{dh2q(0, [16]byte{0xDE})}})))
	if _, ok := durableOf(cr); cr == nil || !ok {
		t.Fatalf("durable open: %+v", cr)
	}
	other := tc.secondClient(wire.Dialect311)
	tc.close()
	eventually(t, "the open parked", func() bool { return tc.srv().durables.Len() == 1 })
	again, st := other.create(&wire.CreateRequest{RequestedOplockLevel: wire.OplockBatch, DesiredAccess: rwAccess,
		CreateDisposition: wire.FileOpenIf, Name: "p"})
	if st != ntstatus.Success || again.CreateAction != wire.FileCreated {
		t.Fatalf("open after the parked delete-on-close open: %v %+v, want the file created anew", st, again)
	}
}
