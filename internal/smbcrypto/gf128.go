package smbcrypto

import (
	"encoding/binary"
	"math/bits"
)

// fieldElement is an element of GF(2^128) in the GCM convention of
// NIST SP 800-38D section 6.3: the 128-bit block is read as a bit string
// whose leftmost bit (the most significant bit of byte 0) is the
// coefficient of x^0 and whose rightmost bit is the coefficient of x^127.
// hi holds bytes 0..7 and lo bytes 8..15, both big-endian, so the
// coefficient of x^i is bit 63-i of hi for i < 64 and bit 127-i of lo
// otherwise. The field is defined by x^128 + x^7 + x^2 + x + 1.
type fieldElement struct {
	hi, lo uint64
}

// loadElement reads a 16-byte block as a field element.
func loadElement(b []byte) fieldElement {
	_ = b[15]
	return fieldElement{
		hi: binary.BigEndian.Uint64(b[0:8]),
		lo: binary.BigEndian.Uint64(b[8:16]),
	}
}

// put writes e as a 16-byte block into b.
func (e fieldElement) put(b []byte) {
	_ = b[15]
	binary.BigEndian.PutUint64(b[0:8], e.hi)
	binary.BigEndian.PutUint64(b[8:16], e.lo)
}

// clmulLow returns the low 64 bits of the carry-less product of x and y,
// using ordinary integer multiplications on operands whose bits are spaced
// four apart. A partial product then only has terms in one residue class of
// bit positions mod 4, and a column of it sums at most 16 one-bit terms
// plus carries that fit in the 3-bit holes below; 16 terms are only
// possible in the topmost column of a class (bits 60..63), whose carry
// leaves the 64-bit word. Masking each sum to its class removes the carries.
// The technique is T. Pornin's constant-time GHASH (BearSSL, MIT licence);
// it has no data-dependent branches or memory indices, assuming (as on all
// current amd64 and arm64 cores) constant-time integer multiplication.
func clmulLow(x, y uint64) uint64 {
	const (
		m0 = 0x1111111111111111
		m1 = 0x2222222222222222
		m2 = 0x4444444444444444
		m3 = 0x8888888888888888
	)
	x0, x1, x2, x3 := x&m0, x&m1, x&m2, x&m3
	y0, y1, y2, y3 := y&m0, y&m1, y&m2, y&m3
	z0 := x0*y0 ^ x1*y3 ^ x2*y2 ^ x3*y1
	z1 := x0*y1 ^ x1*y0 ^ x2*y3 ^ x3*y2
	z2 := x0*y2 ^ x1*y1 ^ x2*y0 ^ x3*y3
	z3 := x0*y3 ^ x1*y2 ^ x2*y1 ^ x3*y0
	return z0&m0 | z1&m1 | z2&m2 | z3&m3
}

// spread32 returns the carry-less square of the low 32 bits of x, that is
// x with a zero bit inserted above each of its low 32 bits.
func spread32(x uint64) uint64 {
	x &= 0xFFFFFFFF
	x = (x | x<<16) & 0x0000FFFF0000FFFF
	x = (x | x<<8) & 0x00FF00FF00FF00FF
	x = (x | x<<4) & 0x0F0F0F0F0F0F0F0F
	x = (x | x<<2) & 0x3333333333333333
	x = (x | x<<1) & 0x5555555555555555
	return x
}

