//go:build race

package fscc

// raceEnabled reports a -race build, whose instrumentation makes the
// matcher about fifteen times slower; cost tests allow for it.
const raceEnabled = true
