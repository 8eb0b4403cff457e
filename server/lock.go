package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
)

// fileLocks holds the byte-range locks of one file (the MS-FSA
// Stream.ByteRangeLockList), on its fileNode. The locks are split by
// kind so that each question READ, WRITE and LOCK ask is answered by
// binary searches (rangeSet) rather than by a scan of every lock:
//
//   - excl: non-empty exclusive locks. They never overlap one another (a
//     new exclusive lock conflicts with every lock it overlaps), so the
//     candidates a range query returns all overlap the range.
//   - shared: non-empty shared locks, which may overlap.
//   - emptyExcl, emptyShared: zero-length locks, which take part in lock
//     conflicts but never in I/O conflicts.
//
// Blocking-lock waiters on the file wait on wake, closed and replaced when
// a lock of the file is released.
//
// Ownership and lock order: mu guards every field, and the lockCount of
// the file's opens. mu is a leaf: nothing else is locked while it is held,
// and it is taken with neither nodeTable.mu nor any open.mu held
// (open.release takes them one after the other, never nested). Only opens
// of the file ever take it, so locking one file never delays I/O on
// another.
type fileLocks struct {
	mu                     orderedMutex[rankLeaf]
	excl, shared           rangeSet
	emptyExcl, emptyShared rangeSet
	count                  int           // locks in the four sets
	wake                   chan struct{} // nil until someone waits
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

// conflictLocked reports whether a new lock of o conflicts with the set's
// locks, by the rules of overlaps [MS-FSA 2.1.5.7]: an exclusive lock
// conflicts with every lock it overlaps, a shared one with the exclusive
// locks of other opens it overlaps (a shared lock inside the open's own
// exclusive lock is granted). f.mu held.
func (f *fileLocks) conflictLocked(o *open, off, n uint64, exclusive bool) bool {
	blocks := func(l *byteLock) bool { return exclusive || l.owner != o }
	if n == 0 {
		// Non-empty locks holding off past their first byte.
		if off == 0 {
			return false
		}
		return f.excl.find(off, off-1, blocks) || exclusive && f.shared.any(off, off-1)
	}
	last := lastByte(off, n)
	if f.excl.find(off, last, blocks) || exclusive && f.shared.any(off, last) {
		return true
	}
	// Zero-length locks strictly inside: at off+1 .. last.
	if off == last {
		return false
	}
	return f.emptyExcl.find(off+1, last, blocks) || exclusive && f.emptyShared.any(off+1, last)
}

// set returns the set a lock of this kind lives in.
func (f *fileLocks) set(n uint64, exclusive bool) *rangeSet {
	switch {
	case n == 0 && exclusive:
		return &f.emptyExcl
	case n == 0:
		return &f.emptyShared
	case exclusive:
		return &f.excl
	}
	return &f.shared
}

func (f *fileLocks) sets() [4]*rangeSet {
	return [4]*rangeSet{&f.excl, &f.shared, &f.emptyExcl, &f.emptyShared}
}

// validLockRange reports whether offset and length describe a range inside
// the 64-bit file space [MS-FSA 2.1.5.7].
func validLockRange(e wire.LockElement) bool {
	return e.Length == 0 || e.Offset+e.Length-1 >= e.Offset
}

// lockLimitError is a LOCK refused because granting it would take the open
// or the file past MaxLocksPerOpen or MaxLocksPerFile.
type lockLimitError struct {
	limit string
	max   int
}

func (e *lockLimitError) Error() string {
	return fmt.Sprintf("byte-range lock limit %s (%d) reached", e.limit, e.max)
}

// checkCapsLocked refuses n more locks of o beyond the limits. f.mu held.
func (f *fileLocks) checkCapsLocked(o *open, n int, lim Limits) error {
	// exceeds(have+n-1, max): the n-th new lock would be one too many.
	switch {
	case exceeds(o.lockCount+n-1, lim.MaxLocksPerOpen):
		return &lockLimitError{"MaxLocksPerOpen", lim.MaxLocksPerOpen}
	case exceeds(f.count+n-1, lim.MaxLocksPerFile):
		return &lockLimitError{"MaxLocksPerFile", lim.MaxLocksPerFile}
	}
	return nil
}

// tryLock grants the elements atomically or returns the first failure,
// granting nothing [MS-SMB2 3.3.5.14.2]. Each element is checked against
// the file's locks and against the elements before it in the request, in
// order, as if they had been granted one by one. A request that would
// take the open or the file past its lock limit fails as a whole with a
// *lockLimitError before any element is looked at.
func (f *fileLocks) tryLock(o *open, els []wire.LockElement, lim Limits) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if o.locksReleased {
		// A LOCK that lost the race with its open's close: a lock granted
		// now would outlive the open.
		return ntstatus.FileClosed
	}
	if err := f.checkCapsLocked(o, len(els), lim); err != nil {
		return err
	}
	var batch lockBatch
	for _, e := range els {
		if !validLockRange(e) {
			return ntstatus.InvalidLockRange
		}
		excl := e.Flags&wire.LockFlagExclusive != 0
		if f.conflictLocked(o, e.Offset, e.Length, excl) || batch.conflict(o, e.Offset, e.Length, excl) {
			return ntstatus.LockNotGranted
		}
		batch.add(byteLock{owner: o, off: e.Offset, n: e.Length, exclusive: excl})
	}
	f.absorbLocked(batch.all)
	o.lockCount += len(els)
	return nil
}

