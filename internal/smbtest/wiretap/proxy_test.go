package wiretap

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signetsmb/signet/internal/wire"
)

// fakeServer is a TCP server whose connections run a handler; it keeps
// every byte each connection received.
type fakeServer struct {
	t    testing.TB
	ln   net.Listener
	wg   sync.WaitGroup
	mu   sync.Mutex
	recv []*bytes.Buffer
}

// startFake serves every connection with handle(conn, reader). The reader
// records what it reads.
func startFake(t testing.TB, handle func(c net.Conn, r *bufio.Reader)) *fakeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeServer{t: t, ln: ln}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			buf := &bytes.Buffer{}
			f.mu.Lock()
			f.recv = append(f.recv, buf)
			f.mu.Unlock()
			f.wg.Add(1)
			go func() {
				defer f.wg.Done()
				defer c.Close()
				handle(c, bufio.NewReader(io.TeeReader(c, &lockedBuffer{mu: &f.mu, b: buf})))
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); f.wg.Wait() })
	return f
}

type lockedBuffer struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (f *fakeServer) addr() string { return f.ln.Addr().String() }

// received returns what connection i (0-based, accept order) received.
func (f *fakeServer) received(i int) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	if i >= len(f.recv) {
		return nil
	}
	return append([]byte(nil), f.recv[i].Bytes()...)
}

// echoHandler answers every frame with the same frame, SMB2 elements turned
// into responses (SERVER_TO_REDIR set), until EOF; then it closes.
func echoHandler(c net.Conn, r *bufio.Reader) {
	for {
		f, err := ReadFrame(r)
		if err != nil {
			return
		}
		if _, err := c.Write(echoFrame(f)); err != nil {
			return
		}
	}
}

func echoFrame(f []byte) []byte {
	out := append([]byte(nil), f...)
	if len(out) < 8 || out[0] != 0 || [4]byte(out[4:8]) != wire.ProtocolSMB2 {
		return out
	}
	elems, err := wire.SplitCompound(out[4:], 64)
	if err != nil {
		return out
	}
	for _, e := range elems {
		wire.SetFlags(e, wire.Flags(e)|wire.FlagServerToRedir)
	}
	return out
}

func dial(t testing.TB, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(15 * time.Second))
	return c
}

// plainMsg builds an unsigned SMB2 request with a body of n bytes.
func plainMsg(cmd wire.Command, mid uint64, n int) []byte {
	m := header(cmd, mid, 0, false, 0)
	body := make([]byte, n)
	rand.Read(body)
	return append(m, body...)
}

