package server

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/signetsmb/signet/cluster"
	"github.com/signetsmb/signet/cluster/etcdtest"
	"github.com/signetsmb/signet/internal/fscc"
	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
	"github.com/signetsmb/signet/vfs/localfs"
)

// deafNode is a cluster node whose server never hears break requests, as
// a node that hangs.
type deafNode struct{ *cluster.Node }

func (deafNode) ServeBreaks(func(context.Context, string, []byte)) {}

// clusterPair starts one etcd member and two Signet nodes over one
// directory; deafA makes node A's server deaf to break requests. It
// returns the testers and A's cluster node.
func clusterPair(t *testing.T, deafA bool) (a, b *tester, closeA func(), nodeB *cluster.Node) {
	t.Helper()
	ec := etcdtest.Start(t, 1)
	dir := t.TempDir()
	var tcs []*tester
	var nodes []*cluster.Node
	var closers []func()
	for i := range 2 {
		node := joinTestNode(t, ec.Endpoints(), string(rune('a'+i)))
		closeNode := sync.OnceFunc(func() { node.Close() })
		t.Cleanup(closeNode)
		closers = append(closers, closeNode)
		var c Cluster = node
		if i == 0 && deafA {
			c = deafNode{node}
		}
		fsys, err := localfs.New(dir)
		if err != nil {
			t.Fatal(err)
		}
		tc := newTester(t, &testerConfig{FS: fsys, Options: func(o *Options) { o.Cluster = c }})
		tc.negotiate(wire.Dialect311)
		tc.mustSessionSetup("alice", "pw")
		tc.mustTreeConnect("share")
		tcs = append(tcs, tc)
		nodes = append(nodes, node)
	}
	return tcs[0], tcs[1], closers[0], nodes[1]
}

// writeOpen is a CREATE for reading and writing, sharing everything,
// without caching.
func (tc *tester) writeOpen(name string) *req {
	return tc.createReq(&wire.CreateRequest{DesiredAccess: rwAccess, ShareAccess: shareAll,
		CreateDisposition: wire.FileOpenIf, CreateOptions: wire.FileNonDirectoryFile, Name: name})
}

// TestClusterLeaseBreak is the lease part of issue 15's must-show 1 in
// the server: a client of node A holds an RWH lease and has written; a
// client of node B opens the file for writing: A's client gets a break to
// RH (through node A), B's open completes only after A's client
// acknowledged it (going asynchronous meanwhile), and B reads what A
// wrote. B's write then breaks A's
// read caching, without B waiting. A second lease on B gets no W while
// A's open exists (the check-and-set of W across nodes).
func TestClusterLeaseBreak(t *testing.T) {
	a, b, _, nodeB := clusterPair(t, false)
	k := [16]byte{0xA1}
	cr := a.parseCreate(a.roundTrip(a.createLease("f", k, leaseRWH, shareAll)))
	if l := leaseOf(t, cr); l.State != leaseRWH {
		t.Fatalf("A: lease %#x, want RWH (alone in the cluster)", l.State)
	}
	fa := cr.FileID
	if _, st := a.write(fa, 0, []byte("cached on A")); st != ntstatus.Success {
		t.Fatal(st)
	}

	// Once B's copy of the caching table shows A's lease, B's CREATE goes
	// asynchronous while it waits, as for a break on its own node.
	file := "share/" + fileIDHex(t, a, fa)
	eventually(t, "B sees A's write caching", func() bool {
		return nodeB.Others(clusterCachingTable, file, func(v []byte) bool {
			return len(v) > 0 && uint32(v[0])&wire.LeaseWrite != 0
		})
	})
	open := b.writeOpen("f")
	b.send(open)
	if r := b.waitInterim(open); !r.isInterim() {
		t.Fatalf("B: CREATE waiting for node A did not go asynchronous: %v", r)
	}
	lb := a.recvLeaseBreak()
	if lb.Key != k || lb.CurrentState != leaseRWH || lb.NewState != wire.LeaseRead|wire.LeaseHandle ||
		lb.Flags&wire.LeaseBreakAckRequired == 0 {
		t.Fatalf("A: break %+v, want RWH -> RH with acknowledgment", lb)
	}
	// B's open waits for the acknowledgment.
	b.expectNoFrame(300 * time.Millisecond)
	if r := a.roundTrip(a.leaseAckReq(k, wire.LeaseRead|wire.LeaseHandle)); r.hdr.Status != uint32(ntstatus.Success) {
		t.Fatalf("A: ack: %v", ntstatus.Status(r.hdr.Status))
	}
	crb := b.parseCreate(b.wait(open))
	if crb == nil {
		t.Fatal("B: open after the break failed")
	}
	fb := crb.FileID
	if data, st := b.read(fb, 0, 64); st != ntstatus.Success || string(data) != "cached on A" {
		t.Fatalf("B: read %q %v", data, st)
	}

	// B's write breaks A's RH to none once B's copy of the caching table
	// shows A's R.
	eventually(t, "B sees A's read caching", func() bool {
		return nodeB.Others(clusterCachingTable, file, func(v []byte) bool {
			return len(v) > 0 && uint32(v[0])&wire.LeaseRead != 0
		})
	})
	if _, st := b.write(fb, 0, []byte("B")); st != ntstatus.Success {
		t.Fatal(st)
	}
	lb = a.recvLeaseBreak()
	if lb.CurrentState != wire.LeaseRead|wire.LeaseHandle || lb.NewState != 0 {
		t.Fatalf("A: break after B's write %+v, want RH -> none", lb)
	}
	a.roundTrip(a.leaseAckReq(k, 0))

	// W is not granted on B while A has an open of the file.
	cr2 := b.parseCreate(b.roundTrip(b.createLease("f", [16]byte{0xB1}, leaseRWH, shareAll)))
	if l := leaseOf(t, cr2); l.State != wire.LeaseRead|wire.LeaseHandle {
		t.Fatalf("B: lease %#x with A's open on the file, want RH", l.State)
	}
	// A batch oplock likewise becomes level II.
	a.mustCreate("h")
	cr3 := b.parseCreate(b.roundTrip(b.createOplock("h", wire.OplockBatch)))
	if cr3 == nil || cr3.OplockLevel != wire.OplockLevelII {
		t.Fatalf("B: batch oplock with A's open: %+v", cr3)
	}
	// Alone on a file, a batch oplock is granted on a cluster node.
	cr4 := a.mustBatch(a.createOplock("g", wire.OplockBatch), "A: batch oplock alone")
	// ... and broken to level II by an open on B, which waits for it.
	open = b.writeOpen("g")
	b.send(open)
	if lvl, id := a.recvBreak(); lvl != wire.OplockLevelII || id != cr4.FileID {
		t.Fatalf("A: oplock break to %d", lvl)
	}
	b.expectOnlyInterim(200 * time.Millisecond)
	a.roundTrip(a.oplockAckReq(cr4.FileID, wire.OplockLevelII))
	expectStatus(t, "B: open after the oplock break", b.wait(open), ntstatus.Success)
}

