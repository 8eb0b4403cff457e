package server

import (
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/signetsmb/signet/internal/fscc"
	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/state"
	"github.com/signetsmb/signet/internal/wire"
)

// Tests of CREATE replay, channel sequence numbers and application
// instances [MS-SMB2 3.3.5.2.10, 3.3.5.9.10, 3.3.5.9.13].

// createNoOplock opens name with a durable v2 request and no oplock (no
// durable handle is granted, but the CreateGuid still names the open).
func (tc *tester) createNoOplock(name string, guid [16]byte) *req {
	return tc.createReq(&wire.CreateRequest{DesiredAccess: rwAccess, ShareAccess: shareAll,
		CreateDisposition: wire.FileOpenIf, Name: name, Contexts: []wire.CreateContext{dh2q(0, guid)}})
}

// withSeq sets the request's ChannelSequence (and the replay flag).
func withSeq(r *req, seq uint16, replay bool) *req {
	r.hdr.Status = uint32(seq)
	if replay {
		r.hdr.Flags |= wire.FlagReplayOperation
	}
	return r
}

// TestReplayCreateGuidRetired: the CreateGuid names its open for a replay
// only until a request uses the open's FileId; until then a CREATE with
// it but without the replay flag is STATUS_DUPLICATE_OBJECTID, afterwards
// a replay is an ordinary CREATE (a new open, which the CreateGuid then
// names), as Samba does (smb2.replay.replay6).
func TestReplayCreateGuidRetired(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	guid := [16]byte{0xAB, 6}
	first := tc.parseCreate(tc.roundTrip(tc.createNoOplock("f", guid)))
	if first == nil {
		t.Fatal("first CREATE failed")
	}
	again := tc.parseCreate(tc.roundTrip(withSeq(tc.createNoOplock("f", guid), 0, true)))
	if again == nil || again.FileID != first.FileID {
		t.Fatalf("replay before any use: %+v, want %v", again, first.FileID)
	}
	expectStatus(t, "same CreateGuid without the replay flag", tc.roundTrip(tc.createNoOplock("f", guid)),
		ntstatus.DuplicateObjectID)
	if _, st := tc.queryInfo(first.FileID, wire.InfoFile, uint8(fscc.FilePositionInformation), 8, 0); st != ntstatus.Success {
		t.Fatalf("QUERY_INFO: %v", st)
	}
	second := tc.parseCreate(tc.roundTrip(withSeq(tc.createNoOplock("f", guid), 0, true)))
	if second == nil || second.FileID == first.FileID || second.CreateAction != wire.FileOpened {
		t.Fatalf("replay after the FileId was used: %+v, want a new open of the existing file", second)
	}
	expectStatus(t, "same CreateGuid again without the flag", tc.roundTrip(tc.createNoOplock("f", guid)),
		ntstatus.DuplicateObjectID)
	third := tc.parseCreate(tc.roundTrip(withSeq(tc.createNoOplock("f", guid), 0, true)))
	if third == nil || third.FileID != second.FileID {
		t.Fatalf("replay names the second open: %+v, want %v", third, second.FileID)
	}
	if n := tc.srv().opens.Load(); n != 2 {
		t.Fatalf("%d opens, want 2", n)
	}
}

