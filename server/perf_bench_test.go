package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"testing"

	"github.com/signetsmb/signet/auth/userdb"
	"github.com/signetsmb/signet/client"
	"github.com/signetsmb/signet/server"
	"github.com/signetsmb/signet/vfs/localfs"
)

// Benchmarks of the paths issue 8 optimises, the Signet client against an
// in-process server over loopback TCP, signing required, on a localfs
// share (in /dev/shm when it exists, so the disk stays out). Allocations
// per operation include the client's; `-memprofile` with
// `go tool pprof -focus signet/server` isolates the server's.
//
//	go test -run '^$' -bench 'SmallFile|Transfer' -benchmem ./server/

// benchShare starts a server on a fresh localfs folder and mounts its
// share with dialect d.
func benchShare(b *testing.B, d uint16) *client.Share {
	b.Helper()
	prev := server.SetDebugOwnership(false) // as in production
	b.Cleanup(func() { server.SetDebugOwnership(prev) })
	root := os.TempDir()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		root = "/dev/shm"
	}
	dir, err := os.MkdirTemp(root, "signet-bench")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	fsys, err := localfs.New(dir)
	if err != nil {
		b.Fatal(err)
	}
	st := &server.Settings{RequireSigning: true, MinDialect: 0x0202, MaxDialect: 0x0311, ServerName: "TEST",
		Domain: "WORKGROUP", Shares: []*server.Share{{Name: "share", FS: fsys}}}
	srv, err := server.New(server.Options{
		Settings: func() *server.Settings { return st },
		Users:    server.TestUsers{"alice": userdb.NTHash("pw")},
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	served := make(chan struct{})
	go func() { defer close(served); srv.Serve(l) }()
	b.Cleanup(func() { srv.Shutdown(context.Background()); <-served })
	ctx := context.Background()
	s, err := (&client.Dialer{User: "alice", Password: "pw", RequireSigning: true, MinDialect: d, MaxDialect: d}).Dial(ctx, l.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	sh, err := s.Mount(ctx, "share")
	if err != nil {
		b.Fatal(err)
	}
	return sh
}

// BenchmarkSmallFile is the benchmark's small-file cycle: create, write
// 4 KiB, close, stat, delete; one cycle per op.
func BenchmarkSmallFile(b *testing.B) {
	for _, others := range []int{0, 2000} {
		b.Run(fmt.Sprintf("others=%d", others), func(b *testing.B) { benchSmallFile(b, others) })
	}
}

// benchSmallFile runs the cycle in a folder that already holds others
// files (each new name is looked for, ignoring case, among them).
func benchSmallFile(b *testing.B, others int) {
	sh := benchShare(b, 0x0311)
	data := make([]byte, 4<<10)
	if others > 0 {
		if err := sh.Mkdir("d", 0o755); err != nil {
			b.Fatal(err)
		}
		for i := range others {
			f, err := sh.Create(fmt.Sprintf("d/other%d", i))
			if err != nil {
				b.Fatal(err)
			}
			f.Close()
		}
	}
	dir := ""
	if others > 0 {
		dir = "d/"
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		name := fmt.Sprintf("%sf%d", dir, i)
		f, err := sh.Create(name)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := f.Write(data); err != nil {
			b.Fatal(err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
		if _, err := sh.Stat(name); err != nil {
			b.Fatal(err)
		}
		if err := sh.Remove(name); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTransfer moves 64 MiB per op each way, signed (GMAC on 3.1.1,
// CMAC on 3.0.2).
func BenchmarkTransfer(b *testing.B) {
	const size = 64 << 20
	data := make([]byte, size)
	for _, d := range []struct {
		name    string
		dialect uint16
	}{{"GMAC", 0x0311}, {"CMAC", 0x0302}} {
		sh := benchShare(b, d.dialect)
		b.Run(d.name+"/write", func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			for range b.N {
				f, err := sh.Create("big")
				if err != nil {
					b.Fatal(err)
				}
				if _, err := f.WriteAt(data, 0); err != nil {
					b.Fatal(err)
				}
				f.Close()
			}
		})
		b.Run(d.name+"/read", func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			for range b.N {
				f, err := sh.OpenFile("big", os.O_RDONLY, 0)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := f.ReadAt(data, 0); err != nil {
					b.Fatal(err)
				}
				f.Close()
			}
		})
	}
}

// BenchmarkParallelStat: 8 goroutines stat one file over one connection,
// so responses finish together and the writer can send them in one
// writev; one stat (CREATE, QUERY_INFO, CLOSE compound) per op.
func BenchmarkParallelStat(b *testing.B) {
	sh := benchShare(b, 0x0311)
	f, err := sh.Create("s")
	if err != nil {
		b.Fatal(err)
	}
	f.Close()
	b.ReportAllocs()
	b.SetParallelism(4) // 8 goroutines on 2 cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := sh.Stat("s"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