// TestProxyFraming sends a mix of frames, some split into tiny writes and
// some coalesced into one write, and checks that both peers receive exactly
// the bytes sent and that the tap records every unit with the right kind,
// compound index and direction.
func TestProxyFraming(t *testing.T) {
	srv := startFake(t, echoHandler)
	tap := Start(t, Config{Target: srv.addr()})
	c := dial(t, tap.Addr())

	smb1 := tcpFrame(append([]byte{0xFF, 'S', 'M', 'B', 0x72}, make([]byte, 30)...))
	neg := compoundFrame(part{msg: negotiateRequest(0, 1, []uint16{0x0202, 0x0311}, []wire.NegContext{preauthCtx()})})
	compound := compoundFrame(part{msg: plainMsg(wire.CmdCreate, 1, 57)}, part{msg: plainMsg(wire.CmdRead, 2, 49)},
		part{msg: plainMsg(wire.CmdClose, 3, 24)})
	big := compoundFrame(part{msg: plainMsg(wire.CmdWrite, 4, 1<<20)})
	keepalive := []byte{0x85, 0, 0, 0}
	transform := tcpFrame(append([]byte{0xFD, 'S', 'M', 'B'}, make([]byte, 100)...))
	binary.LittleEndian.PutUint64(transform[4+44:], 0x1122)
	garbage := tcpFrame([]byte("GET / HTTP/1.0\r\n\r\n"))
	frames := [][]byte{smb1, neg, compound, big, keepalive, transform, garbage}

	var sent []byte
	// smb1 and neg byte by byte, the rest coalesced into one write.
	for _, f := range frames[:2] {
		for i := range f {
			if _, err := c.Write(f[i : i+1]); err != nil {
				t.Fatal(err)
			}
		}
		sent = append(sent, f...)
	}
	var rest []byte
	for _, f := range frames[2:] {
		rest = append(rest, f...)
	}
	if _, err := c.Write(rest); err != nil {
		t.Fatal(err)
	}
	sent = append(sent, rest...)

	var want []byte
	for _, f := range frames {
		want = append(want, echoFrame(f)...)
	}
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("client did not receive the echoed frames intact")
	}
	if r := srv.received(0); !bytes.Equal(r, sent) {
		t.Fatalf("server received %d bytes, want %d identical", len(r), len(sent))
	}

	type rec struct {
		dir         Direction
		frame, idx  int
		kind        Kind
		cmd         wire.Command
		size        int
		sessionID   uint64
		noteContain string
	}
	var wantRecs []rec
	for _, d := range []Direction{ClientToServer, ServerToClient} {
		wantRecs = append(wantRecs,
			rec{d, 1, 0, KindSMB1, 0, len(smb1) - 4, 0, "SMB1 NEGOTIATE"},
			rec{d, 2, 0, KindSMB2, wire.CmdNegotiate, len(neg) - 4, 0, ""},
			rec{d, 3, 0, KindSMB2, wire.CmdCreate, 64 + 64, 0, ""}, // 57 padded to 64
			rec{d, 3, 1, KindSMB2, wire.CmdRead, 64 + 56, 0, ""},
			rec{d, 3, 2, KindSMB2, wire.CmdClose, 64 + 24, 0, ""},
			rec{d, 4, 0, KindSMB2, wire.CmdWrite, 64 + 1<<20, 0, ""},
			rec{d, 5, 0, KindNetBIOS, 0, 4, 0, "type 0x85"},
			rec{d, 6, 0, KindEncrypted, 0, 104, 0x1122, ""},
			rec{d, 7, 0, KindMalformed, 0, len(garbage) - 4, 0, "unknown protocol id"},
		)
	}
	msgs := tap.Messages()
	perDir := map[Direction][]Message{}
	for _, m := range msgs {
		perDir[m.Dir] = append(perDir[m.Dir], m)
	}
	for _, d := range []Direction{ClientToServer, ServerToClient} {
		if len(perDir[d]) != len(wantRecs)/2 {
			t.Fatalf("%s: %d records, want %d:\n%s", d, len(perDir[d]), len(wantRecs)/2, tap.Transcript())
		}
	}
	for i, w := range wantRecs {
		m := perDir[w.dir][i%(len(wantRecs)/2)]
		if m.Conn != 1 || m.Frame != w.frame || m.Index != w.idx || m.Kind != w.kind || m.Size != w.size ||
			m.Kind == KindSMB2 && m.Cmd != w.cmd || m.SessionID != w.sessionID || !strings.Contains(m.Note, w.noteContain) ||
			len(m.Raw) != m.Size {
			t.Errorf("record %d: %s, want %+v", i, &m, w)
		}
		if w.dir == ServerToClient && m.Kind == KindSMB2 && m.Flags&wire.FlagServerToRedir == 0 {
			t.Errorf("response without SERVER_TO_REDIR: %s", &m)
		}
	}
	rep := tap.Report()
	// The echoed NEGOTIATE request is no valid NEGOTIATE response: noted.
	if c := rep.Conns[0]; !c.SMB1Negotiate || c.Kinds[KindSMB2] != 10 || c.Kinds[KindEncrypted] != 2 ||
		c.ServerAddr != srv.addr() || c.ClientAddr == "" || len(c.Errors) != 1 || !strings.Contains(c.Errors[0], "NEGOTIATE response") {
		t.Errorf("%+v", c)
	}
	if v := rep.Verdict(); v != "no session traffic (2 encrypted frames not checked)" {
		t.Errorf("verdict %q", v)
	}
}

