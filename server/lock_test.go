package server

import (
	"math/rand/v2"
	"testing"

	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
)

func TestLockOverlaps(t *testing.T) {
	max := ^uint64(0)
	cases := []struct {
		aOff, aN, bOff, bN uint64
		want               bool
	}{
		{0, 10, 5, 10, true},
		{0, 10, 10, 10, false},
		{0, 10, 9, 1, true},
		{10, 0, 10, 0, false}, // two empty ranges never conflict
		{10, 0, 9, 1, false},
		{10, 0, 10, 1, false}, // empty range at the first byte: no conflict
		{10, 0, 11, 1, false},
		{10, 0, 9, 2, true}, // empty range strictly inside
		{10, 0, 10, 2, false},
		{10, 0, 9, 3, true},
		{max - 1, 5, max, 1, true}, // ranges running past the end
		{0, max, max - 1, 1, true},
	}
	for _, c := range cases {
		if got := overlaps(c.aOff, c.aN, c.bOff, c.bN); got != c.want {
			t.Errorf("overlaps(%d,%d, %d,%d) = %v, want %v", c.aOff, c.aN, c.bOff, c.bN, got, c.want)
		}
		if got := overlaps(c.bOff, c.bN, c.aOff, c.aN); got != c.want {
			t.Errorf("overlaps(%d,%d, %d,%d) = %v, want %v (swapped)", c.bOff, c.bN, c.aOff, c.aN, got, c.want)
		}
	}
}

func el(off, n uint64, flags uint32) []wire.LockElement {
	return []wire.LockElement{{Offset: off, Length: n, Flags: flags}}
}

// allLocks returns every lock of the file, of every kind.
func allLocks(f *fileLocks) []byteLock {
	var out []byteLock
	for _, s := range f.sets() {
		out = append(out, s.locks...)
	}
	return out
}

func TestLockTableRules(t *testing.T) {
	node := &fileNode{}
	lt := &node.locks
	a, b := &open{node: node}, &open{node: node}

	if err := lt.tryLock(a, el(100, 10, lockExclusiveNow), DefaultLimits()); err != nil {
		t.Fatal(err)
	}
	// The owner's own exclusive lock conflicts with a new exclusive one but
	// not with a shared one inside it.
	if err := lt.tryLock(a, el(100, 10, lockExclusiveNow), DefaultLimits()); err != ntstatus.LockNotGranted {
		t.Fatalf("same-open exclusive: %v", err)
	}
	if err := lt.tryLock(a, el(102, 2, lockSharedNow), DefaultLimits()); err != nil {
		t.Fatalf("same-open shared inside exclusive: %v", err)
	}
	if err := lt.tryLock(b, el(102, 0, lockSharedNow), DefaultLimits()); err != ntstatus.LockNotGranted {
		t.Fatalf("other open, empty range inside: %v", err)
	}
	// I/O: the owner may write under its exclusive lock (not under a shared
	// one, even its own); other opens may not even read.
	if err := lt.checkIO(a, 104, 6, true); err != nil {
		t.Fatalf("owner write: %v", err)
	}
	if err := lt.checkIO(b, 105, 1, false); err != ntstatus.FileLockConflict {
		t.Fatalf("other read: %v", err)
	}
	// Unlock needs the exact range and removes one lock at a time.
	if err := lt.unlockOne(a, 100, 5); err != ntstatus.RangeNotLocked {
		t.Fatalf("partial unlock: %v", err)
	}
	if err := lt.unlockOne(a, 100, 10); err != nil {
		t.Fatal(err)
	}
	if err := lt.unlockOne(a, 100, 10); err != ntstatus.RangeNotLocked {
		t.Fatalf("double unlock: %v", err)
	}
	// A failing element releases the ones granted before it.
	err := lt.tryLock(b, []wire.LockElement{
		{Offset: 0, Length: 1, Flags: lockExclusiveNow},
		{Offset: 102, Length: 1, Flags: lockExclusiveNow}, // a's shared lock
	}, DefaultLimits())
	if err != ntstatus.LockNotGranted {
		t.Fatalf("series: %v", err)
	}
	if err := lt.tryLock(a, el(0, 1, lockExclusiveNow), DefaultLimits()); err != nil {
		t.Fatalf("range of a failed series stayed locked: %v", err)
	}
	if err := lt.tryLock(a, el(^uint64(0), 2, lockExclusiveNow), DefaultLimits()); err != ntstatus.InvalidLockRange {
		t.Fatalf("wrapping range: %v", err)
	}
	lt.releaseOpen(a)
	if lt.count != 0 || a.lockCount != 0 || len(allLocks(lt)) != 0 {
		t.Fatalf("locks left after close: %d %d %+v", lt.count, a.lockCount, allLocks(lt))
	}
}

