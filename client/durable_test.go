package client_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signetsmb/signet/client"
	"github.com/signetsmb/signet/server"
	"github.com/signetsmb/signet/vfs"
	"github.com/signetsmb/signet/vfs/memfs"
)

// startServer runs an in-memory Signet server requiring signing, with
// leases and durable handles (always on), until the test ends.
func startServer(t testing.TB) string {
	t.Helper()
	return startServerFS(t, memfs.New(memfs.Options{}))
}

// startServerFS is startServer with the share served from fsys.
func startServerFS(t testing.TB, fsys vfs.FS) string {
	t.Helper()
	st := &server.Settings{RequireSigning: true, MinDialect: 0x0202, MaxDialect: 0x0311,
		ServerName: "TEST", Domain: "WORKGROUP",
		Shares: []*server.Share{{Name: "share", FS: fsys}}}
	srv, err := server.New(server.Options{Settings: func() *server.Settings { return st }, Users: oneUser{},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { srv.Serve(l) })
	t.Cleanup(func() { srv.Shutdown(context.Background()); wg.Wait() })
	return l.Addr().String()
}

// cutter is a TCP proxy whose connections the test can cut (both sides
// closed, as a reset or a dead link looks to the client).
type cutter struct {
	l      net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	wg     sync.WaitGroup
	cuts   atomic.Int32
	accept atomic.Int32
	// replays counts WRITE requests with SMB2_FLAGS_REPLAY_OPERATION and
	// a non-zero ChannelSequence, seen from the client (plain SMB2
	// frames only).
	replays atomic.Int32
	// reads counts READ requests seen from the client (plain SMB2
	// frames only).
	reads atomic.Int32
}

func newCutter(t testing.TB, target string) *cutter {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &cutter{l: l, target: target}
	c.wg.Go(c.loop)
	t.Cleanup(func() { l.Close(); c.cut(); c.wg.Wait() })
	return c
}

func (c *cutter) addr() string { return c.l.Addr().String() }

func (c *cutter) loop() {
	for {
		down, err := c.l.Accept()
		if err != nil {
			return
		}
		c.accept.Add(1)
		up, err := net.Dial("tcp", c.target)
		if err != nil {
			down.Close()
			continue
		}
		c.mu.Lock()
		c.conns = append(c.conns, down, up)
		c.mu.Unlock()
		c.wg.Go(func() { c.watch(up, down); up.Close() })
		c.wg.Go(func() { io.Copy(down, up); down.Close() })
	}
}

// watch copies client frames to the server, counting replayed WRITEs.
func (c *cutter) watch(up io.Writer, down io.Reader) {
	var hdr [4]byte
	for {
		if _, err := io.ReadFull(down, hdr[:]); err != nil {
			return
		}
		n := int(hdr[1])<<16 | int(hdr[2])<<8 | int(hdr[3])
		msg := make([]byte, n)
		if _, err := io.ReadFull(down, msg); err != nil {
			return
		}
		if n >= 64 && string(msg[:4]) == "\xfeSMB" && binary.LittleEndian.Uint16(msg[12:]) == 9 &&
			binary.LittleEndian.Uint32(msg[16:])&0x20000000 != 0 && binary.LittleEndian.Uint16(msg[8:]) != 0 {
			c.replays.Add(1)
		}
		if n >= 64 && string(msg[:4]) == "\xfeSMB" && binary.LittleEndian.Uint16(msg[12:]) == 8 {
			c.reads.Add(1)
		}
		if _, err := up.Write(append(hdr[:], msg...)); err != nil {
			return
		}
	}
}

// cut closes every proxied connection.
func (c *cutter) cut() {
	c.mu.Lock()
	conns := c.conns
	c.conns = nil
	c.mu.Unlock()
	for _, nc := range conns {
		nc.Close()
	}
	c.cuts.Add(1)
}

// cutAfter is a reader that cuts the proxy once n bytes were read.
type cutAfter struct {
	r    io.Reader
	n    int64
	read int64
	once sync.Once
	cut  func()
}

func (c *cutAfter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read += int64(n)
	if c.read >= c.n {
		c.once.Do(c.cut)
	}
	return n, err
}

func dialer(d uint16) *client.Dialer {
	return &client.Dialer{User: "bob", Password: "pw", RequireSigning: true, MinDialect: d, MaxDialect: d,
		IOSize: 256 << 10, Timeout: 60 * time.Second}
}

func mount(t testing.TB, d *client.Dialer, addr string) (*client.Session, *client.Share) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := d.Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	sh, err := s.Mount(ctx, "share")
	if err != nil {
		t.Fatal(err)
	}
	return s, sh
}

