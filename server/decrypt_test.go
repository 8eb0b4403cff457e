package server

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"testing"
	"time"

	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
	"github.com/signetsmb/signet/vfs"
	"github.com/signetsmb/signet/vfs/memfs"
)

// TestLargeSealedFramesDecryptedOnHandlers holds the rule of decrypt.go:
// the reader never decrypts a sealed frame larger than handlerDecryptMin
// (a large WRITE is decrypted on its handler goroutine), and small ones
// (CREATE, READ and CLOSE requests) still are, on the reader.
func TestLargeSealedFramesDecryptedOnHandlers(t *testing.T) {
	tc := encryptedSession(t, nil, wire.Dialect311)
	d := &tc.srv().stats.decrypts
	reader0, handler0 := d.onReader.Load(), d.onHandler.Load()
	id := tc.mustCreate("big")
	const n, size = 6, 64 << 10
	var writes []*req
	for i := range n {
		w := tc.writeReq(id, uint64(i*size), bytes.Repeat([]byte{byte('a' + i)}, size))
		tc.send(w) // pipelined: the reader goes on while handlers decrypt
		writes = append(writes, w)
	}
	for _, w := range writes {
		expectStatus(t, "WRITE", tc.wait(w), ntstatus.Success)
	}
	for i := range n {
		got, st := tc.read(id, uint64(i*size), size)
		if st != ntstatus.Success || !bytes.Equal(got, bytes.Repeat([]byte{byte('a' + i)}, size)) {
			t.Fatalf("READ %d: %v, %d bytes", i, st, len(got))
		}
	}
	if max := d.readerMax.Load(); max > handlerDecryptMin {
		t.Fatalf("the reader decrypted a %d-byte frame (limit %d)", max, handlerDecryptMin)
	}
	if got := d.onHandler.Load() - handler0; got != n {
		t.Fatalf("%d frames decrypted on handlers, want the %d WRITEs", got, n)
	}
	if got := d.onReader.Load() - reader0; got < n+1 {
		t.Fatalf("%d small frames decrypted on the reader, want at least %d (CREATE, READs)", got, n+1)
	}
}

// TestDeferredFramesAdmittedInOrder: a large sealed WRITE (decrypted on a
// handler) followed at once by a small CLOSE of the same handle (decrypted
// on the reader) is admitted first: the WRITE takes its reference on the
// open before the CLOSE runs, so it never sees FILE_CLOSED, and the credit
// window charges both.
func TestDeferredFramesAdmittedInOrder(t *testing.T) {
	tc := encryptedSession(t, nil, wire.Dialect311)
	data := bytes.Repeat([]byte("ordered "), 8<<10)
	for i := range 20 {
		name := fmt.Sprintf("f%d", i)
		id := tc.mustCreate(name)
		w := tc.writeReq(id, 0, data)
		c := tc.closeReq(id, 0)
		tc.send(w)
		tc.send(c)
		wr := tc.wait(w)
		expectStatus(t, "WRITE", wr, ntstatus.Success)
		if n, err := wire.ParseWriteResponse(wr.msg); err != nil || int(n) != len(data) {
			t.Fatalf("WRITE %d: %d bytes, %v", i, n, err)
		}
		expectStatus(t, "CLOSE", tc.wait(c), ntstatus.Success)
		id = tc.mustCreate(name)
		if got, st := tc.read(id, 0, uint32(len(data))); st != ntstatus.Success || !bytes.Equal(got, data) {
			t.Fatalf("file %d after WRITE+CLOSE: %v, %d bytes", i, st, len(got))
		}
		tc.closeFile(id)
	}
}

// TestDeferredFrameRefused: a large sealed frame that fails on its handler
// (a flipped ciphertext byte; a MessageId outside the credit window)
// closes the connection before the frames the client sent after it run:
// a pipelined small WRITE does not reach the file.
func TestDeferredFrameRefused(t *testing.T) {
	for _, name := range []string{"tampered", "message id"} {
		t.Run(name, func(t *testing.T) {
			tc := encryptedSession(t, nil, wire.Dialect311)
			id := tc.mustCreate("f")
			if _, st := tc.write(id, 0, []byte("original")); st != ntstatus.Success {
				t.Fatal(st)
			}
			big := tc.writeReq(id, 100, bytes.Repeat([]byte("X"), 32<<10))
			if name == "message id" {
				big.keepID = true
				big.hdr.MessageID = tc.nextID + 1<<40
				big.hdr.CreditCharge = 1
			}
			frame := tc.frame(big)
			if name == "tampered" {
				tc.enc.flip = 52 + len(frame)/2
			}
			tc.sendFrame(tc.enc.seal(tc, []*req{big}, frame))
			w := tc.writeReq(id, 0, []byte("CHANGED!"))
			tc.trySendFrame(tc.enc.seal(tc, []*req{w}, tc.frame(w))) // the server may have closed already
			tc.expectClosed()

			other := tc.dial()
			other.negotiateEncrypting(wire.Dialect311)
			other.mustSessionSetup("alice", "pw")
			other.enc.on = true
			other.mustTreeConnect("share")
			got, st := other.read(other.mustCreate("f"), 0, 100)
			if st != ntstatus.Success || string(got) != "original" {
				t.Fatalf("file after a refused frame: %q %v", got, st)
			}
			if name == "tampered" && tc.srv().Stats().BadTransforms != 1 {
				t.Fatalf("BadTransforms %d", tc.srv().Stats().BadTransforms)
			}
		})
	}
}