func TestUnlockPrefersExclusive(t *testing.T) {
	node := &fileNode{}
	lt := &node.locks
	a, b := &open{node: node}, &open{node: node}
	lt.tryLock(a, el(10, 0, lockExclusiveNow), DefaultLimits())
	lt.tryLock(a, el(10, 0, lockSharedNow), DefaultLimits())
	lt.tryLock(a, el(5, 10, lockSharedNow), DefaultLimits())
	if err := lt.unlockOne(a, 10, 0); err != nil {
		t.Fatal(err)
	}
	for _, l := range allLocks(lt) {
		if l.exclusive {
			t.Fatalf("exclusive lock kept, shared one released: %+v", allLocks(lt))
		}
	}
	if err := lt.tryLock(b, el(5, 10, lockSharedNow), DefaultLimits()); err != nil {
		t.Fatalf("shared after exclusive released: %v", err)
	}
}

// The LOCK command through the tester [MS-SMB2 3.3.5.14; MS-FSA 2.1.5.7].

func excl(off, n uint64) wire.LockElement {
	return wire.LockElement{Offset: off, Length: n, Flags: wire.LockFlagExclusive | wire.LockFlagFailImmediately}
}

func unlock(off, n uint64) wire.LockElement {
	return wire.LockElement{Offset: off, Length: n, Flags: wire.LockFlagUnlock}
}

// TestLockCommand: an exclusive lock blocks another open's I/O and locks
// in its range, a shared lock only writes; unlocking what is not locked
// is STATUS_RANGE_NOT_LOCKED.
func TestLockCommand(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	a := tc.mustCreate("l")
	b := tc.mustCreate("l")
	tc.write(a, 0, make([]byte, 100))
	if st := tc.lock(a, excl(10, 10)); st != ntstatus.Success {
		t.Fatalf("lock: %v", st)
	}
	if _, st := tc.read(b, 15, 2); st != ntstatus.FileLockConflict {
		t.Errorf("READ in another open's lock: %v", st)
	}
	if _, st := tc.write(b, 0, make([]byte, 11)); st != ntstatus.FileLockConflict {
		t.Errorf("WRITE into another open's lock: %v", st)
	}
	if _, st := tc.read(a, 15, 2); st != ntstatus.Success {
		t.Errorf("READ in the open's own lock: %v", st)
	}
	if st := tc.lock(b, excl(19, 5)); st != ntstatus.LockNotGranted {
		t.Errorf("overlapping fail-immediately lock: %v", st)
	}
	if st := tc.lock(b, unlock(10, 10)); st != ntstatus.RangeNotLocked {
		t.Errorf("unlock of another open's lock: %v", st)
	}
	if st := tc.lock(a, unlock(10, 10)); st != ntstatus.Success {
		t.Errorf("unlock: %v", st)
	}
	shared := wire.LockElement{Offset: 0, Length: 50, Flags: wire.LockFlagShared | wire.LockFlagFailImmediately}
	if st := tc.lock(a, shared); st != ntstatus.Success {
		t.Fatalf("shared lock: %v", st)
	}
	if st := tc.lock(b, shared); st != ntstatus.Success {
		t.Errorf("second shared lock: %v", st)
	}
	if _, st := tc.read(b, 0, 10); st != ntstatus.Success {
		t.Errorf("READ under shared locks: %v", st)
	}
	if _, st := tc.write(b, 0, []byte("x")); st != ntstatus.FileLockConflict {
		t.Errorf("WRITE under shared locks: %v", st)
	}
}