// TestLeaseAndDurableGranted: on 3.x a file opened for writing gets a
// v2 RWH lease and a durable handle, one opened for reading RH; on 2.1
// the same with v1; on 2.0.2 (no leasing) nothing; NoLeases asks none.
func TestLeaseAndDurableGranted(t *testing.T) {
	addr := startServer(t)
	for _, tc := range []struct {
		dialect  uint16
		noLeases bool
		want     bool
	}{{0x0311, false, true}, {0x0300, false, true}, {0x0210, false, true}, {0x0202, false, false}, {0x0311, true, false}} {
		d := dialer(tc.dialect)
		d.NoLeases = tc.noLeases
		_, sh := mount(t, d, addr)
		f, err := sh.Create("g.bin")
		if err != nil {
			t.Fatal(err)
		}
		l := f.Lease()
		if l.Leased != tc.want || l.Durable != tc.want {
			t.Fatalf("dialect %x noLeases %v: lease %+v", tc.dialect, tc.noLeases, l)
		}
		if tc.want && l.State != client.LeaseRead|client.LeaseHandle|client.LeaseWrite {
			t.Fatalf("dialect %x: write open got state %x, want RWH", tc.dialect, l.State)
		}
		f.Close()
		g, err := sh.Open("g.bin")
		if err != nil {
			t.Fatal(err)
		}
		if l := g.(*client.File).Lease(); tc.want && l.State != client.LeaseRead|client.LeaseHandle {
			t.Fatalf("dialect %x: read open got state %x, want RH", tc.dialect, l.State)
		}
		g.Close()
	}
}

// TestReconnectMidUpload cuts the TCP connection in the middle of a large
// ReadFrom: the client reconnects (PreviousSessionId), reclaims the
// durable handle and replays the WRITEs in flight; the file is complete
// and its SHA-256 matches, on 3.1.1, 3.0 and 2.1.
func TestReconnectMidUpload(t *testing.T) {
	addr := startServer(t)
	data := make([]byte, 24<<20)
	rand.Read(data)
	want := sha256.Sum256(data)
	for _, dialect := range []uint16{0x0311, 0x0300, 0x0210} {
		// The WRITEs in flight at the cut go again with REPLAY_OPERATION
		// and the raised ChannelSequence (3.x only). When the server has
		// answered every WRITE sent before the cut there is nothing to
		// replay: the case was not produced, and is tried again.
		for attempt := 1; ; attempt++ {
			r := uploadAcrossCut(t, addr, dialect, data, want)
			if (dialect >= 0x0300) == (r > 0) {
				t.Logf("dialect %x: %d WRITEs replayed", dialect, r)
				break
			}
			if dialect < 0x0300 || attempt == 3 {
				t.Fatalf("dialect %x: %d replayed WRITEs (attempt %d)", dialect, r, attempt)
			}
			t.Logf("dialect %x: no WRITE in flight at the cut; again", dialect)
		}
	}
}

// uploadAcrossCut uploads data through a proxy that cuts the connection
// halfway, checks the reconnect, the reclaim and the file, and returns
// how many WRITEs went again as replays.
func uploadAcrossCut(t *testing.T, addr string, dialect uint16, data []byte, want [32]byte) int32 {
	t.Helper()
	px := newCutter(t, addr)
	s, sh := mount(t, dialer(dialect), px.addr())
	f, err := sh.Create("up.bin")
	if err != nil {
		t.Fatal(err)
	}
	src := &cutAfter{r: bytes.NewReader(data), n: int64(len(data) / 2), cut: px.cut}
	if n, err := f.ReadFrom(src); err != nil || n != int64(len(data)) {
		t.Fatalf("dialect %x: ReadFrom = %d, %v", dialect, n, err)
	}
	if s.Reconnects() != 1 || f.Lease().Reclaimed != 1 {
		t.Fatalf("dialect %x: reconnects %d, reclaimed %d", dialect, s.Reconnects(), f.Lease().Reclaimed)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := sh.ReadFile("up.bin")
	if err != nil || sha256.Sum256(got) != want {
		t.Fatalf("dialect %x: read back %d bytes, %v; sha differs", dialect, len(got), err)
	}
	if px.accept.Load() != 2 {
		t.Fatalf("dialect %x: %d connections, want 2", dialect, px.accept.Load())
	}
	return px.replays.Load()
}

// TestReconnectWhileIdle: the connection dies between two calls; the next
// call reconnects first and works, and a file opened without a durable
// handle (NoDurable on another session is not involved: here a directory
// handle, which is never durable) reports ErrHandleLost.
func TestReconnectWhileIdle(t *testing.T) {
	addr := startServer(t)
	px := newCutter(t, addr)
	s, sh := mount(t, dialer(0x0311), px.addr())
	if err := sh.Mkdir("d", 0o755); err != nil {
		t.Fatal(err)
	}
	dir, err := sh.Open("d")
	if err != nil {
		t.Fatal(err)
	}
	f, err := sh.Create("idle.txt")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("before"), 0); err != nil {
		t.Fatal(err)
	}
	px.cut()
	time.Sleep(50 * time.Millisecond)
	if _, err := f.WriteAt([]byte(" after"), 6); err != nil {
		t.Fatalf("write after cut: %v", err)
	}
	if s.Reconnects() != 1 {
		t.Fatalf("reconnects %d", s.Reconnects())
	}
	if _, err := dir.(*client.File).ReadDir(-1); !errors.Is(err, client.ErrHandleLost) {
		t.Fatalf("directory handle after reconnect: %v, want ErrHandleLost", err)
	}
	f.Close()
	b, err := sh.ReadFile("idle.txt")
	if err != nil || string(b) != "before after" {
		t.Fatalf("got %q, %v", b, err)
	}
}

