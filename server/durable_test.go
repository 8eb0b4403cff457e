package server

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
)

// Tests of durable handles and CREATE replay [MS-SMB2 3.3.5.9.7,
// 3.3.5.9.10, 3.3.5.9.12, 3.3.7.1] through the tester.

// dh2q is a DH2Q create context: timeout in ms and CreateGuid.
func dh2q(timeoutMS uint32, guid [16]byte) wire.CreateContext {
	b := make([]byte, 32)
	binary.LittleEndian.PutUint32(b, timeoutMS)
	copy(b[16:], guid[:])
	return wire.CreateContext{Name: wire.CtxNameDH2Q, Data: b}
}

// dh2c is a DH2C create context: the FileId to reclaim and its CreateGuid.
func dh2c(id wire.FileID, guid [16]byte) wire.CreateContext {
	b := make([]byte, 36)
	wire.PutFileID(b, id)
	copy(b[16:], guid[:])
	return wire.CreateContext{Name: wire.CtxNameDH2C, Data: b}
}

// durableOf returns the DH2Q response context's timeout, ok false without
// one.
func durableOf(cr *wire.CreateResponse) (time.Duration, bool) {
	for _, c := range cr.Contexts {
		if c.Name == wire.CtxNameDH2Q && len(c.Data) >= 8 {
			return time.Duration(binary.LittleEndian.Uint32(c.Data)) * time.Millisecond, true
		}
	}
	return 0, false
}

// createDurable opens name with a batch oplock and a durable v2 handle.
func (tc *tester) createDurable(name string, timeoutMS uint32, guid [16]byte, share uint32) *req {
	return tc.createReq(&wire.CreateRequest{RequestedOplockLevel: wire.OplockBatch, DesiredAccess: rwAccess,
		ShareAccess: share, CreateDisposition: wire.FileOpenIf, Name: name,
		Contexts: []wire.CreateContext{dh2q(timeoutMS, guid)}})
}

// reconnect opens a new connection of the same client (same ClientGuid)
// as alice and connects the share.
func (tc *tester) reconnect() *tester {
	tc.t.Helper()
	n := tc.dial()
	n.negotiate(wire.Dialect311)
	n.mustSessionSetup("alice", "pw")
	n.mustTreeConnect("share")
	return n
}

func (tc *tester) reclaimReq(name string, id wire.FileID, guid [16]byte) *req {
	return tc.createReq(&wire.CreateRequest{Name: name, Contexts: []wire.CreateContext{dh2c(id, guid)}})
}

// waitFor polls cond until it holds or a second passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestDurableReconnectAfterDrop: a durable v2 open survives the loss of
// its connection, keeps its byte-range lock and share modes while parked
// (another client is refused the range), is reclaimed only with its
// CreateGuid, and after the reconnect the data, the lock and the oplock
// are as they were.
func TestDurableReconnectAfterDrop(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	guid := [16]byte{0xD0, 1}
	cr := tc.mustBatch(tc.createDurable("d", 0, guid, wire.FileShareRead|wire.FileShareWrite), "durable open")
	if d, ok := durableOf(cr); !ok || d != defaultDurableTimeout {
		t.Fatalf("durable timeout %v %v, want the 60 s default", d, ok)
	}
	tc.write(cr.FileID, 0, []byte("kept across the reconnect"))
	if st := tc.lock(cr.FileID, wire.LockElement{Offset: 0, Length: 4, Flags: lockExclusiveNow}); st != ntstatus.Success {
		t.Fatalf("lock: %v", st)
	}
	srv := tc.srv()
	tc.close() // the TCP connection is lost, no LOGOFF
	waitFor(t, "the open to be parked", func() bool { return srv.durables.Len() == 1 })

	// Meanwhile another client's lock on the range is refused and a
	// stat open (which breaks no oplock) sees the file.
	other := tc.otherClient(9)
	if st := other.lock(cr.FileID, wire.LockElement{Offset: 0, Length: 1, Flags: lockExclusiveNow}); st != ntstatus.FileClosed {
		t.Fatalf("the parked FileId is not usable by others: %v", st)
	}
	if _, st := other.create(&wire.CreateRequest{DesiredAccess: wire.FileReadAttributes, ShareAccess: shareAll,
		CreateDisposition: wire.FileOpen, Name: "d"}); st != ntstatus.Success {
		t.Fatalf("stat open while parked: %v", st)
	}

	n := tc.reconnect()
	expectStatus(t, "reclaim with another CreateGuid", n.roundTrip(n.reclaimReq("d", cr.FileID, [16]byte{0xBA, 0xD})),
		ntstatus.ObjectNameNotFound)
	cr2 := n.parseCreate(n.roundTrip(n.reclaimReq("d", cr.FileID, guid)))
	if cr2 == nil || cr2.OplockLevel != wire.OplockBatch || cr2.CreateAction != wire.FileOpened {
		t.Fatalf("reclaim: %+v", cr2)
	}
	if _, ok := durableOf(cr2); ok {
		t.Fatal("a reconnect must not answer a durable handle context")
	}
	got, st := n.read(cr2.FileID, 0, 64)
	if st != ntstatus.Success || string(got) != "kept across the reconnect" {
		t.Fatalf("read after reconnect: %q %v", got, st)
	}
	if st := other.lock(cr2.FileID, wire.LockElement{Offset: 0, Length: 1, Flags: lockExclusiveNow}); st != ntstatus.FileClosed {
		t.Fatalf("another session used the reclaimed FileId: %v", st)
	}
	if st := n.lock(cr2.FileID, wire.LockElement{Offset: 0, Length: 4, Flags: wire.LockFlagUnlock}); st != ntstatus.Success {
		t.Fatalf("unlock of the lock taken before the drop: %v", st)
	}
	expectStatus(t, "second reclaim", n.roundTrip(n.reclaimReq("d", cr.FileID, guid)), ntstatus.ObjectNameNotFound)
	if srv.durables.Len() != 0 {
		t.Fatalf("%d opens still parked", srv.durables.Len())
	}
	if st := n.closeFile(cr2.FileID); st != ntstatus.Success {
		t.Fatalf("close: %v", st)
	}
}

