package wiretap

import (
	"bufio"
	"bytes"
	"testing"
)

// FuzzAnalyze feeds arbitrary byte streams, cut into transport frames with
// alternating directions, through the tap's frame handling (with a Mutate
// that truncates and drops elements) and its reporting. Nothing may panic.
// Seeds: the published 3.1.1 exchange and a simulated signed session.
func FuzzAnalyze(f *testing.F) {
	var stream []byte
	for _, m := range ms311Messages(f) {
		stream = append(stream, tcpFrame(m)...)
	}
	f.Add(stream)
	stream = nil
	for _, fr := range recordExchange(f) {
		stream = append(stream, fr.frame...)
	}
	f.Add(stream)
	f.Add([]byte{0, 0, 0, 4, 0xFE, 'S', 'M', 'B', 0x85, 0, 0, 0, 0, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		tap := newTap(Config{Target: "unused", Password: ms311Password,
			Mutate: func(_ Direction, msg []byte, info MsgInfo) []byte {
				switch info.Index % 3 {
				case 1:
					return msg[:len(msg)/2]
				case 2:
					return []byte{}
				}
				return nil
			}})
		defer tap.Close()
		cs := tap.addConn("fuzz")
		r := bufio.NewReader(bytes.NewReader(data))
		for i := 0; ; i++ {
			fr, err := ReadFrame(r)
			if len(fr) > 0 {
				out := tap.handleFrame(cs, Direction(i%2), i/2+1, fr, err != nil)
				if len(out) > 4+0xFFFFFF {
					t.Fatalf("forwarding %d bytes", len(out))
				}
			}
			if err != nil {
				break
			}
		}
		_ = tap.Report().String()
		_ = tap.Transcript()
	})
}
