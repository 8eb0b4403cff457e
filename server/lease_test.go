package server

import (
	"testing"
	"time"

	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
)

// Tests of leases [MS-SMB2 3.3.5.9.11, 3.3.4.7, 3.3.5.22.2] through the
// tester.

// leaseKey is a recognisable 16-byte lease key.
func leaseKey(b byte) [16]byte {
	var k [16]byte
	for i := range k {
		k[i] = b + byte(i)
	}
	return k
}

// createLease opens name asking for a v2 lease (key, state, epoch) and,
// when dh2q is set, a durable v2 handle with that CreateGuid.
func (tc *tester) createLease(name string, key [16]byte, state uint32, share uint32, extra ...wire.CreateContext) *req {
	lc := &wire.LeaseContext{V2: true, Key: key, State: state, Epoch: 7}
	return tc.createReq(&wire.CreateRequest{RequestedOplockLevel: wire.OplockLease, DesiredAccess: rwAccess,
		ShareAccess: share, CreateDisposition: wire.FileOpenIf, Name: name,
		Contexts: append([]wire.CreateContext{{Name: wire.CtxNameRqLs, Data: lc.Marshal()}}, extra...)})
}

// leaseOf returns the lease response context of a CREATE response.
func leaseOf(t *testing.T, cr *wire.CreateResponse) *wire.LeaseContext {
	t.Helper()
	if cr == nil {
		t.Fatal("CREATE failed")
	}
	for _, c := range cr.Contexts {
		if c.Name == wire.CtxNameRqLs {
			lc, err := wire.ParseLeaseContext(c.Data)
			if err != nil {
				t.Fatal(err)
			}
			return lc
		}
	}
	t.Fatalf("no lease in the CREATE response (oplock level %#x)", cr.OplockLevel)
	return nil
}

// recvLeaseBreak returns the next lease break notification.
func (tc *tester) recvLeaseBreak() *wire.LeaseBreak {
	tc.t.Helper()
	for {
		for k, r := range tc.queue {
			if r.isBreak() {
				tc.queue = append(tc.queue[:k:k], tc.queue[k+1:]...)
				lb, err := wire.ParseLeaseBreak(r.msg)
				if err != nil {
					tc.t.Fatalf("tester: lease break %x: %v", r.body, err)
				}
				return lb
			}
		}
		tc.receive(tc.recvFrame())
	}
}

func (tc *tester) leaseAckReq(key [16]byte, state uint32) *req {
	r := tc.newReq(wire.CmdOplockBreak)
	r.msg = wire.AppendLeaseAck(r.msg, &wire.LeaseAck{Key: key, State: state})
	return r
}

// otherClient connects a client with another ClientGuid (leases belong
// to a ClientGuid and a key).
func (tc *tester) otherClient(guid byte) *tester {
	tc.t.Helper()
	other := tc.dial()
	g := [16]byte{guid, 0xC1}
	other.clientGUID = &g
	other.negotiate(wire.Dialect311)
	other.mustSessionSetup("alice", "pw")
	other.mustTreeConnect("share")
	return other
}

// TestLeaseGrantBreakAck: an RWH lease is granted alone (v2 epoch one
// more than asked); another client's open breaks it to RH and waits
// (asynchronously) for the acknowledgment, which must not ask for more
// than the break allows; the new open gets RH itself; its write then
// breaks the first lease to none.
func TestLeaseGrantBreakAck(t *testing.T) {
	holder := newSessionTester(t, nil, wire.Dialect311)
	k1, k2 := leaseKey(0x10), leaseKey(0x40)
	cr := holder.parseCreate(holder.roundTrip(holder.createLease("f", k1, leaseRWH, shareAll)))
	if cr.OplockLevel != wire.OplockLease {
		t.Fatalf("oplock level %#x, want lease", cr.OplockLevel)
	}
	if l := leaseOf(t, cr); l.State != leaseRWH || l.Key != k1 || l.Epoch != 8 || !l.V2 {
		t.Fatalf("granted %+v, want RWH, epoch 8", l)
	}
	expectStatus(t, "acknowledging without a break", holder.roundTrip(holder.leaseAckReq(k1, wire.LeaseRead)),
		ntstatus.Unsuccessful)

	other := holder.otherClient(2)
	second := other.createLease("f", k2, leaseRWH, shareAll)
	other.send(second)
	lb := holder.recvLeaseBreak()
	if lb.Key != k1 || lb.CurrentState != leaseRWH || lb.NewState != wire.LeaseRead|wire.LeaseHandle ||
		lb.Flags&wire.LeaseBreakAckRequired == 0 || lb.NewEpoch != 9 {
		t.Fatalf("break %+v, want RWH to RH with ack required, epoch 9", lb)
	}
	if r := other.waitInterim(second); !r.isInterim() {
		t.Fatalf("second open completed before the acknowledgment: %v", r)
	}
	expectStatus(t, "acknowledging more than the break allows", holder.roundTrip(holder.leaseAckReq(k1, leaseRWH)),
		ntstatus.RequestNotAccepted)
	other.expectNoFrame(20 * time.Millisecond)
	ack := holder.roundTrip(holder.leaseAckReq(k1, wire.LeaseRead|wire.LeaseHandle))
	expectStatus(t, "acknowledgment", ack, ntstatus.Success)
	if a, err := wire.ParseLeaseAck(ack.msg); err != nil || a.State != wire.LeaseRead|wire.LeaseHandle || a.Key != k1 {
		t.Fatalf("acknowledgment response %+v %v", a, err)
	}
	cr2 := other.parseCreate(other.wait(second))
	if l := leaseOf(t, cr2); l.State != wire.LeaseRead|wire.LeaseHandle {
		t.Fatalf("second lease %+v, want RH (W is not shared)", l)
	}
	other.write(cr2.FileID, 0, []byte("w"))
	if lb := holder.recvLeaseBreak(); lb.CurrentState != wire.LeaseRead|wire.LeaseHandle || lb.NewState != 0 {
		t.Fatalf("break on write %+v, want RH to none", lb)
	}
	expectStatus(t, "acknowledging the break to none", holder.roundTrip(holder.leaseAckReq(k1, 0)), ntstatus.Success)
	expectStatus(t, "acknowledging an unknown lease", holder.roundTrip(holder.leaseAckReq(leaseKey(0x99), 0)),
		ntstatus.ObjectNameNotFound)
}

