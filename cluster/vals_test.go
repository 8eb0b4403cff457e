package cluster

import (
	"bytes"
	"testing"
)

func TestEncodeVals(t *testing.T) {
	vals := [][]byte{{1, 2, 3}, {}, bytes.Repeat([]byte{7}, 300)}
	got, ok := decodeVals(encodeVals(vals))
	if !ok || len(got) != 3 || !bytes.Equal(got[0], vals[0]) || len(got[1]) != 0 || !bytes.Equal(got[2], vals[2]) {
		t.Fatalf("round trip: %v %v", got, ok)
	}
	for _, bad := range [][]byte{{5, 1}, {0x80}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}} {
		if _, ok := decodeVals(bad); ok {
			t.Errorf("%x decoded", bad)
		}
	}
	// An entry that cannot be read conflicts with everything.
	if !anyConflict([][]byte{{1}}, []byte{9}, func(a, b []byte) bool { return false }) {
		t.Error("unreadable entry did not conflict")
	}
}