// TestChannelSequence: Open.ChannelSequence moves forward with any
// request naming the open (a READ too); a WRITE, SET_INFO or IOCTL with an
// older sequence fails with STATUS_FILE_NOT_AVAILABLE, replayed or not,
// while other commands proceed; a replay with the current sequence is
// refused while a request of an earlier sequence is still outstanding
// (OutstandingPreRequestCount) and accepted once it ended
// (smb2.replay.replay4).
func TestChannelSequence(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	id := tc.mustCreate("f")
	data := []byte("0123456789")
	expectStatus(t, "WRITE at sequence 0", tc.roundTrip(withSeq(tc.writeReq(id, 0, data), 0, false)), ntstatus.Success)
	expectStatus(t, "READ at sequence 1", tc.roundTrip(withSeq(tc.readReq(id, 0, 10), 1, false)), ntstatus.Success)
	expectStatus(t, "WRITE at sequence 0 after 1", tc.roundTrip(withSeq(tc.writeReq(id, 0, data), 0, false)),
		ntstatus.FileNotAvailable)
	expectStatus(t, "replayed WRITE at sequence 0", tc.roundTrip(withSeq(tc.writeReq(id, 0, data), 0, true)),
		ntstatus.FileNotAvailable)
	pos := make([]byte, 8)
	expectStatus(t, "SET_INFO at sequence 0",
		tc.roundTrip(withSeq(tc.setInfoReq(id, wire.InfoFile, uint8(fscc.FilePositionInformation), pos, 0), 0, false)),
		ntstatus.FileNotAvailable)
	expectStatus(t, "READ at sequence 0", tc.roundTrip(withSeq(tc.readReq(id, 0, 10), 0, false)), ntstatus.Success)
	expectStatus(t, "replayed WRITE at sequence 1", tc.roundTrip(withSeq(tc.writeReq(id, 0, data), 1, true)),
		ntstatus.Success)
	for _, c := range []struct {
		seq  uint16
		want ntstatus.Status
	}{
		{0x8000, ntstatus.Success},          // 0x7FFF ahead of 1
		{0x0001, ntstatus.FileNotAvailable}, // 0x8001 ahead, that is behind
		{0xFFFF, ntstatus.Success},
		{0x0000, ntstatus.Success}, // wraps
		{0xFFFF, ntstatus.FileNotAvailable},
	} {
		expectStatus(t, fmt.Sprintf("WRITE at sequence %#x", c.seq), tc.roundTrip(withSeq(tc.writeReq(id, 0, data), c.seq, false)), c.want)
	}

	// A CHANGE_NOTIFY counted under sequence 1 stays outstanding while the
	// directory's sequence moves to 2.
	dr, st := tc.create(&wire.CreateRequest{DesiredAccess: rwAccess, ShareAccess: shareAll, CreateDisposition: wire.FileCreate,
		CreateOptions: wire.FileDirectoryFile, Name: "d"})
	if st != ntstatus.Success {
		t.Fatalf("mkdir: %v", st)
	}
	dir := dr.FileID
	n := withSeq(tc.changeNotifyReq(dir, filterFileName, false, 1024), 1, false)
	tc.send(n)
	if r := tc.waitInterim(n); !r.isInterim() {
		t.Fatalf("CHANGE_NOTIFY did not go async: %v", r)
	}
	basic := make([]byte, 40) // FileBasicInformation changing nothing
	setBasic := func(seq uint16, replay bool) *resp {
		return tc.roundTrip(withSeq(tc.setInfoReq(dir, wire.InfoFile, uint8(fscc.FileBasicInformation), basic, 0), seq, replay))
	}
	expectStatus(t, "SET_INFO at sequence 2", setBasic(2, false), ntstatus.Success)
	expectStatus(t, "replayed SET_INFO at 2 with a sequence-1 request outstanding", setBasic(2, true),
		ntstatus.FileNotAvailable)
	tc.cancel(n)
	expectStatus(t, "cancelled CHANGE_NOTIFY", tc.wait(n), ntstatus.Cancelled)
	expectStatus(t, "replayed SET_INFO at 2 once it ended", setBasic(2, true), ntstatus.Success)
}

