package wiretap

import (
	"testing"

	"github.com/signetsmb/signet/internal/wire"
)

// BenchmarkSignedWrite measures the tap's per-frame cost (split, record,
// verify) for a signed 1 MiB WRITE, per signing algorithm.
func BenchmarkSignedWrite(b *testing.B) {
	for _, tc := range []struct {
		name string
		neg  negOpts
	}{
		{"GMAC", negOpts{dialect: wire.Dialect311, signingOffer: []uint16{2}, signingChoice: 2}},
		{"CMAC", negOpts{dialect: wire.Dialect302, signingChoice: -1}},
		{"HMAC", negOpts{dialect: wire.Dialect210, signingChoice: -1}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			tap := newTap(Config{Target: "unused", Password: simPassword, MaxRaw: 64})
			defer tap.Close()
			s := newSim(b, tap)
			s.negotiate(tc.neg)
			ss := s.setup(setupOpts{sid: 1})
			frame := compoundFrame(part{plainMsgSID(wire.CmdWrite, 100, ss.id, 1<<20), ss.client})
			b.SetBytes(int64(len(frame)))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				tap.handleFrame(s.cs, ClientToServer, i+10, frame, false)
			}
			b.StopTimer()
			if m := tap.Messages(); m[len(m)-1].SigValid != Valid {
				b.Fatalf("%s", &m[len(m)-1])
			}
		})
	}
}

func plainMsgSID(cmd wire.Command, mid, sid uint64, n int) []byte {
	m := plainMsg(cmd, mid, n)
	h, _ := wire.ParseHeader(m)
	h.SessionID = sid
	h.Put(m)
	return m
}
