package smbcrypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"sync"
)

// gmacNonceSize is the AES-GMAC nonce size [MS-SMB2 3.1.4.1].
const gmacNonceSize = 12

// gmacSigner signs with AES-128-GMAC [MS-SMB2 3.1.4.1]: AES-128-GCM with an
// empty plaintext and the message as additional authenticated data.
//
// Verification corrects the tag instead of copying the message; see the
// package documentation and [gmacSigner.zeroedTag].
type gmacSigner struct {
	aead cipher.AEAD // stateless, safe for concurrent use; nil when wide is set
	hpow *powerTable // H^0..H^15, H = AES-K(0^128) the GHASH key
	// wide, where the CPU has 512-bit carry-less multiplies
	// (ghashAVX512), computes the tags instead of aead: about three
	// times the standard library's speed on long messages (ghash.go).
	wide *wideGMAC
}

// gmacScratch is pooled, key-independent space for the nonce and tag, so
// that the slices handed to the AEAD interface do not force an allocation.
type gmacScratch struct {
	nonce [gmacNonceSize]byte
	tag   [SignatureSize]byte
}

var gmacScratchPool = sync.Pool{New: func() any { return new(gmacScratch) }}

// newGMACSigner returns an AES-128-GMAC signer for a 16-byte key.
func newGMACSigner(key []byte) (*gmacSigner, error) {
	if err := checkKey16(AESGMAC, key); err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	var h [aes.BlockSize]byte
	block.Encrypt(h[:], h[:])
	s := &gmacSigner{hpow: newPowerTable(loadElement(h[:]))}
	if ghashAVX512 {
		// The wide path replaces the standard library's GCM, whose
		// tables an idle signer would otherwise keep as well.
		s.wide = newWideGMAC(block, loadElement(h[:]))
	} else if s.aead, err = cipher.NewGCM(block); err != nil {
		return nil, err
	}
	clear(h[:])
	return s, nil
}

// Algorithm returns AESGMAC.
func (s *gmacSigner) Algorithm() Algorithm { return AESGMAC }

// gmacNonce builds the nonce from the header [MS-SMB2 3.1.4.1]: MessageId
// (u64 LE) followed by a u32 LE whose bit 0 is set for a message sent by the
// server (SMB2_FLAGS_SERVER_TO_REDIR) and bit 1 for an SMB2 CANCEL request.
// The cancel bit keeps a CANCEL, which reuses the MessageId of the request it
// cancels, from repeating that request's nonce.
func gmacNonce(nonce *[gmacNonceSize]byte, msg []byte) {
	copy(nonce[:8], msg[offMessageID:offMessageID+8])
	f := binary.LittleEndian.Uint32(msg[offFlags:]) & flagServerToRedir
	if binary.LittleEndian.Uint16(msg[offCommand:]) == cmdCancel {
		f |= 2
	}
	binary.LittleEndian.PutUint32(nonce[8:], f)
}

// tag returns the GMAC tag of msg exactly as it is, into sc.tag.
func (s *gmacSigner) tag(sc *gmacScratch, msg []byte) {
	gmacNonce(&sc.nonce, msg)
	if s.wide != nil {
		s.wide.tag(&sc.tag, &sc.nonce, msg)
		return
	}
	s.aead.Seal(sc.tag[:0], sc.nonce[:], nil, msg)
}

// Sign implements [Signer].
func (s *gmacSigner) Sign(msg []byte) {
	prepareToSign(msg)
	sc := gmacScratchPool.Get().(*gmacScratch)
	s.tag(sc, msg)
	copy(msg[offSignature:offSignatureEnd], sc.tag[:])
	*sc = gmacScratch{}
	gmacScratchPool.Put(sc)
}

// Verify implements [Signer].
func (s *gmacSigner) Verify(msg []byte) bool {
	if len(msg) < headerSize {
		return false
	}
	sc := gmacScratchPool.Get().(*gmacScratch)
	s.zeroedTag(sc, msg)
	ok := subtle.ConstantTimeCompare(sc.tag[:], msg[offSignature:offSignatureEnd]) == 1
	*sc = gmacScratch{}
	gmacScratchPool.Put(sc)
	return ok
}

// zeroedTag computes into sc.tag the GMAC tag msg would have if its
// Signature field were zero, without modifying or copying msg.
//
// The standard library's GCM needs the additional data in one slice, so the
// tag T' is computed over msg as it is, signature S included, and then
// corrected. GHASH is linear: with the message as n AAD blocks A_1..A_n
// (the last one zero-padded), no ciphertext, and the length block L
// (m = n+1 blocks in all),
//
//	GHASH = A_1·H^m + A_2·H^(m-1) + ... + A_n·H^2 + L·H
//
// S is exactly A_4 (bytes 48..63; n >= 4 since len(msg) >= 64), with
// coefficient H^(m-4+1) = H^(n-2). Neither L nor the encrypted counter block
// depends on A_4, so the tag with S zeroed is T' + S·H^(n-2), where + is XOR
// and · is GCM's GF(2^128) product.
func (s *gmacSigner) zeroedTag(sc *gmacScratch, msg []byte) {
	s.tag(sc, msg)
	n := uint64(len(msg)+aes.BlockSize-1) / aes.BlockSize
	corr := s.hpow.mulPow(loadElement(msg[offSignature:offSignatureEnd]), n-2)
	t := loadElement(sc.tag[:])
	fieldElement{hi: t.hi ^ corr.hi, lo: t.lo ^ corr.lo}.put(sc.tag[:])
}
