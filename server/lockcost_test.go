package server

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
)

// The lock calls the resource tests make.
func tryLockOn(o *open, els []wire.LockElement, lim Limits) error {
	return o.node.locks.tryLock(o, els, lim)
}

func checkIOOn(o *open, off, n uint64, write bool) error { return o.checkIO(off, n, write) }

var unlimitedLocks = Limits{MaxLocksPerOpen: -1, MaxLocksPerFile: -1}

// manyLocks returns count fail-immediately locks of 10 bytes, 100 bytes
// apart from first on, alternately exclusive and shared.
func manyLocks(first, count int) []wire.LockElement {
	els := make([]wire.LockElement, count)
	for i := range els {
		flags := uint32(lockExclusiveNow)
		if i%2 == 1 {
			flags = lockSharedNow
		}
		els[i] = wire.LockElement{Offset: uint64(first+i) * 100, Length: 10, Flags: flags}
	}
	return els
}

// TestLockingOneFileDoesNotDelayAnother: while LOCK requests of tens of
// thousands of elements are granted on one file, I/O checks and locks on
// another file answer at once (the lock tables are per file).
func TestLockingOneFileDoesNotDelayAnother(t *testing.T) {
	nodeA, nodeB := &fileNode{}, &fileNode{}
	reader, holder := &open{node: nodeB}, &open{node: nodeB}
	if err := tryLockOn(holder, el(0, 10, lockExclusiveNow), unlimitedLocks); err != nil {
		t.Fatal(err)
	}
	const lockers, perRequest = 2, 20000
	var wg sync.WaitGroup
	var finished atomic.Int32
	for g := 0; g < lockers; g++ {
		a := &open{node: nodeA}
		els := manyLocks(g*perRequest, perRequest)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer finished.Add(1)
			if err := tryLockOn(a, els, unlimitedLocks); err != nil {
				t.Error(err)
			}
		}()
	}
	var worst time.Duration
	for i := uint64(0); finished.Load() < lockers; i++ {
		start := time.Now()
		if err := checkIOOn(reader, 100, 10, true); err != nil {
			t.Error(err)
		}
		if err := checkIOOn(reader, 5, 1, false); err != ntstatus.FileLockConflict {
			t.Errorf("read under another open's lock: %v", err)
		}
		if err := tryLockOn(reader, el(1000+i, 1, lockSharedNow), unlimitedLocks); err != nil {
			t.Error(err)
		}
		worst = max(worst, time.Since(start))
		time.Sleep(time.Millisecond)
	}
	wg.Wait()
	if worst > 100*time.Millisecond {
		t.Fatalf("I/O check and LOCK on another file took up to %v", worst)
	}
}

// ioCheckTime returns the least time, over a few runs, that 2000 I/O
// checks by an open without locks take on a file holding count locks
// (none of the checks conflicts, so each must look at every lock that
// could).
func ioCheckTime(t *testing.T, count int) time.Duration {
	node := &fileNode{}
	const holders = 4
	for h := 0; h < holders; h++ {
		o := &open{node: node}
		var els []wire.LockElement
		for _, e := range manyLocks(0, count) {
			if int(e.Offset/100)%holders == h {
				els = append(els, e)
			}
		}
		if err := tryLockOn(o, els, unlimitedLocks); err != nil {
			t.Fatal(err)
		}
	}
	io := &open{node: node}
	best := time.Duration(1 << 62)
	for run := 0; run < 5; run++ {
		start := time.Now()
		for i := 0; i < 1000; i++ {
			k := uint64(i*7919) % uint64(count)
			if checkIOOn(io, k*100+20, 50, true) != nil || // between two locks
				checkIOOn(io, (k|1)*100, 10, false) != nil { // under a shared lock
				t.Fatal("unexpected conflict")
			}
		}
		best = min(best, time.Since(start))
	}
	return best
}

// TestCheckIOCostFlatInLockCount: an I/O check on a file with 16384 locks
// (MaxLocksPerFile) costs about what it costs with 16: it does not look at
// every lock.
func TestCheckIOCostFlatInLockCount(t *testing.T) {
	few, many := ioCheckTime(t, 16), ioCheckTime(t, 16384)
	t.Logf("2000 checks: %v with 16 locks, %v with 16384", few, many)
	if many > 20*few+time.Millisecond {
		t.Fatalf("2000 I/O checks took %v with 16384 locks, %v with 16", many, few)
	}
}

// TestLockLimits: a LOCK that would take the open past MaxLocksPerOpen or
// the file past MaxLocksPerFile fails as a whole with
// STATUS_INSUFFICIENT_RESOURCES, granting nothing, and says so in the log.
func TestLockLimits(t *testing.T) {
	lim := Limits{MaxLocksPerOpen: 4, MaxLocksPerFile: 6}
	node := &fileNode{}
	a, b := &open{node: node}, &open{node: node}
	if err := tryLockOn(a, manyLocks(0, 3), lim); err != nil {
		t.Fatal(err)
	}
	var le *lockLimitError
	err := tryLockOn(a, manyLocks(10, 2), lim)
	if !errors.As(err, &le) || le.limit != "MaxLocksPerOpen" {
		t.Fatalf("past MaxLocksPerOpen: %v", err)
	}
	if a.lockCount != 3 || node.locks.count != 3 {
		t.Fatalf("refused request granted locks: %d %d", a.lockCount, node.locks.count)
	}
	if err := tryLockOn(b, manyLocks(10, 3), lim); err != nil {
		t.Fatalf("range of the refused request: %v", err)
	}
	err = tryLockOn(b, manyLocks(20, 1), lim)
	if !errors.As(err, &le) || le.limit != "MaxLocksPerFile" {
		t.Fatalf("past MaxLocksPerFile: %v", err)
	}
	if err := node.locks.unlockOne(a, 0, 10); err != nil {
		t.Fatal(err)
	}
	if err := tryLockOn(b, manyLocks(20, 1), lim); err != nil {
		t.Fatalf("after an unlock: %v", err)
	}
	if err := tryLockOn(a, manyLocks(30, 1), Limits{MaxLocksPerOpen: -1, MaxLocksPerFile: -1}); err != nil {
		t.Fatalf("negative limits: %v", err)
	}
	node.locks.releaseOpen(b)
	if b.lockCount != 0 || node.locks.count != a.lockCount {
		t.Fatalf("counts after close: %d %d %d", b.lockCount, node.locks.count, a.lockCount)
	}
	// A LOCK that comes after its open's close takes nothing.
	if err := tryLockOn(b, manyLocks(40, 1), lim); err != ntstatus.FileClosed || b.lockCount != 0 {
		t.Fatalf("lock after close: %v, %d locks", err, b.lockCount)
	}

	var logged bytes.Buffer
	r := &request{c: &conn{log: slog.New(slog.NewTextHandler(&logged, nil))}}
	if got := r.lockStatus(&lockLimitError{"MaxLocksPerOpen", 4}); got != ntstatus.InsufficientResources {
		t.Fatalf("status %v", got)
	}
	if !strings.Contains(logged.String(), "MaxLocksPerOpen") {
		t.Fatalf("log: %q", logged.String())
	}
}
