package smbcrypto

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding"
	"hash"
	"sync"
)

// hmacSigner signs with HMAC-SHA256 truncated to 16 bytes
// [MS-SMB2 3.1.4.1]: the 2.0.2/2.1 algorithm and a 3.1.1 option.
//
// HMAC (RFC 2104) is H((K ^ opad) || H((K ^ ipad) || m)). The signer keeps
// only the two SHA-256 states reached after absorbing the padded key blocks
// (about 220 bytes, as crypto/hmac itself caches them); each message
// restores them into a pooled, key-independent SHA-256 hasher. Signers thus
// stay small while idle and share no per-session pool.
type hmacSigner struct {
	inner, outer []byte // marshaled SHA-256 states after K^ipad and K^opad
}

// hmacState is a pooled SHA-256 hasher with scratch space. It holds key
// material only while in use and is wiped before being returned.
type hmacState struct {
	h    hash.Hash
	u    encoding.BinaryUnmarshaler
	sum  [sha256.Size]byte
	zero [SignatureSize]byte // stands in for the Signature field
}

var hmacPool = sync.Pool{New: func() any {
	h := sha256.New()
	return &hmacState{h: h, u: h.(encoding.BinaryUnmarshaler)}
}}

// newHMACSigner precomputes the HMAC inner and outer states for key, cut or
// padded to 16 bytes.
func newHMACSigner(key []byte) *hmacSigner {
	k := sessionKey16(key)
	var pad [sha256.BlockSize]byte
	state := func(b byte) []byte {
		for i := range pad {
			pad[i] = b
		}
		subtle.XORBytes(pad[:], pad[:], k[:]) // XORs the first 16 bytes
		h := sha256.New()
		h.Write(pad[:])
		st, err := h.(encoding.BinaryMarshaler).MarshalBinary()
		if err != nil {
			panic("smbcrypto: cannot marshal SHA-256 state: " + err.Error())
		}
		return st
	}
	s := &hmacSigner{inner: state(0x36), outer: state(0x5c)}
	clear(pad[:])
	clear(k[:])
	return s
}

// Algorithm returns HMACSHA256.
func (s *hmacSigner) Algorithm() Algorithm { return HMACSHA256 }

// mac computes the truncated HMAC of msg with msg[48:64] taken as zero.
func (s *hmacSigner) mac(msg []byte, out *[SignatureSize]byte) {
	st := hmacPool.Get().(*hmacState)
	s.sum(st, [3][]byte{msg[:offSignature], st.zero[:], msg[offSignatureEnd:]})
	copy(out[:], st.sum[:])
	st.h.Reset()
	clear(st.sum[:])
	hmacPool.Put(st)
}

// sum computes the full HMAC-SHA256 of the concatenated parts into st.sum.
func (s *hmacSigner) sum(st *hmacState, parts [3][]byte) {
	st.restore(s.inner)
	for _, p := range parts {
		st.h.Write(p)
	}
	st.h.Sum(st.sum[:0])
	st.restore(s.outer)
	st.h.Write(st.sum[:])
	st.h.Sum(st.sum[:0])
}

// restore loads a precomputed HMAC state into the hasher.
func (st *hmacState) restore(state []byte) {
	if err := st.u.UnmarshalBinary(state); err != nil {
		panic("smbcrypto: cannot restore SHA-256 state: " + err.Error())
	}
}

// Sign implements [Signer].
func (s *hmacSigner) Sign(msg []byte) {
	prepareToSign(msg)
	s.mac(msg, (*[SignatureSize]byte)(msg[offSignature:offSignatureEnd]))
}

// Verify implements [Signer].
func (s *hmacSigner) Verify(msg []byte) bool {
	if len(msg) < headerSize {
		return false
	}
	var want [SignatureSize]byte
	s.mac(msg, &want)
	return subtle.ConstantTimeCompare(want[:], msg[offSignature:offSignatureEnd]) == 1
}
