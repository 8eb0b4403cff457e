package server

import (
	"encoding/binary"

	"github.com/signetsmb/signet/internal/wire"
)

// emit is the one way a response leaves the server: it links the
// elements of a compound (each padded to 8 bytes, NextCommand set
// [MS-SMB2 3.3.4.1.3]), signs each element on its own (finish), runs the
// after-send hooks, adds the transport header and hands the frame to the
// writer together with the READ budget it holds. A lone response goes out
// in the buffer it was built in, so READ data is never copied. emit owns
// resps' buffers and the budget from the call on. (Encryption will be one
// more step here.) Unsolicited oplock breaks, which are never signed, go
// through the writer's break queue instead; the SMB1-negotiate answer is
// framed by hand before any session exists.
func (c *conn) emit(done []*request, resps []response, budget int64) {
	var frame []byte
	switch len(resps) {
	case 0:
		c.readBudget.release(budget)
		return
	case 1:
		frame = resps[0].frame()
		c.finish(done[0], frame[4:])
	default:
		frame = c.linkCompound(done, resps)
	}
	binary.BigEndian.PutUint32(frame[0:4], uint32(len(frame)-4))
	c.sendFrame(outFrame{buf: frame, readBytes: budget})
}

// linkCompound copies the elements into one frame, padded and linked, and
// signs each; the element buffers go back to the pool.
func (c *conn) linkCompound(done []*request, resps []response) []byte {
	size := 4
	for _, w := range resps {
		size = wire.Pad8(size-4) + 4 + len(w.buf)
	}
	frame := getBuf(size)[:4]
	starts := make([]int, len(resps))
	for i, w := range resps {
		if i > 0 {
			for (len(frame)-4)%8 != 0 {
				frame = append(frame, 0)
			}
			wire.SetNextCommand(frame[starts[i-1]:], uint32(len(frame)-starts[i-1]))
		}
		starts[i] = len(frame)
		frame = append(frame, w.buf...)
		if w.raw != nil {
			putBuf(w.raw)
		}
	}
	for i, r := range done {
		end := len(frame)
		if i+1 < len(starts) {
			end = starts[i+1]
		}
		c.finish(r, frame[starts[i]:end])
	}
	return frame
}
