// Package state holds the server-wide tables of MS-SMB2's abstract model
// (3.3.1.1): the GlobalSessionTable (SessionId to session) and the
// GlobalOpenTable (FileId to open). The server keeps its own session and
// open types; the tables only allocate identifiers and find values by
// them, so that a later clustered store can back the same interfaces.
//
// Ownership and locking. Each table guards itself. Its methods never call
// out of this package while holding a lock and never block on anything
// but their own short critical sections, so a caller may hold any of its
// own locks when it calls them: in the server's lock order the tables are
// leaves.
package state

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"sync"
	"sync/atomic"
)

// ErrFull is returned when no identifier could be allocated.
var ErrFull = errors.New("state: no free identifier")

// FileID is an SMB2 FileId [MS-SMB2 2.2.14.1]: Persistent names the open
// server-wide (Open.DurableFileId), Volatile names it on the wire
// (Open.FileId). Both are never 0 or all ones.
type FileID struct {
	Persistent, Volatile uint64
}

// Sessions is the GlobalSessionTable: every session, authenticating or
// established, by SessionId.
type Sessions[S any] interface {
	// Insert stores newV(id) under a fresh SessionId: random, never 0 or
	// all ones, never one in use. newV runs under the table's lock, so
	// the value is complete before anyone can find it; it must not block
	// or call back into the table.
	Insert(newV func(id uint64) S) (uint64, error)
	// Get returns the session with that id.
	Get(id uint64) (S, bool)
	// Delete removes the id; it may be allocated again afterwards.
	Delete(id uint64)
	// Len is the number of sessions held.
	Len() int
	// Range calls f for each session until f returns false. The table
	// is not locked while f runs: sessions inserted or deleted meanwhile
	// may or may not be seen.
	Range(f func(id uint64, v S) bool)
}

// Opens is the GlobalOpenTable: every open by FileId, unique server-wide.
type Opens[O any] interface {
	// Insert stores newV(id) under a fresh FileId (newV as in
	// Sessions.Insert).
	Insert(newV func(id FileID) O) (FileID, error)
	// Get returns the open with exactly that FileId (both halves).
	Get(id FileID) (O, bool)
	// Delete removes the open with exactly that FileId and returns it.
	Delete(id FileID) (O, bool)
	// Len is the number of opens held.
	Len() int
	// Range calls f for each open until f returns false (as
	// Sessions.Range, not a snapshot).
	Range(f func(id FileID, v O) bool)
}

// shards spreads the tables over independent mutexes: every READ and
// WRITE looks its open up, from every connection at once.
const shards = 64

type shard[K comparable, V any] struct {
	mu sync.Mutex
	m  map[K]V
	_  [40]byte // keep neighbouring shards off one cache line
}

type shardedMap[K comparable, V any] struct {
	s [shards]shard[K, V]
	n atomic.Int64
}

func (m *shardedMap[K, V]) get(k K, h uint64) (V, bool) {
	sh := &m.s[h%shards]
	sh.mu.Lock()
	v, ok := sh.m[k]
	sh.mu.Unlock()
	return v, ok
}

