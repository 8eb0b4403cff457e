package server

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/signetsmb/signet/cluster"
	"github.com/signetsmb/signet/cluster/etcdtest"
	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
	"github.com/signetsmb/signet/vfs/localfs"
)

// Tests of durable handles reclaimed on another node of a cluster and of
// PreviousSessionId across nodes (cluster_durable.go): two or three
// in-process Signet nodes over one folder, on a one-member etcd.

// testNode is a cluster membership of a test, left at the test's end
// unless kill ended it as a crash would.
type testNode struct {
	*cluster.Node
	killed bool
}

func (n *testNode) kill() {
	n.killed = true
	n.Kill()
}

// durableNodes starts a one-member etcd and n nodes (lease TTL 2 s) with
// alice and bob, and returns their test servers and memberships.
func durableNodes(t *testing.T, n int) ([]*testServer, []*testNode) {
	t.Helper()
	ec := etcdtest.Start(t, 1)
	dir := t.TempDir()
	var tss []*testServer
	var nodes []*testNode
	for i := range n {
		node := joinTestNode(t, ec.Endpoints(), string(rune('a'+i)))
		fsys, err := localfs.New(dir)
		if err != nil {
			t.Fatal(err)
		}
		tn := &testNode{Node: node}
		t.Cleanup(func() {
			if !tn.killed {
				tn.Close()
			}
		})
		ts := startTestServer(t, &testerConfig{FS: fsys, Options: func(o *Options) { o.Cluster = node; withBob(o) }})
		tss = append(tss, ts)
		nodes = append(nodes, tn)
	}
	return tss, nodes
}

// nodeSession connects to ts as user, with ClientGuid guid.
func nodeSession(ts *testServer, guid byte, user, pw string) *tester {
	tc := ts.dial()
	g := [16]byte{guid, 0xC1}
	tc.clientGUID = &g
	tc.negotiate(wire.Dialect311)
	tc.mustSessionSetup(user, pw)
	tc.mustTreeConnect("share")
	return tc
}

// TestClusterDurableReclaimAfterNodeDeath: a durable handle opened on
// node a, whose cluster membership then dies (its lease runs out, no
// revoke) while its client's connection is not even seen to drop, is
// reclaimed on node b with its data and share modes; the old FileId is
// not reclaimable twice.
func TestClusterDurableReclaimAfterNodeDeath(t *testing.T) {
	tss, nodes := durableNodes(t, 2)
	a := nodeSession(tss[0], 1, "alice", "pw")
	guid := [16]byte{0xD1}
	cr := a.mustBatch(a.createDurable("f", 0, guid, wire.FileShareRead), "durable open on a")
	if _, ok := durableOf(cr); !ok {
		t.Fatal("no durable handle granted on a cluster node")
	}
	a.write(cr.FileID, 0, []byte("written through node a"))
	b := nodeSession(tss[1], 1, "alice", "pw")
	// While a lives, its open's share modes hold on b (after a's batch
	// oplock was broken for b's open: cluster_lease.go).
	if st := b.openShareAcking(a, "f", rwAccess, shareAll); st != ntstatus.SharingViolation {
		t.Fatalf("write open on b while a holds f: %v", st)
	}
	nodes[0].kill()
	start := time.Now()
	cr2, st := b.create(&wire.CreateRequest{Name: "f", Contexts: []wire.CreateContext{dh2c(cr.FileID, guid)}})
	if cr2 == nil || cr2.CreateAction != wire.FileOpened || cr2.OplockLevel != wire.OplockBatch {
		t.Fatalf("reclaim on b: %v %+v\n%s", st, cr2, tss[1].log.String())
	}
	t.Logf("reclaimed on b %v after a's membership died (lease TTL 2 s)", time.Since(start).Round(time.Millisecond))
	if got, st := b.read(cr2.FileID, 0, 64); st != ntstatus.Success || string(got) != "written through node a" {
		t.Fatalf("read on b: %q %v", got, st)
	}
	if _, st := b.write(cr2.FileID, 0, []byte("W")); st != ntstatus.Success {
		t.Fatalf("write on the reclaimed handle: %v", st)
	}
	other := nodeSession(tss[1], 2, "alice", "pw")
	c := nodeSession(tss[1], 3, "alice", "pw")
	expectStatus(t, "second reclaim of the old FileId", c.roundTrip(c.reclaimReq("f", cr.FileID, guid)), ntstatus.ObjectNameNotFound)
	if st := b.closeFile(cr2.FileID); st != ntstatus.Success {
		t.Fatalf("close: %v", st)
	}
	if _, st := other.openShare("f", rwAccess, shareAll); st != ntstatus.Success {
		t.Fatalf("write open after the close: %v", st)
	}
}

