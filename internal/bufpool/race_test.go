//go:build race

package bufpool

// raceEnabled reports a -race build, under which sync.Pool drops a
// random share of what is Put, so reuse cannot be measured.
const raceEnabled = true
