package smbcrypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"errors"
)

// CCM (Counter with CBC-MAC, NIST SP 800-38C, RFC 3610) is written here
// because neither the standard library nor golang.org/x/crypto offers it.
// SMB 3.x uses AES-CCM with an 11-byte nonce and a 16-byte tag
// [MS-SMB2 3.1.4.3]; the implementation takes any nonce of 7..13 bytes and
// any even tag of 4..16 bytes so that it can be checked against the
// published RFC 3610 vectors.

// ccm is a cipher.AEAD. It holds only the block cipher, sizes and (for
// the assembly) the expanded key, all set by its constructor and never
// written after, so one value is safe for concurrent use when the block
// cipher is (AES is).
type ccm struct {
	b         cipher.Block
	nonceSize int
	tagSize   int
	// rk and rounds are the AES key schedule for the one-loop CCM of
	// ccm_amd64.s, set by newAESCCM where the CPU has it (ccmAESNI); rk
	// is nil otherwise, and for NewCCM, which has only the block cipher.
	rk     *[15 * 16]byte
	rounds int
}

var errCCMOpen = errors.New("smbcrypto: CCM message authentication failed")

// NewCCM returns AES-CCM over b (which must have a 16-byte block) with the
// given nonce and tag sizes.
func NewCCM(b cipher.Block, nonceSize, tagSize int) (cipher.AEAD, error) {
	if b.BlockSize() != 16 {
		return nil, errors.New("smbcrypto: CCM needs a 128-bit block cipher")
	}
	if nonceSize < 7 || nonceSize > 13 {
		return nil, errors.New("smbcrypto: CCM nonce must be 7..13 bytes")
	}
	if tagSize < 4 || tagSize > 16 || tagSize%2 != 0 {
		return nil, errors.New("smbcrypto: CCM tag must be an even size of 4..16 bytes")
	}
	return &ccm{b: b, nonceSize: nonceSize, tagSize: tagSize}, nil
}

// newAESCCM returns AES-CCM under key (16, 24 or 32 bytes), with the
// one-loop assembly where the CPU has AES-NI.
func newAESCCM(key []byte, nonceSize, tagSize int) (*ccm, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	a, err := NewCCM(b, nonceSize, tagSize)
	if err != nil {
		return nil, err
	}
	c := a.(*ccm)
	if ccmAESNI {
		c.rk = new([15 * 16]byte)
		c.rounds = expandKey(key, c.rk)
	}
	return c, nil
}

// wide reports whether a message of n bytes goes through the assembly.
// Its counter steps only the last four bytes of the counter block, which
// is CCM's own counting while the count stays below 2^32 blocks: always
// for nonces of 11 bytes or more (the length field bounds the message),
// and below 64 GiB for shorter ones.
func (c *ccm) wide(n int) bool {
	return c.rk != nil && uint64(n) < 1<<36
}

func (c *ccm) NonceSize() int { return c.nonceSize }
func (c *ccm) Overhead() int  { return c.tagSize }

// maxLen is the largest message the length field L = 15-nonceSize holds.
func (c *ccm) maxLen() uint64 {
	l := 15 - c.nonceSize
	if l >= 8 {
		return ^uint64(0)
	}
	return 1<<(8*l) - 1
}

// counter fills the CTR block A_i with counter 0 (RFC 3610 2.3).
func (c *ccm) counter(nonce []byte) [16]byte {
	var a [16]byte
	a[0] = byte(15 - c.nonceSize - 1)
	copy(a[1:], nonce)
	return a
}

// mac computes the CBC-MAC T over B_0, the encoded AAD and the plaintext
// (RFC 3610 2.2).
func (c *ccm) mac(nonce, plaintext, ad []byte) [16]byte {
	x := c.macStart(nonce, len(plaintext), ad)
	c.cbc(&x, plaintext)
	return x
}

// macStart returns the CBC-MAC state after B_0 (for a message of
// msgLen bytes) and the encoded AAD.
func (c *ccm) macStart(nonce []byte, msgLen int, ad []byte) [16]byte {
	var x [16]byte
	flags := byte((c.tagSize-2)/2)<<3 | byte(15-c.nonceSize-1)
	if len(ad) > 0 {
		flags |= 0x40
	}
	x[0] = flags
	copy(x[1:], nonce)
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(msgLen))
	copy(x[1+c.nonceSize:], n[8-(15-c.nonceSize):])
	c.b.Encrypt(x[:], x[:])
	if len(ad) > 0 {
		var blk [16]byte
		var hl int
		switch {
		case len(ad) < 0xFF00:
			binary.BigEndian.PutUint16(blk[:], uint16(len(ad)))
			hl = 2
		case uint64(len(ad)) <= 0xFFFFFFFF:
			blk[0], blk[1] = 0xFF, 0xFE
			binary.BigEndian.PutUint32(blk[2:], uint32(len(ad)))
			hl = 6
		default:
			blk[0], blk[1] = 0xFF, 0xFF
			binary.BigEndian.PutUint64(blk[2:], uint64(len(ad)))
			hl = 10
		}
		k := copy(blk[hl:], ad)
		subtle.XORBytes(x[:], x[:], blk[:])
		c.b.Encrypt(x[:], x[:])
		c.cbc(&x, ad[k:])
	}
	return x
}