// gfMul returns x·y in GF(2^128), in constant time.
//
// The 128x128 carry-less product is assembled by Karatsuba from three
// 64x64 products; the high half of each 64x64 product is obtained as the
// bit-reversed low half of the product of the bit-reversed operands.
// Because GCM stores coefficients in reflected order, the 256-bit product
// is then shifted left by one and reduced modulo x^128 + x^7 + x^2 + x + 1.
func gfMul(x, y fieldElement) fieldElement {
	x0, x1 := x.lo, x.hi
	y0, y1 := y.lo, y.hi
	x0r, x1r := bits.Reverse64(x0), bits.Reverse64(x1)
	y0r, y1r := bits.Reverse64(y0), bits.Reverse64(y1)

	z0 := clmulLow(x0, y0)
	z1 := clmulLow(x1, y1)
	z2 := clmulLow(x0^x1, y0^y1)
	z0h := clmulLow(x0r, y0r)
	z1h := clmulLow(x1r, y1r)
	z2h := clmulLow(x0r^x1r, y0r^y1r)
	z2 ^= z0 ^ z1
	z2h ^= z0h ^ z1h
	z0h = bits.Reverse64(z0h) >> 1
	z1h = bits.Reverse64(z1h) >> 1
	z2h = bits.Reverse64(z2h) >> 1
	return reduce(z0, z0h^z2, z1^z2h, z1h)
}

// gfSquare returns x·x in GF(2^128), in constant time. Squaring is linear
// over GF(2): the Karatsuba middle term vanishes and each 64x64 product is
// a bit spread, so this is several times cheaper than gfMul.
func gfSquare(x fieldElement) fieldElement {
	x0, x1 := x.lo, x.hi
	z0 := spread32(x0)
	z1 := spread32(x1)
	z0h := bits.Reverse64(spread32(bits.Reverse64(x0))) >> 1
	z1h := bits.Reverse64(spread32(bits.Reverse64(x1))) >> 1
	return reduce(z0, z0h, z1, z1h)
}

// reduce takes the 256-bit reflected carry-less product v3:v2:v1:v0
// (missing its final one-bit shift) and returns it reduced modulo the GCM
// polynomial.
func reduce(v0, v1, v2, v3 uint64) fieldElement {
	v3 = v3<<1 | v2>>63
	v2 = v2<<1 | v1>>63
	v1 = v1<<1 | v0>>63
	v0 <<= 1

	v2 ^= v0 ^ v0>>1 ^ v0>>2 ^ v0>>7
	v1 ^= v0<<63 ^ v0<<62 ^ v0<<57
	v3 ^= v1 ^ v1>>1 ^ v1>>2 ^ v1>>7
	v2 ^= v1<<63 ^ v1<<62 ^ v1<<57
	return fieldElement{hi: v3, lo: v2}
}

// gfWindow is the window width, in bits, of [powerTable.mulPow].
const gfWindow = 4

// powerTable holds h^0 .. h^15 for fixed-window exponentiation.
type powerTable [1 << gfWindow]fieldElement

// newPowerTable returns the powers h^0 (= 1) through h^15.
func newPowerTable(h fieldElement) *powerTable {
	t := new(powerTable)
	t[0] = fieldElement{hi: 1 << 63} // the polynomial 1: coefficient of x^0 is the leftmost bit
	for i := 1; i < len(t); i++ {
		t[i] = gfMul(t[i-1], h)
	}
	return t
}

// mulPow returns x·h^e by left-to-right exponentiation by squaring with a
// fixed 4-bit window: one squaring per exponent bit and at most one
// multiplication per 4 bits, plus the final multiplication by x. A message
// of up to 272 bytes (e < 16) costs a single multiplication.
//
// The exponent is public (it derives from a message length), so branching
// on it and indexing the table with it leak nothing; x and the powers of h
// are only handled by the constant-time gfMul and gfSquare.
func (t *powerTable) mulPow(x fieldElement, e uint64) fieldElement {
	if e == 0 {
		return x
	}
	shift := (bits.Len64(e) - 1) / gfWindow * gfWindow
	acc := t[e>>shift&(1<<gfWindow-1)]
	for shift -= gfWindow; shift >= 0; shift -= gfWindow {
		for range gfWindow {
			acc = gfSquare(acc)
		}
		if d := e >> shift & (1<<gfWindow - 1); d != 0 {
			acc = gfMul(acc, t[d])
		}
	}
	return gfMul(x, acc)
}
