package smbcrypto

import (
	"crypto/subtle"
	"sync"
)

// cmacSigner signs with AES-128-CMAC [MS-SMB2 3.1.4.1]: the 3.0/3.0.2
// algorithm and the 3.1.1 default. It holds only the expanded key and
// subkeys; streaming state comes from a package-level pool of
// key-independent [CMAC] states that are bound to the key for one message
// and wiped afterwards.
type cmacSigner struct {
	key *cmacKey
}

var cmacStatePool = sync.Pool{New: func() any { return new(CMAC) }}

// newCMACSigner returns an AES-128-CMAC signer for a 16-byte key.
func newCMACSigner(key []byte) (*cmacSigner, error) {
	if err := checkKey16(AESCMAC, key); err != nil {
		return nil, err
	}
	k, err := newCMACKey(key)
	if err != nil {
		return nil, err
	}
	return &cmacSigner{key: k}, nil
}

// Algorithm returns AESCMAC.
func (s *cmacSigner) Algorithm() Algorithm { return AESCMAC }

// mac computes the CMAC of msg with msg[48:64] taken as zero, streaming the
// three pieces so that msg is neither copied nor modified.
func (s *cmacSigner) mac(msg []byte, out *[SignatureSize]byte) {
	var zero [SignatureSize]byte
	c := cmacStatePool.Get().(*CMAC)
	c.key = s.key
	c.Write(msg[:offSignature])
	c.Write(zero[:])
	c.Write(msg[offSignatureEnd:])
	c.final(&c.tmp) // not out: the cipher.Block call would make it escape
	*out = c.tmp
	*c = CMAC{}
	cmacStatePool.Put(c)
}

// Sign implements [Signer].
func (s *cmacSigner) Sign(msg []byte) {
	prepareToSign(msg)
	s.mac(msg, (*[SignatureSize]byte)(msg[offSignature:offSignatureEnd]))
}

// Verify implements [Signer].
func (s *cmacSigner) Verify(msg []byte) bool {
	if len(msg) < headerSize {
		return false
	}
	var want [SignatureSize]byte
	s.mac(msg, &want)
	return subtle.ConstantTimeCompare(want[:], msg[offSignature:offSignatureEnd]) == 1
}
