package server

import (
	"context"
	"sync"

	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
)

// byteLock is one granted byte-range lock.
type byteLock struct {
	owner     *open
	off, n    uint64
	exclusive bool
}

// lockTable holds the byte-range locks of every file, keyed by node.
// Waiters for blocking locks are woken by a broadcast on every unlock.
type lockTable struct {
	mu    sync.Mutex
	locks map[*fileNode][]byteLock
	wake  chan struct{} // closed and replaced on every release
}

// lastByte is the offset of the last byte of a non-empty range; ranges
// running past the end of the 64-bit space end at its last byte.
func lastByte(off, n uint64) uint64 {
	if end := off + n - 1; end >= off {
		return end
	}
	return ^uint64(0)
}

// overlaps reports whether two ranges conflict [MS-FSA 2.1.5.7]. Two
// non-empty ranges conflict when they share a byte; a zero-length range
// at X conflicts with a non-empty range that holds X past its first byte;
// two zero-length ranges never conflict.
func overlaps(aOff, aN, bOff, bN uint64) bool {
	switch {
	case aN == 0 && bN == 0:
		return false
	case aN == 0:
		return bOff < aOff && aOff <= lastByte(bOff, bN)
	case bN == 0:
		return aOff < bOff && bOff <= lastByte(aOff, aN)
	}
	return aOff <= lastByte(bOff, bN) && bOff <= lastByte(aOff, aN)
}

// conflictLocked reports whether a new lock conflicts. t.mu held.
func (t *lockTable) conflictLocked(o *open, off, n uint64, exclusive bool) bool {
	for _, l := range t.locks[o.node] {
		if !overlaps(l.off, l.n, off, n) {
			continue
		}
		if !exclusive && l.exclusive && l.owner == o {
			continue // a shared lock inside the open's own exclusive lock
		}
		if exclusive || l.exclusive {
			return true
		}
	}
	return false
}

// validLockRange reports whether offset and length describe a range inside
// the 64-bit file space [MS-FSA 2.1.5.7].
func validLockRange(e wire.LockElement) bool {
	return e.Length == 0 || e.Offset+e.Length-1 >= e.Offset
}

// tryLock grants the elements atomically or returns the first failure;
// the elements granted before a failure are released again
// [MS-SMB2 3.3.5.14.2].
func (t *lockTable) tryLock(o *open, els []wire.LockElement) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, e := range els {
		if !validLockRange(e) {
			t.removeLocked(o, els[:i])
			return ntstatus.InvalidLockRange
		}
		excl := e.Flags&wire.LockFlagExclusive != 0
		if t.conflictLocked(o, e.Offset, e.Length, excl) {
			t.removeLocked(o, els[:i])
			return ntstatus.LockNotGranted
		}
		if t.locks == nil {
			t.locks = map[*fileNode][]byteLock{}
		}
		t.locks[o.node] = append(t.locks[o.node], byteLock{owner: o, off: e.Offset, n: e.Length, exclusive: excl})
	}
	return nil
}

// removeLocked releases the locks just granted for els (newest first).
func (t *lockTable) removeLocked(o *open, els []wire.LockElement) {
	for _, e := range els {
		ls := t.locks[o.node]
		for i := len(ls) - 1; i >= 0; i-- {
			if ls[i].owner == o && ls[i].off == e.Offset && ls[i].n == e.Length {
				t.locks[o.node] = append(ls[:i], ls[i+1:]...)
				break
			}
		}
	}
	if len(t.locks[o.node]) == 0 {
		delete(t.locks, o.node)
	}
}

// unlockOne releases one lock of o with exactly this range, an exclusive
// one before a shared one [MS-FSA 2.1.5.8].
func (t *lockTable) unlockOne(o *open, off, n uint64) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	ls := t.locks[o.node]
	hit := -1
	for i, l := range ls {
		if l.owner == o && l.off == off && l.n == n {
			if hit < 0 || l.exclusive && !ls[hit].exclusive {
				hit = i
			}
		}
	}
	if hit < 0 {
		return ntstatus.RangeNotLocked
	}
	t.locks[o.node] = append(ls[:hit], ls[hit+1:]...)
	if len(t.locks[o.node]) == 0 {
		delete(t.locks, o.node)
	}
	t.broadcastLocked()
	return nil
}

