package smbcrypto

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestWideGCM compares the assembly AES-GCM with the standard library's
// for 128- and 256-bit keys, every plaintext length up to 600 bytes (no
// whole block, singles, one and more 256-byte rounds, a partial last
// block), large messages, several additional-data lengths, in place and
// not, and checks that a changed byte anywhere is refused.
func TestWideGCM(t *testing.T) {
	if !gcmAVX512 {
		t.Skip("no VAES and AVX-512 carry-less multiply on this CPU (or built with purego): GCM is the standard library's")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	src := make([]byte, 2<<20+100)
	for i := range src {
		src[i] = byte(rng.Uint32())
	}
	for _, ks := range []int{16, 32} {
		key := src[7 : 7+ks]
		b, err := aes.NewCipher(key)
		if err != nil {
			t.Fatal(err)
		}
		std, err := cipher.NewGCM(b)
		if err != nil {
			t.Fatal(err)
		}
		w, err := newWideGCM(key)
		if err != nil {
			t.Fatal(err)
		}
		nonce := make([]byte, 12)
		check := func(pt, aad []byte) {
			t.Helper()
			want := std.Seal(nil, nonce, pt, aad)
			got := w.Seal(nil, nonce, pt, aad)
			if !bytes.Equal(got, want) {
				t.Fatalf("%d-byte key, %d bytes, %d of AAD: sealed differently", ks, len(pt), len(aad))
			}
			// In place, with the tag in spare capacity.
			buf := make([]byte, len(pt), len(pt)+16)
			copy(buf, pt)
			if got := w.Seal(buf[:0], nonce, buf, aad); !bytes.Equal(got, want) {
				t.Fatalf("%d-byte key, %d bytes: sealed in place differently", ks, len(pt))
			}
			opened, err := w.Open(nil, nonce, want, aad)
			if err != nil || !bytes.Equal(opened, pt) {
				t.Fatalf("%d-byte key, %d bytes: open: %v", ks, len(pt), err)
			}
			ct := append([]byte(nil), want...)
			if opened, err := w.Open(ct[:0], nonce, ct, aad); err != nil || !bytes.Equal(opened, pt) {
				t.Fatalf("%d-byte key, %d bytes: open in place: %v", ks, len(pt), err)
			}
			// One changed byte, in the ciphertext, the tag or the AAD.
			bad := append([]byte(nil), want...)
			bad[rng.IntN(len(bad))] ^= 1 << rng.IntN(8)
			if _, err := w.Open(nil, nonce, bad, aad); err == nil {
				t.Fatalf("%d-byte key, %d bytes: a changed byte was accepted", ks, len(pt))
			}
			if len(aad) > 0 {
				badAAD := append([]byte(nil), aad...)
				badAAD[rng.IntN(len(badAAD))] ^= 0x80
				if _, err := w.Open(nil, nonce, want, badAAD); err == nil {
					t.Fatalf("%d-byte key, %d bytes: changed AAD accepted", ks, len(pt))
				}
			}
		}
		for n := 0; n <= 600; n++ {
			nonce[0], nonce[1] = byte(n), byte(ks)
			off := rng.IntN(32)
			aad := src[len(src)-32-rng.IntN(40):][:rng.IntN(33)]
			check(src[off:off+n], aad)
		}
		copy(nonce, []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9})
		for _, n := range []int{4096, 65536 + 5, 1 << 20, 2<<20 + 31} {
			check(src[1:1+n], src[len(src)-32:])
		}
	}
	if _, err := newWideGCM(make([]byte, 15)); err == nil {
		t.Error("a 15-byte key was taken")
	}
}

// TestExpandKey: the key schedule's first and last round keys for the
// FIPS 197 appendix A.1 and A.3 keys.
func TestExpandKey(t *testing.T) {
	for _, c := range []struct {
		key, first, last string
		rounds           int
	}{
		{"2b7e151628aed2a6abf7158809cf4f3c", "2b7e151628aed2a6abf7158809cf4f3c", "d014f9a8c9ee2589e13f0cc8b6630ca6", 10},
		{"603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4", "603deb1015ca71be2b73aef0857d7781", "fe4890d1e6188d0b046df344706c631e", 14},
	} {
		var rk [15 * 16]byte
		if r := expandKey(mustHex(t, c.key), &rk); r != c.rounds {
			t.Fatalf("rounds %d", r)
		}
		if got := rk[:16]; !bytes.Equal(got, mustHex(t, c.first)) {
			t.Errorf("round key 0 %x", got)
		}
		if got := rk[16*c.rounds : 16*c.rounds+16]; !bytes.Equal(got, mustHex(t, c.last)) {
			t.Errorf("round key %d %x, want %s", c.rounds, got, c.last)
		}
	}
}

// TestNewAEADWide: where the CPU has the instructions, the GCM ciphers
// come from the wide implementation, so the transform vectors and the
// server's and client's tests run it.
func TestNewAEADWide(t *testing.T) {
	for _, c := range []Cipher{AES128GCM, AES256GCM} {
		a, err := NewAEAD(c, make([]byte, c.KeySize()))
		if err != nil {
			t.Fatal(err)
		}
		if _, wide := a.(*wideGCM); wide != gcmAVX512 {
			t.Errorf("%v: wide %v, CPU support %v", c, wide, gcmAVX512)
		}
	}
}

// BenchmarkAEAD measures every SMB 3.x cipher NewAEAD returns.
func BenchmarkAEAD(b *testing.B) {
	for _, c := range []Cipher{AES128GCM, AES256GCM, AES128CCM, AES256CCM} {
		a, err := NewAEAD(c, make([]byte, c.KeySize()))
		if err != nil {
			b.Fatal(err)
		}
		for _, n := range []int{1 << 10, 1 << 20} {
			buf := make([]byte, n+16)
			nonce, aad := make([]byte, c.NonceSize()), make([]byte, 32)
			b.Run(fmt.Sprintf("%v/seal/%d", c, n), func(b *testing.B) {
				b.SetBytes(int64(n))
				for b.Loop() {
					a.Seal(buf[:0], nonce, buf[:n], aad)
				}
			})
			sealed := a.Seal(nil, nonce, buf[:n], aad)
			b.Run(fmt.Sprintf("%v/open/%d", c, n), func(b *testing.B) {
				b.SetBytes(int64(n))
				for b.Loop() {
					if _, err := a.Open(buf[:0], nonce, sealed, aad); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
