package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// profile is a flat CPU profile of one server during one transfer.
type profile struct {
	Server, Client, Op string
	Comms              []string // the server's process names in the samples
	Share              float64  // the server's share of all samples on the machine, percent
	Lines              []string // top symbols, percent of the server's samples
}

// perfUsable says whether system-wide sampling with perf works here.
func perfUsable() error {
	if _, err := exec.LookPath("perf"); err != nil {
		return fmt.Errorf("perf not found (Debian: apt-get install linux-perf)")
	}
	if os.Geteuid() != 0 {
		if b, err := os.ReadFile("/proc/sys/kernel/perf_event_paranoid"); err != nil || strings.TrimSpace(string(b)) != "-1" {
			return fmt.Errorf("system-wide perf needs root or kernel.perf_event_paranoid=-1")
		}
	}
	return nil
}

// profileTransfer samples every CPU (perf record -a) during one extra
// transfer, not counted in the results, and keeps the samples of the
// server's processes: Signet's are named "signet", Samba's start with
// "smbd" (smbd renames its children).
func profileTransfer(x xfer, srv *server, p *payload, op, work string, top int) (*profile, error) {
	data := filepath.Join(work, "perf.data")
	defer os.Remove(data)
	rec := exec.Command("perf", "record", "-a", "-F", "997", "-o", data)
	var recOut bytes.Buffer
	rec.Stdout, rec.Stderr = &recOut, &recOut
	if err := rec.Start(); err != nil {
		return nil, err
	}
	time.Sleep(500 * time.Millisecond)
	_, _, terr := x.run(srv, p, op, work)
	rec.Process.Signal(syscall.SIGINT)
	werr := rec.Wait()
	if terr != nil {
		return nil, terr
	}
	if _, err := os.Stat(data); err != nil {
		return nil, fmt.Errorf("perf record: %v %v\n%s", werr, err, recOut.String())
	}
	prefix := "signet"
	if srv.name == srvSamba {
		prefix = "smbd"
	}
	out, err := exec.Command("perf", "report", "-i", data, "--stdio", "-q", "--no-children", "--sort", "comm").Output()
	if err != nil {
		return nil, fmt.Errorf("perf report: %v", err)
	}
	pr := &profile{Server: srv.name, Client: x.client, Op: op}
	for _, l := range perfLines(out) {
		f := strings.Fields(l)
		if len(f) < 2 || !strings.HasPrefix(f[1], prefix) {
			continue
		}
		var pct float64
		fmt.Sscanf(strings.TrimSuffix(f[0], "%"), "%g", &pct)
		pr.Share += pct
		pr.Comms = append(pr.Comms, strings.Join(f[1:], " "))
	}
	if len(pr.Comms) == 0 {
		return nil, fmt.Errorf("perf: no samples of %s processes", prefix)
	}
	out, err = exec.Command("perf", "report", "-i", data, "--stdio", "-q", "--no-children", "--percentage", "relative",
		"--comms", strings.Join(pr.Comms, ","), "--sort", "dso,sym").Output()
	if err != nil {
		return nil, fmt.Errorf("perf report: %v", err)
	}
	lines := perfLines(out)
	if len(lines) > top {
		lines = lines[:top]
	}
	pr.Lines = lines
	return pr, nil
}

// perfLines returns the non-empty, non-comment lines of perf report
// output, with runs of spaces squeezed.
func perfLines(out []byte) []string {
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		lines = append(lines, strings.Join(strings.Fields(l), " "))
	}
	return lines
}