// TestClusterDurableOtherUserAndHandover: a handle parked on a (its
// connection lost) is refused to another user on b (ACCESS_DENIED) and
// to a wrong CreateGuid (OBJECT_NAME_NOT_FOUND), reclaimed at once by its
// user on b, and a drops its parked copy.
func TestClusterDurableOtherUserAndHandover(t *testing.T) {
	tss, _ := durableNodes(t, 2)
	a := nodeSession(tss[0], 1, "alice", "pw")
	guid := [16]byte{0xD2}
	cr := a.parseCreate(a.roundTrip(a.createDurable("g", 0, guid, wire.FileShareRead)))
	if _, ok := durableOf(cr); !ok {
		t.Fatalf("no durable handle: %+v", cr)
	}
	a.close()
	waitFor(t, "the open to be parked on a", func() bool { return tss[0].srv.durables.Len() == 1 })
	bob := nodeSession(tss[1], 1, "bob", "pw2")
	expectStatus(t, "bob's reclaim of alice's handle", bob.roundTrip(bob.reclaimReq("g", cr.FileID, guid)), ntstatus.AccessDenied)
	b := nodeSession(tss[1], 1, "alice", "pw")
	expectStatus(t, "reclaim with another CreateGuid", b.roundTrip(b.reclaimReq("g", cr.FileID, [16]byte{0xBA, 0xD})), ntstatus.ObjectNameNotFound)
	start := time.Now()
	cr2, st := b.create(&wire.CreateRequest{Name: "g", Contexts: []wire.CreateContext{dh2c(cr.FileID, guid)}})
	if cr2 == nil || cr2.CreateAction != wire.FileOpened {
		t.Fatalf("reclaim on b: %v %+v\n%s", st, cr2, tss[0].log.String())
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("reclaim of a parked handle took %v: it must not wait for anything", d)
	}
	waitFor(t, "a to drop its parked copy", func() bool { return tss[0].srv.durables.Len() == 0 })
	// The reclaimed open's share modes (read only) hold cluster-wide.
	a2 := nodeSession(tss[0], 2, "alice", "pw")
	if st := a2.openShareAcking(b, "g", rwAccess, shareAll); st != ntstatus.SharingViolation {
		t.Fatalf("write open on a beside the handle reclaimed on b: %v", st)
	}
	// Closed on b, the handle leaves no entry behind, of a or of b.
	if st := b.closeFile(cr2.FileID); st != ntstatus.Success {
		t.Fatalf("close on b: %v", st)
	}
	id, st := bob.openShare("g", rwAccess, shareAll)
	if st != ntstatus.Success {
		t.Fatalf("write open on b after the handle closed: %v", st)
	}
	bob.closeFile(id)
	if _, st := a2.openShare("g", rwAccess, shareAll); st != ntstatus.Success {
		t.Fatalf("write open on a after the handle closed: %v", st)
	}
}

