package smbcrypto

import (
	"crypto/cipher"
	"encoding/binary"
)

// ghashPowers is how many powers of the hash key the wide GHASH keeps: it
// multiplies that many blocks per round.
const ghashPowers = 32

// ghashTableSize is the size of its key table, 16 bytes a power.
const ghashTableSize = ghashPowers * 16

// wideGMAC computes AES-GMAC tags (NIST SP 800-38D with an empty
// plaintext and a 96-bit IV) with the assembly GHASH of ghash_amd64.s,
// which multiplies 32 blocks per round with 512-bit carry-less
// multiplies; the standard library's GCM does eight with 128-bit ones.
// It is used only where ghashAVX512 is true, and is safe for concurrent
// use (read-only after newWideGMAC).
type wideGMAC struct {
	block cipher.Block
	// table holds H^32 .. H^1 (H = AES-K(0^128)), each as the register
	// the assembly multiplies by: the fieldElement (hi:lo) of H^k times
	// x^-1, stored low quadword first (ghashTable).
	table [ghashTableSize]byte
}

// newWideGMAC returns the wide GMAC for a block cipher whose hash key is h
// (h = block(0^128)).
func newWideGMAC(block cipher.Block, h fieldElement) *wideGMAC {
	g := &wideGMAC{block: block}
	g.table = ghashTable(h)
	return g
}

// ghashTable lays out H^32 .. H^1 for the assembly. The assembly's product
// of two registers a and b is the register of a·b·x (the bit-reflected
// carry-less product is one bit short), so each power is stored times
// x^-1: in the reflected layout, where bit 127 of the register is the
// coefficient of x^0, that is a shift left by one bit with x^-1 =
// x^127 + x^6 + x + 1 (0xC2000000000000000000000000000001) added when the
// coefficient of x^0 is shifted out.
func ghashTable(h fieldElement) (t [ghashTableSize]byte) {
	p := h
	for k := 1; k <= ghashPowers; k++ {
		if k > 1 {
			p = gfMul(p, h)
		}
		hi, lo := p.hi<<1|p.lo>>63, p.lo<<1
		if p.hi>>63 != 0 {
			hi ^= 0xc200000000000000
			lo ^= 1
		}
		off := (ghashPowers - k) * 16
		binary.LittleEndian.PutUint64(t[off:], lo)
		binary.LittleEndian.PutUint64(t[off+8:], hi)
	}
	return t
}

// ghashPadded folds p into y, its last partial block zero-padded.
func ghashPadded(table *[ghashTableSize]byte, y *[16]byte, p []byte) {
	n := len(p) &^ 15
	if n > 0 {
		ghashBlocks(table, y, p[:n])
	}
	if rem := len(p) - n; rem > 0 {
		var last [16]byte
		copy(last[:], p[n:])
		ghashBlocks(table, y, last[:])
	}
}

// ghashLengths folds in the length block: len(A) and len(C) in bits,
// 64-bit big-endian each.
func ghashLengths(table *[ghashTableSize]byte, y *[16]byte, aadLen, ctLen int) {
	var lens [16]byte
	binary.BigEndian.PutUint64(lens[:8], uint64(aadLen)*8)
	binary.BigEndian.PutUint64(lens[8:], uint64(ctLen)*8)
	ghashBlocks(table, y, lens[:])
}

// tag writes into tag the GMAC of aad under nonce.
func (g *wideGMAC) tag(tag *[16]byte, nonce *[gmacNonceSize]byte, aad []byte) {
	var y [16]byte
	ghashPadded(&g.table, &y, aad)
	ghashLengths(&g.table, &y, len(aad), 0)

	// Y is held byte-reversed; the tag is Y in block order XOR E_K(J0),
	// J0 = nonce || 0x00000001, encrypted in tag's own space (a local
	// would move to the heap through the interface call).
	*tag = [16]byte{}
	copy(tag[:], nonce[:])
	tag[15] = 1
	g.block.Encrypt(tag[:], tag[:])
	for i := range tag {
		tag[i] ^= y[15-i]
	}
}
