// Command idle measures what an idle signed session costs the server:
// it opens N connections, each with a signed session and a tree connect,
// lets them idle, and reads the server's memory (PSS, from
// /proc/PID/smaps_rollup, summed over every server process) before and
// after. It runs Signet's server and Samba's smbd side by side.
//
//	go run ./bench/idle -n 10000 -samba-n 1000
//
// It needs root for smbd and a Unix account, like bench/transfer.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/signetsmb/signet/bench/internal/peers"
	"github.com/signetsmb/signet/client"
)

const (
	user     = peers.User
	password = peers.Password
)

func main() {
	n := flag.Int("n", 10000, "idle sessions against Signet")
	sn := flag.Int("samba-n", 1000, "idle sessions against Samba (one smbd process each); 0 skips Samba")
	out := flag.String("out", "", "also write the report to this file")
	flag.Parse()
	raiseFileLimit()
	work, err := os.MkdirTemp("", "signet-idle")
	if err != nil {
		fatal(err)
	}
	defer os.RemoveAll(work)
	os.Chmod(work, 0o755)
	var report strings.Builder
	fmt.Fprintf(&report, "# Idle signed sessions\n\nProduced by `go run ./bench/idle -n %d -samba-n %d` on %s. Machine: %d cores, Go %s. Each session: its own TCP connection, NTLMv2, SMB 3.1.1 with AES-128-GMAC signing required, one tree connect, then idle. Memory is the servers' proportional set size (PSS) summed over their processes, before and after.\n\n| server | sessions | PSS before | PSS after | per session |\n|---|---|---|---|---|\n",
		*n, *sn, time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), strings.TrimPrefix(runtime.Version(), "go"))
	sig, err := peers.Signet(filepath.Join(work, "signet"), user, password)
	if err != nil {
		fatal(err)
	}
	line, err := measure("Signet", sig.Addr, sig.PIDs, *n)
	sig.Stop()
	if err != nil {
		fatal(err)
	}
	report.WriteString(line)
	if *sn > 0 {
		smb, err := peers.Samba(filepath.Join(work, "samba"), user, password)
		if err != nil {
			fatal(err)
		}
		line, err := measure("Samba smbd 4.17", smb.Addr, smb.PIDs, *sn)
		smb.Stop()
		if err != nil {
			fatal(err)
		}
		report.WriteString(line)
	}
	fmt.Print(report.String())
	if *out != "" {
		if err := os.WriteFile(*out, []byte(report.String()), 0o644); err != nil {
			fatal(err)
		}
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "idle:", err)
	os.Exit(1)
}

func raiseFileLimit() {
	var r syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r) == nil && r.Cur < r.Max {
		r.Cur = r.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r)
	}
}

// measure opens n idle signed sessions and returns a table row.
func measure(name, addr string, pids func() []int, n int) (string, error) {
	time.Sleep(500 * time.Millisecond)
	before := pss(pids())
	ctx := context.Background()
	d := &client.Dialer{User: user, Password: password, RequireSigning: true, MinDialect: 0x0311, MaxDialect: 0x0311}
	var sessions []*client.Session
	defer func() {
		for _, s := range sessions {
			s.Close()
		}
	}()
	start := time.Now()
	for i := 0; i < n; i++ {
		s, err := d.Dial(ctx, addr)
		if err != nil {
			return "", fmt.Errorf("%s: session %d: %w", name, i, err)
		}
		if !s.Signed() {
			return "", fmt.Errorf("%s: session %d not signed", name, i)
		}
		if _, err := s.Mount(ctx, "share"); err != nil {
			return "", fmt.Errorf("%s: session %d: tree connect: %w", name, i, err)
		}
		sessions = append(sessions, s)
	}
	setup := time.Since(start)
	time.Sleep(2 * time.Second) // idle
	runtime.GC()
	after := pss(pids())
	per := float64(after-before) / float64(n)
	fmt.Fprintf(os.Stderr, "%s: %d sessions set up in %v\n", name, n, setup.Round(time.Millisecond))
	return fmt.Sprintf("| %s | %d | %.1f MiB | %.1f MiB | %.1f KiB |\n", name, n,
		float64(before)/(1<<20), float64(after)/(1<<20), per/1024), nil
}

// pss sums the Pss of the processes, in bytes.
func pss(pids []int) int64 {
	var total int64
	re := regexp.MustCompile(`(?m)^Pss:\s+(\d+) kB`)
	for _, p := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", p))
		if err != nil {
			continue
		}
		if m := re.FindSubmatch(b); m != nil {
			v, _ := strconv.ParseInt(string(m[1]), 10, 64)
			total += v << 10
		}
	}
	return total
}