// absorbLocked adds granted locks, in any order, to the file. f.mu held.
func (f *fileLocks) absorbLocked(ls []byteLock) {
	slices.SortStableFunc(ls, func(a, b byteLock) int { return cmp.Compare(a.off, b.off) })
	var add fileLocks
	for _, l := range ls {
		s := add.set(l.n, l.exclusive)
		s.locks = append(s.locks, l)
	}
	for i, s := range f.sets() {
		s.absorb(add.sets()[i])
	}
	f.count += len(ls)
}

// lockBatch holds the elements of one LOCK request checked so far, so that
// each element is checked against those before it: the older ones sorted
// (checked), the latest few in a list that is merged into them once it
// holds more than the square root of all. Checking m elements costs
// O(m√m + m log m), where inserting each into sorted sets would cost
// O(m²).
type lockBatch struct {
	checked fileLocks
	recent  []byteLock
	all     []byteLock // every element, in request order
}

func (b *lockBatch) conflict(o *open, off, n uint64, exclusive bool) bool {
	if b.checked.conflictLocked(o, off, n, exclusive) {
		return true
	}
	for i := range b.recent {
		if b.recent[i].blocks(o, off, n, exclusive) {
			return true
		}
	}
	return false
}

func (b *lockBatch) add(l byteLock) {
	b.all = append(b.all, l)
	b.recent = append(b.recent, l)
	if k := len(b.recent); k > 16 && k*k > len(b.all) {
		b.checked.absorbLocked(b.recent)
		b.recent = b.recent[:0]
	}
}

// blocks reports whether l conflicts with a new lock of o, by the rules of
// conflictLocked.
func (l *byteLock) blocks(o *open, off, n uint64, exclusive bool) bool {
	return overlaps(l.off, l.n, off, n) && (exclusive || l.exclusive && l.owner != o)
}

// unlockOne releases one lock of o with exactly this range, an exclusive
// one before a shared one [MS-FSA 2.1.5.8].
func (f *fileLocks) unlockOne(o *open, off, n uint64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range []*rangeSet{f.set(n, true), f.set(n, false)} {
		if i := s.indexOf(o, off, n); i >= 0 {
			s.remove(i)
			f.count--
			o.lockCount--
			f.broadcastLocked()
			return nil
		}
	}
	return ntstatus.RangeNotLocked
}

// releaseOpen drops every lock of an open (on close); the open can take no
// more.
func (f *fileLocks) releaseOpen(o *open) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o.locksReleased = true
	if o.lockCount == 0 {
		return
	}
	for _, s := range f.sets() {
		f.count -= s.removeOwner(o)
	}
	o.lockCount = 0
	f.broadcastLocked()
}

func (f *fileLocks) broadcastLocked() {
	if f.wake != nil {
		close(f.wake)
		f.wake = nil
	}
}

// waitChan returns a channel closed at the next release of a lock of the
// file.
func (f *fileLocks) waitChan() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.wake == nil {
		f.wake = make(chan struct{})
	}
	return f.wake
}