// scriptedServer replays the server frames of a recorded exchange: after
// each client frame it has read, it writes the server frames that follow
// that frame in the script.
func scriptedServer(t testing.TB, script []scriptFrame) *fakeServer {
	return startFake(t, func(c net.Conn, r *bufio.Reader) {
		i := 0
		for i < len(script) {
			if script[i].dir == ClientToServer {
				if _, err := ReadFrame(r); err != nil {
					return
				}
				i++
				continue
			}
			if _, err := c.Write(script[i].frame); err != nil {
				return
			}
			i++
		}
		io.Copy(io.Discard, r)
	})
}

// recordExchange runs a signed 3.1.1 GMAC session with the simulator and
// returns its frames.
func recordExchange(t testing.TB) []scriptFrame {
	s := newSim(t, newTestTap(t, simPassword))
	s.negotiate(negOpts{dialect: wire.Dialect311, serverSecMode: wire.SigningRequired, signingOffer: []uint16{2, 1}, signingChoice: 2})
	ss := s.setup(setupOpts{sid: 0x0000400000000011})
	for _, cmd := range []wire.Command{wire.CmdTreeConnect, wire.CmdCreate, wire.CmdWrite, wire.CmdClose} {
		s.roundTrip(ss, cmd, true, true)
	}
	return s.script
}

// runScriptClient plays the client side of a script through addr and
// returns the server frames it received.
func runScriptClient(t testing.TB, addr string, script []scriptFrame) [][]byte {
	c := dial(t, addr)
	r := bufio.NewReader(c)
	var got [][]byte
	for _, f := range script {
		if f.dir == ClientToServer {
			if _, err := c.Write(f.frame); err != nil {
				t.Fatal(err)
			}
			continue
		}
		fr, err := ReadFrame(r)
		if err != nil {
			t.Fatalf("reading server frame: %v", err)
		}
		got = append(got, fr)
	}
	return got
}

// TestProxySignedExchange replays a complete signed 3.1.1 session (built by
// the simulator with the repo's NTLM, SPNEGO and signers) through the real
// TCP proxy: the verdict is "signed". With Mutate corrupting one request
// and stripping the signature of one response, the tap reports exactly
// those two, the peers receive the mutated bytes, and the verdict is mixed.
func TestProxySignedExchange(t *testing.T) {
	script := recordExchange(t)

	t.Run("untouched", func(t *testing.T) {
		srv := scriptedServer(t, script)
		tap := Start(t, Config{Target: srv.addr(), Password: simPassword})
		got := runScriptClient(t, tap.Addr(), script)
		k := 0
		for _, f := range script {
			if f.dir == ServerToClient {
				if !bytes.Equal(got[k], f.frame) {
					t.Errorf("server frame %d altered", k)
				}
				k++
			}
		}
		rep := tap.Report()
		if v := rep.Verdict(); v != "signed" {
			t.Fatalf("verdict %q\n%s\n%s", v, rep, tap.Transcript())
		}
		if rep.Requests().Valid != 4 || rep.Responses().Valid != 4 || rep.Sessions()[0].SetupSig != Valid {
			t.Errorf("%s", rep)
		}
	})

	t.Run("mutated", func(t *testing.T) {
		srv := scriptedServer(t, script)
		var mu sync.Mutex
		seen := map[string]MsgInfo{}
		tap := Start(t, Config{Target: srv.addr(), Password: simPassword, MaxRaw: 64,
			Mutate: func(dir Direction, msg []byte, info MsgInfo) []byte {
				mu.Lock()
				seen[fmt.Sprintf("%s %s", dir, info.Header.Command)] = info
				mu.Unlock()
				switch {
				case dir == ClientToServer && info.Header.Command == wire.CmdCreate:
					return Corrupt(msg, len(msg)-1)
				case dir == ServerToClient && info.Header.Command == wire.CmdWrite:
					return StripSignature(msg)
				}
				return nil
			}})
		got := runScriptClient(t, tap.Addr(), script)
		var bad []Message
		for _, m := range tap.Messages() {
			if m.Mutated {
				bad = append(bad, m)
				if len(m.Raw) != 64 || len(m.Original) != 64 || m.Size <= 64 {
					t.Errorf("MaxRaw not applied: %d %d %d", len(m.Raw), len(m.Original), m.Size)
				}
			}
		}
		if len(bad) != 2 || bad[0].Cmd != wire.CmdCreate || bad[0].SigValid != Invalid ||
			bad[1].Cmd != wire.CmdWrite || bad[1].Signed || bad[1].Class != ClassCounted {
			t.Fatalf("mutated messages: %v", bad)
		}
		// The client received the stripped WRITE response.
		var write []byte
		for _, f := range got {
			if h, err := wire.ParseHeader(f[4:]); err == nil && h.Command == wire.CmdWrite {
				write = f
			}
		}
		if write == nil || wire.Flags(write[4:])&wire.FlagSigned != 0 {
			t.Error("client did not receive the unsigned WRITE response")
		}
		// The server received the corrupted CREATE.
		if r := srv.received(0); !bytes.Contains(r, bad[0].Raw) {
			t.Error("server did not receive the mutated CREATE header")
		}
		v := tap.Report().Verdict()
		if !strings.HasPrefix(v, "mixed: requests 3 valid, 1 invalid, 0 no-key, 0 unsigned; responses 3 valid, 0 invalid, 0 no-key, 1 unsigned") {
			t.Errorf("verdict %q", v)
		}
		if info := seen["C->S SESSION_SETUP"]; info.Conn != 1 || info.Count != 1 || info.Frame < 2 {
			t.Errorf("MsgInfo %+v", info)
		}
	})
}

