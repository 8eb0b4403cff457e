package server

import (
	"fmt"
	"sync"
)

// The lock order of the package, as ranks: a goroutine may take a mutex
// only when every mutex it holds has a lower rank. With debugOwnership on
// (the package's tests), orderedMutex checks this on every Lock and
// panics on a violation, so the order written next to the types is
// enforced by every test that runs the server, not just stated.
//
//	Server.mu (connections)         1
//	conn.mu (session table)         2
//	session.mu                      3
//	treeConnect.mu                  4
//	(rank 5 is free: the server-wide session and open tables of
//	internal/state guard themselves and call nothing while locked, so
//	they may be used under any of these)
//	nodeTable.mu (opens per file)   6
//	leaves: open table, async table, credit window, READ budget, break
//	queue, each file's byte-range locks                           9
//
// Two mutexes of one rank are never held together (two sessions, two
// trees, two leaves).
type (
	rankServer  struct{}
	rankConn    struct{}
	rankSession struct{}
	rankTree    struct{}
	rankNodes   struct{}
	rankLeaf    struct{}
)

func (rankServer) rank() int  { return 1 }
func (rankConn) rank() int    { return 2 }
func (rankSession) rank() int { return 3 }
func (rankTree) rank() int    { return 4 }
func (rankNodes) rank() int   { return 6 }
func (rankLeaf) rank() int    { return 9 }

type lockRank interface{ rank() int }

// orderedMutex is a sync.Mutex with a place in the lock order.
type orderedMutex[R lockRank] struct{ mu sync.Mutex }

func (m *orderedMutex[R]) Lock() {
	if debugOwnership {
		var r R
		acquire(r.rank())
	}
	m.mu.Lock()
}

func (m *orderedMutex[R]) Unlock() {
	m.mu.Unlock()
	if debugOwnership {
		var r R
		release(r.rank())
	}
}

// held records, per goroutine, the ranks of the ordered mutexes it holds
// (debug only).
var held = struct {
	sync.Mutex
	ranks map[uint64][]int
}{ranks: map[uint64][]int{}}

func acquire(rank int) {
	g := curGoroutineID()
	held.Lock()
	defer held.Unlock()
	for _, r := range held.ranks[g] {
		if r >= rank {
			panic(fmt.Sprintf("lock order: goroutine %d takes a rank-%d mutex while holding rank %d (held: %v)",
				g, rank, r, held.ranks[g]))
		}
	}
	held.ranks[g] = append(held.ranks[g], rank)
}

func release(rank int) {
	g := curGoroutineID()
	held.Lock()
	defer held.Unlock()
	rs := held.ranks[g]
	for i := len(rs) - 1; i >= 0; i-- {
		if rs[i] == rank {
			rs = append(rs[:i], rs[i+1:]...)
			break
		}
	}
	if len(rs) == 0 {
		delete(held.ranks, g)
	} else {
		held.ranks[g] = rs
	}
}
