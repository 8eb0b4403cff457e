package client_test

import (
	"bytes"
	"crypto/rand"
	"io"
	"os"
	"testing"
	"time"

	"github.com/signetsmb/signet/client"
)

// TestReadCacheServesRepeatedReads: under an RH lease a second ReadAt of
// a range already read (or of a part of it, or a Read inside it) sends no
// READ; a write of this client drops the cache, so the next read sees it.
func TestReadCacheServesRepeatedReads(t *testing.T) {
	addr := startServer(t)
	for _, dialect := range []uint16{0x0311, 0x0210} {
		c := newCutter(t, addr)
		_, sh := mount(t, dialer(dialect), c.addr())
		data := make([]byte, 200<<10)
		rand.Read(data)
		if err := writeFile(sh, "rc.bin", data); err != nil {
			t.Fatal(err)
		}
		f, err := sh.OpenFile("rc.bin", os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		if f.Lease().State&client.LeaseRead == 0 {
			t.Fatalf("no read caching: %+v", f.Lease())
		}
		buf := make([]byte, 64<<10)
		if _, err := f.ReadAt(buf, 1000); err != nil {
			t.Fatal(err)
		}
		before := c.reads.Load()
		if before == 0 {
			t.Fatal("the proxy counted no READ")
		}
		again := make([]byte, 64<<10)
		if _, err := f.ReadAt(again, 1000); err != nil || !bytes.Equal(again, data[1000:1000+64<<10]) {
			t.Fatalf("dialect %x: second ReadAt: %v, equal %v", dialect, err, bytes.Equal(again, data[1000:1000+64<<10]))
		}
		part := make([]byte, 100)
		if _, err := f.Seek(5000, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(f, part); err != nil || !bytes.Equal(part, data[5000:5100]) {
			t.Fatalf("Read inside the cached range: %v", err)
		}
		if got := c.reads.Load(); got != before {
			t.Fatalf("dialect %x: %d READs for ranges already read (cache %+v)", dialect, got-before, f.Lease())
		}
		if n, hits := f.ReadCached(); n != 64<<10 || hits != 2 {
			t.Fatalf("dialect %x: cache holds %d bytes, %d hits; want 64 KiB, 2", dialect, n, hits)
		}
		// A write of our own drops the cache: the next read asks the server.
		if _, err := f.WriteAt([]byte("NEW"), 2000); err != nil {
			t.Fatal(err)
		}
		if n, _ := f.ReadCached(); n != 0 {
			t.Fatalf("cache holds %d bytes after a write", n)
		}
		if _, err := f.ReadAt(again, 1000); err != nil || string(again[1000:1003]) != "NEW" {
			t.Fatalf("read after write: %v, %q", err, again[1000:1003])
		}
		if c.reads.Load() == before {
			t.Fatal("read after a write was served from the cache")
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		if n, _ := f.ReadCached(); n != 0 {
			t.Fatalf("cache holds %d bytes after Close", n)
		}
	}
}

// TestReadCachePurgedByBreak: client A caches data read under its RH
// lease; client B writes the file, which breaks A's lease to none; A
// purges the cache when the break arrives (before acknowledging), so its
// next read returns B's data.
func TestReadCachePurgedByBreak(t *testing.T) {
	addr := startServer(t)
	for _, dialect := range []uint16{0x0311, 0x0210} {
		_, a := mount(t, dialer(dialect), addr)
		_, b := mount(t, dialer(dialect), addr)
		old := bytes.Repeat([]byte("old "), 4096)
		if err := writeFile(a, "shared.txt", old); err != nil {
			t.Fatal(err)
		}
		f, err := a.OpenFile("shared.txt", os.O_RDONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		if f.Lease().State&client.LeaseRead == 0 {
			t.Fatalf("no read caching: %+v", f.Lease())
		}
		buf := make([]byte, len(old))
		if _, err := f.ReadAt(buf, 0); err != nil {
			t.Fatal(err)
		}
		if n, _ := f.ReadCached(); n != len(old) {
			t.Fatalf("cache holds %d bytes, want %d", n, len(old))
		}
		g, err := b.OpenFile("shared.txt", os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		fresh := bytes.Repeat([]byte("NEW!"), 4096)
		if _, err := g.WriteAt(fresh, 0); err != nil {
			t.Fatal(err)
		}
		if err := g.Close(); err != nil { // flushes anything B cached
			t.Fatal(err)
		}
		// The break reaches A asynchronously (on A's connection).
		deadline := time.Now().Add(10 * time.Second)
		for f.Lease().State&client.LeaseRead != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("dialect %x: A's lease still has R: %+v", dialect, f.Lease())
			}
			time.Sleep(5 * time.Millisecond)
		}
		if n, _ := f.ReadCached(); n != 0 {
			t.Fatalf("dialect %x: cache holds %d bytes after the break took R away", dialect, n)
		}
		if _, err := f.ReadAt(buf, 0); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf, fresh) {
			t.Fatalf("dialect %x: A read stale data after the break: %q...", dialect, buf[:16])
		}
		if _, hits := f.ReadCached(); hits != 0 {
			t.Fatalf("dialect %x: %d reads served from the cache", dialect, hits)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestReadCacheBounded: the cache never holds more than Dialer.ReadCache
// bytes; it keeps the most recent data.
func TestReadCacheBounded(t *testing.T) {
	addr := startServer(t)
	c := newCutter(t, addr)
	d := dialer(0x0311)
	d.ReadCache = 64 << 10
	_, sh := mount(t, d, c.addr())
	data := make([]byte, 300<<10)
	rand.Read(data)
	if err := writeFile(sh, "big.bin", data); err != nil {
		t.Fatal(err)
	}
	f, err := sh.OpenFile("big.bin", os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 10<<10)
	for i := 0; i < len(data); i += len(buf) {
		if _, err := io.ReadFull(f, buf[:min(len(buf), len(data)-i)]); err != nil {
			t.Fatal(err)
		}
		if n, _ := f.ReadCached(); n > 64<<10 {
			t.Fatalf("cache holds %d bytes, bound 64 KiB", n)
		}
	}
	// The last 10 KiB are cached; the start of the file is not.
	before := c.reads.Load()
	if _, err := f.ReadAt(buf, int64(len(data)-len(buf))); err != nil || !bytes.Equal(buf, data[len(data)-len(buf):]) {
		t.Fatalf("tail: %v", err)
	}
	if c.reads.Load() != before {
		t.Fatal("the tail was read again")
	}
	if _, err := f.ReadAt(buf, 0); err != nil || !bytes.Equal(buf, data[:len(buf)]) {
		t.Fatalf("head: %v", err)
	}
	if c.reads.Load() == before {
		t.Fatal("the head was served from the cache (beyond the bound)")
	}
	// One read larger than the bound keeps only its last 64 KiB.
	whole := make([]byte, len(data))
	if _, err := f.ReadAt(whole, 0); err != nil || !bytes.Equal(whole, data) {
		t.Fatalf("whole: %v", err)
	}
	if n, _ := f.ReadCached(); n != 64<<10 {
		t.Fatalf("cache holds %d bytes after a 300 KiB read, want 64 KiB", n)
	}
}

// TestReadCacheOff: with a negative Dialer.ReadCache every read sends a
// READ.
func TestReadCacheOff(t *testing.T) {
	addr := startServer(t)
	c := newCutter(t, addr)
	d := dialer(0x0311)
	d.ReadCache = -1
	_, sh := mount(t, d, c.addr())
	if err := writeFile(sh, "off.bin", make([]byte, 8<<10)); err != nil {
		t.Fatal(err)
	}
	f, err := sh.OpenFile("off.bin", os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Lease().State&client.LeaseRead == 0 {
		t.Fatalf("no read caching: %+v", f.Lease())
	}
	buf := make([]byte, 4<<10)
	for i := 0; i < 3; i++ {
		before := c.reads.Load()
		if _, err := f.ReadAt(buf, 0); err != nil {
			t.Fatal(err)
		}
		if c.reads.Load() == before {
			t.Fatalf("read %d sent no READ with the cache off", i)
		}
	}
	if n, hits := f.ReadCached(); n != 0 || hits != 0 {
		t.Fatalf("cache off holds %d bytes, %d hits", n, hits)
	}
}

// writeFile creates name with data and closes it.
func writeFile(sh *client.Share, name string, data []byte) error {
	f, err := sh.Create(name)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// TestReadCacheDroppedByReconnect: a reconnect reclaims the handle with
// its lease but drops the cache, so the range is read again.
func TestReadCacheDroppedByReconnect(t *testing.T) {
	addr := startServer(t)
	px := newCutter(t, addr)
	s, sh := mount(t, dialer(0x0311), px.addr())
	data := bytes.Repeat([]byte("reconnect "), 1000)
	if err := writeFile(sh, "rc.txt", data); err != nil {
		t.Fatal(err)
	}
	f, err := sh.OpenFile("rc.txt", os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, len(data))
	if _, err := f.ReadAt(buf, 0); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.ReadCached(); n != len(data) {
		t.Fatalf("cache holds %d bytes", n)
	}
	px.cut()
	time.Sleep(50 * time.Millisecond)
	if _, err := f.Stat(); err != nil { // reconnects and reclaims
		t.Fatalf("stat after cut: %v", err)
	}
	if s.Reconnects() != 1 || f.Lease().Reclaimed != 1 {
		t.Fatalf("reconnects %d, lease %+v", s.Reconnects(), f.Lease())
	}
	if n, _ := f.ReadCached(); n != 0 {
		t.Fatalf("cache holds %d bytes after the reconnect", n)
	}
	before := px.reads.Load()
	if _, err := f.ReadAt(buf, 0); err != nil || !bytes.Equal(buf, data) {
		t.Fatalf("read after reconnect: %v", err)
	}
	if px.reads.Load() == before {
		t.Fatal("read after the reconnect was served from the cache")
	}
}
