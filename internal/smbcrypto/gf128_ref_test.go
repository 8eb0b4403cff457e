package smbcrypto

import (
	"math/rand/v2"
	"testing"
)

// gfMulRef is NIST SP 800-38D Algorithm 1, bit by bit: the reference the
// fast multiply is checked against.
func gfMulRef(x, y fieldElement) fieldElement {
	const r = 0xE1 << 56
	var z fieldElement
	v := y
	for i := range 128 {
		var bit uint64
		if i < 64 {
			bit = x.hi >> (63 - i) & 1
		} else {
			bit = x.lo >> (127 - i) & 1
		}
		if bit == 1 {
			z.hi ^= v.hi
			z.lo ^= v.lo
		}
		lsb := v.lo & 1
		v.lo = v.lo>>1 | v.hi<<63
		v.hi >>= 1
		if lsb == 1 {
			v.hi ^= r
		}
	}
	return z
}

// gfOne returns the multiplicative identity.
func gfOne() fieldElement { return fieldElement{hi: 1 << 63} }

func randElement(r *rand.Rand) fieldElement {
	return fieldElement{hi: r.Uint64(), lo: r.Uint64()}
}

func TestGFMulMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	edge := []fieldElement{{}, gfOne(), {hi: 1}, {lo: 1}, {hi: ^uint64(0), lo: ^uint64(0)}, {lo: 1 << 63}}
	for _, a := range edge {
		for _, b := range edge {
			if got, want := gfMul(a, b), gfMulRef(a, b); got != want {
				t.Fatalf("gfMul(%x, %x) = %x, want %x", a, b, got, want)
			}
		}
	}
	for range 20000 {
		a, b := randElement(r), randElement(r)
		if got, want := gfMul(a, b), gfMulRef(a, b); got != want {
			t.Fatalf("gfMul(%x, %x) = %x, want %x", a, b, got, want)
		}
		if got, want := gfSquare(a), gfMulRef(a, a); got != want {
			t.Fatalf("gfSquare(%x) = %x, want %x", a, got, want)
		}
	}
}
