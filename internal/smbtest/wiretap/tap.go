package wiretap

import (
	"github.com/jcmturner/gokrb5/v8/keytab"

	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signetsmb/signet/auth/ntlm"
	"github.com/signetsmb/signet/internal/wire"
)

// Config configures a Tap.
type Config struct {
	// Target is the server's host:port. Every accepted connection is
	// forwarded to it. Required.
	Target string
	// Password is the password of the user(s) who log on through the tap;
	// the session keys are reconstructed from it.
	Password string
	// Passwords maps user names (matched case-insensitively) to passwords
	// for sessions of several users; Password is tried after the user's
	// entry.
	Passwords map[string]string
	// Keytab, when set, holds the service keys of a server accepting
	// Kerberos: the tap decrypts the ticket of each AP-REQ and the AP-REP
	// to reconstruct the session key (kerberos.go).
	Keytab *keytab.Keytab
	// Mutate, when set, sees every SMB2 message (each compound element on
	// its own; not SMB1, encrypted or compressed frames) before it is
	// forwarded, in both directions. msg is a copy the function may
	// modify. It returns nil to forward the message unchanged, an empty
	// non-nil slice to drop it, or the bytes to send instead. When a
	// replacement changes the length of an element or an element is
	// dropped, the tap rewrites NextCommand in the forwarded elements so
	// the compound chain stays consistent (it does not add padding). The
	// tap records and analyzes what it forwards.
	//
	// Mutate runs on the connection's forwarding goroutines, concurrently
	// for different connections and directions, and must not block for
	// long: the direction stalls meanwhile. It may call the Tap's methods
	// except Close.
	Mutate func(dir Direction, msg []byte, info MsgInfo) []byte
	// MaxRaw, when positive, caps the bytes kept in Message.Raw and
	// Message.Original (Message.Size keeps the full length). Set it for
	// bulk transfers; zero keeps every byte.
	MaxRaw int
	// DialTimeout bounds the connection to Target; zero means 10 s.
	DialTimeout time.Duration
}

// Tap is a recording SMB2 proxy on 127.0.0.1. Its methods are safe for
// concurrent use.
type Tap struct {
	cfg    Config
	ln     net.Listener
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	closed   bool
	live     map[net.Conn]struct{}
	conns    []*connState
	msgs     []Message
	sessions map[uint64]*sharedSession // established through the tap, by SessionId
}

// Start listens on 127.0.0.1:0 and forwards every accepted connection to
// cfg.Target, recording and checking the SMB2 traffic both ways. The tap
// stops when tb's test ends (or on Close). Start fails the test if it
// cannot listen or cfg.Target is empty.
func Start(tb testing.TB, cfg Config) *Tap {
	tb.Helper()
	if cfg.Target == "" {
		tb.Fatal("wiretap: Config.Target is empty")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("wiretap: listen: %v", err)
	}
	t := newTap(cfg)
	t.ln = ln
	t.wg.Add(1)
	go t.acceptLoop()
	tb.Cleanup(t.Close)
	return t
}

// newTap returns a tap without a listener.
func newTap(cfg Config) *Tap {
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 10 * time.Second
	}
	cfg.Passwords = maps.Clone(cfg.Passwords)
	ctx, cancel := context.WithCancel(context.Background())
	return &Tap{
		cfg:      cfg,
		ctx:      ctx,
		cancel:   cancel,
		live:     map[net.Conn]struct{}{},
		sessions: map[uint64]*sharedSession{},
	}
}

// Addr returns the tap's listening address, "127.0.0.1:port".
func (t *Tap) Addr() string {
	if t.ln == nil {
		return ""
	}
	return t.ln.Addr().String()
}

// Port returns the tap's listening port.
func (t *Tap) Port() string {
	_, port, _ := net.SplitHostPort(t.Addr())
	return port
}

// Close stops the tap: it stops accepting, closes every proxied connection
// and waits for its goroutines. Recorded messages stay readable. Close is
// idempotent and is called automatically when the test ends.
func (t *Tap) Close() {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		t.wg.Wait()
		return
	}
	t.closed = true
	live := make([]net.Conn, 0, len(t.live))
	for c := range t.live {
		live = append(live, c)
	}
	t.mu.Unlock()
	t.cancel()
	if t.ln != nil {
		t.ln.Close()
	}
	for _, c := range live {
		c.Close()
	}
	t.wg.Wait()
}

