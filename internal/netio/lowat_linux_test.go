//go:build linux

package netio

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestReadFullInPieces: a large body that arrives in pieces, the last one
// small and late, is read whole and in time; the socket's low-water mark
// is back to 1 after (a 1-byte header is read at once); a peer that goes
// away mid-body is an error, not a hang. A mark left above what the peer
// still has to send would make the read wait for the deadline.
func TestReadFullInPieces(t *testing.T) {
	if !lowatKernel() {
		t.Skip("kernel older than 4.18: bodies are read without a low-water mark")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dial := func() (client, server net.Conn) {
		t.Helper()
		accepted := make(chan net.Conn, 1)
		go func() { // joined by the receive below
			a, _ := ln.Accept()
			accepted <- a
		}()
		cl, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		sv := <-accepted
		if sv == nil {
			t.Fatal("accept failed")
		}
		t.Cleanup(func() { cl.Close(); sv.Close() })
		return cl, sv
	}

	cl, sv := dial()
	size := 3<<20 + 12345
	data := make([]byte, size)
	rand.Read(data)
	pieces := []int{1<<20 + 500<<10, 1<<20 + 400<<10, size - (2<<20 + 900<<10)}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		off := 0
		for _, p := range pieces {
			cl.Write(data[off : off+p])
			off += p
			time.Sleep(150 * time.Millisecond)
		}
	}()
	buf := make([]byte, size)
	sv.SetReadDeadline(time.Now().Add(5 * time.Second))
	if err := ReadFull(sv, buf); err != nil {
		t.Fatalf("ReadFull: %v", err)
	}
	wg.Wait()
	if !bytes.Equal(buf, data) {
		t.Fatal("body differs")
	}
	rc, _ := sv.(*net.TCPConn).SyscallConn()
	var mark int
	rc.Control(func(fd uintptr) { mark, _ = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVLOWAT) })
	if mark != 1 {
		t.Fatalf("SO_RCVLOWAT left at %d", mark)
	}
	cl.Write([]byte{7})
	sv.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := io.ReadFull(sv, buf[:1]); err != nil || buf[0] != 7 {
		t.Fatalf("one byte after the body: %v", err)
	}

	cl2, sv2 := dial()
	cl2.Write(data[:1<<20+1])
	cl2.Close()
	sv2.SetReadDeadline(time.Now().Add(5 * time.Second))
	if err := ReadFull(sv2, make([]byte, size)); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("peer gone mid-body: %v", err)
	}
}

func TestKernelAtLeast(t *testing.T) {
	for rel, want := range map[string]bool{"6.18.44-fc-v1272": true, "4.18.0-553.el8": true, "4.17.9": false,
		"3.10.0-1160.el7.x86_64": false, "5.4": true, "4.18-rc1": true, "": false, "x.y": false} {
		if got := kernelAtLeast(rel, 4, 18); got != want {
			t.Errorf("kernelAtLeast(%q) = %v", rel, got)
		}
	}
}
