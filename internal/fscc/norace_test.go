//go:build !race

package fscc

const raceEnabled = false
