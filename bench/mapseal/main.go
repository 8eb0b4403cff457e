//go:build linux

// Command mapseal measures whether an encrypted READ would be cheaper
// sealed straight from the file's mapped pages than read with pread into
// the send buffer and sealed there (what the server does). It times, in
// CPU seconds per GiB (getrusage), AES-128-GCM over a file in pieces the
// size of a large READ: pread into the buffer and seal in place; per
// piece, one anonymous page plus the range reserved, the file mapped over
// the range (MAP_FIXED, MAP_POPULATE) and the 80 header bytes at the end
// of the anonymous page, so that header and data are one slice, sealed
// into the buffer and unmapped; one mapping of the whole file, each piece
// sealed from it; and the seal alone, from a buffer already in cache.
//
//	go run ./bench/mapseal -file /dev/shm/big -rounds 3
//
// Without -file it writes a 1 GiB random file in /dev/shm and removes it
// after. The results are in docs/PERFORMANCE-profiles.md.
package main

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

const header = 80 // SMB2 header and READ response header

func main() {
	file := flag.String("file", "", "file to read (default: a new 1 GiB random file in /dev/shm)")
	piece := flag.Int("piece", 8<<20, "bytes per READ")
	rounds := flag.Int("rounds", 3, "rounds")
	flag.Parse()
	if *file == "" {
		f, err := os.CreateTemp("/dev/shm", "mapseal-")
		if err != nil {
			log.Fatal(err)
		}
		defer os.Remove(f.Name())
		if _, err := io.CopyN(f, rand.Reader, 1<<30); err != nil {
			log.Fatal(err)
		}
		f.Close()
		*file = f.Name()
	}
	f, err := os.Open(*file)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		log.Fatal(err)
	}
	page := os.Getpagesize()
	n := *piece
	if n%page != 0 {
		log.Fatalf("-piece must be a multiple of the page size (%d)", page)
	}
	size := st.Size() / int64(n) * int64(n)
	if size == 0 {
		log.Fatalf("%s is smaller than one piece", *file)
	}
	blk, _ := aes.NewCipher(make([]byte, 16))
	gcm, _ := cipher.NewGCM(blk)
	nonce := make([]byte, gcm.NonceSize())
	buf := make([]byte, header+n+gcm.Overhead())
	out := make([]byte, header+n+gcm.Overhead())
	fd := int(f.Fd())
	ways := []struct {
		name string
		run  func() error
	}{
		{"pread, seal in place", func() error {
			for off := int64(0); off < size; off += int64(n) {
				if _, err := f.ReadAt(buf[header:header+n], off); err != nil {
					return err
				}
				gcm.Seal(buf[:0], nonce, buf[:header+n], nil)
			}
			return nil
		}},
		{"map each piece behind an anonymous page, seal, unmap", func() error {
			for off := int64(0); off < size; off += int64(n) {
				region, err := unix.Mmap(-1, 0, page+n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
				if err != nil {
					return err
				}
				if _, err := unix.MmapPtr(fd, off, unsafe.Pointer(&region[page]), uintptr(n), unix.PROT_READ, unix.MAP_SHARED|unix.MAP_FIXED|unix.MAP_POPULATE); err != nil {
					unix.Munmap(region)
					return err
				}
				gcm.Seal(out[:0], nonce, region[page-header:page+n], nil)
				if err := unix.Munmap(region); err != nil {
					return err
				}
			}
			return nil
		}},
		{"one mapping of the whole file, seal each piece", func() error {
			whole, err := unix.Mmap(fd, 0, int(size), unix.PROT_READ, unix.MAP_SHARED|unix.MAP_POPULATE)
			if err != nil {
				return err
			}
			for off := int64(0); off < size; off += int64(n) {
				gcm.Seal(out[:0], nonce, whole[off:off+int64(n)], nil)
			}
			return unix.Munmap(whole)
		}},
		{"seal alone (buffer in cache)", func() error {
			for off := int64(0); off < size; off += int64(n) {
				gcm.Seal(out[:0], nonce, buf[:header+n], nil)
			}
			return nil
		}},
	}
	gib := float64(size) / (1 << 30)
	for r := 1; r <= *rounds; r++ {
		for _, w := range ways {
			before := cpu()
			start := time.Now()
			if err := w.run(); err != nil {
				log.Fatalf("%s: %v", w.name, err)
			}
			fmt.Printf("round %d  %-55s %.3f CPU s/GiB  (%.3f s wall)\n", r, w.name, (cpu()-before).Seconds()/gib, time.Since(start).Seconds())
		}
	}
}

func cpu() time.Duration {
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
