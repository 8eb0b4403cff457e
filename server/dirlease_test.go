package server

import (
	"testing"
	"time"

	"github.com/signetsmb/signet/internal/fscc"
	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
)

// Tests of directory leases [MS-SMB2 3.3.5.9.11, 3.3.4.7; MS-FSA 2.1.4.13].

const leaseRH = wire.LeaseRead | wire.LeaseHandle

// dirLeaseReq opens (or creates) the directory name asking for a v2 lease.
func (tc *tester) dirLeaseReq(name string, key [16]byte, state uint32) *req {
	lc := &wire.LeaseContext{V2: true, Key: key, State: state, Epoch: 7}
	return tc.createReq(&wire.CreateRequest{RequestedOplockLevel: wire.OplockLease,
		DesiredAccess: wire.FileReadData | wire.FileReadAttributes | wire.Synchronize, ShareAccess: shareAll,
		CreateDisposition: wire.FileOpenIf, CreateOptions: wire.FileDirectoryFile, Name: name,
		Contexts: []wire.CreateContext{{Name: wire.CtxNameRqLs, Data: lc.Marshal()}}})
}

// childLeaseReq creates the file name with a v2 lease naming parent as its
// ParentLeaseKey.
func (tc *tester) childLeaseReq(name string, key, parent [16]byte) *req {
	lc := &wire.LeaseContext{V2: true, Key: key, State: leaseRWH, Epoch: 1,
		Flags: wire.LeaseFlagParentKeySet, ParentKey: parent}
	return tc.createReq(&wire.CreateRequest{RequestedOplockLevel: wire.OplockLease, DesiredAccess: rwAccess,
		ShareAccess: shareAll, CreateDisposition: wire.FileOpenIf, CreateOptions: wire.FileNonDirectoryFile, Name: name,
		Contexts: []wire.CreateContext{{Name: wire.CtxNameRqLs, Data: lc.Marshal()}}})
}

// expectDirBreak receives the break of a directory lease from RH to none.
func expectDirBreak(t *testing.T, tc *tester, key [16]byte, epoch uint16, what string) {
	t.Helper()
	lb := tc.recvLeaseBreak()
	if lb.Key != key || lb.CurrentState != leaseRH || lb.NewState != 0 ||
		lb.Flags&wire.LeaseBreakAckRequired == 0 || lb.NewEpoch != epoch {
		t.Fatalf("%s: break %+v, want RH to none with ack required, epoch %d", what, lb, epoch)
	}
	expectStatus(t, what+": acknowledgment", tc.roundTrip(tc.leaseAckReq(key, 0)), ntstatus.Success)
}

// TestDirLeaseGrant: 3.x offers directory leasing and grants R or RH on a
// directory, never W; 2.1 offers no directory leasing and grants no lease
// on a directory.
func TestDirLeaseGrant(t *testing.T) {
	tc := newTester(t, nil)
	if nr := tc.negotiate(wire.Dialect311); nr.Capabilities&wire.CapDirectoryLeasing == 0 {
		t.Fatalf("3.1.1 capabilities %#x lack directory leasing", nr.Capabilities)
	}
	// A client that does not announce directory leasing is not offered it
	// (impacket fails every CREATE on 3.x when it is).
	plain := newTester(t, nil)
	plain.noDirLeaseCap = true
	if nr := plain.negotiate(wire.Dialect311); nr.Capabilities&wire.CapDirectoryLeasing != 0 {
		t.Fatalf("3.1.1 capabilities %#x offer directory leasing to a client that did not ask", nr.Capabilities)
	}
	tc.mustSessionSetup("alice", "pw")
	tc.mustTreeConnect("share")
	k := leaseKey(0x50)
	cr := tc.parseCreate(tc.roundTrip(tc.dirLeaseReq("d", k, leaseRWH)))
	if cr.OplockLevel != wire.OplockLease {
		t.Fatalf("oplock level %#x, want lease", cr.OplockLevel)
	}
	if l := leaseOf(t, cr); l.State != leaseRH || l.Epoch != 8 {
		t.Fatalf("directory lease %+v, want RH epoch 8 (no W on a directory)", l)
	}
	cr2 := tc.parseCreate(tc.roundTrip(tc.dirLeaseReq("e", leaseKey(0x51), wire.LeaseRead)))
	if l := leaseOf(t, cr2); l.State != wire.LeaseRead {
		t.Fatalf("directory lease %+v, want R", l)
	}
	tc.closeFile(cr.FileID)
	tc.closeFile(cr2.FileID)
	srv := tc.srv()
	srv.nodes.mu.Lock()
	n, idx := len(srv.nodes.leases), len(srv.nodes.dl.leases)
	srv.nodes.mu.Unlock()
	if n != 0 || idx != 0 || srv.nodes.dl.count.Load() != 0 {
		t.Fatalf("%d leases, %d directory leases left after the last close", n, idx)
	}

	old := newTester(t, nil)
	if nr := old.negotiate(wire.Dialect210); nr.Capabilities&wire.CapDirectoryLeasing != 0 {
		t.Fatalf("2.1 capabilities %#x offer directory leasing", nr.Capabilities)
	}
	old.mustSessionSetup("alice", "pw")
	old.mustTreeConnect("share")
	resp := old.roundTrip(old.dirLeaseReq("d", leaseKey(0x52), leaseRH))
	if cr := old.parseCreate(resp); cr == nil || cr.OplockLevel == wire.OplockLease {
		t.Fatalf("2.1 directory open: %v, want no lease", resp.status)
	}
}

