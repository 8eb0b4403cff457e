package client_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"io/fs"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signetsmb/signet/vfs"
	"github.com/signetsmb/signet/vfs/memfs"
)

// gatedFS holds every WriteAt while its gate is shut, so that WRITEs of a
// lost connection are still running on the server when the client has
// reconnected.
type gatedFS struct {
	vfs.FS
	mu   sync.Mutex
	open chan struct{} // closed while the gate is open
	held atomic.Int64  // WriteAts that waited at the gate
}

func newGatedFS() *gatedFS {
	g := &gatedFS{FS: memfs.New(memfs.Options{}), open: make(chan struct{})}
	close(g.open)
	return g
}

func (g *gatedFS) shut() {
	g.mu.Lock()
	g.open = make(chan struct{})
	g.mu.Unlock()
}

func (g *gatedFS) release() {
	g.mu.Lock()
	close(g.open)
	g.mu.Unlock()
}

func (g *gatedFS) wait() {
	g.mu.Lock()
	ch := g.open
	g.mu.Unlock()
	select {
	case <-ch:
	default:
		g.held.Add(1)
		<-ch
	}
}

func (g *gatedFS) OpenFile(ctx context.Context, name string, flag int, perm fs.FileMode) (vfs.File, error) {
	f, err := g.FS.OpenFile(ctx, name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &gatedFile{File: f, g: g}, nil
}

type gatedFile struct {
	vfs.File
	g *gatedFS
}

func (f *gatedFile) WriteAt(p []byte, off int64) (int, error) {
	f.g.wait()
	return f.File.WriteAt(p, off)
}

// TestReplayWhileOldWritesRun: the connection is cut while WRITEs are
// running on the server (held in the file system); the client reconnects,
// reclaims its handle and replays the WRITEs it had in flight, which the
// server refuses with STATUS_FILE_NOT_AVAILABLE as long as the old ones
// still run [MS-SMB2 3.3.5.2.10]. The client waits and sends them again:
// the upload completes and the file is whole.
func TestReplayWhileOldWritesRun(t *testing.T) {
	gfs := newGatedFS()
	addr := startServerFS(t, gfs)
	data := make([]byte, 16<<20)
	rand.Read(data)
	// When no WRITE is still in flight at the cut there is nothing to
	// hold or replay: the case was not produced, and is tried again.
	for attempt := 1; ; attempt++ {
		held, replays := uploadAcrossHeldCut(t, gfs, addr, data)
		if held > 0 && replays > 0 {
			t.Logf("held %d WRITEs at the cut, %d replayed", held, replays)
			return
		}
		if attempt == 3 {
			t.Fatalf("no WRITE was held at the cut (%d) or replayed (%d) in %d attempts: the case was not produced",
				held, replays, attempt)
		}
		t.Logf("attempt %d: held %d, replayed %d; again", attempt, held, replays)
	}
}

// uploadAcrossHeldCut uploads data through a proxy that cuts the
// connection halfway, with the file system holding every WriteAt from
// just before the cut until a second after it; it checks the reconnect,
// the reclaim and the file, and returns how many WRITEs were held and how
// many went again as replays.
func uploadAcrossHeldCut(t *testing.T, gfs *gatedFS, addr string, data []byte) (held int64, replays int32) {
	t.Helper()
	want := sha256.Sum256(data)
	gfs.held.Store(0)
	px := newCutter(t, addr)
	s, sh := mount(t, dialer(0x0311), px.addr())
	f, err := sh.Create("up.bin")
	if err != nil {
		t.Fatal(err)
	}
	var releaser sync.WaitGroup
	defer releaser.Wait()
	src := &cutAfter{r: bytes.NewReader(data), n: int64(len(data) / 2), cut: func() {
		gfs.shut()
		time.Sleep(20 * time.Millisecond) // let WRITEs in flight reach the gate
		px.cut()
		releaser.Go(func() { time.Sleep(time.Second); gfs.release() })
	}}
	if n, err := f.ReadFrom(src); err != nil || n != int64(len(data)) {
		t.Fatalf("ReadFrom = %d, %v (held writes %d, replays %d)", n, err, gfs.held.Load(), px.replays.Load())
	}
	if s.Reconnects() != 1 || f.Lease().Reclaimed != 1 {
		t.Fatalf("reconnects %d, reclaimed %d", s.Reconnects(), f.Lease().Reclaimed)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := sh.ReadFile("up.bin")
	if err != nil || sha256.Sum256(got) != want {
		t.Fatalf("read back %d bytes, %v; sha differs", len(got), err)
	}
	return gfs.held.Load(), px.replays.Load()
}