// TestProxyMutateCompound: dropping and resizing compound elements keeps
// the NextCommand chain consistent; dropping every element forwards nothing.
func TestProxyMutateCompound(t *testing.T) {
	srv := startFake(t, echoHandler)
	tap := Start(t, Config{Target: srv.addr(), Mutate: func(dir Direction, msg []byte, info MsgInfo) []byte {
		if dir != ClientToServer {
			return nil
		}
		switch info.Header.MessageID {
		case 11: // drop the middle element
			return []byte{}
		case 12: // grow the last element
			return append(msg, make([]byte, 100)...)
		case 20: // drop a single-element frame entirely
			return []byte{}
		}
		return nil
	}})
	c := dial(t, tap.Addr())
	frame := compoundFrame(part{msg: plainMsg(wire.CmdCreate, 10, 10)}, part{msg: plainMsg(wire.CmdRead, 11, 10)},
		part{msg: plainMsg(wire.CmdClose, 12, 10)})
	c.Write(compoundFrame(part{msg: plainMsg(wire.CmdEcho, 20, 4)}))
	c.Write(frame)
	echo, err := ReadFrame(bufio.NewReader(c))
	if err != nil {
		t.Fatal(err)
	}
	elems, err := wire.SplitCompound(echo[4:], 8)
	if err != nil || len(elems) != 2 {
		t.Fatalf("forwarded compound: %v, %d elements", err, len(elems))
	}
	h0, _ := wire.ParseHeader(elems[0])
	h1, _ := wire.ParseHeader(elems[1])
	if h0.MessageID != 10 || h0.NextCommand != 80 || h1.MessageID != 12 || h1.NextCommand != 0 || len(elems[1]) != 74+100 {
		t.Errorf("elements %+v %+v len %d", h0, h1, len(elems[1]))
	}
	var dropped, mutated int
	for _, m := range tap.Messages() {
		if m.Dir != ClientToServer {
			continue
		}
		if m.Mutated && m.Size == 0 && m.Note == "dropped by Mutate" && len(m.Original) > 0 {
			dropped++
		} else if m.Mutated {
			mutated++
		}
	}
	if dropped != 2 || mutated != 1 {
		t.Errorf("dropped %d mutated %d\n%s", dropped, mutated, tap.Transcript())
	}
	if r := srv.received(0); bytes.Contains(r, plainMsg(wire.CmdEcho, 20, 0)[:40]) {
		t.Error("dropped ECHO reached the server")
	}
}