// expectOnlyInterim fails if a response other than an interim one
// arrives within d (a CREATE waiting for a break may go asynchronous or
// not, depending on whether the node's copy of the caching table already
// shows the other node's caching).
func (tc *tester) expectOnlyInterim(d time.Duration) {
	tc.t.Helper()
	deadline := time.Now().Add(d)
	for {
		for _, r := range tc.queue {
			if !r.isInterim() {
				tc.t.Fatalf("tester: unexpected response %v", r)
			}
		}
		left := time.Until(deadline)
		if left <= 0 {
			return
		}
		f, err := tc.tryRecvFrame(left)
		if err == errTimeout {
			return
		}
		if err != nil {
			tc.t.Fatalf("tester: connection ended: %v", err)
		}
		tc.receive(f)
	}
}

// TestClusterLeaseHandleBreak: handle caching across nodes. An open on
// B that conflicts with the share modes of A's open that holds an RWH
// lease makes A's client get a break of H (to RW), as on a single server;
// once A's client closed its handle, B's open succeeds. A delete
// disposition set on B breaks H on A and waits for the acknowledgment.
func TestClusterLeaseHandleBreak(t *testing.T) {
	a, b, _, _ := clusterPair(t, false)
	k := [16]byte{0xA4}
	cr := a.parseCreate(a.roundTrip(a.createLease("h", k, leaseRWH, wire.FileShareRead|wire.FileShareWrite)))
	if l := leaseOf(t, cr); l.State != leaseRWH {
		t.Fatalf("A: lease %#x", l.State)
	}
	del := b.createReq(&wire.CreateRequest{DesiredAccess: wire.Delete | wire.FileReadAttributes, ShareAccess: shareAll,
		CreateDisposition: wire.FileOpen, Name: "h"})
	b.send(del)
	lb := a.recvLeaseBreak()
	if lb.NewState != wire.LeaseRead|wire.LeaseWrite {
		t.Fatalf("A: break %+v, want RWH -> RW (H for a sharing violation)", lb)
	}
	b.expectOnlyInterim(200 * time.Millisecond)
	a.closeFile(cr.FileID) // the client gives its cached handle up
	crd := b.parseCreate(b.wait(del))
	if crd == nil {
		t.Fatal("B: DELETE open after A closed its handle failed")
	}
	b.closeFile(crd.FileID)

	k2 := [16]byte{0xA5}
	cr = a.parseCreate(a.roundTrip(a.createLease("k", k2, wire.LeaseRead|wire.LeaseHandle, shareAll)))
	if l := leaseOf(t, cr); l.State != wire.LeaseRead|wire.LeaseHandle {
		t.Fatalf("A: lease %#x", l.State)
	}
	crd, st := b.create(&wire.CreateRequest{DesiredAccess: wire.Delete | wire.FileReadAttributes, ShareAccess: shareAll,
		CreateDisposition: wire.FileOpen, Name: "k"})
	if st != ntstatus.Success {
		t.Fatalf("B: DELETE open beside A's RH lease: %v", st)
	}
	set := b.setInfoReq(crd.FileID, wire.InfoFile, uint8(fscc.FileDispositionInformation), []byte{1}, 0)
	b.send(set)
	if lb := a.recvLeaseBreak(); lb.Key != k2 || lb.NewState != wire.LeaseRead {
		t.Fatalf("A: break %+v, want RH -> R before the delete", lb)
	}
	b.expectOnlyInterim(200 * time.Millisecond)
	a.roundTrip(a.leaseAckReq(k2, wire.LeaseRead))
	expectStatus(t, "B: delete disposition after A's acknowledgment", b.wait(set), ntstatus.Success)
}