// TestLockValidation: malformed lock requests [MS-SMB2 3.3.5.14].
func TestLockValidation(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect302)
	f := tc.mustCreate("v")
	d := tc.mustMkdir("d")
	blocking := wire.LockElement{Length: 1, Flags: wire.LockFlagExclusive}
	for name, c := range map[string]struct {
		id    wire.FileID
		locks []wire.LockElement
		want  ntstatus.Status
	}{
		"shared and exclusive":  {f, []wire.LockElement{{Length: 1, Flags: wire.LockFlagShared | wire.LockFlagExclusive}}, ntstatus.InvalidParameter},
		"two blocking":          {f, []wire.LockElement{blocking, blocking}, ntstatus.InvalidParameter},
		"lock then unlock":      {f, []wire.LockElement{excl(0, 1), unlock(0, 1)}, ntstatus.InvalidParameter},
		"range past 2^64":       {f, []wire.LockElement{excl(^uint64(0), 2)}, ntstatus.InvalidLockRange},
		"on a directory":        {d, []wire.LockElement{excl(0, 1)}, ntstatus.InvalidParameter},
		"unlock with fail flag": {f, []wire.LockElement{{Length: 1, Flags: wire.LockFlagUnlock | wire.LockFlagFailImmediately}}, ntstatus.InvalidParameter},
	} {
		if st := tc.lock(c.id, c.locks...); st != c.want {
			t.Errorf("%s: %v, want %v", name, st, c.want)
		}
	}
	// Unlocks are processed in order: the first succeeds, the lock after
	// it is refused [MS-SMB2 3.3.5.14.1].
	tc.lock(f, excl(0, 1))
	if st := tc.lock(f, unlock(0, 1), excl(0, 1)); st != ntstatus.InvalidParameter {
		t.Errorf("unlock then lock: %v", st)
	}
	if st := tc.lock(f, unlock(0, 1)); st != ntstatus.RangeNotLocked {
		t.Errorf("the unlock before the refused element was not done: %v", st)
	}
	r := tc.lockReq(f, excl(0, 1))
	r.msg[wire.HeaderSize+2] = 0 // LockCount 0
	expectStatus(t, "no locks", tc.roundTrip(r), ntstatus.InvalidParameter)
}

// TestLockBlocking: a lock without FAIL_IMMEDIATELY that conflicts goes
// async and is granted when the range is unlocked; CANCEL ends a waiting
// lock with STATUS_CANCELLED, and closing its open with
// STATUS_RANGE_NOT_LOCKED.
func TestLockBlocking(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	a := tc.mustCreate("b")
	b := tc.mustCreate("b")
	tc.lock(a, excl(0, 10))
	wait := tc.lockReq(b, wire.LockElement{Offset: 5, Length: 1, Flags: wire.LockFlagExclusive})
	tc.send(wait)
	if r := tc.waitInterim(wait); !r.isInterim() {
		t.Fatalf("blocking lock did not go async: %v", r)
	}
	tc.lock(a, unlock(0, 10))
	expectStatus(t, "granted after the unlock", tc.wait(wait), ntstatus.Success)

	wait = tc.lockReq(a, wire.LockElement{Offset: 5, Length: 1, Flags: wire.LockFlagShared})
	tc.send(wait)
	tc.waitInterim(wait)
	tc.cancel(wait)
	expectStatus(t, "cancelled", tc.wait(wait), ntstatus.Cancelled)

	wait = tc.lockReq(a, wire.LockElement{Offset: 5, Length: 1, Flags: wire.LockFlagExclusive})
	tc.send(wait)
	tc.waitInterim(wait)
	tc.closeFile(a)
	expectStatus(t, "its open closed", tc.wait(wait), ntstatus.RangeNotLocked)
	tc.closeFile(b)
}

// refLocks is the plain list of locks the lock rules were first written
// for: every question scans every lock. fileLocks must answer as it does.
type refLocks struct{ locks []byteLock }

func (r *refLocks) conflict(o *open, off, n uint64, excl bool) bool {
	for _, l := range r.locks {
		if !overlaps(l.off, l.n, off, n) || !excl && l.exclusive && l.owner == o {
			continue
		}
		if excl || l.exclusive {
			return true
		}
	}
	return false
}

func (r *refLocks) tryLock(o *open, els []wire.LockElement) error {
	had := len(r.locks)
	for _, e := range els {
		excl := e.Flags&wire.LockFlagExclusive != 0
		var err error
		switch {
		case !validLockRange(e):
			err = ntstatus.InvalidLockRange
		case r.conflict(o, e.Offset, e.Length, excl):
			err = ntstatus.LockNotGranted
		}
		if err != nil {
			r.locks = r.locks[:had]
			return err
		}
		r.locks = append(r.locks, byteLock{owner: o, off: e.Offset, n: e.Length, exclusive: excl})
	}
	return nil
}

