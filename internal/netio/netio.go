// Package netio reads SMB2 transport frames from TCP connections with
// fewer wake-ups: a large frame body arrives in many segments, and each
// wake-up of a reader blocked on a few of them costs a thread switch
// (about 8,000 per GiB uploaded to the server). Where the socket can be
// told to wait (SO_RCVLOWAT on Linux 4.18 and later), the reader asks to
// be woken only once MaxMark bytes of the body, or the whole rest of it if
// less, are queued, so it never waits for bytes the peer has no reason to
// send. Both the server's and the client's frame readers use it.
package netio

import (
	"io"
	"net"
)

// Bodies of MinSize bytes or more are read with the socket's low-water
// mark raised to at most MaxMark.
const (
	MinSize = 256 << 10
	MaxMark = 1 << 20
)

// ReadFull is io.ReadFull(nc, buf) for a frame body: a short body is an
// io.ErrUnexpectedEOF (or io.EOF when nothing came). The connection's read
// deadline applies as usual; the low-water mark is back to 1 on return.
func ReadFull(nc net.Conn, buf []byte) error {
	var set func(int)
	if len(buf) >= MinSize {
		set = rcvLowat(nc)
	}
	if set == nil {
		_, err := io.ReadFull(nc, buf)
		return err
	}
	cur := 1
	defer func() {
		if cur != 1 {
			set(1)
		}
	}()
	for got := 0; got < len(buf); {
		if want := min(len(buf)-got, MaxMark); want != cur {
			set(want)
			cur = want
		}
		n, err := nc.Read(buf[got:])
		got += n
		if err != nil && got < len(buf) {
			if err == io.EOF && got > 0 {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}
