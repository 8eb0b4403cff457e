//go:build linux

package client_test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"runtime"
	"testing"

	"github.com/signetsmb/signet/vfs/localfs"
)

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
			// alone would be 2 x 32 MiB (the old client allocated 70 MiB
			// signed, 105 MiB encrypted). Under the race detector
			// sync.Pool drops a quarter of the buffers put back, so about
			// a quarter of the requests allocate (25 to 29 MiB measured).
			limit := uint64(size / 4)
			if raceEnabled {
				limit = size * 3 / 2
			}
			if got := after.TotalAlloc - before.TotalAlloc; got > limit {
				t.Fatalf("%d MiB allocated to move 32 MiB each way, want under %d MiB", got>>20, limit>>20)
			}
		})
	}
}

func sha256Sum(b []byte) []byte { s := sha256.Sum256(b); return s[:] }
