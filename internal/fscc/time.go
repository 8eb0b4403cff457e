package fscc

import (
	"math"
	"time"
)

const (
	// filetimeUnixEpoch is 1970-01-01 in 100 ns intervals since 1601-01-01.
	filetimeUnixEpoch = 116444736000000000
	ticksPerSecond    = 10000000
	// minFiletimeSec and maxFiletimeSec bound the Unix seconds that fit in
	// a positive int64 FILETIME.
	minFiletimeSec = -filetimeUnixEpoch / ticksPerSecond
	maxFiletimeSec = (math.MaxInt64 - filetimeUnixEpoch) / ticksPerSecond
)

// Filetime converts t to a FILETIME: 100 ns intervals since 1601-01-01 UTC
// [MS-DTYP 2.3.3]. The zero Time encodes as 0 ("no time"); times before 1601
// clamp to 0 and times past year 30828 clamp to the largest positive value.
func Filetime(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	sec := t.Unix()
	if sec < minFiletimeSec {
		return 0
	}
	if sec > maxFiletimeSec {
		return math.MaxInt64
	}
	ticks := sec*ticksPerSecond + int64(t.Nanosecond()/100) // cannot overflow
	if ticks > math.MaxInt64-filetimeUnixEpoch {
		return math.MaxInt64
	}
	return uint64(ticks + filetimeUnixEpoch)
}

// TimeFromFiletime converts a FILETIME to a UTC time. 0 and values with the
// sign bit set (such as the SET_INFO markers -1 and -2) are not times and
// return the zero Time.
func TimeFromFiletime(v uint64) time.Time {
	if v == 0 || v > math.MaxInt64 {
		return time.Time{}
	}
	d := int64(v) - filetimeUnixEpoch
	return time.Unix(d/ticksPerSecond, (d%ticksPerSecond)*100).UTC()
}
