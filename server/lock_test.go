package server

import (
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

func TestLockTableRules(t *testing.T) {
	var lt lockTable
	node := &fileNode{}
	a, b := &open{node: node}, &open{node: node}

	if err := lt.tryLock(a, el(100, 10, lockExclusiveNow)); err != nil {
		t.Fatal(err)
	}
	// The owner's own exclusive lock conflicts with a new exclusive one but
	// not with a shared one inside it.
	if err := lt.tryLock(a, el(100, 10, lockExclusiveNow)); err != ntstatus.LockNotGranted {
		t.Fatalf("same-open exclusive: %v", err)
	}
	if err := lt.tryLock(a, el(102, 2, lockSharedNow)); err != nil {
		t.Fatalf("same-open shared inside exclusive: %v", err)
	}
	if err := lt.tryLock(b, el(102, 0, lockSharedNow)); err != ntstatus.LockNotGranted {
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
	})
	if err != ntstatus.LockNotGranted {
		t.Fatalf("series: %v", err)
	}
	if err := lt.tryLock(a, el(0, 1, lockExclusiveNow)); err != nil {
		t.Fatalf("range of a failed series stayed locked: %v", err)
	}
	if err := lt.tryLock(a, el(^uint64(0), 2, lockExclusiveNow)); err != ntstatus.InvalidLockRange {
		t.Fatalf("wrapping range: %v", err)
	}
	lt.releaseOpen(a)
	if len(lt.locks) != 0 {
		t.Fatalf("locks left after close: %v", lt.locks)
	}
}

func TestUnlockPrefersExclusive(t *testing.T) {
	var lt lockTable
	node := &fileNode{}
	a, b := &open{node: node}, &open{node: node}
	lt.tryLock(a, el(10, 0, lockExclusiveNow))
	lt.tryLock(a, el(10, 0, lockSharedNow))
	lt.tryLock(a, el(5, 10, lockSharedNow))
	if err := lt.unlockOne(a, 10, 0); err != nil {
		t.Fatal(err)
	}
	for _, l := range lt.locks[node] {
		if l.exclusive {
			t.Fatalf("exclusive lock kept, shared one released: %+v", lt.locks[node])
		}
	}
	if err := lt.tryLock(b, el(5, 10, lockSharedNow)); err != nil {
		t.Fatalf("shared after exclusive released: %v", err)
	}
}
