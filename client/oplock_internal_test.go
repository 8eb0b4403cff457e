package client

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/signetsmb/signet/auth"
	"github.com/signetsmb/signet/auth/userdb"
	"github.com/signetsmb/signet/internal/wire"
	"github.com/signetsmb/signet/server"
	"github.com/signetsmb/signet/vfs/memfs"
)

type carol struct{}

func (carol) Lookup(name string) (auth.Account, bool) {
	if auth.FoldName(name) != auth.FoldName("carol") {
		return auth.Account{}, false
	}
	return auth.Account{ID: auth.FoldName("carol"), Name: "carol", NTHash: userdb.NTHash("pw")}, true
}

// TestOplockBreakAcknowledged: an open holding a batch oplock (asked for
// here by hand: the client itself asks for leases) is broken by another
// client's open; the breaker acknowledges, so the other open completes
// at once instead of waiting for the server's break timeout (35 s).
func TestOplockBreakAcknowledged(t *testing.T) {
	st := &server.Settings{RequireSigning: true, MinDialect: 0x0202, MaxDialect: 0x0311,
		ServerName: "TEST", Domain: "WORKGROUP",
		Shares: []*server.Share{{Name: "share", FS: memfs.New(memfs.Options{})}}}
	srv, err := server.New(server.Options{Settings: func() *server.Settings { return st }, Users: carol{},
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
	defer func() { srv.Shutdown(context.Background()); wg.Wait() }()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dial := func() *Share {
		s, err := (&Dialer{User: "carol", Password: "pw", RequireSigning: true, MaxDialect: Dialect202}).Dial(ctx, l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		sh, err := s.Mount(ctx, "share")
		if err != nil {
			t.Fatal(err)
		}
		return sh
	}
	a, b := dial(), dial()
	a.t.s.startBreaker() // 2.0.2 has no leases: no open has started it
	o := openSpecFor(os.O_RDWR|os.O_CREATE, 0o666)
	o.oplock = wire.OplockBatch
	r, err := a.create(ctx, "open", "o.txt", "o.txt", o)
	if err != nil {
		t.Fatal(err)
	}
	if r.OplockLevel != wire.OplockBatch {
		t.Fatalf("oplock level %d, want batch", r.OplockLevel)
	}
	f := newFile(a, "o.txt", os.O_RDWR, r)
	a.t.s.track(f)
	defer f.Close()
	start := time.Now()
	g, err := b.OpenFile("o.txt", os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	g.Close()
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the second open took %v: the break was not acknowledged", d)
	}
	f.cmu.Lock()
	breaks := f.breaks
	f.cmu.Unlock()
	if breaks != 1 {
		t.Fatalf("%d breaks handled, want 1", breaks)
	}
}