// TestDurableScavenged: a parked open whose timeout ends is closed (its
// open count given back, its file free again) and cannot be reclaimed.
func TestDurableScavenged(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	guid := [16]byte{0xD0, 2}
	cr := tc.parseCreate(tc.roundTrip(tc.createDurable("s", 150, guid, 0)))
	if d, ok := durableOf(cr); !ok || d != 150*time.Millisecond {
		t.Fatalf("durable timeout %v %v, want 150 ms as asked", d, ok)
	}
	srv := tc.srv()
	tc.close()
	waitFor(t, "the open to be parked", func() bool { return srv.durables.Len() == 1 })
	if srv.opens.Load() != 1 {
		t.Fatalf("a parked open counts: %d opens", srv.opens.Load())
	}
	waitFor(t, "the scavenger", func() bool { return srv.durables.Len() == 0 && srv.opens.Load() == 0 })
	n := tc.reconnect()
	expectStatus(t, "reclaim after the timeout", n.roundTrip(n.reclaimReq("s", cr.FileID, guid)), ntstatus.ObjectNameNotFound)
	if _, st := n.create(&wire.CreateRequest{DesiredAccess: rwAccess, CreateDisposition: wire.FileOpen, Name: "s"}); st != ntstatus.Success {
		t.Fatalf("the file stays held after scavenging: %v", st)
	}
}

// TestDurableCapAndTreeDisconnect: a v2 timeout is capped; a durable open
// closed by TREE_DISCONNECT is gone (only a lost connection or a LOGOFF
// parks it); a conflicting open that needs a break from a parked open
// closes it instead of waiting.
func TestDurableCapAndTreeDisconnect(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	guid := [16]byte{0xD0, 3}
	cr := tc.parseCreate(tc.roundTrip(tc.createDurable("c", ^uint32(0), guid, 0)))
	if d, _ := durableOf(cr); d != maxDurableTimeout {
		t.Fatalf("timeout %v, want the %v cap", d, maxDurableTimeout)
	}
	srv := tc.srv()
	if st := tc.treeDisconnect(); st != ntstatus.Success {
		t.Fatal(st)
	}
	if srv.durables.Len() != 0 {
		t.Fatal("TREE_DISCONNECT parked a durable open")
	}
	tc.mustTreeConnect("share")
	cr = tc.parseCreate(tc.roundTrip(tc.createDurable("c", 0, guid, 0)))
	tc.close()
	waitFor(t, "the open to be parked", func() bool { return srv.durables.Len() == 1 })
	other := tc.otherClient(4)
	start := time.Now()
	if _, st := other.create(&wire.CreateRequest{DesiredAccess: rwAccess, CreateDisposition: wire.FileOpen, Name: "c"}); st != ntstatus.Success {
		t.Fatalf("conflicting open of a parked batch open: %v", st)
	}
	if time.Since(start) > 5*time.Second || srv.durables.Len() != 0 {
		t.Fatal("the parked open was not closed at once")
	}
}

