package smbcrypto

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"testing"
)

// softGMAC computes AES-GMAC (GCM with an empty plaintext, NIST SP 800-38D
// algorithm 4 with a 96-bit IV) using this package's field arithmetic:
// GHASH by Horner's rule with gfMul, then XOR with E_K(J0).
func softGMAC(t testing.TB, key, iv, aad []byte) []byte {
	t.Helper()
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	var hb, j0 [16]byte
	block.Encrypt(hb[:], hb[:])
	h := loadElement(hb[:])
	var y fieldElement
	absorb := func(b []byte) {
		var blk [16]byte
		copy(blk[:], b)
		x := loadElement(blk[:])
		y = gfMul(fieldElement{hi: y.hi ^ x.hi, lo: y.lo ^ x.lo}, h)
	}
	for p := aad; len(p) > 0; p = p[min(16, len(p)):] {
		absorb(p[:min(16, len(p))])
	}
	var lenBlock [16]byte
	binary.BigEndian.PutUint64(lenBlock[:8], uint64(len(aad))*8)
	absorb(lenBlock[:])
	copy(j0[:], iv)
	j0[15] = 1
	block.Encrypt(j0[:], j0[:])
	var tag [16]byte
	y.put(tag[:])
	for i := range tag {
		tag[i] ^= j0[i]
	}
	return tag[:]
}

// TestGCMVectors checks the GCM tag vectors against both the standard
// library and the software GHASH built on gfMul.
func TestGCMVectors(t *testing.T) {
	for _, tc := range loadVectors(t).GCM {
		key, iv, aad := mustHex(t, tc.Key), mustHex(t, tc.IV), mustHex(t, tc.AAD)
		block, err := aes.NewCipher(key)
		if err != nil {
			t.Fatal(err)
		}
		g, err := cipher.NewGCM(block)
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(g.Seal(nil, iv, nil, aad)); got != tc.Tag {
			t.Errorf("%s: crypto/cipher tag = %s, want %s", tc.Name, got, tc.Tag)
		}
		if got := hex.EncodeToString(softGMAC(t, key, iv, aad)); got != tc.Tag {
			t.Errorf("%s: software GMAC tag = %s, want %s", tc.Name, got, tc.Tag)
		}
	}
}

// gfMulPow returns x·h^e by plain right-to-left square-and-multiply: the
// oracle for the windowed powerTable.mulPow.
func gfMulPow(x, h fieldElement, e uint64) fieldElement {
	for ; e != 0; e >>= 1 {
		if e&1 != 0 {
			x = gfMulRef(x, h)
		}
		h = gfMulRef(h, h)
	}
	return x
}

func TestGFMulPow(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for i := range 600 {
		x, h := randElement(r), randElement(r)
		e := r.Uint64N(300)
		if i >= 300 {
			e = r.Uint64() >> r.IntN(64)
		}
		if i < 300 {
			want := x
			for range e {
				want = gfMulRef(want, h)
			}
			if got := gfMulPow(x, h, e); got != want {
				t.Fatalf("gfMulPow(x, h, %d) = %x, want %x", e, got, want)
			}
		}
		if got, want := newPowerTable(h).mulPow(x, e), gfMulPow(x, h, e); got != want {
			t.Fatalf("mulPow(x, %d) = %x, want %x", e, got, want)
		}
	}
	// Field sanity: h^(2^128 - 1) = 1 for h != 0, checked as h^(2^128) = h
	// by 128 squarings.
	h := randElement(r)
	p := h
	for range 128 {
		p = gfSquare(p)
	}
	if p != h {
		t.Fatalf("h^(2^128) != h")
	}
	if gfMul(h, gfOne()) != h || newPowerTable(h).mulPow(h, 0) != h {
		t.Fatal("identity broken")
	}
}

// TestGMACCorrectionProperty is the proof of the verify-without-copy trick:
// for random keys, lengths 64..10000 (including non-multiples of 16) and
// random contents including the Signature field, the corrected tag equals
// the tag the standard library computes over a zeroed copy.
func TestGMACCorrectionProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	lengths := []int{64, 65, 79, 80, 81, 95, 96, 127, 128, 129, 4096, 4097, 10000}
	for range 400 {
		lengths = append(lengths, headerSize+r.IntN(10000-headerSize+1))
	}
	var sc gmacScratch
	for i, n := range lengths {
		key := randBytes(r, 16)
		s, err := newGMACSigner(key)
		if err != nil {
			t.Fatal(err)
		}
		msg := randBytes(r, n)
		orig := bytes.Clone(msg)
		s.zeroedTag(&sc, msg)
		want := oneShotSignature(t, AESGMAC, key, msg)
		if !bytes.Equal(sc.tag[:], want) {
			t.Fatalf("case %d, len %d: corrected tag %x, zeroed-copy tag %x", i, n, sc.tag, want)
		}
		if !bytes.Equal(msg, orig) {
			t.Fatalf("case %d: zeroedTag modified msg", i)
		}
	}
}
