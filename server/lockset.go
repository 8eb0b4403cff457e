package server

import (
	"slices"
	"sort"
)

// byteLock is one granted byte-range lock.
type byteLock struct {
	owner     *open
	off, n    uint64
	exclusive bool
}

// end is the last byte of a non-empty lock; a zero-length lock ends where
// it starts.
func (l *byteLock) end() uint64 {
	if l.n == 0 {
		return l.off
	}
	return lastByte(l.off, l.n)
}

// rangeSet holds locks sorted by offset together with the running maximum
// of their ends, so that the locks that may hold a byte of a range are found
// by two binary searches: a lock starting after the range cannot, and
// neither can any lock before the first whose running maximum reaches the
// range. Between the two bounds every lock of a set whose members do not
// overlap (the exclusive locks) does overlap the range; for a set whose
// members may overlap, "does any lock overlap" is still one binary search
// (any). Inserting and removing move the tail of the slices (memmove) and
// repair the running maximum only as far as it changes.
//
// A rangeSet belongs to a fileLocks and is guarded by its mutex.
type rangeSet struct {
	locks  []byteLock
	maxEnd []uint64 // maxEnd[i] = the largest end of locks[:i+1]
}

// startingAtMost returns how many locks start at or before off.
func (s *rangeSet) startingAtMost(off uint64) int {
	return sort.Search(len(s.locks), func(i int) bool { return s.locks[i].off > off })
}

// startingBefore returns how many locks start before off.
func (s *rangeSet) startingBefore(off uint64) int {
	return sort.Search(len(s.locks), func(i int) bool { return s.locks[i].off >= off })
}

// reaching returns the index of the first lock whose running maximum end
// is at least end: no lock before it ends at or after end.
func (s *rangeSet) reaching(end uint64) int {
	return sort.Search(len(s.maxEnd), func(i int) bool { return s.maxEnd[i] >= end })
}

// any reports whether some lock starts at or before start and ends at or
// after end (for a range [a, b]: any(a, b) is "some lock holds a byte of
// it").
func (s *rangeSet) any(end, start uint64) bool {
	j := s.startingAtMost(start)
	return j > 0 && s.maxEnd[j-1] >= end
}

// find calls fn, in offset order, on the locks that start at or before
// start and end at or after end, until fn returns true; it reports whether
// it did.
func (s *rangeSet) find(end, start uint64, fn func(*byteLock) bool) bool {
	for i, j := s.reaching(end), s.startingAtMost(start); i < j; i++ {
		if l := &s.locks[i]; l.end() >= end && fn(l) {
			return true
		}
	}
	return false
}

// indexOf returns the index of a lock of o with exactly this range, or -1.
func (s *rangeSet) indexOf(o *open, off, n uint64) int {
	for i := s.startingBefore(off); i < len(s.locks) && s.locks[i].off == off; i++ {
		if s.locks[i].owner == o && s.locks[i].n == n {
			return i
		}
	}
	return -1
}

// insert adds l after the locks that start where it does.
func (s *rangeSet) insert(l byteLock) {
	i := s.startingAtMost(l.off)
	s.locks = slices.Insert(s.locks, i, l)
	s.maxEnd = slices.Insert(s.maxEnd, i, 0)
	s.repair(i)
}

// remove drops the lock at index i.
func (s *rangeSet) remove(i int) {
	s.locks = slices.Delete(s.locks, i, i+1)
	s.maxEnd = slices.Delete(s.maxEnd, i, i+1)
	s.repair(i)
}

// repair recomputes the running maximum from index i (where a lock was
// inserted or removed), stopping past i where it no longer changes: from
// there on it was right already.
func (s *rangeSet) repair(i int) {
	for first := i; i < len(s.locks); i++ {
		m := s.locks[i].end()
		if i > 0 {
			m = max(m, s.maxEnd[i-1])
		}
		if i > first && m == s.maxEnd[i] {
			return
		}
		s.maxEnd[i] = m
	}
}

// removeOwner drops every lock of o and returns how many there were.
func (s *rangeSet) removeOwner(o *open) int {
	kept := s.locks[:0]
	for _, l := range s.locks {
		if l.owner != o {
			kept = append(kept, l)
		}
	}
	n := len(s.locks) - len(kept)
	clear(s.locks[len(kept):]) // drop the references to the open
	s.locks = kept
	s.maxEnd = s.maxEnd[:len(kept)]
	if n > 0 {
		s.rebuild()
	}
	return n
}

// rebuild recomputes the whole running maximum.
func (s *rangeSet) rebuild() {
	s.maxEnd = s.maxEnd[:0]
	var m uint64
	for i := range s.locks {
		m = max(m, s.locks[i].end())
		s.maxEnd = append(s.maxEnd, m)
	}
}

// absorb adds every lock of b (sorted) to s: one at a time when b is small,
// otherwise by merging the two sorted slices from their ends, in place, so
// that a request granting thousands of locks costs O(len(s) + len(b)), not
// O(len(s) * len(b)). Locks of b go after the locks of s that start where
// they do.
func (s *rangeSet) absorb(b *rangeSet) {
	const insertMax = 16
	if len(b.locks) <= insertMax {
		for _, l := range b.locks {
			s.insert(l)
		}
		return
	}
	n, m := len(s.locks), len(b.locks)
	s.locks = slices.Grow(s.locks, m)[:n+m]
	for i, j, k := n-1, m-1, n+m-1; j >= 0; k-- {
		if i >= 0 && s.locks[i].off > b.locks[j].off {
			s.locks[k] = s.locks[i]
			i--
		} else {
			s.locks[k] = b.locks[j]
			j--
		}
	}
	s.maxEnd = slices.Grow(s.maxEnd, m)
	s.rebuild()
}
