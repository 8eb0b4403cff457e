package main

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of the times in /proc/PID/stat; it is
// 100 on every Linux architecture Go supports (sysconf would need cgo).
const clockTicks = 100

// statTimes parses /proc/PID/stat text: utime+stime, and cutime+cstime
// (children waited for), in seconds. The command name (field 2) may hold
// spaces and parentheses, so fields are counted after the last ')'.
func statTimes(stat string) (own, children float64, err error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("bad /proc stat line %q", stat)
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is field 3 (state); utime is field 14, so f[11].
	if len(f) < 15 {
		return 0, 0, fmt.Errorf("short /proc stat line %q", stat)
	}
	var v [4]float64
	for j := range v {
		n, err := strconv.ParseInt(f[11+j], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("bad /proc stat field %q", f[11+j])
		}
		v[j] = float64(n) / clockTicks
	}
	return v[0] + v[1], v[2] + v[3], nil
}

// serverCPU returns the CPU seconds used so far by a server: the main
// process (pids[0]) with the children it has waited for, plus every live
// descendant. Samba's smbd forks one child per connection; a child that
// has ended moves from the second sum to the first when smbd reaps it, so
// each is counted once.
func serverCPU(pids []int) float64 {
	total := 0.0
	for i, p := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
		if err != nil {
			continue // ended between listing and reading
		}
		own, children, err := statTimes(string(b))
		if err != nil {
			continue
		}
		total += own
		if i == 0 {
			total += children
		}
	}
	return total
}

var pssRE = regexp.MustCompile(`(?m)^Pss:\s+(\d+) kB`)

// pssOf parses the Pss line of /proc/PID/smaps_rollup, in bytes.
func pssOf(rollup string) (int64, bool) {
	m := pssRE.FindStringSubmatch(rollup)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseInt(m[1], 10, 64)
	return v << 10, err == nil
}

// pss sums the proportional set size of the processes, in bytes.
func pss(pids []int) int64 {
	var total int64
	for _, p := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", p))
		if err != nil {
			continue
		}
		if v, ok := pssOf(string(b)); ok {
			total += v
		}
	}
	return total
}

// selfCPU returns the CPU seconds this process (all its threads) has used
// so far.
func selfCPU() float64 {
	v, _ := rusageCPU(syscall.RUSAGE_SELF)
	return v
}

// rusageCPU is the user and system CPU seconds getrusage gives for who
// (RUSAGE_SELF, or 1, RUSAGE_THREAD: the calling thread).
func rusageCPU(who int) (float64, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds(), nil
}