// TestClusterDurableReclaimRace: nodes b and c race to reclaim one handle
// parked on a; exactly one wins.
func TestClusterDurableReclaimRace(t *testing.T) {
	tss, _ := durableNodes(t, 3)
	for round := range 3 {
		a := nodeSession(tss[0], 1, "alice", "pw")
		guid := [16]byte{0xD3, byte(round)}
		cr := a.parseCreate(a.roundTrip(a.createDurable("r", 0, guid, wire.FileShareRead)))
		if _, ok := durableOf(cr); !ok {
			t.Fatalf("no durable handle: %+v", cr)
		}
		a.close()
		waitFor(t, "the open to be parked on a", func() bool { return tss[0].srv.durables.Len() == 1 })
		rs := []*tester{nodeSession(tss[1], 1, "alice", "pw"), nodeSession(tss[2], 1, "alice", "pw")}
		sts := make([]ntstatus.Status, 2)
		ids := make([]wire.FileID, 2)
		var wg sync.WaitGroup
		for i, r := range rs {
			wg.Go(func() {
				cr, st := r.create(&wire.CreateRequest{Name: "r", Contexts: []wire.CreateContext{dh2c(cr.FileID, guid)}})
				sts[i] = st
				if cr != nil {
					ids[i] = cr.FileID
				}
			})
		}
		wg.Wait()
		won := 0
		for i, st := range sts {
			switch st {
			case ntstatus.Success:
				won++
			case ntstatus.ObjectNameNotFound:
			default:
				t.Fatalf("round %d: node %c: %v", round, 'b'+i, st)
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d nodes reclaimed the handle (%v)", round, won, sts)
		}
		for i, st := range sts {
			if st == ntstatus.Success {
				rs[i].closeFile(ids[i])
			}
		}
		waitFor(t, "a to drop its parked copy", func() bool { return tss[0].srv.durables.Len() == 0 })
	}
}

// TestClusterDurableShareModesUntilTimeout: the share modes of a durable
// handle of a dead node hold after its node's lease has expired, until
// the handle's timeout, then they are released.
func TestClusterDurableShareModesUntilTimeout(t *testing.T) {
	tss, nodes := durableNodes(t, 2)
	a := nodeSession(tss[0], 1, "alice", "pw")
	const timeout = 4 * time.Second
	cr := a.parseCreate(a.roundTrip(a.createDurable("s", uint32(timeout/time.Millisecond), [16]byte{0xD4}, 0)))
	if _, ok := durableOf(cr); !ok {
		t.Fatalf("no durable handle: %+v", cr)
	}
	b := nodeSession(tss[1], 2, "alice", "pw")
	nodes[0].kill()
	died := time.Now()
	// Past a's lease (2 s) its ordinary entries are gone; the durable
	// handle's share mode (share none) still refuses any data open.
	time.Sleep(3 * time.Second)
	if _, st := b.openShare("s", readAccess, shareAll); st != ntstatus.SharingViolation {
		t.Fatalf("open on b 3 s after a died, within the handle's timeout: %v", st)
	}
	for {
		_, st := b.openShare("s", readAccess, shareAll)
		if st == ntstatus.Success {
			break
		}
		// The release waits for two etcd lease expiries (the node's, 2 s,
		// then the record's, the handle's timeout) and a sweep; about 7 s
		// on a quiet machine, past 12 s once in CI with every package's
		// tests running at once (etcd revokes expired leases late when it
		// gets little CPU), so the bound only asks that it comes.
		if st != ntstatus.SharingViolation || time.Since(died) > 30*time.Second {
			t.Fatalf("open on b %v after a died: %v", time.Since(died), st)
		}
		time.Sleep(200 * time.Millisecond)
	}
	d := time.Since(died)
	if d < timeout {
		t.Fatalf("share modes released %v after a died, before the handle's timeout %v", d, timeout)
	}
	t.Logf("share modes of the dead node's durable handle released %v after it died (timeout %v, lease 2 s)", d.Round(100*time.Millisecond), timeout)
}

// TestClusterPreviousSessionOtherNode: a client whose connection to a is
// dead (a has not noticed) logs on to b naming its session on a as
// PreviousSessionId: a ends that session and parks its durable open, and
// b reclaims it without waiting for a's lease; another user's
// PreviousSessionId ends nothing.
func TestClusterPreviousSessionOtherNode(t *testing.T) {
	tss, _ := durableNodes(t, 2)
	a := nodeSession(tss[0], 1, "alice", "pw")
	guid := [16]byte{0xD5}
	cr := a.parseCreate(a.roundTrip(a.createDurable("p", 0, guid, wire.FileShareRead)))
	if _, ok := durableOf(cr); !ok {
		t.Fatalf("no durable handle: %+v", cr)
	}
	bob := tss[1].dial()
	bob.negotiate(wire.Dialect311)
	bob.prevSessionID = a.sessionID
	bob.mustSessionSetup("bob", "pw2")
	time.Sleep(300 * time.Millisecond)
	if st := a.echo(); st != ntstatus.Success {
		t.Fatalf("bob's PreviousSessionId ended alice's session on a: %v", st)
	}
	if tss[0].srv.durables.Len() != 0 {
		t.Fatal("bob's PreviousSessionId parked alice's open")
	}
	b := tss[1].dial()
	g := [16]byte{1, 0xC1}
	b.clientGUID = &g
	b.negotiate(wire.Dialect311)
	b.prevSessionID = a.sessionID
	start := time.Now()
	b.mustSessionSetup("alice", "pw")
	b.mustTreeConnect("share")
	cr2 := b.parseCreate(b.roundTrip(b.reclaimReq("p", cr.FileID, guid)))
	if cr2 == nil || cr2.CreateAction != wire.FileOpened {
		t.Fatalf("reclaim on b: %+v", cr2)
	}
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Fatalf("logon and reclaim on b took %v: more than the teardown needs", d)
	} else {
		t.Logf("PreviousSessionId teardown on a and reclaim on b in %v", d.Round(time.Millisecond))
	}
	if _, st := a.treeConnect("share"); st == ntstatus.Success {
		t.Fatal("alice's old session on a still works after her PreviousSessionId on b")
	}
	waitFor(t, "a to drop its parked copy", func() bool { return tss[0].srv.durables.Len() == 0 })
}

