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
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/signetsmb/signet/client"
)

const (
	user     = "benchuser"
	password = "Bench-pass#1"
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
	addr, pids, stop, err := startSignet(filepath.Join(work, "signet"))
	if err != nil {
		fatal(err)
	}
	line, err := measure("Signet", addr, pids, *n)
	stop()
	if err != nil {
		fatal(err)
	}
	report.WriteString(line)
	if *sn > 0 {
		addr, pids, stop, err := startSamba(filepath.Join(work, "samba"))
		if err != nil {
			fatal(err)
		}
		line, err := measure("Samba smbd 4.17", addr, pids, *sn)
		stop()
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

// children returns root and its descendants.
func children(root int) []int {
	out := []int{root}
	for i := 0; i < len(out); i++ {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", out[i], out[i]))
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if v, err := strconv.Atoi(f); err == nil {
				out = append(out, v)
			}
		}
	}
	return out
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func waitListening(addr string) error {
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing listening on %s", addr)
		}
	}
}

func startSignet(dir string) (string, func() []int, func(), error) {
	if err := os.MkdirAll(filepath.Join(dir, "share"), 0o755); err != nil {
		return "", nil, nil, err
	}
	bin := filepath.Join(dir, "signet")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/signet").CombinedOutput(); err != nil {
		return "", nil, nil, fmt.Errorf("go build (run from the repository root): %v\n%s", err, out)
	}
	addr, err := freeAddr()
	if err != nil {
		return "", nil, nil, err
	}
	conf := filepath.Join(dir, "signet.toml")
	text := fmt.Sprintf("[server]\nlisten = %q\nrequire_signing = true\nusers_file = \"users\"\n[[share]]\nname = \"share\"\npath = \"share\"\n", addr)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		return "", nil, nil, err
	}
	add := exec.Command(bin, "user", "add", user, "--users-file", filepath.Join(dir, "users"))
	add.Env = append(os.Environ(), "SIGNET_PASSWORD="+password)
	if out, err := add.CombinedOutput(); err != nil {
		return "", nil, nil, fmt.Errorf("signet user add: %v %s", err, out)
	}
	cmd := exec.Command(bin, "serve", "--config", conf)
	if err := cmd.Start(); err != nil {
		return "", nil, nil, err
	}
	stop := func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }
	if err := waitListening(addr); err != nil {
		stop()
		return "", nil, nil, err
	}
	return addr, func() []int { return []int{cmd.Process.Pid} }, stop, nil
}

func startSamba(dir string) (string, func() []int, func(), error) {
	if os.Geteuid() != 0 {
		return "", nil, nil, fmt.Errorf("smbd needs root here")
	}
	if exec.Command("id", user).Run() != nil {
		if out, err := exec.Command("useradd", "-M", user).CombinedOutput(); err != nil {
			return "", nil, nil, fmt.Errorf("useradd: %v %s", err, out)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, nil, err
	}
	for _, sub := range []string{"share", "private", "lock", "state", "cache", "pid", "ncalrpc"} {
		os.MkdirAll(filepath.Join(dir, sub), 0o777)
	}
	addr, err := freeAddr()
	if err != nil {
		return "", nil, nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	conf := filepath.Join(dir, "smb.conf")
	text := fmt.Sprintf("[global]\nsmb ports = %[2]s\ninterfaces = lo\nbind interfaces only = yes\nserver role = standalone server\nserver signing = mandatory\nserver min protocol = SMB2_02\npassdb backend = tdbsam:%[1]s/private/passdb.tdb\nprivate dir = %[1]s/private\nlock directory = %[1]s/lock\nstate directory = %[1]s/state\ncache directory = %[1]s/cache\npid directory = %[1]s/pid\nncalrpc dir = %[1]s/ncalrpc\nlog file = %[1]s/log\nload printers = no\ndisable spoolss = yes\nprintcap name = /dev/null\nmap to guest = never\nserver services = -nbt\nmax log size = 0\n[share]\npath = %[1]s/share\nread only = no\n", dir, port)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		return "", nil, nil, err
	}
	add := exec.Command("smbpasswd", "-s", "-c", conf, "-a", user)
	add.Stdin = strings.NewReader(password + "\n" + password + "\n")
	if out, err := add.CombinedOutput(); err != nil {
		return "", nil, nil, fmt.Errorf("smbpasswd: %v %s", err, out)
	}
	cmd := exec.Command("smbd", "-F", "--no-process-group", "-s", conf)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return "", nil, nil, err
	}
	stop := func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM); cmd.Wait() }
	if err := waitListening(addr); err != nil {
		stop()
		return "", nil, nil, err
	}
	return addr, func() []int { return children(cmd.Process.Pid) }, stop, nil
}