// TestReplayOfPendingCreate: while a durable v2 CREATE waits for a break,
// a CREATE with its CreateGuid (replayed or not) gets
// STATUS_FILE_NOT_AVAILABLE; once it completed, a replay returns its open.
func TestReplayOfPendingCreate(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	holder := tc.secondClient(wire.Dialect311)
	held := holder.mustBatch(holder.createOplock("p", wire.OplockBatch), "holder's open")
	guid := [16]byte{0xAB, 1}
	orig := withSeq(tc.createNoOplock("p", guid), 0, false)
	tc.send(orig)
	if r := tc.waitInterim(orig); !r.isInterim() {
		t.Fatalf("CREATE did not wait for the break: %v", r)
	}
	if level, _ := holder.recvBreak(); level != wire.OplockLevelII {
		t.Fatalf("break to %d", level)
	}
	expectStatus(t, "replay of the pending CREATE", tc.roundTrip(withSeq(tc.createNoOplock("p", guid), 0, true)),
		ntstatus.FileNotAvailable)
	expectStatus(t, "its CreateGuid without the flag", tc.roundTrip(tc.createNoOplock("p", guid)),
		ntstatus.FileNotAvailable)
	expectStatus(t, "acknowledgment", holder.roundTrip(holder.oplockAckReq(held.FileID, wire.OplockLevelII)), ntstatus.Success)
	done := tc.parseCreate(tc.wait(orig))
	if done == nil {
		t.Fatal("the pending CREATE failed")
	}
	replay := tc.parseCreate(tc.roundTrip(withSeq(tc.createNoOplock("p", guid), 0, true)))
	if replay == nil || replay.FileID != done.FileID {
		t.Fatalf("replay after completion: %+v, want %v", replay, done.FileID)
	}
}

// TestPendingCreateOutlivesChannel: a durable v2 CREATE waiting for a
// break keeps waiting when its connection is lost while another channel of
// its session lives; a replay there gets STATUS_FILE_NOT_AVAILABLE until
// the break is resolved, then the open the first CREATE made
// (smb2.replay.dhv2-pending2*). With no other channel the wait ends with
// the connection.
func TestPendingCreateOutlivesChannel(t *testing.T) {
	ts := startTestServer(t, multichannelConfig())
	a := newChannel(ts, wire.Dialect311)
	a.mustSessionSetup("alice", "pw")
	a.mustTreeConnect("share")
	b := newChannel(ts, wire.Dialect311)
	if st := b.bind(a, "alice", "pw"); st != ntstatus.Success {
		t.Fatalf("bind: %v", st)
	}
	holderGUID := [16]byte{'h', 'o', 'l', 'd'}
	holder := ts.dial()
	holder.clientGUID = &holderGUID
	holder.negotiate(wire.Dialect311)
	holder.mustSessionSetup("alice", "pw")
	holder.mustTreeConnect("share")
	held := holder.parseCreate(holder.roundTrip(holder.createOplock("p", wire.OplockBatch)))
	if held == nil {
		t.Fatal("holder's open failed")
	}
	guid := [16]byte{0xAB, 2}
	orig := a.createNoOplock("p", guid)
	a.send(orig)
	if r := a.waitInterim(orig); !r.isInterim() {
		t.Fatalf("CREATE did not wait for the break: %v", r)
	}
	holder.recvBreak()
	a.close()
	eventually(t, "channel A's loss noticed", func() bool { return lostConns(ts.srv) == 1 })
	time.Sleep(100 * time.Millisecond) // an ended wait would have opened the file by now
	if n := liveOpens(ts.srv); n != 1 {
		t.Fatalf("%d opens once channel A was lost, want the holder's only", n)
	}
	expectStatus(t, "replay on B while the CREATE waits", b.roundTrip(withSeq(b.createNoOplock("p", guid), 1, true)),
		ntstatus.FileNotAvailable)
	if st := holder.closeFile(held.FileID); st != ntstatus.Success {
		t.Fatalf("holder's close: %v", st)
	}
	var got *wire.CreateResponse
	eventually(t, "the first CREATE's open", func() bool {
		resp := b.roundTrip(withSeq(b.createNoOplock("p", guid), 1, true))
		got = b.parseCreate(resp)
		return resp.status != ntstatus.FileNotAvailable
	})
	if got == nil || got.CreateAction != wire.FileOpened {
		t.Fatalf("replay after the break: %+v", got)
	}
	if n := liveOpens(ts.srv); n != 1 {
		t.Fatalf("%d opens, want the first CREATE's only", n)
	}
	if st := b.closeFile(got.FileID); st != ntstatus.Success {
		t.Fatalf("close on B: %v", st)
	}

	// Alone on its session, the CREATE ends with its connection.
	held = holder.parseCreate(holder.roundTrip(holder.createOplock("q", wire.OplockBatch)))
	solo := ts.dial()
	solo.negotiate(wire.Dialect311)
	solo.mustSessionSetup("alice", "pw")
	solo.mustTreeConnect("share")
	pend := solo.createNoOplock("q", [16]byte{0xAB, 3})
	solo.send(pend)
	solo.waitInterim(pend)
	holder.recvBreak()
	solo.close()
	eventually(t, "the lone CREATE's wait ends", func() bool {
		return !ts.srv.replays.pending(testClientGUID, [16]byte{0xAB, 3})
	})
}

