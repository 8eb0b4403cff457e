package mitm

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/signetsmb/signet/auth"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signetsmb/signet/auth/userdb"
	"github.com/signetsmb/signet/client"
	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/smbtest/wiretap"
	"github.com/signetsmb/signet/internal/wire"
	"github.com/signetsmb/signet/server"
	"github.com/signetsmb/signet/vfs/localfs"
)

// Accounts of the test server: the victim and another valid user.
const (
	victimUser, victimPass   = "alice", "alice-pw"
	malloryUser, malloryPass = "mallory", "mallory-pw"
)

// opTimeout bounds every network step, so that a broken protection fails a
// test instead of hanging it.
const opTimeout = 10 * time.Second

type userTable map[string][16]byte

func (u userTable) Lookup(name string) (auth.Account, bool) {
	id := auth.FoldName(name)
	for n, h := range u {
		if auth.FoldName(n) == id {
			return auth.Account{ID: id, Name: n, NTHash: h}, true
		}
	}
	return auth.Account{}, false
}

// env is a running Signet server with one disk share, "share", on a
// temporary directory, and a copy of everything it logs.
type env struct {
	t    *testing.T
	dir  string // the share's root on disk
	addr string // the server's host:port
	srv  *server.Server
	log  *logBuffer
}

// newEnv starts a server; requireSigning is Settings.RequireSigning. The
// server stops when the test ends.
func newEnv(t *testing.T, requireSigning bool) *env {
	t.Helper()
	dir := t.TempDir()
	fsys, err := localfs.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	st := &server.Settings{RequireSigning: requireSigning, MinDialect: wire.Dialect202, MaxDialect: wire.Dialect311,
		ServerName: "SIGNET", Domain: "WORKGROUP", Shares: []*server.Share{{Name: "share", FS: fsys}}}
	lb := &logBuffer{}
	srv, err := server.New(server.Options{
		Settings: func() *server.Settings { return st },
		Users:    userTable{victimUser: userdb.NTHash(victimPass), malloryUser: userdb.NTHash(malloryPass)},
		Logger:   slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		srv.Serve(l)
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		srv.Shutdown(ctx)
		<-served
		fsys.Close()
		if t.Failed() {
			t.Logf("server log:\n%s", lb.String())
		}
	})
	return &env{t: t, dir: dir, addr: l.Addr().String(), srv: srv, log: lb}
}