// TestProxyHalfClose: the client half-closes after its request; the server
// sees EOF, answers and closes; the client still gets the answer.
func TestProxyHalfClose(t *testing.T) {
	srv := startFake(t, func(c net.Conn, r *bufio.Reader) {
		var frames [][]byte
		for {
			f, err := ReadFrame(r)
			if err != nil {
				break
			}
			frames = append(frames, f)
		}
		for _, f := range frames { // answer only after EOF
			c.Write(echoFrame(f))
		}
	})
	tap := Start(t, Config{Target: srv.addr()})
	c := dial(t, tap.Addr())
	req := compoundFrame(part{msg: plainMsg(wire.CmdEcho, 1, 4)})
	c.Write(req)
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(c)
	if err != nil || !bytes.Equal(got, echoFrame(req)) {
		t.Fatalf("got %d bytes, %v", len(got), err)
	}
	if n := len(tap.Messages()); n != 2 {
		t.Errorf("%d messages", n)
	}
}

// TestProxyTruncatedAndGarbage: a stream that ends inside a frame and
// random bytes are forwarded unchanged and recorded as malformed.
func TestProxyTruncatedAndGarbage(t *testing.T) {
	srv := startFake(t, func(c net.Conn, r *bufio.Reader) { io.Copy(io.Discard, r) })
	tap := Start(t, Config{Target: srv.addr()})

	c := dial(t, tap.Addr())
	partial := append([]byte{0, 0, 0, 100}, []byte("only ten b")...)
	c.Write(partial)
	c.(*net.TCPConn).CloseWrite()
	io.ReadAll(c)

	garbage := make([]byte, 64<<10)
	rand.Read(garbage)
	garbage[0] = 0 // a frame header declaring up to 16 MiB that never completes
	c2 := dial(t, tap.Addr())
	c2.Write(garbage)
	c2.(*net.TCPConn).CloseWrite()
	io.ReadAll(c2)

	waitFor(t, func() bool { return len(srv.received(1)) == len(garbage) && len(srv.received(0)) == len(partial) })
	if !bytes.Equal(srv.received(0), partial) || !bytes.Equal(srv.received(1), garbage) {
		t.Fatal("bytes altered")
	}
	waitFor(t, func() bool { return len(tap.Messages()) == 2 })
	for _, m := range tap.Messages() {
		if m.Kind != KindMalformed || !strings.Contains(m.Note, "stream ended inside a frame") {
			t.Errorf("%s", &m)
		}
	}
}