// lostConns counts the server's connections that ended and are not torn
// down yet.
func lostConns(s *Server) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for c := range s.conns {
		if c.ctx.Err() != nil {
			n++
		}
	}
	return n
}

// liveOpens counts the opens in the server's open table.
func liveOpens(s *Server) int {
	n := 0
	s.files.Range(func(state.FileID, *open) bool { n++; return true })
	return n
}

// appInstanceCtx is SMB2_CREATE_APP_INSTANCE_ID.
func appInstanceCtx(id [16]byte) wire.CreateContext {
	b := make([]byte, 20)
	binary.LittleEndian.PutUint16(b, 20)
	copy(b[4:], id[:])
	return wire.CreateContext{Name: wire.CtxNameAppInstID, Data: b}
}

// appVersionCtx is SMB2_CREATE_APP_INSTANCE_VERSION.
func appVersionCtx(high, low uint64) wire.CreateContext {
	b := make([]byte, 24)
	binary.LittleEndian.PutUint16(b, 24)
	binary.LittleEndian.PutUint64(b[8:], high)
	binary.LittleEndian.PutUint64(b[16:], low)
	return wire.CreateContext{Name: wire.CtxNameAppInstVer, Data: b}
}

// clientWithGUID connects a client with its own ClientGuid as alice (or
// as the given user, password).
func clientWithGUID(ts *testServer, g byte, user ...string) *tester {
	tc := ts.dial()
	tc.clientGUID = &[16]byte{'a', 'p', 'p', g}
	tc.negotiate(wire.Dialect311)
	if len(user) == 2 {
		tc.mustSessionSetup(user[0], user[1])
	} else {
		tc.mustSessionSetup("alice", "pw")
	}
	tc.mustTreeConnect("share")
	return tc
}

