package server

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

// TestWriterBatches: frames queued behind the one the writer takes leave
// with it, in order and intact, over TCP (writev), a frame larger than
// writeChunk included; their buffers and READ budget are released and
// the writer's scratch slices keep no buffer.
func TestWriterBatches(t *testing.T) {
	srv := newBareServer(t, Limits{})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	peer, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	nc, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	c := newConn(srv, nc, srv.limits())
	var want []byte
	var frames []outFrame
	for i, n := range []int{100, writeChunk + writeChunk/2, 7, 3000} {
		buf := getBuf(8 + n)
		for j := range buf {
			buf[j] = byte(i*31 + j)
		}
		want = append(want, buf[8:]...)
		budget := c.readBudget.tryAcquire(1000)
		if budget < 0 {
			t.Fatal("no READ budget")
		}
		frames = append(frames, outFrame{buf: buf, off: 8, readBytes: budget})
	}
	for _, f := range frames[1:] {
		c.out <- f
	}
	batch := c.gather(frames[0])
	if len(batch) != len(frames) {
		t.Fatalf("gathered %d frames, want %d", len(batch), len(frames))
	}
	got := make(chan []byte)
	peer.SetReadDeadline(time.Now().Add(20 * time.Second)) // a lost byte fails, not hangs
	go func() {
		b, _ := io.ReadAll(io.LimitReader(peer, int64(len(want))))
		got <- b
	}()
	if !c.write(batch) {
		t.Fatalf("write failed: %v", c.ctx.Err())
	}
	if b := <-got; !bytes.Equal(b, want) {
		t.Fatalf("peer got %d bytes, differing from the %d sent", len(b), len(want))
	}
	if n := c.readBudget.tryAcquire(int64(c.lim.MaxReadBytesPending)); n < 0 {
		t.Fatal("READ budget not released")
	}
	for _, b := range c.iov[:cap(c.iov)] {
		if b != nil {
			t.Fatal("iov keeps a buffer")
		}
	}
	for _, b := range c.chunk[:cap(c.chunk)] {
		if b != nil {
			t.Fatal("chunk keeps a buffer")
		}
	}
	for _, f := range c.batch[:cap(c.batch)] {
		if f.buf != nil {
			t.Fatal("batch keeps a buffer")
		}
	}
}

// TestBufPoolNoAllocs: a buffer taken from the pool and put back costs no
// allocation in steady state (the *[]byte the pool holds it by is
// recycled too). sync.Pool drops items at random under the race
// detector, so the average, truncated by AllocsPerRun, is what is
// checked: before the headers were recycled it was 1 per cycle.
func TestBufPoolNoAllocs(t *testing.T) {
	putBuf(getBuf(3000))
	if n := testing.AllocsPerRun(1000, func() { putBuf(getBuf(3000)) }); n != 0 {
		t.Fatalf("%v allocations per get and put", n)
	}
}