// Messages returns a snapshot of everything recorded so far, in the order
// the tap processed it (which is the wire order within each connection and
// direction). Raw and Original are shared with the tap: do not modify them.
func (t *Tap) Messages() []Message {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Message(nil), t.msgs...)
}

// Transcript returns Messages formatted one per line, for test logs.
func (t *Tap) Transcript() string {
	var b strings.Builder
	for _, m := range t.Messages() {
		b.WriteString(m.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// sessionKey reconstructs ExportedSessionKey for an AUTHENTICATE_MESSAGE,
// trying the user's configured password and then Config.Password.
func (t *Tap) sessionKey(a *ntlmAuth, chal [8]byte) ([]byte, error) {
	var candidates []string
	user := a.userName()
	for u, pw := range t.cfg.Passwords {
		if strings.EqualFold(u, user) {
			candidates = append(candidates, pw)
		}
	}
	candidates = append(candidates, t.cfg.Password)
	for _, pw := range candidates {
		key, err := a.exportedSessionKey(ntlm.NTHash(pw), chal)
		if !errors.Is(err, errWrongPass) {
			return key, err
		}
	}
	return nil, errWrongPass
}

// keep returns the bytes to record for a message: msg itself, or a copy of
// its first MaxRaw bytes (a copy, so the frame buffer is not retained).
func (t *Tap) keep(msg []byte) []byte {
	if t.cfg.MaxRaw > 0 && len(msg) > t.cfg.MaxRaw {
		return append([]byte(nil), msg[:t.cfg.MaxRaw]...)
	}
	return msg
}

// addConn registers a new connection's state.
func (t *Tap) addConn(client string) *connState {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := newConnState(t, len(t.conns)+1)
	c.clientAddr = client
	t.conns = append(t.conns, c)
	return c
}

// track adds a live connection; it reports false (and the caller must
// close c) once the tap is closed.
func (t *Tap) track(c net.Conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.live[c] = struct{}{}
	return true
}

func (t *Tap) untrack(cs ...net.Conn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range cs {
		delete(t.live, c)
	}
}

func (t *Tap) acceptLoop() {
	defer t.wg.Done()
	for {
		c, err := t.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || t.ctx.Err() != nil {
				return
			}
			// Transient (e.g. out of file descriptors): back off briefly.
			select {
			case <-t.ctx.Done():
				return
			case <-time.After(10 * time.Millisecond):
			}
			continue
		}
		t.mu.Lock()
		if t.closed {
			t.mu.Unlock()
			c.Close()
			return
		}
		t.live[c] = struct{}{}
		t.wg.Add(1)
		t.mu.Unlock()
		go t.serve(c)
	}
}

// serve proxies one client connection.
func (t *Tap) serve(client net.Conn) {
	defer t.wg.Done()
	defer client.Close()
	defer t.untrack(client)
	cs := t.addConn(client.RemoteAddr().String())

	d := net.Dialer{Timeout: t.cfg.DialTimeout}
	server, err := d.DialContext(t.ctx, "tcp", t.cfg.Target)
	if err != nil {
		t.mu.Lock()
		cs.errorf("dial %s: %v", t.cfg.Target, err)
		t.mu.Unlock()
		return
	}
	defer server.Close()
	if !t.track(server) {
		return
	}
	defer t.untrack(server)
	t.mu.Lock()
	cs.serverAddr = server.RemoteAddr().String()
	cs.out[ClientToServer] = &writer{c: server}
	cs.out[ServerToClient] = &writer{c: client}
	out := cs.out
	t.mu.Unlock()

	var pumps sync.WaitGroup
	pumps.Add(2)
	go t.pump(cs, ClientToServer, client, out[ClientToServer], &pumps)
	go t.pump(cs, ServerToClient, server, out[ServerToClient], &pumps)
	pumps.Wait()
}

// writer is one direction's way out: the socket the tap writes that
// direction's frames to. mu serialises recording and writing one frame, so
// that the pump and Inject never interleave and the recorded order is the
// wire order. Lock order: writer.mu, then Tap.mu.
type writer struct {
	mu sync.Mutex
	c  net.Conn
}

// pump forwards one direction frame by frame. At end of stream it
// half-closes dst, so the other direction keeps flowing; on an error it
// closes both connections.
func (t *Tap) pump(cs *connState, dir Direction, src net.Conn, dst *writer, done *sync.WaitGroup) {
	defer done.Done()
	r := bufio.NewReaderSize(src, 64<<10)
	for frameNo := 1; ; frameNo++ {
		frame, rerr := ReadFrame(r)
		if len(frame) > 0 {
			units, out := t.prepareFrame(cs, dir, frameNo, frame, rerr != nil)
			if err := t.emit(cs, dir, frameNo, units, out, dst); err != nil {
				t.connError(cs, dir, "write: %v", err)
				src.Close()
				dst.c.Close()
				return
			}
		}
		switch {
		case rerr == nil:
			continue
		case errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF):
			closeWrite(dst.c)
		default:
			if t.ctx.Err() == nil && !errors.Is(rerr, net.ErrClosed) {
				t.connError(cs, dir, "read: %v", rerr)
			}
			src.Close()
			dst.c.Close()
		}
		return
	}
}

func (t *Tap) connError(cs *connState, dir Direction, format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	cs.errorf("%s %s", dir, fmt.Sprintf(format, args...))
}

// closeWrite half-closes c when it supports it, else closes it.
func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
		return
	}
	c.Close()
}

