package server

import (
	"testing"

	"github.com/signetsmb/signet/internal/fscc"
	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
)

// TestClusterDeletePending: a delete disposition set on node A (by
// SET_INFO, then by CREATE with DELETE_ON_CLOSE) makes an open of the
// file on node B fail with STATUS_DELETE_PENDING, as on one server; a
// cleared disposition lets B open again; when A's last open closes the
// file is gone and B may create it afresh.
func TestClusterDeletePending(t *testing.T) {
	_, n := clusterNodes(t, 1, 2)
	a, b := n[0], n[1]
	all := rwAccess | wire.Delete

	fa, st := a.openShare("dp", all, shareAll)
	if st != ntstatus.Success {
		t.Fatal(st)
	}
	if st := a.setInfo(fa, wire.InfoFile, uint8(fscc.FileDispositionInformation), []byte{1}, 0); st != ntstatus.Success {
		t.Fatalf("set disposition on A: %v", st)
	}
	if _, st := b.openShare("dp", readAccess, shareAll); st != ntstatus.DeletePending {
		t.Fatalf("open on B of a file delete-pending on A: %v, want STATUS_DELETE_PENDING", st)
	}
	if st := a.setInfo(fa, wire.InfoFile, uint8(fscc.FileDispositionInformation), []byte{0}, 0); st != ntstatus.Success {
		t.Fatalf("clear disposition on A: %v", st)
	}
	fb, st := b.openShare("dp", readAccess, shareAll)
	if st != ntstatus.Success {
		t.Fatalf("open on B after A cleared the disposition: %v", st)
	}
	b.closeFile(fb)

	// Delete-on-close at CREATE; the file goes at A's close.
	a.closeFile(fa)
	cr, st := a.create(&wire.CreateRequest{DesiredAccess: all, ShareAccess: shareAll,
		CreateDisposition: wire.FileOpen, CreateOptions: wire.FileNonDirectoryFile | wire.FileDeleteOnClose, Name: "dp"})
	if st != ntstatus.Success {
		t.Fatalf("delete-on-close open on A: %v", st)
	}
	if _, st := b.openShare("dp", readAccess, shareAll); st != ntstatus.DeletePending {
		t.Fatalf("open on B of a file opened delete-on-close on A: %v, want STATUS_DELETE_PENDING", st)
	}
	a.closeFile(cr.FileID)
	if _, st := b.create(&wire.CreateRequest{DesiredAccess: readAccess, ShareAccess: shareAll,
		CreateDisposition: wire.FileOpen, CreateOptions: wire.FileNonDirectoryFile, Name: "dp"}); st != ntstatus.ObjectNameNotFound {
		t.Fatalf("open on B after A's last close: %v, want STATUS_OBJECT_NAME_NOT_FOUND", st)
	}
	fb, st = b.openShare("dp", rwAccess, shareAll)
	if st != ntstatus.Success {
		t.Fatalf("create on B after the delete: %v", st)
	}
	b.closeFile(fb)
}

// TestClusterRenameTarget: a rename on node B that would replace a file
// open on node A is refused with STATUS_ACCESS_DENIED, as when the target
// is open on the same server; once A closed it, the rename replaces it.
func TestClusterRenameTarget(t *testing.T) {
	_, n := clusterNodes(t, 1, 2)
	a, b := n[0], n[1]
	fa, st := a.openShare("target", readAccess, shareAll)
	if st != ntstatus.Success {
		t.Fatal(st)
	}
	fb, st := b.openShare("source", rwAccess|wire.Delete, shareAll)
	if st != ntstatus.Success {
		t.Fatal(st)
	}
	if st := b.setFile(fb, fscc.FileRenameInformation, renameInfo("target", true)); st != ntstatus.AccessDenied {
		t.Fatalf("rename on B onto a file open on A: %v, want STATUS_ACCESS_DENIED", st)
	}
	a.closeFile(fa)
	if st := b.setFile(fb, fscc.FileRenameInformation, renameInfo("target", true)); st != ntstatus.Success {
		t.Fatalf("rename on B after A closed the target: %v", st)
	}
	b.closeFile(fb)
	// The rename's claim on the target is gone: A opens the new file.
	fa, st = a.openShare("target", readAccess, shareAll)
	if st != ntstatus.Success {
		t.Fatalf("open on A after the rename: %v", st)
	}
	a.closeFile(fa)
}
