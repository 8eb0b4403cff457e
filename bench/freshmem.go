package main

import (
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