// TestLeaseSharedKey: opens with one lease key share the lease (no break
// among them, an upgrade applies to all), the key cannot name a second
// file, and a stat open breaks nothing.
func TestLeaseSharedKey(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	k := leaseKey(0x20)
	cr1 := tc.parseCreate(tc.roundTrip(tc.createLease("a", k, wire.LeaseRead, shareAll)))
	if l := leaseOf(t, cr1); l.State != wire.LeaseRead {
		t.Fatalf("first %+v", l)
	}
	cr2 := tc.parseCreate(tc.roundTrip(tc.createLease("a", k, leaseRWH, shareAll)))
	if l := leaseOf(t, cr2); l.State != leaseRWH || l.Epoch != 9 {
		t.Fatalf("upgrade %+v, want RWH epoch 9", l)
	}
	tc.expectNoFrame(20 * time.Millisecond) // no break to ourselves
	expectStatus(t, "same key on another file", tc.roundTrip(tc.createLease("b", k, wire.LeaseRead, shareAll)),
		ntstatus.InvalidParameter)
	stat, st := tc.create(&wire.CreateRequest{DesiredAccess: wire.FileReadAttributes, ShareAccess: shareAll,
		CreateDisposition: wire.FileOpen, Name: "a"})
	if st != ntstatus.Success || stat == nil {
		t.Fatalf("stat open: %v", st)
	}
	tc.expectNoFrame(20 * time.Millisecond)
	tc.closeFile(cr1.FileID)
	tc.closeFile(cr2.FileID)
	tc.closeFile(stat.FileID)
	srv := tc.srv()
	srv.nodes.mu.Lock()
	n := len(srv.nodes.leases)
	srv.nodes.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d leases left after the last close", n)
	}
}

// TestLeaseBreakTimeout: an unacknowledged break lets the waiting open
// proceed after the timeout, and the lease is lost (state none).
func TestLeaseBreakTimeout(t *testing.T) {
	defer func(d time.Duration) { oplockBreakTimeout = d }(oplockBreakTimeout)
	oplockBreakTimeout = 100 * time.Millisecond
	holder := newSessionTester(t, nil, wire.Dialect311)
	k1 := leaseKey(0x30)
	holder.roundTrip(holder.createLease("t", k1, leaseRWH, shareAll))
	other := holder.otherClient(3)
	start := time.Now()
	cr, st := other.create(&wire.CreateRequest{DesiredAccess: rwAccess, ShareAccess: shareAll,
		CreateDisposition: wire.FileOpen, Name: "t"})
	if st != ntstatus.Success || cr == nil {
		t.Fatalf("open after the timeout: %v", st)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Fatalf("open went through after %v, before the break timed out", d)
	}
	holder.recvLeaseBreak()
	expectStatus(t, "late acknowledgment", holder.roundTrip(holder.leaseAckReq(k1, wire.LeaseRead)), ntstatus.Unsuccessful)
	again := holder.parseCreate(holder.roundTrip(holder.createLease("t", k1, 0, shareAll)))
	if l := leaseOf(t, again); l.State != 0 {
		t.Fatalf("lease after the timeout %+v, want none", l)
	}
}