// openShareAcking is openShare for an open that breaks holder's batch
// oplock on another node (to level II, as a sharing violation breaks
// it): holder acknowledges the break, and the open's status is returned.
func (tc *tester) openShareAcking(holder *tester, name string, access, share uint32) ntstatus.Status {
	tc.t.Helper()
	req := tc.createReq(&wire.CreateRequest{DesiredAccess: access, ShareAccess: share,
		CreateDisposition: wire.FileOpenIf, CreateOptions: wire.FileNonDirectoryFile, Name: name})
	tc.send(req)
	lvl, id := holder.recvBreak()
	holder.roundTrip(holder.oplockAckReq(id, lvl))
	return tc.wait(req).status
}

// fileIDHex is the backend's file id of an open, as cluster file names
// carry it.
func fileIDHex(t *testing.T, tc *tester, id wire.FileID) string {
	t.Helper()
	o := tc.ts.srv.lookupOpen(id)
	if o == nil || o.node == nil {
		t.Fatal("no such open")
	}
	return clusterFile(o, o.node.key)[len("share/"):]
}

// TestClusterLeaseBreakTimeout: a holder that never acknowledges holds
// an open on another node up for the break timeout only, after which its
// node revokes the lease, as on a single server.
func TestClusterLeaseBreakTimeout(t *testing.T) {
	defer func(d time.Duration) { oplockBreakTimeout = d }(oplockBreakTimeout)
	oplockBreakTimeout = 500 * time.Millisecond
	a, b, _, _ := clusterPair(t, false)
	k := [16]byte{0xA2}
	if l := leaseOf(t, a.parseCreate(a.roundTrip(a.createLease("t", k, leaseRWH, shareAll)))); l.State != leaseRWH {
		t.Fatalf("A: lease %#x", l.State)
	}
	start := time.Now()
	open := b.writeOpen("t")
	b.send(open)
	if lb := a.recvLeaseBreak(); lb.NewState != wire.LeaseRead|wire.LeaseHandle {
		t.Fatalf("A: break %+v", lb)
	}
	expectStatus(t, "B: open after A's timeout", b.wait(open), ntstatus.Success)
	if d := time.Since(start); d < oplockBreakTimeout || d > oplockBreakTimeout+clusterBreakMargin {
		t.Fatalf("B waited %v, want the break timeout (%v)", d, oplockBreakTimeout)
	}
	// The lease was lost: a late acknowledgment finds no break.
	if r := a.roundTrip(a.leaseAckReq(k, wire.LeaseRead|wire.LeaseHandle)); r.hdr.Status == uint32(ntstatus.Success) {
		t.Fatal("A: late acknowledgment accepted")
	}
}

// TestClusterLeaseHolderDies: a node that stops answering (here: its
// server ignores break requests) holds another node's open up only until
// its etcd lease ends (here it leaves the cluster).
func TestClusterLeaseHolderDies(t *testing.T) {
	a, b, closeA, _ := clusterPair(t, true)
	if l := leaseOf(t, a.parseCreate(a.roundTrip(a.createLease("d", [16]byte{0xA3}, leaseRWH, shareAll)))); l.State != leaseRWH {
		t.Fatalf("A: lease %#x", l.State)
	}
	open := b.writeOpen("d")
	b.send(open)
	b.expectOnlyInterim(300 * time.Millisecond) // waits for A, which does not answer
	start := time.Now()
	closeA()
	expectStatus(t, "B: open after A left", b.wait(open), ntstatus.Success)
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("B waited %v after A left", d)
	}
}

