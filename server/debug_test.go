package server

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The package's tests run with the goroutine-ownership checks on.
func init() { debugOwnership = true }

// TestOwnershipCheckTrips shows that the check enforces the rule: state
// claimed by one goroutine panics when another touches it.
func TestOwnershipCheckTrips(t *testing.T) {
	var g goroutineOwner
	g.claim()
	g.check() // the owner itself is fine
	got := make(chan any, 1)
	go func() {
		defer func() { got <- recover() }()
		g.check()
	}()
	p := <-got
	if p == nil || !strings.Contains(p.(string), "touched by goroutine") {
		t.Fatalf("check from another goroutine did not panic: %v", p)
	}
}

// TestOneWayOut enforces the rules the conn type states: only the writer
// (conn.write) writes to the socket, and frames reach it only from emit
// (every signed response) and the SMB1-negotiate answer, which is framed
// before any session exists. A new path must go through emit (where
// signing, and later encryption, happen) or change this test knowingly.
func TestOneWayOut(t *testing.T) {
	want := map[string]int{
		".nc.Write(":     0,
		"WriteTo(c.nc)":  1, // conn.write
		"c.sendFrame(":   2, // conn.send, emit
		"c.send(":        1, // smb1Negotiate
		"breaks.push(":   1, // open.sendBreak
		"nc.SetDeadline": 0,
	}
	got := map[string]int{}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for pat := range want {
			got[pat] += strings.Count(string(b), pat)
		}
	}
	for pat, n := range want {
		if got[pat] != n {
			t.Errorf("%q appears %d times in the package, want %d", pat, got[pat], n)
		}
	}
}

// TestLockOrderCheckTrips: taking a connection's session-table lock while
// holding a session's lock (the wrong order) panics in tests, and the
// right order does not.
func TestLockOrderCheckTrips(t *testing.T) {
	var c conn
	var s session
	c.mu.Lock()
	s.mu.Lock() // conn, then session: the documented order
	s.mu.Unlock()
	c.mu.Unlock()
	defer func() {
		p := recover()
		if p == nil || !strings.Contains(fmt.Sprint(p), "lock order") {
			t.Fatalf("wrong order not caught: %v", p)
		}
		s.mu.Unlock()
	}()
	s.mu.Lock()
	c.mu.Lock() // session, then conn: must panic before locking
	t.Fatal("no panic")
}
