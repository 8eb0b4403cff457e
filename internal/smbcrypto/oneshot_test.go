package smbcrypto

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"testing"
)

// oneShotSignature computes the signature of msg the plain way: copy,
// zero the Signature field, MAC the copy in one call. It uses crypto/hmac
// and crypto/cipher directly and the RFC 4493 oracle for CMAC.
func oneShotSignature(t testing.TB, alg Algorithm, key, msg []byte) []byte {
	t.Helper()
	m := bytes.Clone(msg)
	clear(m[offSignature:offSignatureEnd])
	switch alg {
	case HMACSHA256:
		h := hmac.New(sha256.New, key)
		h.Write(m)
		return h.Sum(nil)[:16]
	case AESCMAC:
		k, err := newCMACKey(key)
		if err != nil {
			t.Fatal(err)
		}
		tag := cmacOneShot(k, m)
		return tag[:]
	case AESGMAC:
		block, err := aes.NewCipher(key)
		if err != nil {
			t.Fatal(err)
		}
		g, err := cipher.NewGCM(block)
		if err != nil {
			t.Fatal(err)
		}
		var nonce [gmacNonceSize]byte
		gmacNonce(&nonce, m)
		return g.Seal(nil, nonce[:], nil, m)
	}
	t.Fatalf("unknown algorithm %v", alg)
	return nil
}