// BenchmarkClusterLeaseOpenClose measures CREATE with an RWH lease and
// CLOSE on one node without a cluster and as the only node of a
// one-member etcd cluster: the W claim and the caching entry's deletion
// at the close are the etcd requests caching adds.
func BenchmarkClusterLeaseOpenClose(b *testing.B) {
	run := func(b *testing.B, tc *tester) {
		for b.Loop() {
			cr := tc.parseCreate(tc.roundTrip(tc.createLease("bench", [16]byte{0xBE}, leaseRWH, shareAll)))
			if cr == nil {
				b.Fatal("CREATE failed")
			}
			tc.closeFile(cr.FileID)
		}
	}
	start := func(b *testing.B, c Cluster) *tester {
		fsys, err := localfs.New(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		tc := newTester(b, &testerConfig{FS: fsys, LogLevel: slog.LevelError, Options: func(o *Options) { o.Cluster = c }})
		tc.negotiate(wire.Dialect311)
		tc.mustSessionSetup("alice", "pw")
		tc.mustTreeConnect("share")
		return tc
	}
	b.Run("single", func(b *testing.B) { run(b, start(b, nil)) })
	b.Run("cluster", func(b *testing.B) {
		node := joinOneNode(b)
		run(b, start(b, node))
	})
}

// TestClusterCachingLost: node A's etcd lease is lost (revoked behind its
// back, as an expiry while A was cut off would do) while its client holds
// an RWH lease; B's client meanwhile gets read caching of the file. When
// A registers again its caching entry conflicts with B's and is dropped,
// and A revokes its client's lease (a break to none), so that the client
// stops caching what B's client may read.
func TestClusterCachingLost(t *testing.T) {
	ec, n := clusterNodes(t, 1, 2)
	a, b := n[0], n[1]
	k := [16]byte{0xA6}
	if l := leaseOf(t, a.parseCreate(a.roundTrip(a.createLease("c", k, leaseRWH, shareAll)))); l.State != leaseRWH {
		t.Fatalf("A: lease %#x", l.State)
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: ec.Endpoints(), DialTimeout: 2 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx := context.Background()
	for try := 0; ; try++ {
		gr, err := cli.Get(ctx, "/signet/nodes/a")
		if err != nil || len(gr.Kvs) != 1 {
			t.Fatalf("node key of a: %v %v", gr, err)
		}
		if _, err := cli.Revoke(ctx, clientv3.LeaseID(gr.Kvs[0].Lease)); err != nil {
			t.Fatal(err)
		}
		// A stat open with a read lease: B publishes R, asks A nothing.
		lc := &wire.LeaseContext{V2: true, Key: [16]byte{0xB6}, State: wire.LeaseRead}
		cr := b.parseCreate(b.roundTrip(b.createReq(&wire.CreateRequest{RequestedOplockLevel: wire.OplockLease,
			DesiredAccess: wire.FileReadAttributes, ShareAccess: shareAll, CreateDisposition: wire.FileOpen, Name: "c",
			Contexts: []wire.CreateContext{{Name: wire.CtxNameRqLs, Data: lc.Marshal()}}})))
		if l := leaseOf(t, cr); l.State != wire.LeaseRead {
			t.Fatalf("B: lease %#x", l.State)
		}
		if o := b.ts.srv.lookupOpen(cr.FileID); o == nil || !o.cl.othersSeen {
			break // B registered while A's entries were gone
		}
		// A's renewal wrote its entries again first: try again.
		b.closeFile(cr.FileID)
		if try == 4 {
			t.Fatal("A's entries always came back before B's open")
		}
		time.Sleep(time.Second)
	}
	lb := a.recvLeaseBreak()
	if lb.Key != k || lb.NewState != 0 {
		t.Fatalf("A: break %+v, want a revocation to none", lb)
	}
	if r := a.roundTrip(a.leaseAckReq(k, 0)); r.hdr.Status == uint32(ntstatus.Success) {
		t.Fatal("A: acknowledgment of a revoked lease accepted")
	}
	// The revocation is logged after the breaks are sent, so the client
	// can see its break before the line is written.
	eventually(t, "the revocation in A's log", func() bool {
		return strings.Contains(a.logs(), "cluster: oplocks and leases revoked")
	})
}
