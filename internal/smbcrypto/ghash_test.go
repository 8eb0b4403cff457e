package smbcrypto

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"math/rand/v2"
	"testing"
)

// TestWideGMAC compares the assembly GHASH's tags with the standard
// library's GCM for every length up to 1,100 bytes (every path: no whole
// block, singles only, one and several 256-byte rounds, a partial last
// block), large messages, and data at every alignment.
func TestWideGMAC(t *testing.T) {
	if !ghashAVX512 {
		t.Skip("no AVX-512 carry-less multiply on this CPU (or built with purego): GMAC uses the standard library's GCM")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 3<<20+64)
	for i := range buf {
		buf[i] = byte(rng.Uint32())
	}
	for round := 0; round < 4; round++ {
		key := buf[round*16 : round*16+16]
		block, err := aes.NewCipher(key)
		if err != nil {
			t.Fatal(err)
		}
		std, err := cipher.NewGCM(block)
		if err != nil {
			t.Fatal(err)
		}
		var h [16]byte
		block.Encrypt(h[:], h[:])
		w := newWideGMAC(block, loadElement(h[:]))
		check := func(nonce [gmacNonceSize]byte, aad []byte) {
			t.Helper()
			var got [16]byte
			w.tag(&got, &nonce, aad)
			want := std.Seal(nil, nonce[:], nil, aad)
			if !bytes.Equal(got[:], want) {
				t.Fatalf("key %d, %d bytes at offset %d: tag %x, want %x", round, len(aad), cap(buf)-cap(aad), got, want)
			}
		}
		var nonce [gmacNonceSize]byte
		for n := 0; n <= 1100; n++ {
			nonce[0], nonce[1] = byte(n), byte(n>>8)
			off := 64 + rng.IntN(64)
			check(nonce, buf[off:off+n])
		}
		for _, n := range []int{4096, 65536 + 48, 1 << 20, 2<<20 + 13, 3 << 20} {
			for off := 0; off < 16; off += 5 {
				check(nonce, buf[off:off+n])
			}
		}
	}
}

// TestWideGMACUsed: on a CPU with the instructions, a signer takes the
// wide path, so the vectors and property tests of this package check it.
func TestWideGMACUsed(t *testing.T) {
	s, err := newGMACSigner(make([]byte, 16))
	if err != nil {
		t.Fatal(err)
	}
	if (s.wide != nil) != ghashAVX512 {
		t.Fatalf("wide path %v, CPU support %v", s.wide != nil, ghashAVX512)
	}
	t.Logf("wide GHASH in use: %v", ghashAVX512)
}
