package server

import (
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
