package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
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

type oneUser struct{}

func (oneUser) Lookup(name string) (auth.Account, bool) {
	if auth.FoldName(name) != auth.FoldName("bob") {
		return auth.Account{}, false
	}
	return auth.Account{ID: auth.FoldName("bob"), Name: "bob", NTHash: userdb.NTHash("pw")}, true
}

// exampleServer starts an in-memory Signet server for the example.
func exampleServer() (addr string, stop func()) {
	st := &server.Settings{RequireSigning: true, MinDialect: 0x0202, MaxDialect: 0x0311,
		ServerName: "EXAMPLE", Domain: "WORKGROUP",
		Shares: []*server.Share{{Name: "share", FS: memfs.New(memfs.Options{})}}}
	srv, err := server.New(server.Options{Settings: func() *server.Settings { return st }, Users: oneUser{},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		panic(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { srv.Serve(l) })
	return l.Addr().String(), func() { srv.Shutdown(context.Background()); wg.Wait() }
}

// Connect with signing required, use a share as an io/fs.FS, and match
// errors by io/fs sentinel or by NTSTATUS.
func Example() {
	addr, stop := exampleServer()
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	d := &client.Dialer{User: "bob", Password: "pw", RequireSigning: true}
	sess, err := d.Dial(ctx, addr)
	if err != nil {
		panic(err)
	}
	defer sess.Close()

	_, err = sess.Mount(ctx, "nosuch")
	fmt.Println("no such share:", errors.Is(err, client.StatusBadNetworkName))

	share, err := sess.Mount(ctx, "share")
	if err != nil {
		panic(err)
	}
	if err := share.MkdirAll("a/b", 0o755); err != nil {
		panic(err)
	}
	fs.WalkDir(share, ".", func(p string, e fs.DirEntry, err error) error {
		fmt.Println(p)
		return err
	})
	_, err = share.Stat("missing.txt")
	fmt.Println("missing:", errors.Is(err, fs.ErrNotExist))
	// Output:
	// no such share: true
	// .
	// a
	// a/b
	// missing: true
}
