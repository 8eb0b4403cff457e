//go:build race

package smbcrypto

// raceEnabled reports a -race build, under which sync.Pool deliberately
// drops objects, so allocation counts are not meaningful.
const raceEnabled = true
