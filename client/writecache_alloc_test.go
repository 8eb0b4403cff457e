package client_test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"runtime"
	"testing"

	"github.com/signetsmb/signet/client"
	"github.com/signetsmb/signet/vfs/localfs"
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

// TestBulkTransferAllocation: a large upload (File.ReadFrom) and download
// (File.WriteTo) reuse their message buffers: each WRITE is sent from
// the buffer the data was read into, each READ response is written out
// from the frame it arrived in and the frame goes back to the pool, and
// encrypted messages are sealed into pooled buffers. Allocating a
// message (or a frame) per request cost the client more than its
// signing did (issue 8, docs/PERFORMANCE.md).
func TestBulkTransferAllocation(t *testing.T) {
	// A folder on disk: memfs reallocates a file as it grows.
	fsys, err := localfs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	addr := startServerFS(t, fsys)
	for _, enc := range []bool{false, true} {
		t.Run(fmt.Sprintf("encrypted=%v", enc), func(t *testing.T) {
			d := dialer(0x0311)
			if enc {
				d.RequireEncryption = true
			}
			_, sh := mount(t, d, addr)
			const size = 32 << 20
			data := make([]byte, size)
			for i := range data {
				data[i] = byte(i * 7)
			}
			name := fmt.Sprintf("bulk-%v", enc)
			pass := func() {
				f, err := sh.Create(name)
				if err != nil {
					t.Fatal(err)
				}
				if n, err := f.ReadFrom(bytes.NewReader(data)); err != nil || n != size {
					t.Fatalf("ReadFrom: %d, %v", n, err)
				}
				if err := f.Close(); err != nil {
					t.Fatal(err)
				}
				if f, err = sh.OpenFile(name, os.O_RDONLY, 0); err != nil {
					t.Fatal(err)
				}
				h := sha256.New()
				if n, err := f.WriteTo(h); err != nil || n != size {
					t.Fatalf("WriteTo: %d, %v", n, err)
				}
				f.Close()
				if !bytes.Equal(h.Sum(nil), sha256Sum(data)) {
					t.Fatal("the file read back differs from the one written")
				}
			}
			pass() // warm up: the file exists, the pools hold buffers
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			pass()
			runtime.ReadMemStats(&after)
			// Client and in-process server together; a buffer per request
			// alone would be 2 x 32 MiB.
			if got := after.TotalAlloc - before.TotalAlloc; got > size/4 {
				t.Fatalf("%d MiB allocated to move 32 MiB each way, want under 8 MiB", got>>20)
			}
		})
	}
}

func sha256Sum(b []byte) []byte { s := sha256.Sum256(b); return s[:] }