// putNew stores newV() under k unless k is taken.
func (m *shardedMap[K, V]) putNew(k K, h uint64, newV func() V) bool {
	sh := &m.s[h%shards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, used := sh.m[k]; used {
		return false
	}
	if sh.m == nil {
		sh.m = map[K]V{}
	}
	sh.m[k] = newV()
	m.n.Add(1)
	return true
}

// del removes k when keep(v) holds for its value, returning the value.
func (m *shardedMap[K, V]) del(k K, h uint64, keep func(V) bool) (V, bool) {
	sh := &m.s[h%shards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	v, ok := sh.m[k]
	if !ok || (keep != nil && !keep(v)) {
		var zero V
		return zero, false
	}
	delete(sh.m, k)
	m.n.Add(-1)
	return v, true
}

func (m *shardedMap[K, V]) rangeAll(f func(K, V) bool) {
	type kv struct {
		k K
		v V
	}
	for i := range m.s {
		sh := &m.s[i]
		sh.mu.Lock()
		items := make([]kv, 0, len(sh.m))
		for k, v := range sh.m {
			items = append(items, kv{k, v})
		}
		sh.mu.Unlock()
		for _, it := range items {
			if !f(it.k, it.v) {
				return
			}
		}
	}
}

// MemSessions is the in-process GlobalSessionTable.
type MemSessions[S any] struct {
	m shardedMap[uint64, S]
	// Rand, when set, replaces crypto/rand (tests).
	Rand func([]byte)
}

// NewMemSessions returns an empty in-process session table.
func NewMemSessions[S any]() *MemSessions[S] { return &MemSessions[S]{} }

var _ Sessions[int] = (*MemSessions[int])(nil)

// mix spreads an id over the shards (SplitMix64's finaliser), so that
// counters and random ids alike use every shard.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

func (t *MemSessions[S]) random() uint64 {
	var b [8]byte
	if t.Rand != nil {
		t.Rand(b[:])
	} else {
		rand.Read(b[:])
	}
	return binary.LittleEndian.Uint64(b[:])
}

// Insert implements Sessions. Ids are random so that a client cannot
// guess the id of another client's session.
func (t *MemSessions[S]) Insert(newV func(uint64) S) (uint64, error) {
	for range 64 {
		id := t.random()
		if id == 0 || id == ^uint64(0) {
			continue
		}
		if t.m.putNew(id, mix(id), func() S { return newV(id) }) {
			return id, nil
		}
	}
	return 0, ErrFull
}

// Get implements Sessions.
func (t *MemSessions[S]) Get(id uint64) (S, bool) { return t.m.get(id, mix(id)) }

// Delete implements Sessions.
func (t *MemSessions[S]) Delete(id uint64) { t.m.del(id, mix(id), nil) }

// Len implements Sessions.
func (t *MemSessions[S]) Len() int { return int(t.m.n.Load()) }

// Range implements Sessions.
func (t *MemSessions[S]) Range(f func(uint64, S) bool) { t.m.rangeAll(f) }

// MemOpens is the in-process GlobalOpenTable. Persistent ids come from a
// counter, so they never repeat while the process lives; volatile ids are
// random, so that a FileId seen on one session says nothing about the
// FileIds of others.
type MemOpens[O any] struct {
	m    shardedMap[uint64, memOpen[O]]
	next atomic.Uint64
	// Rand, when set, replaces crypto/rand (tests).
	Rand func([]byte)
}

type memOpen[O any] struct {
	volatile uint64
	v        O
}

// NewMemOpens returns an empty in-process open table.
func NewMemOpens[O any]() *MemOpens[O] { return &MemOpens[O]{} }

var _ Opens[int] = (*MemOpens[int])(nil)

// Insert implements Opens.
func (t *MemOpens[O]) Insert(newV func(FileID) O) (FileID, error) {
	p := t.next.Add(1)
	if p == ^uint64(0) {
		return FileID{}, ErrFull
	}
	var vol uint64
	for vol == 0 || vol == ^uint64(0) {
		var b [8]byte
		if t.Rand != nil {
			t.Rand(b[:])
		} else {
			rand.Read(b[:])
		}
		vol = binary.LittleEndian.Uint64(b[:])
	}
	id := FileID{Persistent: p, Volatile: vol}
	if !t.m.putNew(p, mix(p), func() memOpen[O] { return memOpen[O]{vol, newV(id)} }) {
		return FileID{}, ErrFull // cannot happen: p is fresh
	}
	return id, nil
}

// Get implements Opens.
func (t *MemOpens[O]) Get(id FileID) (O, bool) {
	e, ok := t.m.get(id.Persistent, mix(id.Persistent))
	if !ok || e.volatile != id.Volatile {
		var zero O
		return zero, false
	}
	return e.v, true
}

// Delete implements Opens.
func (t *MemOpens[O]) Delete(id FileID) (O, bool) {
	e, ok := t.m.del(id.Persistent, mix(id.Persistent), func(e memOpen[O]) bool { return e.volatile == id.Volatile })
	return e.v, ok
}

// Len implements Opens.
func (t *MemOpens[O]) Len() int { return int(t.m.n.Load()) }

// Range implements Opens.
func (t *MemOpens[O]) Range(f func(FileID, O) bool) {
	t.m.rangeAll(func(p uint64, e memOpen[O]) bool {
		return f(FileID{Persistent: p, Volatile: e.volatile}, e.v)
	})
}
