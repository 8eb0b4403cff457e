package smbcrypto

import (
	"bytes"
	"crypto/aes"
	"math/rand/v2"
	"testing"
)

// TestCCMAssembly compares the one-loop CCM of ccm_amd64.s with the
// package's portable CCM (checked against RFC 3610 and OpenSSL in
// cipher_test.go) at every length up to 600 bytes, which takes every
// path (no whole block, whole blocks only, blocks and a tail), at larger
// sizes, at random alignments, in place and not, for AES-128 and AES-256
// and for SMB's 11-byte nonce and RFC 3610's 13-byte one.
func TestCCMAssembly(t *testing.T) {
	if !ccmAESNI {
		t.Skip("no AES-NI on this CPU (or built with purego): CCM is portable Go")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	src := make([]byte, 2<<20+100)
	for i := range src {
		src[i] = byte(rng.Uint32())
	}
	for _, p := range []struct{ key, nonce, tag int }{{16, 11, 16}, {32, 11, 16}, {16, 13, 8}, {24, 12, 10}} {
		key := src[3 : 3+p.key]
		b, err := aes.NewCipher(key)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := NewCCM(b, p.nonce, p.tag)
		if err != nil {
			t.Fatal(err)
		}
		w, err := newAESCCM(key, p.nonce, p.tag)
		if err != nil {
			t.Fatal(err)
		}
		if w.rk == nil {
			t.Fatal("newAESCCM made no key schedule on a CPU with AES-NI")
		}
		nonce := make([]byte, p.nonce)
		check := func(pt, aad []byte) {
			t.Helper()
			if !w.wide(len(pt)) {
				t.Fatalf("%d bytes would not take the assembly", len(pt))
			}
			want := ref.Seal(nil, nonce, pt, aad)
			if got := w.Seal(nil, nonce, pt, aad); !bytes.Equal(got, want) {
				t.Fatalf("%+v, %d bytes, %d of AAD: sealed differently", p, len(pt), len(aad))
			}
			buf := make([]byte, len(pt), len(pt)+p.tag)
			copy(buf, pt)
			if got := w.Seal(buf[:0], nonce, buf, aad); !bytes.Equal(got, want) {
				t.Fatalf("%+v, %d bytes: sealed in place differently", p, len(pt))
			}
			if opened, err := w.Open(nil, nonce, want, aad); err != nil || !bytes.Equal(opened, pt) {
				t.Fatalf("%+v, %d bytes: open: %v", p, len(pt), err)
			}
			ct := bytes.Clone(want)
			if opened, err := w.Open(ct[:0], nonce, ct, aad); err != nil || !bytes.Equal(opened, pt) {
				t.Fatalf("%+v, %d bytes: open in place: %v", p, len(pt), err)
			}
			bad := bytes.Clone(want)
			bad[rng.IntN(len(bad))] ^= 1 << rng.IntN(8)
			out := make([]byte, len(pt))
			if _, err := w.Open(out[:0], nonce, bad, aad); err == nil {
				t.Fatalf("%+v, %d bytes: a changed byte was accepted", p, len(pt))
			}
			if !bytes.Equal(out, make([]byte, len(pt))) {
				t.Fatalf("%+v, %d bytes: a refused message left plaintext in the output", p, len(pt))
			}
			if len(aad) > 0 {
				badAAD := bytes.Clone(aad)
				badAAD[rng.IntN(len(badAAD))] ^= 0x80
				if _, err := w.Open(nil, nonce, want, badAAD); err == nil {
					t.Fatalf("%+v, %d bytes: changed AAD accepted", p, len(pt))
				}
			}
		}
		for n := 0; n <= 600; n++ {
			nonce[0], nonce[1] = byte(n), byte(p.key)
			off := rng.IntN(32)
			aad := src[len(src)-40-rng.IntN(40):][:rng.IntN(41)]
			check(src[off:off+n], aad)
		}
		if p.nonce > 11 {
			continue // the length field of a longer nonce holds less
		}
		for _, n := range []int{4096, 65536 + 5, 1 << 20, 2<<20 + 31} {
			check(src[1:1+n], src[len(src)-32:])
		}
	}
}

// TestCCMAssemblyUsed checks that the ciphers SMB negotiates take the
// assembly where the CPU has it, so that the MS-SMB2 transform examples
// (vectors_test.go) and the RFC 3610 and OpenSSL vectors run it.
func TestCCMAssemblyUsed(t *testing.T) {
	for _, c := range []Cipher{AES128CCM, AES256CCM} {
		a, err := NewAEAD(c, make([]byte, c.KeySize()))
		if err != nil {
			t.Fatal(err)
		}
		m, ok := a.(*ccm)
		if !ok {
			t.Fatalf("%v: NewAEAD returned %T", c, a)
		}
		if (m.rk != nil) != ccmAESNI {
			t.Errorf("%v: assembly %v, CPU support %v", c, m.rk != nil, ccmAESNI)
		}
	}
}

// TestCCMOverlap checks the cipher.AEAD rule: the output is the input
// itself or does not overlap it.
func TestCCMOverlap(t *testing.T) {
	a, err := newAESCCM(make([]byte, 16), 11, 16)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if recover() == nil {
			t.Error("an output shifted by one byte over the input was accepted")
		}
	}()
	buf := make([]byte, 100)
	a.Seal(buf[1:1], make([]byte, 11), buf[:64], nil)
}

// FuzzCCM checks the assembly CCM against the portable one on arbitrary
// messages and additional data (seal, then open of a possibly changed
// ciphertext), for both key sizes SMB uses.
func FuzzCCM(f *testing.F) {
	f.Add([]byte("a message of more than one block, and a tail"), []byte("aad"), uint16(0), false)
	f.Add([]byte{}, []byte{}, uint16(3), true)
	f.Add(make([]byte, 64), make([]byte, 32), uint16(700), false)
	if !ccmAESNI {
		f.Skip("no AES-NI on this CPU (or built with purego)")
	}
	type pair struct{ ref, asm *ccm }
	var pairs []pair
	for _, ks := range []int{16, 32} {
		key := bytes.Repeat([]byte{byte(ks)}, ks)
		b, err := aes.NewCipher(key)
		if err != nil {
			f.Fatal(err)
		}
		ref, err := NewCCM(b, 11, 16)
		if err != nil {
			f.Fatal(err)
		}
		w, err := newAESCCM(key, 11, 16)
		if err != nil {
			f.Fatal(err)
		}
		pairs = append(pairs, pair{ref.(*ccm), w})
	}
	nonce := []byte("nonce-11byt")
	f.Fuzz(func(t *testing.T, pt, aad []byte, flip uint16, aes256 bool) {
		p := pairs[0]
		if aes256 {
			p = pairs[1]
		}
		want := p.ref.Seal(nil, nonce, pt, aad)
		got := p.asm.Seal(nil, nonce, pt, aad)
		if !bytes.Equal(got, want) {
			t.Fatalf("%d bytes, %d of AAD: sealed differently", len(pt), len(aad))
		}
		bit := int(flip) % (8*len(got) + 1)
		if bit < 8*len(got) {
			got[bit/8] ^= 1 << (bit % 8)
		}
		o1, err1 := p.ref.Open(nil, nonce, got, aad)
		o2, err2 := p.asm.Open(nil, nonce, got, aad)
		if (err1 == nil) != (err2 == nil) || !bytes.Equal(o1, o2) {
			t.Fatalf("open differs: %v %v", err1, err2)
		}
		if (err2 == nil) != (bit == 8*len(got)) {
			t.Fatalf("open of a message with bit %d of %d changed: %v", bit, 8*len(got), err2)
		}
	})
}