// releaseOpen drops every lock of an open (on close).
func (t *lockTable) releaseOpen(o *open) {
	if o.node == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	ls := t.locks[o.node]
	kept := ls[:0]
	for _, l := range ls {
		if l.owner != o {
			kept = append(kept, l)
		}
	}
	if len(kept) == 0 {
		delete(t.locks, o.node)
	} else {
		t.locks[o.node] = kept
	}
	t.broadcastLocked()
}

func (t *lockTable) broadcastLocked() {
	if t.wake != nil {
		close(t.wake)
		t.wake = nil
	}
}

func (t *lockTable) waitChan() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.wake == nil {
		t.wake = make(chan struct{})
	}
	return t.wake
}

// checkIO refuses a read or write that overlaps another open's lock
// (a write also conflicts with shared locks, even the open's own)
// [MS-FSA 2.1.4.10].
func (t *lockTable) checkIO(o *open, off, n uint64, write bool) error {
	if o.node == nil || n == 0 {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, l := range t.locks[o.node] {
		if l.n == 0 || !overlaps(l.off, l.n, off, n) {
			continue
		}
		if l.owner == o && (l.exclusive || !write) {
			continue
		}
		if l.exclusive || write {
			return ntstatus.FileLockConflict
		}
	}
	return nil
}

// Valid LOCK element flag combinations [MS-SMB2 2.2.26.1].
const (
	lockShared       = wire.LockFlagShared
	lockExclusive    = wire.LockFlagExclusive
	lockSharedNow    = wire.LockFlagShared | wire.LockFlagFailImmediately
	lockExclusiveNow = wire.LockFlagExclusive | wire.LockFlagFailImmediately
)

// lock handles LOCK [MS-SMB2 3.3.5.14]. The first element decides whether
// the request is a series of unlocks or of locks.
func (r *request) lock(w *response) error {
	req, err := wire.ParseLockRequest(r.msg)
	if err != nil {
		return ntstatus.InvalidParameter
	}
	o := r.open
	if o.file == nil || o.isDir {
		return ntstatus.InvalidParameter
	}
	els := req.Locks
	blocking := false
	switch els[0].Flags {
	case wire.LockFlagUnlock:
		if err := r.unlockAll(o, els); err != nil {
			return err
		}
		w.buf = wire.AppendLockResponse(w.buf)
		return nil
	case lockShared, lockExclusive:
		blocking = true
	case lockSharedNow, lockExclusiveNow:
	default:
		return ntstatus.InvalidParameter
	}
	// Only a lone lock may wait; every element of a series must be a
	// fail-immediately lock [MS-SMB2 3.3.5.14.2].
	for _, e := range els {
		switch e.Flags {
		case lockSharedNow, lockExclusiveNow:
		case lockShared, lockExclusive:
			if len(els) > 1 {
				return ntstatus.InvalidParameter
			}
		default:
			return ntstatus.InvalidParameter
		}
	}
	locks := &r.c.srv.locks
	err = locks.tryLock(o, els)
	if err == nil {
		w.buf = wire.AppendLockResponse(w.buf)
		return nil
	}
	if !blocking || err != ntstatus.LockNotGranted {
		return err
	}
	// A blocking lock waits asynchronously until granted, cancelled, or
	// its open is closed (then the range was never locked).
	return r.goAsync(w, o, func(ctx context.Context, fw *response) error {
		for {
			ch := locks.waitChan()
			if o.isClosed() {
				return ntstatus.RangeNotLocked
			}
			if err := locks.tryLock(o, els); err == nil {
				fw.buf = wire.AppendLockResponse(fw.buf)
				return nil
			} else if err != ntstatus.LockNotGranted {
				return err
			}
			select {
			case <-ch:
			case <-ctx.Done():
				if context.Cause(ctx) == errOpenClosed {
					return ntstatus.RangeNotLocked
				}
				return context.Cause(ctx)
			}
		}
	})
}

// unlockAll processes a series of unlocks in order, stopping at the first
// failure; the ranges already unlocked stay unlocked [MS-SMB2 3.3.5.14.1].
func (r *request) unlockAll(o *open, els []wire.LockElement) error {
	for _, e := range els {
		if e.Flags != wire.LockFlagUnlock {
			return ntstatus.InvalidParameter
		}
		if err := r.c.srv.locks.unlockOne(o, e.Offset, e.Length); err != nil {
			return err
		}
	}
	return nil
}
