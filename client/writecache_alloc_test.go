package client_test

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/signetsmb/signet/client"
)

// TestSmallWriteCacheAllocation: a file written with a few KiB under a
// lease with write caching does not take the whole cache limit (1 MiB)
// for its buffer; with one 1 MiB buffer per file the garbage collector
// was most of the cost of small-file work (issue 8, docs/benchmarks.md).
func TestSmallWriteCacheAllocation(t *testing.T) {
	_, sh := mount(t, dialer(0x0311), startServer(t))
	data := make([]byte, 4<<10)
	write := func(i int) {
		f, err := sh.Create(fmt.Sprintf("small%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(data); err != nil {
			t.Fatal(err)
		}
		if f.Lease().State&client.LeaseWrite == 0 {
			t.Fatalf("no write caching granted (lease %+v): the case is not produced", f.Lease())
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	write(0) // warm up
	const n = 50
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 1; i <= n; i++ {
		write(i)
	}
	runtime.ReadMemStats(&after)
	// Client and in-process server together; a 1 MiB buffer per file
	// alone would be 50 MiB.
	if per := (after.TotalAlloc - before.TotalAlloc) / n; per > 256<<10 {
		t.Fatalf("%d bytes allocated per small file written, want well under the 1 MiB cache limit", per)
	}
}

// TestLargeWriteAllocation: File.Write of many MiB (io.Copy from a
// bytes.Reader comes here) builds its WRITE requests in pooled buffers;
// a fresh buffer per request (2 MiB against this server) was allocated,
// zeroed and collected for every request.
func TestLargeWriteAllocation(t *testing.T) {
	if raceEnabled {
		t.Skip("under -race sync.Pool drops a share of what is put back")
	}
	_, sh := mount(t, dialer(0x0311), startServer(t))
	data := make([]byte, 16<<20)
	f, err := sh.Create("large")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(data, 0); err != nil { // warm up the pools
		t.Fatal(err)
	}
	const n = 4
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range n {
		if _, err := f.WriteAt(data, 0); err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	// Client and in-process server together; a buffer per request alone
	// would be the 16 MiB written.
	per := (after.TotalAlloc - before.TotalAlloc) / n
	t.Logf("%d bytes allocated per %d MiB written", per, len(data)>>20)
	if per > uint64(len(data))/4 {
		t.Fatalf("%d bytes allocated per %d MiB written, want well under the data's size", per, len(data)>>20)
	}
}