// TestAppInstance: a CREATE from another client with the same
// AppInstanceId closes the old instance's open of the file, live (its
// FileId is gone, no break is sent) or parked for a durable reconnect;
// the same client, another user or another AppInstanceId close nothing;
// with versions, an instance not newer than the open's is refused with
// STATUS_FILE_FORCED_CLOSED [MS-SMB2 3.3.5.9.13]
// (smb2.durable-v2-open.app-instance).
func TestAppInstance(t *testing.T) {
	ts := startTestServer(t, multichannelConfig())
	app := [16]byte{0xA9, 1}
	open := func(tc *tester, name string, guid byte, extra ...wire.CreateContext) (*wire.CreateResponse, ntstatus.Status) {
		return tc.create(&wire.CreateRequest{RequestedOplockLevel: wire.OplockBatch, DesiredAccess: rwAccess,
			CreateDisposition: wire.FileOpenIf, Name: name,
			Contexts: append([]wire.CreateContext{dh2q(0, [16]byte{guid}), appInstanceCtx(app)}, extra...)})
	}
	c1 := clientWithGUID(ts, 1)
	first, st := open(c1, "a", 1, appVersionCtx(0, 0))
	if st != ntstatus.Success || first.OplockLevel != wire.OplockBatch {
		t.Fatalf("first instance: %v %+v", st, first)
	}
	same := c1.createReq(&wire.CreateRequest{RequestedOplockLevel: wire.OplockBatch, DesiredAccess: rwAccess,
		CreateDisposition: wire.FileOpenIf, Name: "a", Contexts: []wire.CreateContext{dh2q(0, [16]byte{2}), appInstanceCtx(app)}})
	c1.send(same)
	c1.waitInterim(same)
	if level, _ := c1.recvBreak(); level != wire.OplockLevelII {
		t.Fatalf("break to %d", level)
	}
	expectStatus(t, "acknowledgment", c1.roundTrip(c1.oplockAckReq(first.FileID, wire.OplockLevelII)), ntstatus.Success)
	expectStatus(t, "same client, same AppInstanceId", c1.wait(same), ntstatus.SharingViolation)
	c2 := clientWithGUID(ts, 2)
	if _, st := c2.create(&wire.CreateRequest{DesiredAccess: rwAccess, CreateDisposition: wire.FileOpenIf, Name: "a",
		Contexts: []wire.CreateContext{appInstanceCtx([16]byte{0xA9, 2})}}); st != ntstatus.SharingViolation {
		t.Fatalf("another AppInstanceId: %v, want a sharing violation", st)
	}
	bob := clientWithGUID(ts, 9, "bob", "pw2")
	if _, st := open(bob, "a", 9); st != ntstatus.SharingViolation {
		t.Fatalf("another user, same AppInstanceId: %v, want a sharing violation", st)
	}
	second, st := open(c2, "a", 3, appVersionCtx(2, 5))
	if st != ntstatus.Success || second.CreateAction != wire.FileOpened || second.OplockLevel != wire.OplockBatch {
		t.Fatalf("second instance: %v %+v", st, second)
	}
	c1.expectNoFrame(50 * time.Millisecond)
	if st := c1.closeFile(first.FileID); st != ntstatus.FileClosed {
		t.Fatalf("the first instance's close: %v, want STATUS_FILE_CLOSED", st)
	}

	c3 := clientWithGUID(ts, 3)
	for _, v := range [][2]uint64{{2, 5}, {2, 4}, {1, 9}} {
		if _, st := open(c3, "a", 4, appVersionCtx(v[0], v[1])); st != ntstatus.FileForcedClosed {
			t.Fatalf("instance version %v against 2.5: %v, want STATUS_FILE_FORCED_CLOSED", v, st)
		}
	}

	// The second instance's connection is lost: its open waits for a
	// reconnect, and a newer instance closes it there.
	c2.close()
	eventually(t, "the open parked", func() bool { return ts.srv.durables.Len() == 1 })
	if _, st := open(c3, "a", 5, appVersionCtx(2, 6)); st != ntstatus.Success {
		t.Fatalf("newer instance: %v", st)
	}
	if ts.srv.durables.Len() != 0 {
		t.Fatal("the parked open of the old instance is still waiting")
	}
}

// TestGrantAfterHolderCloses: a CREATE waiting for a batch oplock's break
// gets the full level it asked for when the holder closes instead of
// acknowledging: the closing open no longer limits grants even before it
// leaves its file (smb2.replay.dhv2-pending1o-vs-oplock-sane, -lease-sane).
func TestGrantAfterHolderCloses(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	holder := tc.secondClient(wire.Dialect311)
	for i := range 20 {
		name := fmt.Sprintf("g%d", i)
		held := holder.mustBatch(holder.createOplock(name, wire.OplockBatch), "holder's open")
		var w *req
		if i%2 == 0 {
			w = tc.createDurable(name, 0, [16]byte{0xAB, byte(i)}, shareAll)
		} else {
			w = tc.createLease(name, leaseKey(byte(i)), (wire.LeaseRead | wire.LeaseWrite | wire.LeaseHandle), shareAll)
		}
		tc.send(w)
		tc.waitInterim(w)
		holder.recvBreak()
		if st := holder.closeFile(held.FileID); st != ntstatus.Success {
			t.Fatalf("holder's close: %v", st)
		}
		cr := tc.parseCreate(tc.wait(w))
		switch {
		case cr == nil:
			t.Fatal("the waiting CREATE failed")
		case i%2 == 0 && cr.OplockLevel != wire.OplockBatch:
			t.Fatalf("round %d: oplock level %d once the holder closed, want batch", i, cr.OplockLevel)
		case i%2 == 1:
			if l := leaseOf(t, cr); l == nil || l.State != (wire.LeaseRead|wire.LeaseWrite|wire.LeaseHandle) {
				t.Fatalf("round %d: lease %+v once the holder closed, want RWH", i, l)
			}
		}
		tc.closeFile(cr.FileID)
	}
}
