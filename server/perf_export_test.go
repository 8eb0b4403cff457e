package server

// SetDebugOwnership turns the ownership and lock-order checks, which the
// tests run with, on or off and returns the previous setting; benchmarks
// turn them off (they take a stack trace per lock) while no server runs.
func SetDebugOwnership(on bool) (prev bool) {
	prev, debugOwnership = debugOwnership, on
	return prev
}