// TestDeferredSessionSetup: a re-authentication sealed in a large frame
// is decrypted on a handler yet runs in its turn, owning the handshake
// state (the ownership check is on in tests), and the reader takes it
// back for the next one.
func TestDeferredSessionSetup(t *testing.T) {
	tc := encryptedSession(t, nil, wire.Dialect311)
	d := &tc.srv().stats.decrypts
	handler0 := d.onHandler.Load()
	tc.enc.pad = 16 << 10
	if st := tc.reauth("alice", "pw"); st != ntstatus.Success {
		t.Fatalf("padded re-authentication: %v", st)
	}
	tc.enc.pad = 0
	if d.onHandler.Load()-handler0 < 2 {
		t.Fatalf("the padded SESSION_SETUPs were not decrypted on handlers (%d)", d.onHandler.Load()-handler0)
	}
	if st := tc.reauth("alice", "pw"); st != ntstatus.Success {
		t.Fatalf("re-authentication on the reader after one on a handler: %v", st)
	}
	id := tc.mustCreate("after")
	if _, st := tc.write(id, 0, []byte("still works")); st != ntstatus.Success {
		t.Fatal(st)
	}
	if p := tc.ts.log.panics(); p != "" {
		t.Fatalf("panic: %s", p)
	}
}

// gatedFS holds every WriteAt until release is closed, counting the
// writes that started.
type gatedFS struct {
	vfs.FS
	started chan struct{}
	release chan struct{}
}

type gatedFile struct {
	vfs.File
	fs *gatedFS
}

func (g *gatedFS) OpenFile(ctx context.Context, name string, flag int, perm fs.FileMode) (vfs.File, error) {
	f, err := g.FS.OpenFile(ctx, name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &gatedFile{File: f, fs: g}, nil
}

func (f *gatedFile) WriteAt(p []byte, off int64) (int, error) {
	f.fs.started <- struct{}{}
	<-f.fs.release
	return f.File.WriteAt(p, off)
}

// TestSealedFramesHoldInFlightSlots: a large sealed frame takes an
// in-flight slot (Options.MaxInFlight) when the reader hands it over, so
// sealed frames waiting to be decrypted or admitted are bounded with the
// running requests: with two slots held by blocked WRITEs, the reader
// takes one more frame and then stops reading the socket; once the
// WRITEs finish, everything completes in order.
func TestSealedFramesHoldInFlightSlots(t *testing.T) {
	g := &gatedFS{FS: memfs.New(memfs.Options{}), started: make(chan struct{}, 8), release: make(chan struct{})}
	tc := encryptedSession(t, &testerConfig{FS: g, Options: func(o *Options) { o.MaxInFlight = 2 }}, wire.Dialect311)
	id := tc.mustCreate("f")
	data := bytes.Repeat([]byte("slot"), 8<<10)
	var writes []*req
	for i := range 3 {
		w := tc.writeReq(id, uint64(i*len(data)), data)
		tc.send(w)
		writes = append(writes, w)
	}
	for range 2 {
		select {
		case <-g.started:
		case <-time.After(10 * time.Second):
			t.Fatal("the first two WRITEs did not start")
		}
	}
	// The third frame was read and waits for a slot; the reader reads no
	// further.
	fourth := tc.writeReq(id, uint64(3*len(data)), data)
	sealed := tc.enc.seal(tc, []*req{fourth}, tc.frame(fourth))
	tc.timeout = 300 * time.Millisecond
	if err := tc.trySendFrame(sealed); err == nil {
		t.Fatal("the server read a fourth frame while its two slots and its reader were taken")
	}
	tc.timeout = 10 * time.Second
	select {
	case <-g.started:
		t.Fatal("a third WRITE ran with MaxInFlight 2")
	default:
	}
	close(g.release)
	if err := tc.trySendFrame(sealed); err != nil {
		t.Fatal(err)
	}
	for _, w := range append(writes, fourth) {
		expectStatus(t, "WRITE", tc.wait(w), ntstatus.Success)
	}
}
