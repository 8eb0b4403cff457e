package state

import (
	"sync"
	"time"
)

// Durables is the table of disconnected durable opens (MS-SMB2 3.3.1.10
// Open.Connection is NULL, Open.DurableOpenTimeout): an open whose
// connection was lost waits here, by the FileId the client knows it by,
// until the client reclaims it (DHnC/DH2C) or its timeout ends and the
// server scavenges it. Take is the one hand-off: whoever takes an entry
// (a reconnect, the scavenger, a conflicting open that purges it) owns the
// open from then on, so a reconnect and an expiry can never both win.
//
// The in-memory implementation guards itself and calls nothing while
// locked, like the other tables of this package; a clustered store can
// implement the same interface.
type Durables[O any] interface {
	// Park records a disconnected open until expires.
	Park(id FileID, o O, expires time.Time)
	// Take removes and returns the open parked under id.
	Take(id FileID) (O, bool)
	// Peek returns the open parked under id without taking it.
	Peek(id FileID) (O, bool)
	// Expired lists the ids whose timeout ended at now.
	Expired(now time.Time) []FileID
	// NextExpiry is the earliest expiry, zero when the table is empty.
	NextExpiry() time.Time
	// Range calls f for every parked open until f returns false.
	Range(f func(id FileID, o O) bool)
	Len() int
}

type parked[O any] struct {
	o       O
	expires time.Time
}

// MemDurables is the in-memory Durables.
type MemDurables[O any] struct {
	mu sync.Mutex
	m  map[FileID]parked[O]
}

var _ Durables[int] = (*MemDurables[int])(nil)

// NewMemDurables returns an empty in-memory table.
func NewMemDurables[O any]() *MemDurables[O] { return &MemDurables[O]{m: map[FileID]parked[O]{}} }

func (d *MemDurables[O]) Park(id FileID, o O, expires time.Time) {
	d.mu.Lock()
	d.m[id] = parked[O]{o, expires}
	d.mu.Unlock()
}

func (d *MemDurables[O]) Take(id FileID) (O, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p, ok := d.m[id]
	if ok {
		delete(d.m, id)
	}
	return p.o, ok
}

func (d *MemDurables[O]) Peek(id FileID) (O, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p, ok := d.m[id]
	return p.o, ok
}

func (d *MemDurables[O]) Expired(now time.Time) []FileID {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []FileID
	for id, p := range d.m {
		if !p.expires.After(now) {
			out = append(out, id)
		}
	}
	return out
}

func (d *MemDurables[O]) NextExpiry() time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	var next time.Time
	for _, p := range d.m {
		if next.IsZero() || p.expires.Before(next) {
			next = p.expires
		}
	}
	return next
}

func (d *MemDurables[O]) Range(f func(id FileID, o O) bool) {
	d.mu.Lock()
	type kv struct {
		id FileID
		o  O
	}
	items := make([]kv, 0, len(d.m))
	for id, p := range d.m {
		items = append(items, kv{id, p.o})
	}
	d.mu.Unlock()
	for _, it := range items {
		if !f(it.id, it.o) {
			return
		}
	}
}

func (d *MemDurables[O]) Len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.m)
}
