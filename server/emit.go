package server

import (
	"encoding/binary"

	"github.com/signetsmb/signet/internal/wire"
)

// emit is the one way a response leaves the server: it links the
// elements of a compound (each padded to 8 bytes, NextCommand set
// [MS-SMB2 3.3.4.1.3]), signs each element on its own (finish) or, when
// the frame must be encrypted (sealFor), seals the whole compound in one
// transform instead (an encrypted message is not signed [MS-SMB2
// 3.1.4.3]), runs the after-send hooks, adds the transport header and
// hands the frame to the writer together with the READ budget it holds.
// Every response buffer has frameRoom bytes in front, so a lone response
// goes out, sealed or not, in the buffer it was built in and READ data is
// never copied. emit owns resps' buffers and the budget from the call on.
// Unsolicited oplock breaks, which are never signed, go through the
// writer's break queue instead (breakFrame seals them); the
// SMB1-negotiate answer is framed by hand before any session exists.
func (c *conn) emit(done []*request, resps []response, budget int64) {
	var frame []byte
	sc := sealFor(done)
	for _, r := range done {
		r.sealed = sc != nil
	}
	switch len(resps) {
	case 0:
		c.readBudget.release(budget)
		return
	case 1:
		frame = resps[0].frame()
		c.finish(done[0], frame[frameRoom:])
	default:
		frame = c.linkCompound(done, resps)
	}
	off := frameRoom - 4 // transport header right before the message
	if sc != nil {
		if err := c.sealFrame(sc, frame); err != nil {
			putBuf(frame)
			c.readBudget.release(budget)
			c.close(err)
			return
		}
		off = 0 // transport header, transform header, ciphertext
	}
	binary.BigEndian.PutUint32(frame[off:], uint32(len(frame)-off-4))
	c.sendFrame(outFrame{buf: frame, off: off, readBytes: budget})
}

// linkCompound copies the elements into one frame (frameRoom bytes in
// front), padded and linked, and signs each; the element buffers go back
// to the pool.
func (c *conn) linkCompound(done []*request, resps []response) []byte {
	size := frameRoom
	for _, w := range resps {
		size = wire.Pad8(size-frameRoom) + frameRoom + len(w.buf)
	}
	frame := getBuf(size + tagRoom)[:frameRoom]
	starts := make([]int, len(resps))
	for i, w := range resps {
		if i > 0 {
			for (len(frame)-frameRoom)%8 != 0 {
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
