package mitm

import (
	"bytes"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/signetsmb/signet/internal/smbtest/wiretap"
	"github.com/signetsmb/signet/internal/wire"
)

// swapper holds the first message going dir with command cmd and, when
// the second arrives, sends both, the one with the higher MessageId first:
// whatever order they came in, the receiver gets them out of sequence,
// each whole and unmodified.
type swapper struct {
	dir  wiretap.Direction
	cmd  wire.Command
	tap  atomic.Pointer[wiretap.Tap] // set once Start returns
	mu   sync.Mutex                  // guards held, done, err
	held []byte
	done bool
	err  error
}

func (s *swapper) mutate(dir wiretap.Direction, msg []byte, info wiretap.MsgInfo) []byte {
	if dir != s.dir || info.Header.Command != s.cmd {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.done:
		return nil
	case s.held == nil:
		s.held = msg
		return []byte{}
	}
	s.done = true
	first, second := msg, s.held
	if le.Uint64(first[24:]) < le.Uint64(second[24:]) {
		first, second = second, first
	}
	tap := s.tap.Load()
	if err := tap.Inject(info.Conn, dir, first); err != nil {
		s.err = err
	} else if err := tap.Inject(info.Conn, dir, second); err != nil {
		s.err = err
	}
	return []byte{}
}

// swapped returns the message ids of the two injected messages in wire
// order, checking that the tap found both signatures valid.
func (s *swapper) swapped(t *testing.T) []uint64 {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.done || s.err != nil {
		t.Fatalf("no swap (done %v, err %v)", s.done, s.err)
	}
	var mids []uint64
	for _, m := range find(s.tap.Load(), s.dir, s.cmd) {
		if m.Note == "injected" {
			if m.SigValid != wiretap.Valid {
				t.Errorf("swapped message: %s", &m)
			}
			mids = append(mids, m.MessageID)
		}
	}
	if len(mids) != 2 || mids[0] <= mids[1] {
		t.Fatalf("swapped message ids %v, want two, the later first", mids)
	}
	return mids
}

// TestReorder: two signed requests (or responses) reordered in flight.
// Signing covers each message on its own [MS-SMB2 3.1.4.1], so both still
// verify; the server must accept message ids out of order within the
// command sequence window [MS-SMB2 3.3.1.1], and the client matches
// responses by MessageId. Nothing is lost or corrupted: a 128 KiB write
// sent as two 64 KiB WRITEs, second first, lands whole on disk, and a
// 128 KiB read whose two READ responses arrive second first returns the
// file. The server logs no refusal.
func TestReorder(t *testing.T) {
	e := newEnv(t, true)
	data := make([]byte, 128<<10)
	rnd := rand.New(rand.NewPCG(3, 4))
	for i := range data {
		data[i] = byte(rnd.Uint32())
	}
	d := victim()
	d.IOSize = 64 << 10

	t.Run("WRITE requests", func(t *testing.T) {
		sw := &swapper{dir: wiretap.ClientToServer, cmd: wire.CmdWrite}
		tap := e.tap(sw.mutate)
		sw.tap.Store(tap)
		_, sh := e.mount(tap.Addr(), d)
		f := openWrite(t, sh, "w.bin")
		if n, err := f.WriteAt(data, 0); n != len(data) || err != nil {
			t.Fatalf("WriteAt with swapped WRITEs: %d, %v", n, err)
		}
		sw.swapped(t)
		if !bytes.Equal(e.onDisk("w.bin"), data) {
			t.Fatal("file on disk differs from what was written")
		}
		if st := e.srv.Stats(); st.BadSignatures != 0 || st.ProtocolErrors != 0 {
			t.Errorf("server stats %+v", st)
		}
		if e.countLog("refused") != 0 || e.countLog("connection closed") != 0 {
			t.Error("the server refused something")
		}
	})
	t.Run("READ responses", func(t *testing.T) {
		e.putFile("r.bin", data)
		sw := &swapper{dir: wiretap.ServerToClient, cmd: wire.CmdRead}
		tap := e.tap(sw.mutate)
		sw.tap.Store(tap)
		_, sh := e.mount(tap.Addr(), d)
		f, err := sh.OpenFile("r.bin", os.O_RDONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		got := make([]byte, len(data))
		if n, err := f.ReadAt(got, 0); n != len(data) || err != nil {
			t.Fatalf("ReadAt with swapped READ responses: %d, %v", n, err)
		}
		sw.swapped(t)
		if !bytes.Equal(got, data) {
			t.Fatal("data read differs from the file")
		}
	})
	e.stillServes()
}
