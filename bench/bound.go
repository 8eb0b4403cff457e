package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/signetsmb/signet/auth"
	"github.com/signetsmb/signet/auth/userdb"
	"github.com/signetsmb/signet/bench/internal/peers"
	"github.com/signetsmb/signet/policy"
	smbserver "github.com/signetsmb/signet/server"
	"github.com/signetsmb/signet/vfs"
)

// The bound part answers "how fast could any server be with this client
// on this machine?". It runs Signet's server (this program, started again
// with nullEnv set) on a share that stores nothing (nullFS): requests are
// signed, verified, encrypted and decrypted as usual, but a WRITE's data
// is dropped and a READ's is not fetched. Against that server a transfer
// costs the server only the network, the MAC or cipher and the protocol,
// so the client's rate is the most it reaches with a server that stores
// and fetches data for free. Dividing by Samba's rate with the same client
// gives the highest Signet / Samba ratio any server could show in that
// run; a target above it is out of reach on this machine with that client.

// nullEnv, when set ("ADDR SIZE"), turns this program (or its test binary)
// into the null-share server: it serves on ADDR, with a file readName of
// SIZE bytes to read, until SIGTERM.
const nullEnv = "SIGNET_BENCH_NULL"

// srvNull names the null-share server in the results.
const srvNull = "Signet, null share (stores nothing)"

// boundCases are the transfers measured against the null share: the
// clients of the targets that compare with Samba.
var boundCases = []xfer{xSmbGMAC, xSmbEnc, xSigMem}

// nullServer runs the null-share server when nullEnv is set; it reports
// whether it did (the caller then exits).
func nullServer() bool {
	v := os.Getenv(nullEnv)
	if v == "" {
		return false
	}
	addr, sizeText, _ := strings.Cut(v, " ")
	size, err := strconv.ParseInt(sizeText, 10, 64)
	if err == nil {
		err = serveNull(addr, size)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "null-share server:", err)
		os.Exit(1)
	}
	return true
}

// benchUsers is the one account of the benchmark.
type benchUsers struct{}

func (benchUsers) Lookup(name string) (auth.Account, bool) {
	if auth.FoldName(name) != auth.FoldName(user) {
		return auth.Account{}, false
	}
	return auth.Account{ID: auth.FoldName(user), Name: user, NTHash: userdb.NTHash(password)}, true
}

// serveNull serves the null share with the settings `signet serve` derives
// from the benchmark's configuration (peers.SignetWith): the shipped
// defaults with signing required.
func serveNull(addr string, size int64) error {
	text := fmt.Sprintf("[server]\nlisten = %q\nrequire_signing = true\n[[share]]\nname = \"share\"\npath = \"/\"\n", addr)
	cfg, _, err := policy.Parse([]byte(text), os.TempDir(), "null.toml")
	if err != nil {
		return err
	}
	nfs := newNullFS()
	nfs.setSize(readName, size)
	st, err := smbserver.SettingsFromPolicy(cfg, func(string) (vfs.FS, error) { return nfs, nil })
	if err != nil {
		return err
	}
	srv, err := smbserver.New(smbserver.Options{
		Settings: func() *smbserver.Settings { return st },
		Users:    benchUsers{},
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	var wg sync.WaitGroup
	wg.Go(func() { srv.Serve(l) }) // returns after Shutdown
	<-ctx.Done()
	err = srv.Shutdown(context.Background())
	wg.Wait()
	return err
}

// startNull starts the null-share server on addr, with a file of size
// bytes to read.
func startNull(addr string, size int64) (*peers.Server, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %d", nullEnv, addr, size))
	return peers.Command(addr, cmd)
}
