// Package bufpool holds the size-classed byte-slice pools the server and
// the client take message buffers from, so that steady-state reads,
// writes and responses do not allocate (and the garbage collector does
// not clear megabytes per request).
//
// A buffer from Get belongs to the caller until it gives it to Put; after
// Put nothing may read or write it. Buffers are not cleared.
package bufpool

import "sync"

// classes are the capacities Get hands out. The large classes have 4 KiB
// of headroom, so that a READ response or WRITE request of a round size
// (64 KiB, 1 MiB, 4 MiB, 8 MiB) and its headers fits the class of that
// size, not the next one up.
var classes = [...]int{1 << 10, 4 << 10, 16 << 10, 64<<10 + 4<<10, 256<<10 + 4<<10, 1<<20 + 4<<10,
	4<<20 + 4<<10, 8<<20 + 68<<10}

// ClassSize is the capacity Get(n) returns.
func ClassSize(n int) int {
	for _, sz := range classes {
		if n <= sz {
			return sz
		}
	}
	return n
}

var pools [len(classes)]sync.Pool

// headers recycles the *[]byte the pools hold buffers by, so that
// putting a buffer back allocates nothing either (x/net/http2 databuffer).
var headers sync.Pool

// Get returns a buffer of length n and capacity ClassSize(n).
func Get(n int) []byte {
	for i, sz := range classes {
		if n <= sz {
			if p, ok := pools[i].Get().(*[]byte); ok {
				b := (*p)[:n]
				*p = nil
				headers.Put(p)
				return b
			}
			return make([]byte, n, sz)
		}
	}
	return make([]byte, n)
}

// Put gives b back; a buffer whose capacity is not a class size (not
// from Get) is left to the garbage collector.
func Put(b []byte) {
	c := cap(b)
	for i, sz := range classes {
		if c == sz {
			p, _ := headers.Get().(*[]byte)
			if p == nil {
				p = new([]byte)
			}
			*p = b[:0]
			pools[i].Put(p)
			return
		}
	}
}