// checkIO refuses a read or write that overlaps another open's exclusive
// lock, or (a write) any shared lock, even the open's own
// [MS-FSA 2.1.4.10]. Zero-length locks never conflict with I/O. Its cost
// is two binary searches per set, plus one step per exclusive lock of o
// itself inside the range.
func (f *fileLocks) checkIO(o *open, off, n uint64, write bool) error {
	if n == 0 {
		return nil
	}
	last := lastByte(off, n)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.excl.find(off, last, func(l *byteLock) bool { return l.owner != o }) ||
		write && f.shared.any(off, last) {
		return ntstatus.FileLockConflict
	}
	return nil
}

// checkIO applies the byte-range locks of o's file to an I/O of n bytes at
// off (pipes have none).
func (o *open) checkIO(off, n uint64, write bool) error {
	if o.node == nil {
		return nil
	}
	if err := o.node.locks.checkIO(o, off, n, write); err != nil {
		return err
	}
	return clusterCheckIO(o, off, n, write) // cluster.go; nothing unless clustered
}

// releaseLocks drops the open's byte-range locks (on close).
func (o *open) releaseLocks() {
	if o.node != nil {
		o.node.locks.releaseOpen(o)
	}
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
	bucket, num, checkSeq := r.lockSequenceBucket(req.LockSequence)
	if checkSeq && o.lockSeq.replayed(bucket, num) {
		w.buf = wire.AppendLockResponse(w.buf) // applied before: a resend [MS-SMB2 3.3.5.14]
		return nil
	}
	granted := func() {
		if checkSeq {
			o.lockSeq.record(bucket, num)
		}
	}
	els := req.Locks
	blocking := false
	switch els[0].Flags {
	case wire.LockFlagUnlock:
		if err := r.unlockAll(o, els); err != nil {
			return err
		}
		granted()
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
	// A byte-range lock breaks the read caching of the file's other opens
	// (level II oplocks, R leases) [MS-FSA 2.1.5.7].
	r.c.srv.breakLevelII(o)
	locks := &o.node.locks
	lim := r.c.srv.limits()
	err = r.c.srv.tryLock(o, els, lim)
	if err == nil {
		granted()
		w.buf = wire.AppendLockResponse(w.buf)
		return nil
	}
	if !blocking || err != ntstatus.LockNotGranted {
		return r.lockStatus(err)
	}
	// A blocking lock waits asynchronously until granted, cancelled, or
	// its open is closed (then the range was never locked).
	return r.goAsync(w, o, func(ctx context.Context, fw *response) error {
		for {
			ch := locks.waitChan()
			if o.isClosed() {
				return ntstatus.RangeNotLocked
			}
			if err := r.c.srv.tryLockAgain(o, els, r.c.srv.limits()); err == nil {
				granted()
				fw.buf = wire.AppendLockResponse(fw.buf)
				return nil
			} else if err != ntstatus.LockNotGranted {
				return r.lockStatus(err)
			}
			select {
			case <-ch:
			case <-r.c.srv.clusterLockRetry(): // cluster.go; never unless clustered
			case <-ctx.Done():
				if context.Cause(ctx) == errOpenClosed {
					return ntstatus.RangeNotLocked
				}
				return context.Cause(ctx)
			}
		}
	})
}

// lockStatus maps a refusal by a lock limit to
// STATUS_INSUFFICIENT_RESOURCES, the status Windows gives when it cannot
// allocate a lock (and Samba when its tables are full), logging it once
// per request.
func (r *request) lockStatus(err error) error {
	var le *lockLimitError
	if errors.As(err, &le) {
		r.c.log.Warn("LOCK refused: limit reached", "limit", le.limit, "max", le.max)
		return ntstatus.InsufficientResources
	}
	return err
}

// unlockAll processes a series of unlocks in order, stopping at the first
// failure; the ranges already unlocked stay unlocked [MS-SMB2 3.3.5.14.1].
func (r *request) unlockAll(o *open, els []wire.LockElement) error {
	for _, e := range els {
		if e.Flags != wire.LockFlagUnlock {
			return ntstatus.InvalidParameter
		}
		if err := o.node.locks.unlockOne(o, e.Offset, e.Length); err != nil {
			return err
		}
		r.c.srv.clusterUnlock(o, e.Offset, e.Length) // cluster.go; nothing unless clustered
	}
	return nil
}
