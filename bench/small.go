package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/signetsmb/signet/client"
)

// sigDialer is the Signet client as the small-file, folder and idle parts
// use it: 3.1.1, AES-128-GMAC signing required.
func sigDialer() *client.Dialer {
	return &client.Dialer{User: user, Password: password, RequireSigning: true,
		MinDialect: client.Dialect311, MaxDialect: client.Dialect311, Timeout: 5 * time.Minute}
}

func signedShare(ctx context.Context, addr string) (*client.Session, *client.Share, error) {
	s, err := sigDialer().Dial(ctx, addr)
	if err != nil {
		return nil, nil, err
	}
	if !s.Signed() {
		s.Close()
		return nil, nil, fmt.Errorf("session not signed")
	}
	sh, err := s.Mount(ctx, "share")
	if err != nil {
		s.Close()
		return nil, nil, err
	}
	return s, sh, nil
}

// smallFiles runs files small-file cycles (create, write 4 KiB, close,
// stat, delete) spread over clients sessions working at once, each on its
// own connection, and returns files per second. The sessions are set up
// before the clock starts.
func smallFiles(addr string, clients, files int, tag string) (float64, error) {
	ctx := context.Background()
	shares := make([]*client.Share, clients)
	for i := range shares {
		s, sh, err := signedShare(ctx, addr)
		if err != nil {
			return 0, err
		}
		defer s.Close()
		shares[i] = sh
	}
	data := make([]byte, 4096)
	for i := range data {
		data[i] = byte(i)
	}
	errs := make([]error, clients)
	var wg sync.WaitGroup
	t0 := time.Now()
	for c := range clients {
		n := files / clients
		if c < files%clients {
			n++
		}
		wg.Add(1)
		go func() { // joined by wg.Wait below
			defer wg.Done()
			errs[c] = smallCycle(shares[c], fmt.Sprintf("%s-c%d", tag, c), n, data)
		}()
	}
	wg.Wait()
	el := time.Since(t0)
	for _, err := range errs {
		if err != nil {
			return 0, err
		}
	}
	return float64(files) / el.Seconds(), nil
}

func smallCycle(sh *client.Share, prefix string, n int, data []byte) error {
	for i := range n {
		name := fmt.Sprintf("%s-%d.txt", prefix, i)
		f, err := sh.Create(name)
		if err != nil {
			return err
		}
		if _, err := f.Write(data); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		fi, err := sh.Stat(name)
		if err != nil {
			return err
		}
		if fi.Size() != int64(len(data)) {
			return fmt.Errorf("%s: size %d after writing %d bytes", name, fi.Size(), len(data))
		}
		if err := sh.Remove(name); err != nil {
			return err
		}
	}
	return nil
}

// makeBigDir creates a folder of n empty files in a share's folder on
// this machine (once per server; the listing is what is measured).
func makeBigDir(share string, n int) (string, error) {
	name := fmt.Sprintf("dir%d", n)
	dir := filepath.Join(share, name)
	if ents, err := os.ReadDir(dir); err == nil && len(ents) == n {
		return name, nil
	}
	os.RemoveAll(dir)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", err
	}
	for i := range n {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("entry-%07d", i)))
		if err != nil {
			return "", err
		}
		f.Close()
	}
	return name, nil
}

// listDir lists the folder with the Signet client and returns entries per
// second (the time covers open, every QUERY_DIRECTORY and close).
func listDir(addr, name string, n int) (float64, error) {
	ctx := context.Background()
	s, sh, err := signedShare(ctx, addr)
	if err != nil {
		return 0, err
	}
	defer s.Close()
	t0 := time.Now()
	ents, err := sh.ReadDir(name)
	el := time.Since(t0)
	if err != nil {
		return 0, err
	}
	if len(ents) != n {
		return 0, fmt.Errorf("listed %d entries of %d", len(ents), n)
	}
	return float64(n) / el.Seconds(), nil
}

// minSmbclientListing is the smallest folder listed with smbclient: below
// it the listing takes less than the spread of smbclient's start-up.
const minSmbclientListing = 20000

// listDirSmbclient lists the folder with smbclient (3.1.1, AES-128-GMAC
// signing), which asks for FileIdBothDirectoryInformation as Windows and
// macOS do (short names and EA sizes, which the Signet client's class
// leaves out), and returns entries per second. smbclient prints no timing
// of its own, so the time of listing one entry of the same folder (process
// start, logon, tree connect) is taken off the time of listing them all.
func listDirSmbclient(addr, name string, n int) (float64, error) {
	x := xfer{dialect: client.Dialect311}
	run := func(pattern string) (time.Duration, int, error) {
		t0 := time.Now()
		out, err := exec.Command("smbclient", x.smbclientArgs(addr, "ls "+name+"/"+pattern)...).CombinedOutput()
		el := time.Since(t0)
		if err != nil {
			return 0, 0, fmt.Errorf("smbclient ls: %v\n%s", err, out)
		}
		return el, strings.Count(string(out), "  entry-"), nil
	}
	one, got, err := run("entry-0000000")
	if err != nil {
		return 0, err
	}
	if got != 1 {
		return 0, fmt.Errorf("smbclient listed %d entries for one name", got)
	}
	all, got, err := run("*")
	if err != nil {
		return 0, err
	}
	if got != n {
		return 0, fmt.Errorf("smbclient listed %d entries of %d", got, n)
	}
	if all <= one {
		return 0, fmt.Errorf("listing took %v, one entry %v", all, one)
	}
	return float64(n) / (all - one).Seconds(), nil
}

// idleSessions opens n signed sessions (each its own connection, with a
// tree connect), lets them idle, and returns the server's PSS growth per
// session in KiB. pids lists the server's processes.
func idleSessions(addr string, pids func() []int, n int) (float64, error) {
	raiseFileLimit()
	time.Sleep(500 * time.Millisecond)
	before := pss(pids())
	ctx := context.Background()
	sessions := make([]*client.Session, n)
	defer func() {
		for _, s := range sessions {
			if s != nil {
				s.Close()
			}
		}
	}()
	const workers = 8
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() { // joined by wg.Wait below
			defer wg.Done()
			for i := w; i < n; i += workers {
				s, _, err := signedShare(ctx, addr)
				if err != nil {
					errs[w] = fmt.Errorf("session %d: %w", i, err)
					return
				}
				sessions[i] = s
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return 0, err
		}
	}
	time.Sleep(2 * time.Second) // idle
	runtime.GC()
	after := pss(pids())
	return float64(after-before) / float64(n) / 1024, nil
}

func raiseFileLimit() {
	var r syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r) == nil && r.Cur < r.Max {
		r.Cur = r.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r)
	}
}
