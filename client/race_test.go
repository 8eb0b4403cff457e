//go:build race

package client_test

// raceEnabled reports a -race build, under which sync.Pool drops a
// quarter of what is put back, so pooled buffers are reused less.
const raceEnabled = true