// TestTeardownLimit: at most maxTeardowns PreviousSessionId teardowns
// per window go to etcd; the next window allows as many again.
func TestTeardownLimit(t *testing.T) {
	var l teardownLimit
	now := time.Unix(1000, 0)
	for i := range maxTeardowns {
		if !l.take(now) {
			t.Fatalf("request %d refused", i)
		}
	}
	if l.take(now.Add(teardownWindow - time.Millisecond)) {
		t.Fatal("one more than the limit in the window")
	}
	if !l.take(now.Add(teardownWindow)) {
		t.Fatal("refused in the next window")
	}
}

// TestClusterDurableV1AndLease: a durable v1 handle (DHnQ, batch oplock)
// parked on a is reclaimed on b with DHnC; a v2 handle with a lease is
// reclaimed on b only with its lease key (and its ClientGuid), keeping
// handle caching.
func TestClusterDurableV1AndLease(t *testing.T) {
	tss, _ := durableNodes(t, 2)
	a := nodeSession(tss[0], 1, "alice", "pw")
	cr := a.parseCreate(a.roundTrip(a.createReq(&wire.CreateRequest{RequestedOplockLevel: wire.OplockBatch,
		DesiredAccess: rwAccess, ShareAccess: wire.FileShareRead, CreateDisposition: wire.FileOpenIf, Name: "v1",
		Contexts: []wire.CreateContext{{Name: wire.CtxNameDHnQ, Data: make([]byte, 16)}}})))
	granted := false
	for _, c := range cr.Contexts {
		granted = granted || c.Name == wire.CtxNameDHnQ
	}
	if cr.OplockLevel != wire.OplockBatch || !granted {
		t.Fatalf("durable v1 open: %+v", cr)
	}
	key := [16]byte{0x1E, 0xA5}
	guid := [16]byte{0xD6}
	crl := a.parseCreate(a.roundTrip(a.createLease("l", key, wire.LeaseRead|wire.LeaseHandle|wire.LeaseWrite, wire.FileShareRead, dh2q(0, guid))))
	if _, ok := durableOf(crl); !ok {
		t.Fatalf("durable v2 lease open: %+v", crl)
	}
	a.close()
	waitFor(t, "the opens to be parked on a", func() bool { return tss[0].srv.durables.Len() == 2 })

	b := nodeSession(tss[1], 1, "alice", "pw") // a's ClientGuid
	dhnc := make([]byte, 16)
	wire.PutFileID(dhnc, cr.FileID)
	cr2, st := b.create(&wire.CreateRequest{Name: "v1", Contexts: []wire.CreateContext{{Name: wire.CtxNameDHnC, Data: dhnc}}})
	if st != ntstatus.Success || cr2.OplockLevel != wire.OplockBatch || cr2.CreateAction != wire.FileOpened {
		t.Fatalf("DHnC on b: %v %+v", st, cr2)
	}

	lc := func(k [16]byte) wire.CreateContext {
		l := &wire.LeaseContext{V2: true, Key: k, State: wire.LeaseRead | wire.LeaseHandle | wire.LeaseWrite}
		return wire.CreateContext{Name: wire.CtxNameRqLs, Data: l.Marshal()}
	}
	_, st = b.create(&wire.CreateRequest{RequestedOplockLevel: wire.OplockLease, Name: "l",
		Contexts: []wire.CreateContext{dh2c(crl.FileID, guid), lc([16]byte{0xBA, 0xD})}})
	if st != ntstatus.ObjectNameNotFound {
		t.Fatalf("reclaim with another lease key: %v", st)
	}
	cr3, st := b.create(&wire.CreateRequest{RequestedOplockLevel: wire.OplockLease, Name: "l",
		Contexts: []wire.CreateContext{dh2c(crl.FileID, guid), lc(key)}})
	if st != ntstatus.Success || cr3.OplockLevel != wire.OplockLease {
		t.Fatalf("reclaim with the lease key: %v %+v", st, cr3)
	}
	if l := leaseOf(t, cr3); l.Key != key || l.State&wire.LeaseHandle == 0 {
		t.Fatalf("lease after the reclaim: %+v", l)
	}
	waitFor(t, "a to drop its parked copies", func() bool { return tss[0].srv.durables.Len() == 0 })
}

