package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// profile is a flat CPU profile of one server during one transfer.
type profile struct {
	Server, Client, Op string
	ByObject           string   // the largest shares by executable or library
	Lines              []string // top symbols, percent of the server's samples
}

// perfUsable says whether system-wide sampling with perf works here.
func perfUsable() error {
	if _, err := exec.LookPath("perf"); err != nil {
		return fmt.Errorf("perf not found (Debian: apt-get install linux-perf)")
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("sampling smbd and the server with perf needs root")
	}
	return nil
}

// profileTransfer samples the server's process (perf record -p, which
// follows its threads and the children it forks, like smbd's per-connection
// process) during one extra transfer, not counted in the results.
func profileTransfer(x xfer, srv *server, p *payload, op, work string, top int) (*profile, error) {
	data := filepath.Join(work, "perf.data")
	defer os.Remove(data)
	rec := exec.Command("perf", "record", "-F", "997", "-p", strconv.Itoa(srv.pids()[0]), "-o", data)
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
	out, err := exec.Command("perf", "report", "-i", data, "--stdio", "-q", "--no-children", "--sort", "dso").Output()
	if err != nil {
		return nil, fmt.Errorf("perf report: %v", err)
	}
	byDSO := perfLines(out)
	if len(byDSO) > 4 {
		byDSO = byDSO[:4]
	}
	out, err = exec.Command("perf", "report", "-i", data, "--stdio", "-q", "--no-children", "--sort", "dso,sym").Output()
	if err != nil {
		return nil, fmt.Errorf("perf report: %v", err)
	}
	lines := perfLines(out)
	if len(lines) == 0 {
		return nil, fmt.Errorf("perf: no samples of %s", srv.name)
	}
	if len(lines) > top {
		lines = lines[:top]
	}
	return &profile{Server: srv.name, Client: x.client, Op: op, ByObject: strings.Join(byDSO, ", "), Lines: lines}, nil
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