// logBuffer collects the server's log lines; safe for concurrent use.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitLog waits until the server has logged a line containing every one of
// parts, and reports whether it did within opTimeout.
func (e *env) waitLog(parts ...string) bool {
	deadline := time.Now().Add(opTimeout)
	for {
		for _, line := range strings.Split(e.log.String(), "\n") {
			if containsAll(line, parts) {
				return true
			}
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// countLog counts the logged lines that contain every one of parts.
func (e *env) countLog(parts ...string) int {
	n := 0
	for _, line := range strings.Split(e.log.String(), "\n") {
		if containsAll(line, parts) {
			n++
		}
	}
	return n
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// victim returns the Dialer of the victim: signing required, as callers
// should set it; no durable handles, so that a connection the server
// drops stays dropped instead of being replaced by a reconnect.
func victim() *client.Dialer {
	return &client.Dialer{User: victimUser, Password: victimPass, RequireSigning: true, Timeout: opTimeout, NoDurable: true}
}

// dial logs on to addr with d; the session ends with the test.
func (e *env) dial(addr string, d *client.Dialer) (*client.Session, error) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	s, err := d.Dial(ctx, addr)
	if err == nil {
		e.t.Cleanup(func() { s.Close() })
	}
	return s, err
}

// mount logs on to addr with d and mounts "share", failing the test on
// error.
func (e *env) mount(addr string, d *client.Dialer) (*client.Session, *client.Share) {
	e.t.Helper()
	s, err := e.dial(addr, d)
	if err != nil {
		e.t.Fatalf("logon: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	sh, err := s.Mount(ctx, "share")
	if err != nil {
		e.t.Fatalf("mount: %v", err)
	}
	return s, sh
}

// tap starts a proxy to the server running mutate (nil forwards
// everything) and returns it.
func (e *env) tap(mutate func(wiretap.Direction, []byte, wiretap.MsgInfo) []byte) *wiretap.Tap {
	return wiretap.Start(e.t, wiretap.Config{Target: e.addr, Password: victimPass, Mutate: mutate,
		Passwords: map[string]string{malloryUser: malloryPass}})
}

// putFile writes a file straight into the share's directory.
func (e *env) putFile(name string, data []byte) {
	e.t.Helper()
	if err := os.WriteFile(filepath.Join(e.dir, name), data, 0o644); err != nil {
		e.t.Fatal(err)
	}
}

// onDisk reads a file straight from the share's directory.
func (e *env) onDisk(name string) []byte {
	e.t.Helper()
	b, err := os.ReadFile(filepath.Join(e.dir, name))
	if err != nil {
		e.t.Fatalf("reading %s from disk: %v", name, err)
	}
	return b
}

// existsOnDisk reports whether name exists in the share's directory.
func (e *env) existsOnDisk(name string) bool {
	_, err := os.Stat(filepath.Join(e.dir, name))
	return err == nil
}

// stillServes checks that the server serves a fresh session, on a new
// connection that no one tampers with: logon, write, read back, remove.
func (e *env) stillServes() {
	e.t.Helper()
	s, sh := e.mount(e.addr, victim())
	defer s.Close()
	name := fmt.Sprintf("fresh-%d.txt", time.Now().UnixNano())
	want := []byte("the server still serves " + name)
	if err := writeAll(sh, name, want); err != nil {
		e.t.Fatalf("fresh session: write: %v", err)
	}
	got, err := sh.ReadFile(name)
	if err != nil || !bytes.Equal(got, want) {
		e.t.Fatalf("fresh session: read back %q, %v", got, err)
	}
	if !bytes.Equal(e.onDisk(name), want) {
		e.t.Fatal("fresh session: file on disk differs")
	}
	if err := sh.Remove(name); err != nil {
		e.t.Fatalf("fresh session: remove: %v", err)
	}
}

// writeAll creates name on the share with data.
func writeAll(sh *client.Share, name string, data []byte) error {
	f, err := sh.Create(name)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// statusOf returns the NTSTATUS err carries, or 0.
func statusOf(err error) ntstatus.Status {
	var st ntstatus.Status
	if errors.As(err, &st) {
		return st
	}
	return 0
}

// trap edits one message: once armed, the next message going dir with
// command cmd (and, when match is set, for which match is true) is
// replaced by edit's result; then the trap disarms itself. Mutate is its
// wiretap hook.
type trap struct {
	dir   wiretap.Direction
	cmd   wire.Command
	match func(msg []byte, info wiretap.MsgInfo) bool
	edit  func(msg []byte) []byte
	armed atomic.Bool
	hits  atomic.Int32
	skip  atomic.Int32 // matching messages to let through before editing
}

func (tr *trap) arm() { tr.armed.Store(true) }

func (tr *trap) mutate(dir wiretap.Direction, msg []byte, info wiretap.MsgInfo) []byte {
	if dir != tr.dir || info.Header.Command != tr.cmd || !tr.armed.Load() {
		return nil
	}
	if tr.match != nil && !tr.match(msg, info) {
		return nil
	}
	if tr.skip.Add(-1) >= 0 {
		return nil
	}
	if !tr.armed.CompareAndSwap(true, false) {
		return nil
	}
	tr.hits.Add(1)
	return tr.edit(msg)
}

// find returns the recorded messages going dir with command cmd.
func find(tap *wiretap.Tap, dir wiretap.Direction, cmd wire.Command) []wiretap.Message {
	var out []wiretap.Message
	for _, m := range tap.Messages() {
		if m.Kind == wiretap.KindSMB2 && m.Dir == dir && m.Cmd == cmd {
			out = append(out, m)
		}
	}
	return out
}

// rawConn is an attacker's own SMB2 connection: it sends whatever bytes it
// likes and reads the answers.
type rawConn struct {
	t  *testing.T
	nc net.Conn
	r  *bufio.Reader
}

// dialRaw connects to addr; the connection closes when the test ends.
func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, opTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(opTimeout))
	return &rawConn{t: t, nc: nc, r: bufio.NewReader(nc)}
}

// send writes msg as one transport frame.
func (c *rawConn) send(msg []byte) error {
	frame := make([]byte, 4, 4+len(msg))
	frame[1], frame[2], frame[3] = byte(len(msg)>>16), byte(len(msg)>>8), byte(len(msg))
	_, err := c.nc.Write(append(frame, msg...))
	return err
}

// recv reads the next message (a lone message, not a compound).
func (c *rawConn) recv() (wire.Header, []byte, error) {
	frame, err := wiretap.ReadFrame(c.r)
	if err != nil {
		return wire.Header{}, nil, err
	}
	h, err := wire.ParseHeader(frame[4:])
	return h, frame[4:], err
}

// roundTrip sends msg and returns the answer's header.
func (c *rawConn) roundTrip(msg []byte) (wire.Header, error) {
	if err := c.send(msg); err != nil {
		return wire.Header{}, err
	}
	h, _, err := c.recv()
	return h, err
}

// closed reports whether the server closed the connection: the next read
// ends with EOF or a reset rather than data or a timeout.
func (c *rawConn) closed() bool {
	c.nc.SetReadDeadline(time.Now().Add(opTimeout))
	_, err := c.r.ReadByte()
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

// negotiate sends a NEGOTIATE request (a victim's, copied from the wire:
// it is never signed) asking for credits, and checks the answer.
func (c *rawConn) negotiate(negReq []byte, credits uint16) wire.Header {
	c.t.Helper()
	msg := append([]byte(nil), negReq...)
	wire.SetCredits(msg, credits)
	h, err := c.roundTrip(msg)
	if err != nil || h.Status != uint32(ntstatus.Success) || h.Command != wire.CmdNegotiate {
		c.t.Fatalf("attacker's NEGOTIATE: %v, %+v", err, h)
	}
	return h
}

// forged is a request an attacker builds: header fields of its choice and
// a body appended by body (whose offsets count from the header).
type forged struct {
	cmd  wire.Command
	sid  uint64
	tid  uint32
	sign bool // set SMB2_FLAGS_SIGNED with a signature of garbage
	body func(msg []byte) []byte
}

// build returns the request with MessageId mid.
func (f *forged) build(mid uint64) []byte {
	h := wire.Header{Command: f.cmd, MessageID: mid, SessionID: f.sid, TreeID: f.tid, Credits: 1, CreditCharge: 1}
	if f.sign {
		h.Flags = wire.FlagSigned
		copy(h.Signature[:], bytes.Repeat([]byte{0x5A}, 16))
	}
	return f.body(wire.AppendHeader(nil, &h))
}
