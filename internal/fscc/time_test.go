package fscc

import (
	"math"
	"testing"
	"time"
)

func TestFiletimeGolden(t *testing.T) {
	tests := []struct {
		t    time.Time
		want uint64
	}{
		{time.Time{}, 0},
		{time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC), 0},
		{time.Date(1601, 1, 1, 0, 0, 0, 100, time.UTC), 1},
		{time.Unix(0, 0), 116444736000000000},
		{time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), 0x01bf53eb256d4000},
		{time.Date(2000, 1, 1, 0, 0, 0, 199, time.UTC), 0x01bf53eb256d4001}, // sub-100ns truncated
		{time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC), 0},
		{time.Date(40000, 1, 1, 0, 0, 0, 0, time.UTC), math.MaxInt64},
	}
	for _, tt := range tests {
		if got := Filetime(tt.t); got != tt.want {
			t.Errorf("Filetime(%v) = %#x, want %#x", tt.t, got, tt.want)
		}
	}
}

func TestTimeFromFiletime(t *testing.T) {
	if got := TimeFromFiletime(0x01bf53eb256d4000); !got.Equal(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)) || got.Location() != time.UTC {
		t.Errorf("TimeFromFiletime(2000) = %v", got)
	}
	for _, v := range []uint64{0, math.MaxUint64, math.MaxUint64 - 1, 1 << 63} {
		if got := TimeFromFiletime(v); !got.IsZero() {
			t.Errorf("TimeFromFiletime(%#x) = %v, want zero", v, got)
		}
	}
	if got := TimeFromFiletime(1); !got.Equal(time.Date(1601, 1, 1, 0, 0, 0, 100, time.UTC)) {
		t.Errorf("TimeFromFiletime(1) = %v", got)
	}
}

func TestFiletimeRoundTrip(t *testing.T) {
	for _, v := range []uint64{1, 12345, 116444736000000000, 116444736000000001, ft2000, math.MaxInt64 - 1, math.MaxInt64} {
		if got := Filetime(TimeFromFiletime(v)); got != v {
			t.Errorf("round trip %#x -> %#x", v, got)
		}
	}
}