// ReadFrame reads one transport frame: the 4-byte header (type byte and
// 24-bit big-endian length, which also covers NetBIOS session-service
// frames) and its payload. At a clean end of stream it returns io.EOF and
// no bytes; if the stream ends inside a frame it returns what it read and
// io.ErrUnexpectedEOF. Large frames are buffered as their bytes arrive, so
// a bogus length costs no more memory than the data actually sent.
func ReadFrame(r *bufio.Reader) ([]byte, error) {
	var hdr [4]byte
	n, err := io.ReadFull(r, hdr[:])
	if err != nil {
		return append([]byte(nil), hdr[:n]...), err
	}
	size := int(hdr[1])<<16 | int(hdr[2])<<8 | int(hdr[3])
	if size <= eagerFrameSize {
		frame := make([]byte, 4+size)
		copy(frame, hdr[:])
		n, err = io.ReadFull(r, frame[4:])
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return frame[:4+n], err
	}
	buf := bytes.NewBuffer(make([]byte, 0, 4+eagerFrameSize))
	buf.Write(hdr[:])
	if m, err := io.CopyN(buf, r, int64(size)); err != nil || m != int64(size) {
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return buf.Bytes(), err
	}
	return buf.Bytes(), nil
}

// eagerFrameSize is the largest frame ReadFrame allocates in one piece.
const eagerFrameSize = 1 << 20

// handleFrame runs Mutate over the SMB2 elements of a frame (outside the
// lock), then records and analyzes what will be forwarded. It returns the
// bytes to forward.
func (t *Tap) handleFrame(cs *connState, dir Direction, frameNo int, frame []byte, truncated bool) []byte {
	units, out := t.prepareFrame(cs, dir, frameNo, frame, truncated)
	t.record(cs, dir, frameNo, units)
	return out
}

// prepareFrame splits a frame and runs Mutate over its SMB2 elements. It
// returns the units to record and the bytes to forward (none when every
// element was dropped). It holds no lock, so Mutate may call Inject.
func (t *Tap) prepareFrame(cs *connState, dir Direction, frameNo int, frame []byte, truncated bool) ([]unit, []byte) {
	units := splitFrame(frame, truncated)
	out := frame
	if t.cfg.Mutate != nil && len(units) > 0 && units[0].kind == KindSMB2 {
		out = t.mutate(cs.id, dir, frameNo, frame, units)
	}
	return units, out
}

// record analyzes and records the units of one frame.
func (t *Tap) record(cs *connState, dir Direction, frameNo int, units []unit) {
	t.mu.Lock()
	defer t.mu.Unlock()
	cs.analyze(dir, frameNo, units)
}

