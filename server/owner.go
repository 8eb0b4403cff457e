package server

import (
	"bytes"
	"fmt"
	"runtime"
	"strconv"
)

// debugOwnership turns on goroutine-ownership checks (set by the package's
// tests). Off in production: finding the current goroutine costs a stack
// dump.
var debugOwnership = false

// goroutineOwner records the goroutine that owns a piece of state, as
// x/net/http2's goroutineLock does: check panics when another goroutine
// touches it while debugOwnership is on. The connection's recover turns
// that panic into a closed connection and a logged, counted event, and the
// tests fail on it.
type goroutineOwner uint64

// claim makes the calling goroutine the owner.
func (g *goroutineOwner) claim() {
	if debugOwnership {
		*g = goroutineOwner(curGoroutineID())
	}
}

// check panics when the caller is not the owner.
func (g *goroutineOwner) check() {
	if !debugOwnership {
		return
	}
	if id := curGoroutineID(); goroutineOwner(id) != *g {
		panic(fmt.Sprintf("state owned by goroutine %d touched by goroutine %d", *g, id))
	}
}

// curGoroutineID parses the current goroutine's id from its stack header
// ("goroutine 18 [running]:").
func curGoroutineID() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		b = b[:i]
	}
	id, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil {
		panic("cannot parse goroutine id: " + err.Error())
	}
	return id
}
