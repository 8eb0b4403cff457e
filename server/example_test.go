package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/signetsmb/signet/auth"
	"github.com/signetsmb/signet/auth/userdb"
	"github.com/signetsmb/signet/client"
	"github.com/signetsmb/signet/server"
	"github.com/signetsmb/signet/vfs/memfs"
)

// users is a one-account user database.
type users map[string][16]byte

func (u users) Lookup(name string) (auth.Account, bool) {
	id := auth.FoldName(name)
	for n, h := range u {
		if auth.FoldName(n) == id {
			return auth.Account{ID: id, Name: n, NTHash: h}, true
		}
	}
	return auth.Account{}, false
}

// Embed a server that requires signing, serving an in-memory share, and
// use it with the client package. Programs configured by a file use
// policy.Load and server.SettingsFromPolicy instead of building Settings.
func Example() {
	settings := &server.Settings{
		RequireSigning: true,
		MinDialect:     0x0202,
		MaxDialect:     0x0311,
		ServerName:     "EXAMPLE",
		Domain:         "WORKGROUP",
		Shares:         []*server.Share{{Name: "docs", FS: memfs.New(memfs.Options{})}},
	}
	srv, err := server.New(server.Options{
		Settings: func() *server.Settings { return settings },
		Users:    users{"alice": userdb.NTHash("s3cret")},
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		panic(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { srv.Serve(l) }) // returns after Shutdown
	defer wg.Wait()
	defer srv.Shutdown(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d := &client.Dialer{User: "alice", Password: "s3cret", RequireSigning: true}
	sess, err := d.Dial(ctx, l.Addr().String())
	if err != nil {
		panic(err)
	}
	defer sess.Close()
	share, err := sess.Mount(ctx, "docs")
	if err != nil {
		panic(err)
	}
	f, err := share.Create("hello.txt")
	if err != nil {
		panic(err)
	}
	io.WriteString(f, "signed all the way")
	f.Close()
	data, _ := share.ReadFile("hello.txt")
	fmt.Println(string(data))
	for _, in := range srv.Sessions() {
		fmt.Println(in.User, in.Dialect, in.SigningAlgorithm, "signed:", in.Signed)
	}
	// Output:
	// signed all the way
	// alice 3.1.1 AES-128-GMAC signed: true
}