// TestClusterDurableLocksCarried: the byte-range locks of a durable
// handle outlive its node: after a's lease expired, a lock and a write of
// another client in the range are refused on b, the handle reclaimed on b
// holds them (its unlock succeeds, once), and then the range is free.
func TestClusterDurableLocksCarried(t *testing.T) {
	tss, nodes := durableNodes(t, 2)
	a := nodeSession(tss[0], 1, "alice", "pw")
	guid := [16]byte{0xD7}
	cr := a.parseCreate(a.roundTrip(a.createDurable("k", 0, guid, shareAll)))
	if _, ok := durableOf(cr); !ok {
		t.Fatalf("no durable handle: %+v", cr)
	}
	if st := a.lock(cr.FileID, wire.LockElement{Offset: 0, Length: 10, Flags: lockExclusiveNow}); st != ntstatus.Success {
		t.Fatalf("lock on a: %v", st)
	}
	if st := a.lock(cr.FileID, wire.LockElement{Offset: 100, Length: 10, Flags: lockSharedNow}); st != ntstatus.Success {
		t.Fatalf("lock on a: %v", st)
	}
	nodes[0].kill()
	time.Sleep(3 * time.Second) // a's lease and its ordinary entries are gone
	other := nodeSession(tss[1], 2, "alice", "pw")
	oid, st := other.openShare("k", rwAccess, shareAll)
	if st != ntstatus.Success {
		t.Fatalf("open beside the handle (sharing all): %v", st)
	}
	if st := other.lock(oid, wire.LockElement{Offset: 5, Length: 1, Flags: lockSharedNow}); st != ntstatus.LockNotGranted {
		t.Fatalf("lock in the dead node's exclusive range: %v", st)
	}
	if st := other.lock(oid, wire.LockElement{Offset: 100, Length: 1, Flags: lockExclusiveNow}); st != ntstatus.LockNotGranted {
		t.Fatalf("exclusive lock in the dead node's shared range: %v", st)
	}
	if _, st := other.write(oid, 2, []byte("x")); st != ntstatus.FileLockConflict {
		t.Fatalf("write in the dead node's exclusive range: %v", st)
	}
	b := nodeSession(tss[1], 1, "alice", "pw")
	cr2, st := b.create(&wire.CreateRequest{Name: "k", Contexts: []wire.CreateContext{dh2c(cr.FileID, guid)}})
	if st != ntstatus.Success {
		t.Fatalf("reclaim on b: %v", st)
	}
	if _, st := b.write(cr2.FileID, 2, []byte("y")); st != ntstatus.Success {
		t.Fatalf("write of the lock's holder in its range: %v", st)
	}
	if st := other.lock(oid, wire.LockElement{Offset: 5, Length: 1, Flags: lockSharedNow}); st != ntstatus.LockNotGranted {
		t.Fatalf("lock in the reclaimed handle's range: %v", st)
	}
	if st := b.lock(cr2.FileID, wire.LockElement{Offset: 0, Length: 10, Flags: wire.LockFlagUnlock}); st != ntstatus.Success {
		t.Fatalf("unlock by the reclaimed handle: %v", st)
	}
	if st := b.lock(cr2.FileID, wire.LockElement{Offset: 0, Length: 10, Flags: wire.LockFlagUnlock}); st != ntstatus.RangeNotLocked {
		t.Fatalf("second unlock: %v", st)
	}
	if st := other.lock(oid, wire.LockElement{Offset: 5, Length: 1, Flags: lockSharedNow}); st != ntstatus.Success {
		t.Fatalf("lock after the unlock: %v", st)
	}
	if st := other.lock(oid, wire.LockElement{Offset: 100, Length: 1, Flags: lockExclusiveNow}); st != ntstatus.LockNotGranted {
		t.Fatalf("exclusive lock in the reclaimed handle's shared range: %v", st)
	}
}

