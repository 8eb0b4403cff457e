package server

import (
	"sync"

	"github.com/signetsmb/signet/internal/wire"
)

// lockSequences is Open.LockSequenceArray [MS-SMB2 3.3.1.10]: for each of
// the 64 buckets a client may name in a LOCK request's LockSequenceIndex,
// the 4-bit LockSequenceNumber of the last LOCK that succeeded with it. A
// LOCK repeating that number in that bucket was already applied (the
// client resent it after losing a channel) and succeeds without being
// applied again [MS-SMB2 3.3.5.14]. mu is a leaf lock.
type lockSequences struct {
	mu      sync.Mutex
	entries [64]struct {
		seq   uint8
		valid bool
	}
}

// lockSequenceBucket returns the bucket (0-63) and number a LOCK request
// names when the server checks lock sequences for it, or ok false. The
// server checks them on 3.x connections that negotiated multichannel,
// where a client resends a LOCK lost with a channel [MS-SMB2 3.3.5.14].
// (Resilient and persistent handles, which also use them, are not
// offered.)
func (r *request) lockSequenceBucket(seq uint32) (bucket int, num uint8, ok bool) {
	c := r.c
	if c.dialect < wire.Dialect300 || c.serverCaps&wire.CapMultiChannel == 0 {
		return 0, 0, false
	}
	idx := seq >> 4
	if idx < 1 || idx > 64 {
		return 0, 0, false // index 0 (and out of range) is not checked
	}
	return int(idx - 1), uint8(seq & 0xF), true
}

// replayed reports whether the bucket holds num: the LOCK was applied
// already. Otherwise the bucket is invalidated until this LOCK succeeds.
func (l *lockSequences) replayed(bucket int, num uint8) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := &l.entries[bucket]
	if e.valid && e.seq == num {
		return true
	}
	e.valid = false
	return false
}

// record notes a successful LOCK in its bucket.
func (l *lockSequences) record(bucket int, num uint8) {
	l.mu.Lock()
	l.entries[bucket].seq, l.entries[bucket].valid = num, true
	l.mu.Unlock()
}