// TestReplayCreate: a CREATE replayed with SMB2_FLAGS_REPLAY_OPERATION
// and the same CreateGuid returns the first open (FileId, action)
// without opening again; a replay asking for a lease on an oplock open
// is refused; a replay that names no open is an ordinary CREATE.
func TestReplayCreate(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	guid := [16]byte{0xEE, 1}
	cr := tc.parseCreate(tc.roundTrip(tc.createDurable("r", 0, guid, 0)))
	if cr == nil || cr.CreateAction != wire.FileCreated {
		t.Fatalf("first CREATE %+v", cr)
	}
	replay := tc.createDurable("r", 0, guid, shareAll)
	replay.hdr.Flags |= wire.FlagReplayOperation
	cr2 := tc.parseCreate(tc.roundTrip(replay))
	if cr2 == nil || cr2.FileID != cr.FileID || cr2.CreateAction != wire.FileCreated || cr2.OplockLevel != wire.OplockBatch {
		t.Fatalf("replay %+v, want the first open %v", cr2, cr.FileID)
	}
	if tc.srv().opens.Load() != 1 {
		t.Fatalf("%d opens after a replay, want 1", tc.srv().opens.Load())
	}
	withLease := tc.createLease("r", leaseKey(1), wire.LeaseRead, shareAll, dh2q(0, guid))
	withLease.hdr.Flags |= wire.FlagReplayOperation
	expectStatus(t, "replay with a lease", tc.roundTrip(withLease), ntstatus.AccessDenied)
	fresh := tc.createDurable("r2", 0, [16]byte{0xEE, 2}, 0)
	fresh.hdr.Flags |= wire.FlagReplayOperation
	if cr3 := tc.parseCreate(tc.roundTrip(fresh)); cr3 == nil || cr3.CreateAction != wire.FileCreated {
		t.Fatalf("replay of a CREATE the server never saw: %+v", cr3)
	}
}

// TestPurgeWhileParking: a conflicting CREATE that arrives while the lost
// connection's teardown is still parking a durable batch open (marked
// disconnected, not yet in Server.durables) waits for the parking, closes
// the open and succeeds with its own batch oplock; it used to retry a few
// times, find nothing to close and end its own connection
// (smb2.durable-open.oplock failed with CONNECTION_DISCONNECTED).
func TestPurgeWhileParking(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	other := tc.otherClient(7)
	tc.mustBatch(tc.createDurable("p", 0, [16]byte{0xD0, 7}, shareAll), "durable open")
	entered := make(chan struct{})
	hold := 300 * time.Millisecond
	hook := func() {
		close(entered)
		time.Sleep(hold) // the window, much longer than a CREATE's retries
	}
	parkingHook.Store(&hook)
	defer parkingHook.Store(nil)
	srv := tc.srv()
	go tc.close() // the connection is lost; its teardown parks the open
	select {
	case <-entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the open was never parked")
	}
	start := time.Now()
	got, st := other.create(&wire.CreateRequest{RequestedOplockLevel: wire.OplockBatch, DesiredAccess: rwAccess,
		ShareAccess: shareAll, CreateDisposition: wire.FileOpen, Name: "p"})
	if st != ntstatus.Success || got.OplockLevel != wire.OplockBatch {
		t.Fatalf("CREATE during the parking: %v %+v", st, got)
	}
	if waited := time.Since(start); waited < hold/2 {
		t.Fatalf("the CREATE returned after %v, before the parking ended", waited)
	}
	if n := srv.durables.Len(); n != 0 {
		t.Fatalf("%d opens still parked: the parked open was not closed", n)
	}
	if st := other.closeFile(got.FileID); st != ntstatus.Success {
		t.Fatalf("close: %v", st)
	}
}

// TestReconnectWhileParking: a durable reconnect that arrives while the
// lost connection's teardown is still parking the open waits for it and
// reclaims the open (smbtorture's durable-open.reopen2-lease-v2 reconnects
// at once and got OBJECT_NAME_NOT_FOUND now and then); a reconnect naming
// an open whose connection is alive is refused after the grace period.
func TestReconnectWhileParking(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	guid := [16]byte{0xD0, 8}
	cr := tc.mustBatch(tc.createDurable("q", 0, guid, shareAll), "durable open")

	// The old connection is alive: refused, after the grace period.
	n := tc.reconnect()
	start := time.Now()
	expectStatus(t, "reclaim of an open whose connection is alive", n.roundTrip(n.reclaimReq("q", cr.FileID, guid)),
		ntstatus.ObjectNameNotFound)
	if waited := time.Since(start); waited < reconnectGrace/2 {
		t.Fatalf("refused after %v, without waiting for the old connection", waited)
	}

	entered := make(chan struct{})
	hold := 300 * time.Millisecond
	hook := func() {
		close(entered)
		time.Sleep(hold)
	}
	parkingHook.Store(&hook)
	defer parkingHook.Store(nil)
	go tc.close()
	select {
	case <-entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the open was never parked")
	}
	cr2 := n.parseCreate(n.roundTrip(n.reclaimReq("q", cr.FileID, guid)))
	if cr2 == nil || cr2.OplockLevel != wire.OplockBatch || cr2.CreateAction != wire.FileOpened {
		t.Fatalf("reclaim during the parking: %+v", cr2)
	}
	if st := n.closeFile(cr2.FileID); st != ntstatus.Success {
		t.Fatalf("close: %v", st)
	}
}