func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestProxyConcurrent runs many connections at once; each gets its own
// connection number and all traffic is recorded in order per connection.
func TestProxyConcurrent(t *testing.T) {
	srv := startFake(t, echoHandler)
	tap := Start(t, Config{Target: srv.addr()})
	const conns, rounds = 24, 20
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", tap.Addr())
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			r := bufio.NewReader(c)
			for k := 0; k < rounds; k++ {
				req := compoundFrame(part{msg: plainMsg(wire.CmdEcho, uint64(k), 4+k)})
				if _, err := c.Write(req); err != nil {
					errs <- err
					return
				}
				got, err := ReadFrame(r)
				if err != nil || !bytes.Equal(got, echoFrame(req)) {
					errs <- fmt.Errorf("round %d: %v", k, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	next := map[int]map[Direction]uint64{}
	for _, m := range tap.Messages() {
		if next[m.Conn] == nil {
			next[m.Conn] = map[Direction]uint64{}
		}
		if m.MessageID != next[m.Conn][m.Dir] {
			t.Fatalf("conn %d %s: MessageId %d, want %d", m.Conn, m.Dir, m.MessageID, next[m.Conn][m.Dir])
		}
		next[m.Conn][m.Dir]++
	}
	if len(next) != conns || len(tap.Report().Conns) != conns {
		t.Errorf("%d connections recorded", len(next))
	}
}

// TestProxyClose: Close with idle connections returns promptly, closes
// them, stops accepting, and is idempotent; the records stay readable.
func TestProxyClose(t *testing.T) {
	srv := startFake(t, echoHandler)
	tap := Start(t, Config{Target: srv.addr()})
	var cs []net.Conn
	for i := 0; i < 5; i++ {
		c := dial(t, tap.Addr())
		req := compoundFrame(part{msg: plainMsg(wire.CmdEcho, 0, 4)})
		c.Write(req)
		if _, err := ReadFrame(bufio.NewReader(c)); err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	start := time.Now()
	tap.Close()
	tap.Close()
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close took %v", d)
	}
	for _, c := range cs {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		var ne net.Error
		if _, err := c.Read(make([]byte, 1)); err == nil || errors.As(err, &ne) && ne.Timeout() {
			t.Errorf("connection still open after Close: %v", err)
		}
	}
	if c, err := net.DialTimeout("tcp", tap.Addr(), time.Second); err == nil {
		c.Close()
		t.Error("tap still accepting after Close")
	}
	if n := len(tap.Messages()); n != 10 {
		t.Errorf("%d messages after Close", n)
	}
}

// TestProxyDialFailure: when the target is down the client's connection is
// closed and the report says why.
func TestProxyDialFailure(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	target := ln.Addr().String()
	ln.Close()
	tap := Start(t, Config{Target: target})
	c := dial(t, tap.Addr())
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("read succeeded")
	}
	waitFor(t, func() bool {
		r := tap.Report()
		return len(r.Conns) == 1 && len(r.Conns[0].Errors) == 1
	})
	if e := tap.Report().Conns[0].Errors[0]; !strings.HasPrefix(e, "dial "+target) {
		t.Errorf("error %q", e)
	}
}

// TestProxyInject: a Mutate that holds the first ECHO and injects it after
// the second reorders them on the wire; an injected reply reaches the
// client; injected messages are recorded with Frame 0 and the note; and
// Inject on an unknown connection fails.
func TestProxyInject(t *testing.T) {
	srv := startFake(t, echoHandler)
	var self atomic.Pointer[Tap] // Mutate's way to the tap Start returns
	var held []byte
	tap := Start(t, Config{Target: srv.addr(), Mutate: func(dir Direction, msg []byte, info MsgInfo) []byte {
		if dir != ClientToServer || info.Header.Command != wire.CmdEcho {
			return nil
		}
		if held == nil { // only this direction's goroutine touches held
			held = msg
			return []byte{}
		}
		if err := self.Load().Inject(info.Conn, dir, msg); err != nil {
			t.Error(err)
		}
		if err := self.Load().Inject(info.Conn, dir, held); err != nil {
			t.Error(err)
		}
		return []byte{}
	}})
	self.Store(tap)
	c := dial(t, tap.Addr())
	r := bufio.NewReader(c)
	c.Write(compoundFrame(part{msg: plainMsg(wire.CmdEcho, 1, 4)}))
	c.Write(compoundFrame(part{msg: plainMsg(wire.CmdEcho, 2, 4)}))
	var order []uint64
	for range 2 {
		f, err := ReadFrame(r)
		if err != nil {
			t.Fatal(err)
		}
		h, _ := wire.ParseHeader(f[4:])
		order = append(order, h.MessageID)
	}
	if order[0] != 2 || order[1] != 1 {
		t.Fatalf("server answered message ids %v, want [2 1]", order)
	}

	reply := plainMsg(wire.CmdEcho, 99, 4)
	wire.SetFlags(reply, wire.FlagServerToRedir)
	if err := tap.Inject(1, ServerToClient, reply); err != nil {
		t.Fatal(err)
	}
	f, err := ReadFrame(r)
	if err != nil || !bytes.Equal(f[4:], reply) {
		t.Fatalf("injected reply: %v, % x", err, f)
	}
	var injected int
	for _, m := range tap.Messages() {
		if m.Frame == 0 && m.Note == "injected" && m.Kind == KindSMB2 {
			injected++
		}
	}
	if injected != 3 {
		t.Errorf("%d injected messages recorded, want 3\n%s", injected, tap.Transcript())
	}
	if err := tap.Inject(7, ClientToServer, reply); err == nil {
		t.Error("Inject on an unknown connection succeeded")
	}
}
