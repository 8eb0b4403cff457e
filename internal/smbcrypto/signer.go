package smbcrypto

import (
	"encoding/binary"
	"fmt"
)

// SignatureSize is the size of the SMB2 header Signature field.
const SignatureSize = 16

// SMB2 header layout used by signing [MS-SMB2 2.2.1.1, 2.2.1.2]. Offsets
// are from the ProtocolId; the transport header is never included.
const (
	headerSize      = 64
	offCommand      = 0x0C
	offFlags        = 0x10
	offMessageID    = 0x18
	offSignature    = 0x30
	offSignatureEnd = offSignature + SignatureSize

	flagServerToRedir uint32 = 0x00000001
	flagSigned        uint32 = 0x00000008

	cmdCancel uint16 = 0x000C
)

// Signer signs and verifies SMB2 messages with one key and algorithm
// [MS-SMB2 3.1.4.1, 3.1.5.1].
//
// msg is always one complete SMB2 message or one compound element: the
// 64-byte header, the body and, for a compound element that is not the last,
// its padding up to the next header; never the 4-byte transport header.
//
// Implementations in this package are safe for concurrent use by multiple
// goroutines and allocate nothing per message in the steady state.
type Signer interface {
	// Sign sets SMB2_FLAGS_SIGNED in the Flags field, zeroes the Signature
	// field, computes the MAC over msg and writes it to the Signature field
	// (msg[48:64]). Only msg is written; it is not copied. Sign panics if
	// len(msg) < 64.
	Sign(msg []byte)
	// Verify reports whether msg[48:64] is the MAC of msg computed as if
	// msg[48:64] were zero. msg is neither modified nor copied, so it may be
	// read concurrently by others. The comparison is constant-time. Verify
	// returns false if len(msg) < 64. It does not check the SIGNED flag;
	// that is the caller's policy [MS-SMB2 3.3.5.2.4].
	Verify(msg []byte) bool
	// Algorithm returns the signer's algorithm.
	Algorithm() Algorithm
}

// NewSigner returns a Signer for alg and key. Keys for AES-128-CMAC and
// AES-128-GMAC must be 16 bytes. An HMAC-SHA256 key of any length is cut or
// zero-padded to 16 bytes first, as Samba does (2.x signs with
// Session.SessionKey, which is 16 bytes by definition [MS-SMB2 3.3.1.8]).
// key is copied; the caller may reuse it.
func NewSigner(alg Algorithm, key []byte) (Signer, error) {
	switch alg {
	case HMACSHA256:
		return newHMACSigner(key), nil
	case AESCMAC:
		return newCMACSigner(key)
	case AESGMAC:
		return newGMACSigner(key)
	}
	return nil, fmt.Errorf("%w: %v", ErrUnknownAlgorithm, alg)
}

var (
	_ Signer = (*hmacSigner)(nil)
	_ Signer = (*cmacSigner)(nil)
	_ Signer = (*gmacSigner)(nil)
)

// checkKey16 rejects AES signing keys that are not 16 bytes.
func checkKey16(alg Algorithm, key []byte) error {
	if len(key) != KeySize {
		return fmt.Errorf("smbcrypto: %v signing key must be %d bytes, got %d", alg, KeySize, len(key))
	}
	return nil
}

// prepareToSign sets SMB2_FLAGS_SIGNED and zeroes the Signature field
// [MS-SMB2 3.1.4.1]: the flag is part of the signed data, the signature is
// not.
func prepareToSign(msg []byte) {
	if len(msg) < headerSize {
		panic(fmt.Sprintf("smbcrypto: cannot sign a %d-byte message, shorter than the SMB2 header", len(msg)))
	}
	flags := binary.LittleEndian.Uint32(msg[offFlags:])
	binary.LittleEndian.PutUint32(msg[offFlags:], flags|flagSigned)
	clear(msg[offSignature:offSignatureEnd])
}