// cbc chains data into the CBC-MAC state x, zero-padding the last block.
// Long inputs go through the block cipher's CBC mode (assembly for AES)
// in chunks, keeping only the last ciphertext block: CBC encryption with
// IV x is exactly the CBC-MAC chain.
func (c *ccm) cbc(x *[16]byte, data []byte) {
	if full := len(data) &^ 15; full >= 64 {
		enc := cipher.NewCBCEncrypter(c.b, x[:])
		var scratch [4096]byte
		for off := 0; off < full; off += len(scratch) {
			n := min(len(scratch), full-off)
			enc.CryptBlocks(scratch[:n], data[off:off+n])
			copy(x[:], scratch[n-16:n])
		}
		data = data[full:]
	}
	for len(data) >= 16 {
		subtle.XORBytes(x[:], x[:], data[:16])
		c.b.Encrypt(x[:], x[:])
		data = data[16:]
	}
	if len(data) > 0 {
		subtle.XORBytes(x[:len(data)], x[:len(data)], data)
		c.b.Encrypt(x[:], x[:])
	}
}

// Seal encrypts and authenticates plaintext; dst may be plaintext[:0].
func (c *ccm) Seal(dst, nonce, plaintext, ad []byte) []byte {
	if len(nonce) != c.nonceSize {
		panic("smbcrypto: CCM nonce of the wrong size")
	}
	if uint64(len(plaintext)) > c.maxLen() {
		panic("smbcrypto: CCM message too long for the nonce size")
	}
	ret, out := sliceForAppend(dst, len(plaintext)+c.tagSize)
	checkOverlap(out, plaintext, ad)
	a := c.counter(nonce)
	var s0 [16]byte
	c.b.Encrypt(s0[:], a[:])
	a[15] = 1
	var t [16]byte
	if c.wide(len(plaintext)) {
		t = c.macStart(nonce, len(plaintext), ad)
		full := len(plaintext) &^ 15
		if full > 0 {
			ccmSealBlocks(c.rk, c.rounds, &t, &a, out[:full], plaintext[:full])
		}
		if tail := plaintext[full:]; len(tail) > 0 {
			c.cbc(&t, tail) // before out's tail, which may be tail, is written
			c.ctrTail(&a, full, out[full:len(plaintext)], tail)
		}
	} else {
		t = c.mac(nonce, plaintext, ad)
		cipher.NewCTR(c.b, a[:]).XORKeyStream(out[:len(plaintext)], plaintext)
	}
	subtle.XORBytes(out[len(plaintext):], t[:c.tagSize], s0[:c.tagSize])
	return ret
}

// ctrTail XORs src, the last part block of a message whose first full
// bytes were whole blocks, with the key stream from counter block a (the
// one of the first block) stepped full/16 times, into dst.
func (c *ccm) ctrTail(a *[16]byte, full int, dst, src []byte) {
	ctr := *a
	binary.BigEndian.PutUint32(ctr[12:], binary.BigEndian.Uint32(ctr[12:])+uint32(full/16))
	var ks [16]byte
	c.b.Encrypt(ks[:], ctr[:])
	subtle.XORBytes(dst, src, ks[:len(src)])
}

// Open authenticates and decrypts ciphertext; dst may be ciphertext[:0].
// On failure the output is zeroed and an error returned.
func (c *ccm) Open(dst, nonce, ciphertext, ad []byte) ([]byte, error) {
	if len(nonce) != c.nonceSize {
		panic("smbcrypto: CCM nonce of the wrong size")
	}
	if len(ciphertext) < c.tagSize {
		return nil, errCCMOpen
	}
	n := len(ciphertext) - c.tagSize
	if uint64(n) > c.maxLen() {
		return nil, errCCMOpen
	}
	var tag [16]byte
	copy(tag[:], ciphertext[n:])
	ret, out := sliceForAppend(dst, n)
	checkOverlap(out, ciphertext[:n], ad)
	a := c.counter(nonce)
	var s0 [16]byte
	c.b.Encrypt(s0[:], a[:])
	a[15] = 1
	var t [16]byte
	if c.wide(n) {
		t = c.macStart(nonce, n, ad)
		full := n &^ 15
		if full > 0 {
			ccmOpenBlocks(c.rk, c.rounds, &t, &a, out[:full], ciphertext[:full])
		}
		if full < n {
			c.ctrTail(&a, full, out[full:], ciphertext[full:n])
			c.cbc(&t, out[full:])
		}
	} else {
		cipher.NewCTR(c.b, a[:]).XORKeyStream(out, ciphertext[:n])
		t = c.mac(nonce, out, ad)
	}
	subtle.XORBytes(t[:c.tagSize], t[:c.tagSize], s0[:c.tagSize])
	if subtle.ConstantTimeCompare(t[:c.tagSize], tag[:c.tagSize]) != 1 {
		clear(out)
		return nil, errCCMOpen
	}
	return ret, nil
}

// sliceForAppend extends in by n bytes, returning the whole slice and the
// new tail (crypto/cipher's helper).
func sliceForAppend(in []byte, n int) (head, tail []byte) {
	if total := len(in) + n; cap(in) >= total {
		head = in[:total]
	} else {
		head = make([]byte, total)
		copy(head, in)
	}
	tail = head[len(in):]
	return
}