// TestNoDurableFailsClearly: with NoDurable a cut connection fails the
// transfer; nothing reconnects.
func TestNoDurableFailsClearly(t *testing.T) {
	addr := startServer(t)
	px := newCutter(t, addr)
	d := dialer(0x0311)
	d.NoDurable = true
	s, sh := mount(t, d, px.addr())
	f, err := sh.Create("x.bin")
	if err != nil {
		t.Fatal(err)
	}
	if f.Lease().Durable {
		t.Fatal("durable handle with NoDurable")
	}
	data := make([]byte, 8<<20)
	src := &cutAfter{r: bytes.NewReader(data), n: 2 << 20, cut: px.cut}
	if _, err := f.ReadFrom(src); err == nil {
		t.Fatal("upload survived a cut connection without durable handles")
	}
	if s.Reconnects() != 0 {
		t.Fatalf("reconnects %d", s.Reconnects())
	}
}

// TestLeaseBreakFlushesCachedWrites: client A caches small writes under
// its RWH lease; client B's open breaks the lease, and A sends the cached
// data before acknowledging, so B reads all of it (issue 12, show 3).
func TestLeaseBreakFlushesCachedWrites(t *testing.T) {
	addr := startServer(t)
	for _, dialect := range []uint16{0x0311, 0x0210} {
		_, a := mount(t, dialer(dialect), addr)
		_, b := mount(t, dialer(dialect), addr)
		f, err := a.Create("cached.txt")
		if err != nil {
			t.Fatal(err)
		}
		if f.Lease().State&client.LeaseWrite == 0 {
			t.Fatalf("no write caching: %+v", f.Lease())
		}
		payload := bytes.Repeat([]byte("signet lease "), 1000)
		for i := 0; i < len(payload); i += 1000 {
			if _, err := f.Write(payload[i:min(i+1000, len(payload))]); err != nil {
				t.Fatal(err)
			}
		}
		if f.Cached() != len(payload) {
			t.Fatalf("cached %d of %d bytes", f.Cached(), len(payload))
		}
		// B opens the file: the server breaks A's lease (W away); A
		// flushes, then acknowledges; only then does B's CREATE finish.
		got, err := b.ReadFile("cached.txt")
		if err != nil {
			t.Fatal(err)
		}
		if sha256.Sum256(got) != sha256.Sum256(payload) {
			t.Fatalf("dialect %x: B read %d bytes, want %d (cached writes not flushed before the break ack)", dialect, len(got), len(payload))
		}
		if f.Cached() != 0 || f.Lease().State&client.LeaseWrite != 0 {
			t.Fatalf("after break: cached %d, state %x", f.Cached(), f.Lease().State)
		}
		// Without write caching (W is gone) every Write goes out at once.
		if _, err := f.Write([]byte("tail")); err != nil || f.Cached() != 0 {
			t.Fatalf("write after break: cached %d, %v", f.Cached(), err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestWriteCacheBounded: the cache never exceeds its bound and is sent
// by Close; a non-contiguous write flushes first.
func TestWriteCacheBounded(t *testing.T) {
	addr := startServer(t)
	d := dialer(0x0311)
	d.WriteCache = 64 << 10
	_, sh := mount(t, d, addr)
	f, err := sh.Create("bound.bin")
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 300<<10)
	rand.Read(data)
	for i := 0; i < len(data); i += 10 << 10 {
		if _, err := f.Write(data[i : i+10<<10]); err != nil {
			t.Fatal(err)
		}
		if f.Cached() > 64<<10 {
			t.Fatalf("cache holds %d bytes, bound 64 KiB", f.Cached())
		}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("X")); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	data[0] = 'X'
	got, err := sh.ReadFile("bound.bin")
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes, %v", len(got), err)
	}
	if _, err := f.Write([]byte("y")); !errors.Is(err, fs.ErrClosed) {
		t.Fatalf("write after close: %v", err)
	}
}

// TestWriteCacheOff: with a negative Dialer.WriteCache, writes under a
// write-caching lease go out at once.
func TestWriteCacheOff(t *testing.T) {
	addr := startServer(t)
	d := dialer(0x0311)
	d.WriteCache = -1
	_, sh := mount(t, d, addr)
	f, err := sh.Create("nc.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Lease().State&client.LeaseWrite == 0 {
		t.Fatalf("lease %+v", f.Lease())
	}
	if _, err := f.Write([]byte("direct")); err != nil || f.Cached() != 0 {
		t.Fatalf("cached %d, %v", f.Cached(), err)
	}
}

// TestReclaimFailsAfterTimeout: when the server has dropped the durable
// handle (its timeout ended before the client came back), the session
// reconnects but the file reports ErrHandleLost, clearly, on every call;
// new opens work.
func TestReclaimFailsAfterTimeout(t *testing.T) {
	addr := startServer(t)
	px := newCutter(t, addr)
	d := dialer(0x0311)
	d.DurableTimeout = 100 * time.Millisecond
	s, sh := mount(t, d, px.addr())
	f, err := sh.Create("t.bin")
	if err != nil {
		t.Fatal(err)
	}
	if !f.Lease().Durable {
		t.Fatal("no durable handle")
	}
	px.cut()
	time.Sleep(1500 * time.Millisecond) // the server scavenges the handle
	if _, err := f.WriteAt([]byte("x"), 0); !errors.Is(err, client.ErrHandleLost) {
		t.Fatalf("write after the handle expired: %v, want ErrHandleLost", err)
	}
	if s.Reconnects() != 1 {
		t.Fatalf("reconnects %d", s.Reconnects())
	}
	if err := f.Close(); !errors.Is(err, client.ErrHandleLost) {
		t.Fatalf("close: %v", err)
	}
	g, err := sh.Create("t2.bin")
	if err != nil {
		t.Fatalf("new open after reconnect: %v", err)
	}
	if _, err := g.Write([]byte("ok")); err != nil {
		t.Fatal(err)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
}

// cutWriter cuts the proxy once n bytes were written to it.
type cutWriter struct {
	h    io.Writer
	n    int64
	done int64
	once sync.Once
	cut  func()
}

func (w *cutWriter) Write(p []byte) (int, error) {
	w.done += int64(len(p))
	if w.done >= w.n {
		w.once.Do(w.cut)
	}
	return w.h.Write(p)
}

// TestReconnectMidDownload: the same for a WriteTo (get): the READs in
// flight are replayed on the new connection and the copy is complete.
func TestReconnectMidDownload(t *testing.T) {
	addr := startServer(t)
	data := make([]byte, 16<<20)
	rand.Read(data)
	_, up := mount(t, dialer(0x0311), addr)
	f, err := up.Create("down.bin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.ReadFrom(bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	px := newCutter(t, addr)
	s, sh := mount(t, dialer(0x0311), px.addr())
	g, err := sh.OpenFile("down.bin", os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	h := sha256.New()
	if n, err := g.WriteTo(&cutWriter{h: h, n: int64(len(data) / 2), cut: px.cut}); err != nil || n != int64(len(data)) {
		t.Fatalf("WriteTo = %d, %v", n, err)
	}
	if [32]byte(h.Sum(nil)) != sha256.Sum256(data) || s.Reconnects() != 1 {
		t.Fatalf("sha differs or %d reconnects", s.Reconnects())
	}
}

// TestSessionCloseFlushesCache: writes cached in a file left open are
// sent when the session closes.
func TestSessionCloseFlushesCache(t *testing.T) {
	addr := startServer(t)
	s, sh := mount(t, dialer(0x0311), addr)
	f, err := sh.Create("left-open.txt")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("not lost")); err != nil || f.Cached() != 8 {
		t.Fatalf("cached %d, %v", f.Cached(), err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, other := mount(t, dialer(0x0311), addr)
	b, err := other.ReadFile("left-open.txt")
	if err != nil || string(b) != "not lost" {
		t.Fatalf("got %q, %v", b, err)
	}
}