func (r *refLocks) unlock(o *open, off, n uint64) error {
	hit := -1
	for i, l := range r.locks {
		if l.owner == o && l.off == off && l.n == n && (hit < 0 || l.exclusive && !r.locks[hit].exclusive) {
			hit = i
		}
	}
	if hit < 0 {
		return ntstatus.RangeNotLocked
	}
	r.locks = append(r.locks[:hit], r.locks[hit+1:]...)
	return nil
}

func (r *refLocks) checkIO(o *open, off, n uint64, write bool) error {
	for _, l := range r.locks {
		if n == 0 || l.n == 0 || !overlaps(l.off, l.n, off, n) || l.owner == o && (l.exclusive || !write) {
			continue
		}
		if l.exclusive || write {
			return ntstatus.FileLockConflict
		}
	}
	return nil
}

func (r *refLocks) release(o *open) {
	kept := r.locks[:0]
	for _, l := range r.locks {
		if l.owner != o {
			kept = append(kept, l)
		}
	}
	r.locks = kept
}

// randomRange returns a range in a small space, so that ranges collide
// often, with now and then a zero-length one, one running to the end of
// the 64-bit space, or an invalid (wrapping) one.
func randomRange(rng *rand.Rand) (uint64, uint64) {
	off, n := uint64(rng.IntN(40)), uint64(rng.IntN(8))
	switch rng.IntN(20) {
	case 0:
		n = 0
	case 1:
		n = ^uint64(0) - off + 1
	case 2:
		off, n = ^uint64(0)-uint64(rng.IntN(3)), uint64(rng.IntN(4))
	}
	return off, n
}

// TestLockSetMatchesScan: random lock, unlock, close and I/O sequences get
// the same answers from fileLocks as from a scan of every lock.
func TestLockSetMatchesScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	unlimited := Limits{MaxLocksPerOpen: -1, MaxLocksPerFile: -1}
	for round := 0; round < 20; round++ {
		node := &fileNode{}
		f, ref := &node.locks, &refLocks{}
		opens := []*open{{node: node}, {node: node}, {node: node}}
		for step := 0; step < 2000; step++ {
			which := rng.IntN(len(opens))
			o := opens[which]
			switch op := rng.IntN(10); {
			case op < 5:
				els := make([]wire.LockElement, 1+rng.IntN(3))
				if rng.IntN(10) == 0 {
					els = make([]wire.LockElement, 17+rng.IntN(20)) // merged, not inserted
				}
				for i := range els {
					off, n := randomRange(rng)
					els[i] = wire.LockElement{Offset: off, Length: n, Flags: []uint32{lockSharedNow, lockExclusiveNow}[rng.IntN(2)]}
				}
				if got, want := f.tryLock(o, els, unlimited), ref.tryLock(o, els); got != want {
					t.Fatalf("round %d step %d: tryLock %+v = %v, want %v", round, step, els, got, want)
				}
			case op < 8:
				off, n := randomRange(rng)
				if got, want := f.unlockOne(o, off, n), ref.unlock(o, off, n); got != want {
					t.Fatalf("round %d step %d: unlock %d,%d = %v, want %v", round, step, off, n, got, want)
				}
			case op == 8 && rng.IntN(5) == 0:
				f.releaseOpen(o)
				ref.release(o)
				opens[which] = &open{node: node} // a closed open takes no more locks
			default:
				off, n := randomRange(rng)
				write := rng.IntN(2) == 0
				if got, want := f.checkIO(o, off, n, write), ref.checkIO(o, off, n, write); got != want {
					t.Fatalf("round %d step %d: checkIO %d,%d,%v = %v, want %v", round, step, off, n, write, got, want)
				}
			}
			if f.count != len(ref.locks) {
				t.Fatalf("round %d step %d: %d locks, want %d", round, step, f.count, len(ref.locks))
			}
		}
		for _, s := range f.sets() {
			var m uint64
			for i := range s.locks {
				m = max(m, s.locks[i].end())
				if s.maxEnd[i] != m || i > 0 && s.locks[i-1].off > s.locks[i].off {
					t.Fatalf("round %d: set out of order or running maximum wrong at %d", round, i)
				}
			}
		}
	}
}