// TestClusterDurableHandOverAtShutdown: a node shut down cleanly leaves
// its durable handles (live or parked) to the other nodes, which reclaim
// them at once (a rolling restart).
func TestClusterDurableHandOverAtShutdown(t *testing.T) {
	tss, _ := durableNodes(t, 2)
	a := nodeSession(tss[0], 1, "alice", "pw")
	guid := [16]byte{0xD8}
	cr := a.parseCreate(a.roundTrip(a.createDurable("h", 0, guid, wire.FileShareRead)))
	if _, ok := durableOf(cr); !ok {
		t.Fatalf("no durable handle: %+v", cr)
	}
	a.write(cr.FileID, 0, []byte("before the restart"))
	a2 := nodeSession(tss[0], 2, "alice", "pw")
	guid2 := [16]byte{0xD9}
	cr2 := a2.parseCreate(a2.roundTrip(a2.createDurable("h2", 0, guid2, wire.FileShareRead)))
	a2.close()
	waitFor(t, "h2 to be parked on a", func() bool { return tss[0].srv.durables.Len() == 1 })
	if err := tss[0].srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	b := nodeSession(tss[1], 1, "alice", "pw")
	start := time.Now()
	cr3, st := b.create(&wire.CreateRequest{Name: "h", Contexts: []wire.CreateContext{dh2c(cr.FileID, guid)}})
	if st != ntstatus.Success {
		t.Fatalf("reclaim on b of a live handle of the node shut down: %v", st)
	}
	if got, st := b.read(cr3.FileID, 0, 64); st != ntstatus.Success || string(got) != "before the restart" {
		t.Fatalf("read on b: %q %v", got, st)
	}
	if _, st := b.create(&wire.CreateRequest{Name: "h2", Contexts: []wire.CreateContext{dh2c(cr2.FileID, guid2)}}); st != ntstatus.Success {
		t.Fatalf("reclaim on b of a parked handle of the node shut down: %v", st)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("reclaims after a clean shutdown took %v: they must not wait for the node's lease", d)
	}
}
