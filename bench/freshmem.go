package main

import (
	"os"
	"runtime"
	"syscall"
	"time"
)

// freshMemorySize is how much memory the per-run probe touches.
const freshMemorySize = 512 << 20

// touchFresh maps size bytes of anonymous memory in 4 KiB pages, writes
// one byte per page, unmaps it and returns the seconds per GiB the writes
// took: what the kernel charges for handing out fresh pages, as every
// write into a new file on tmpfs needs them.
//
// On a VM whose host takes back the pages its guest frees (virtio-balloon
// free page reporting, as on the machine of docs/benchmarks.md), a page
// freed more than a few seconds before must come back from the host when
// it is next used, at a cost that depends on the host's load: 1.8 to 5 s
// per GiB there, against 0.13 to 0.2 for a page the guest still holds.
// Deleting a transferred 1 GiB file frees its pages, so the write
// measurements of such a run pay it, in the server's own system time.
// The report prints the probe per run (freshMemoryCost) so that such a
// run can be told apart.
func touchFresh(size int) (float64, error) {
	b, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return 0, err
	}
	defer syscall.Munmap(b)
	syscall.Madvise(b, 14) // MADV_NOHUGEPAGE: 4 KiB pages, as tmpfs allocates by default
	t0 := time.Now()
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	return time.Since(t0).Seconds() / (float64(size) / (1 << 30)), nil
}

// freshMemoryCost is the per-run probe: touchFresh of freshMemorySize.
func freshMemoryCost() (float64, error) { return touchFresh(freshMemorySize) }

// rusageThread is getrusage's RUSAGE_THREAD (Linux), which package
// syscall does not name.
const rusageThread = 1

// storeProbeSize is how much the per-run storing probe writes: 512 MiB,
// 32 MiB for a smoke run.
func (cfg *config) storeProbeSize() int {
	if cfg.short {
		return 32 << 20
	}
	return 512 << 20
}

// storeCost writes size bytes in 2 MiB pieces (a WRITE's size with
// Signet) into a new file in dir, removes it, and returns the CPU seconds
// per GiB the writes took on this thread: what any server pays to store
// the data in a new file there, beside the protocol. The shares live on
// tmpfs, where that is the kernel's copy and its page allocation.
func storeCost(dir string, size int) (float64, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	f, err := os.CreateTemp(dir, "store-probe-")
	if err != nil {
		return 0, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	buf := make([]byte, 2<<20)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	before, err := rusageCPU(rusageThread)
	if err != nil {
		return 0, err
	}
	for off := 0; off < size; off += len(buf) {
		if _, err := f.WriteAt(buf[:min(len(buf), size-off)], int64(off)); err != nil {
			return 0, err
		}
	}
	after, err := rusageCPU(rusageThread)
	if err != nil {
		return 0, err
	}
	return (after - before) / (float64(size) / (1 << 30)), nil
}
