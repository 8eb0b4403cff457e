package client

import (
	"testing"

	"github.com/signetsmb/signet/internal/wire"
)

// TestIOLimits: READs and WRITEs are sized each by the server's own
// maximum (a server may offer less for WRITE than for READ), within the
// Dialer's IOSize and the 8 MiB cap; 2.0.2 and servers without LARGE_MTU
// get 64 KiB.
func TestIOLimits(t *testing.T) {
	large := wire.CapLargeMTU
	for _, c := range []struct {
		name                string
		ioSize              int
		dialect             uint16
		caps                uint32
		maxRead, maxWrite   uint32
		wantRead, wantWrite int
	}{
		{"defaults", 0, Dialect311, large, 8 << 20, 8 << 20, defaultIOSize, defaultIOSize},
		{"smaller WRITEs", 0, Dialect311, large, 8 << 20, 2 << 20, defaultIOSize, 2 << 20},
		{"asked for 8 MiB", 8 << 20, Dialect311, large, 8 << 20, 2 << 20, 8 << 20, 2 << 20},
		{"asked for more than 8 MiB", 16 << 20, Dialect311, large, 16 << 20, 16 << 20, maxIOSize, maxIOSize},
		{"asked for less", 1 << 20, Dialect311, large, 8 << 20, 2 << 20, 1 << 20, 1 << 20},
		{"2.0.2", 0, Dialect202, 0, 64 << 10, 64 << 10, smallIOSize, smallIOSize},
		{"no LARGE_MTU", 0, Dialect210, 0, 8 << 20, 8 << 20, smallIOSize, smallIOSize},
	} {
		r, w, n := ioLimits(&Dialer{IOSize: c.ioSize}, &NegotiateInfo{Dialect: c.dialect, Capabilities: c.caps,
			MaxReadSize: c.maxRead, MaxWriteSize: c.maxWrite})
		if r != c.wantRead || w != c.wantWrite || n != defaultMaxInFlight {
			t.Errorf("%s: read %d, write %d, in flight %d; want %d, %d, %d", c.name, r, w, n, c.wantRead, c.wantWrite, defaultMaxInFlight)
		}
	}
}
