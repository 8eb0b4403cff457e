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

func overlaps(aOff, aN, bOff, bN uint64) bool {
	if aN == 0 || bN == 0 {
		return false // zero-length ranges never conflict [MS-FSA 2.1.5.7]
	}
	aEnd, bEnd := aOff+aN-1, bOff+bN-1
	if aEnd < aOff {
		aEnd = ^uint64(0)
	}
	if bEnd < bOff {
		bEnd = ^uint64(0)
	}
	return aOff <= bEnd && bOff <= aEnd
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

// tryLock grants the elements atomically or returns a conflict.
func (t *lockTable) tryLock(o *open, els []wire.LockElement) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, e := range els {
		if e.Length != 0 && e.Offset+e.Length-1 < e.Offset {
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
}

// unlock releases exactly matching ranges [MS-FSA 2.1.5.8].
func (t *lockTable) unlock(o *open, els []wire.LockElement) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, e := range els {
		ls := t.locks[o.node]
		found := false
		for i, l := range ls {
			if l.owner == o && l.off == e.Offset && l.n == e.Length {
				t.locks[o.node] = append(ls[:i], ls[i+1:]...)
				found = true
				break
			}
		}
		if !found {
			return ntstatus.RangeNotLocked
		}
	}
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
// (a write also conflicts with shared locks) [MS-FSA 2.1.4.10].
func (t *lockTable) checkIO(o *open, off, n uint64, write bool) error {
	if o.node == nil || n == 0 {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, l := range t.locks[o.node] {
		if !overlaps(l.off, l.n, off, n) {
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

// lock handles LOCK [MS-SMB2 3.3.5.14].
func (r *request) lock(w *response) error {
	req, err := wire.ParseLockRequest(r.msg)
	if err != nil {
		return ntstatus.InvalidParameter
	}
	o, err := r.resolveOpen(req.FileID)
	if err != nil {
		return err
	}
	if o.file == nil || o.isDir {
		return ntstatus.InvalidParameter
	}
	locks := &r.c.srv.locks
	first := req.Locks[0].Flags
	if first&wire.LockFlagUnlock != 0 {
		for _, e := range req.Locks {
			if e.Flags != wire.LockFlagUnlock {
				return ntstatus.InvalidParameter
			}
		}
		if err := locks.unlock(o, req.Locks); err != nil {
			return err
		}
		w.buf = wire.AppendLockResponse(w.buf)
		return nil
	}
	for _, e := range req.Locks {
		f := e.Flags &^ wire.LockFlagFailImmediately
		if f != wire.LockFlagShared && f != wire.LockFlagExclusive {
			return ntstatus.InvalidParameter
		}
		if len(req.Locks) > 1 && e.Flags&wire.LockFlagFailImmediately == 0 {
			return ntstatus.InvalidParameter // only a single lock may block
		}
	}
	err = locks.tryLock(o, req.Locks)
	if err == nil {
		w.buf = wire.AppendLockResponse(w.buf)
		return nil
	}
	if first&wire.LockFlagFailImmediately != 0 {
		return err
	}
	// A blocking lock waits asynchronously until granted or cancelled.
	return r.goAsync(w, o, func(ctx context.Context, fw *response) error {
		for {
			ch := locks.waitChan()
			if err := locks.tryLock(o, req.Locks); err == nil {
				fw.buf = wire.AppendLockResponse(fw.buf)
				return nil
			}
			select {
			case <-ch:
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		}
	})
}