// emit records a frame's units and writes out (if any) to dst, as one step
// under dst.mu.
func (t *Tap) emit(cs *connState, dir Direction, frameNo int, units []unit, out []byte, dst *writer) error {
	dst.mu.Lock()
	defer dst.mu.Unlock()
	t.record(cs, dir, frameNo, units)
	if len(out) == 0 {
		return nil
	}
	_, err := dst.c.Write(out)
	return err
}

// Inject sends msg, one SMB2 message or compound without the transport
// header, on the tap's connection conn (Message.Conn) as if its sender in
// dir had sent it: to the server for ClientToServer, to the client for
// ServerToClient. It goes out as one frame between the frames the tap
// forwards in that direction, Mutate does not see it, and it is recorded
// with Frame 0 and the note "injected". Tests replay a captured message
// with it, or reorder messages by dropping them in Mutate and injecting
// them later. Inject may be called from Mutate (it then writes before the
// frame being mutated); it blocks while that direction is being written.
// It fails when conn is unknown or not yet connected to the server, and
// when the write fails.
func (t *Tap) Inject(conn int, dir Direction, msg []byte) error {
	if len(msg) > 0xFFFFFF {
		return fmt.Errorf("wiretap: Inject: %d bytes cannot be framed", len(msg))
	}
	var cs *connState
	var dst *writer
	t.mu.Lock()
	if conn >= 1 && conn <= len(t.conns) && (dir == ClientToServer || dir == ServerToClient) {
		cs = t.conns[conn-1]
		dst = cs.out[dir]
	}
	t.mu.Unlock()
	if dst == nil {
		return fmt.Errorf("wiretap: Inject: connection %d has no %s path", conn, dir)
	}
	frame := make([]byte, 4, 4+len(msg))
	frame[1], frame[2], frame[3] = byte(len(msg)>>16), byte(len(msg)>>8), byte(len(msg))
	frame = append(frame, msg...)
	units := splitFrame(frame, false)
	for i := range units {
		units[i].note = joinNote(units[i].note, "injected")
	}
	return t.emit(cs, dir, 0, units, frame, dst)
}

// mutate applies Config.Mutate to every element and rebuilds the frame if
// anything changed. units is updated to describe what is forwarded.
func (t *Tap) mutate(conn int, dir Direction, frameNo int, frame []byte, units []unit) []byte {
	changed, resized := false, false
	for i := range units {
		u := &units[i]
		info := MsgInfo{Conn: conn, Frame: frameNo, Index: i, Count: len(units), Header: u.hdr}
		r := t.cfg.Mutate(dir, append([]byte(nil), u.msg...), info)
		switch {
		case r == nil:
			continue
		case len(r) == 0:
			u.orig, u.msg, u.mutated, u.dropped = u.msg, nil, true, true
			changed, resized = true, true
		default:
			resized = resized || len(r) != len(u.msg)
			u.orig, u.msg, u.mutated = u.msg, r, true
			changed = true
		}
	}
	if !changed {
		return frame
	}
	var kept []int
	total := 0
	for i := range units {
		if !units[i].dropped {
			kept = append(kept, i)
			total += len(units[i].msg)
		}
	}
	if len(kept) == 0 {
		return nil
	}
	if total > 0xFFFFFF {
		// Cannot be framed; forward the original and say so.
		for i := range units {
			u := &units[i]
			if u.mutated {
				u.msg, u.orig, u.mutated, u.dropped = u.orig, nil, false, false
				u.note = joinNote(u.note, "Mutate result too large to frame; original forwarded")
			}
		}
		return frame
	}
	out := make([]byte, 4, 4+total)
	out[1], out[2], out[3] = byte(total>>16), byte(total>>8), byte(total)
	for k, i := range kept {
		u := &units[i]
		if resized && len(u.msg) >= wire.HeaderSize {
			next := uint32(0)
			if k < len(kept)-1 {
				next = uint32(len(u.msg))
			}
			if binary.LittleEndian.Uint32(u.msg[20:]) != next {
				u.msg = append([]byte(nil), u.msg...)
				wire.SetNextCommand(u.msg, next)
			}
		}
		start := len(out)
		out = append(out, u.msg...)
		u.msg = out[start:len(out):len(out)]
	}
	return out
}