// TestDirLeaseBreakOnChange: another client's create, data change (at
// close), rename and delete in the directory break its lease to none
// without waiting for the holder; a change elsewhere breaks nothing.
func TestDirLeaseBreakOnChange(t *testing.T) {
	holder := newSessionTester(t, nil, wire.Dialect311)
	holder.mustMkdir("elsewhere")
	k := leaseKey(0x60)
	cr := holder.parseCreate(holder.roundTrip(holder.dirLeaseReq("d", k, leaseRH)))
	if l := leaseOf(t, cr); l.State != leaseRH {
		t.Fatalf("directory lease %+v", l)
	}
	epoch := uint16(8)
	regrant := func() {
		t.Helper()
		again := holder.parseCreate(holder.roundTrip(holder.dirLeaseReq("d", k, leaseRH)))
		epoch++
		if l := leaseOf(t, again); l.State != leaseRH || l.Epoch != epoch {
			t.Fatalf("regranted %+v, want RH epoch %d", l, epoch)
		}
		holder.closeFile(again.FileID)
	}

	other := holder.otherClient(4)
	other.mustCreate("elsewhere/x")
	holder.expectNoFrame(30 * time.Millisecond)

	// A new entry: the create does not wait for the acknowledgment.
	id := other.mustCreate(`d\x`)
	epoch++
	expectDirBreak(t, holder, k, epoch, "create")
	regrant()

	// Writes break nothing until the handle closes.
	if _, st := other.write(id, 0, []byte("data")); st != ntstatus.Success {
		t.Fatalf("write: %v", st)
	}
	holder.expectNoFrame(30 * time.Millisecond)
	other.closeFile(id)
	epoch++
	expectDirBreak(t, holder, k, epoch, "close after a write")
	regrant()

	// A close without a change breaks nothing.
	other.closeFile(other.mustCreate(`d\x`))
	holder.expectNoFrame(30 * time.Millisecond)

	// A rename out of the directory.
	id = other.mustCreate(`d\x`)
	if st := other.setFile(id, fscc.FileRenameInformation, renameInfo(`elsewhere\y`, false)); st != ntstatus.Success {
		t.Fatalf("rename: %v", st)
	}
	epoch++
	expectDirBreak(t, holder, k, epoch, "rename")
	regrant()
	other.closeFile(id)

	// A delete.
	id, st := other.openFile(`d\z`, wire.FileOpenIf, wire.FileNonDirectoryFile|wire.FileDeleteOnClose)
	if st != ntstatus.Success {
		t.Fatalf("create d/z: %v", st)
	}
	epoch++
	expectDirBreak(t, holder, k, epoch, "create d/z")
	regrant()
	other.closeFile(id)
	epoch++
	expectDirBreak(t, holder, k, epoch, "delete")
}

// TestDirLeaseParentKey: a change through an open whose lease names the
// directory lease as its parent does not break it; the same change from
// the same client without the parent key does, and so does one from
// another client naming the same key (a lease belongs to a ClientGuid).
func TestDirLeaseParentKey(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	k := leaseKey(0x70)
	cr := tc.parseCreate(tc.roundTrip(tc.dirLeaseReq("d", k, leaseRH)))
	if l := leaseOf(t, cr); l.State != leaseRH {
		t.Fatalf("directory lease %+v", l)
	}
	child := tc.parseCreate(tc.roundTrip(tc.childLeaseReq(`d\a`, leaseKey(0x71), k)))
	if l := leaseOf(t, child); l.State != leaseRWH || l.Flags&wire.LeaseFlagParentKeySet == 0 || l.ParentKey != k {
		t.Fatalf("child lease %+v, want RWH with the parent key", l)
	}
	tc.write(child.FileID, 0, []byte("x"))
	tc.closeFile(child.FileID)
	tc.expectNoFrame(50 * time.Millisecond)

	other := tc.otherClient(5)
	oc := other.parseCreate(other.roundTrip(other.childLeaseReq(`d\b`, leaseKey(0x72), k)))
	if oc == nil {
		t.Fatal("other client's create failed")
	}
	expectDirBreak(t, tc, k, 9, "another client with the same parent key")
}

// TestDirLeaseConflictingOpen: a delete-on-close open of the directory
// itself takes H away (RH to R) and waits for the acknowledgment, as an
// open of a file does; the lease keeps R.
func TestDirLeaseConflictingOpen(t *testing.T) {
	holder := newSessionTester(t, nil, wire.Dialect311)
	k := leaseKey(0x80)
	cr := holder.parseCreate(holder.roundTrip(holder.dirLeaseReq("d", k, leaseRH)))
	if l := leaseOf(t, cr); l.State != leaseRH {
		t.Fatalf("directory lease %+v", l)
	}
	other := holder.otherClient(6)
	del := other.createReq(&wire.CreateRequest{DesiredAccess: wire.Delete | wire.FileReadAttributes | wire.Synchronize,
		ShareAccess: shareAll, CreateDisposition: wire.FileOpen,
		CreateOptions: wire.FileDirectoryFile | wire.FileDeleteOnClose, Name: "d"})
	other.send(del)
	lb := holder.recvLeaseBreak()
	if lb.Key != k || lb.CurrentState != leaseRH || lb.NewState != wire.LeaseRead ||
		lb.Flags&wire.LeaseBreakAckRequired == 0 || lb.NewEpoch != 9 {
		t.Fatalf("break %+v, want RH to R with ack required, epoch 9", lb)
	}
	if r := other.waitInterim(del); !r.isInterim() {
		t.Fatalf("delete-on-close open completed before the acknowledgment: %v", r)
	}
	expectStatus(t, "acknowledgment", holder.roundTrip(holder.leaseAckReq(k, wire.LeaseRead)), ntstatus.Success)
	expectStatus(t, "delete-on-close open", other.wait(del), ntstatus.Success)
}
