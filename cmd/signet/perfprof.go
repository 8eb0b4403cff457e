//go:build perfprof

package main

import (
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"
)

// Profiling build for developers (go build -tags perfprof ./cmd/signet;
// bench/profile.sh): with SIGNET_PROFDIR set, the server writes a CPU
// profile to DIR/cpuN.pprof; SIGUSR1 ends the current one and starts
// cpuN+1 (one profile per measured phase), SIGUSR2 writes the allocation
// profile so far to DIR/allocsN.pprof. Never part of a release build: the
// signal goroutine lives as long as the process.
func init() {
	dir := os.Getenv("SIGNET_PROFDIR")
	if dir == "" {
		return
	}
	n := 0
	start := func() *os.File {
		f, _ := os.Create(fmt.Sprintf("%s/cpu%d.pprof", dir, n))
		pprof.StartCPUProfile(f)
		return f
	}
	f := start()
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, syscall.SIGUSR1, syscall.SIGUSR2)
	go func() {
		for s := range ch {
			if s == syscall.SIGUSR2 {
				runtime.GC()
				g, _ := os.Create(fmt.Sprintf("%s/allocs%d.pprof", dir, n))
				pprof.Lookup("allocs").WriteTo(g, 0)
				g.Close()
				continue
			}
			pprof.StopCPUProfile()
			f.Close()
			n++
			f = start()
		}
	}()
}
