package smbcrypto

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
)

// KeySize is the size of every SMB2 signing key and of the 128-bit
// encryption keys [MS-SMB2 3.1.4.2].
const KeySize = 16

// PreauthHashSize is the size of a 3.1.1 preauth integrity hash value
// (SHA-512) [MS-SMB2 3.3.5.4].
const PreauthHashSize = 64

// SMB2 dialect revisions [MS-SMB2 2.2.3]. The codec owns the public dialect
// type; these only select KDF labels.
const (
	dialect202 uint16 = 0x0202
	dialect210 uint16 = 0x0210
	dialect300 uint16 = 0x0300
	dialect302 uint16 = 0x0302
	dialect311 uint16 = 0x0311
)

// KDF is the key derivation function of [MS-SMB2 3.1.4.2]: NIST SP 800-108
// in counter mode with HMAC-SHA256 as the PRF, a 32-bit big-endian counter
// starting at 1, and the output length L in bits as a 32-bit big-endian
// integer. Each PRF input is
//
//	[i]_4 || label || 0x00 || context || [L]_4
//
// label and context are used exactly as given: SMB callers include the
// trailing NUL of the ASCII labels, and the KDF adds the 0x00 separator.
// bits must be a positive multiple of 8 (SMB uses 128 and 256); KDF panics
// otherwise.
func KDF(ki, label, context []byte, bits int) []byte {
	if bits <= 0 || bits%8 != 0 {
		panic("smbcrypto: KDF output length must be a positive multiple of 8 bits")
	}
	n := bits / 8
	var counter, length [4]byte
	binary.BigEndian.PutUint32(length[:], uint32(bits))
	prf := hmac.New(sha256.New, ki)
	out := make([]byte, 0, (n+sha256.Size-1)/sha256.Size*sha256.Size)
	for i := uint32(1); len(out) < n; i++ {
		binary.BigEndian.PutUint32(counter[:], i)
		prf.Reset()
		prf.Write(counter[:])
		prf.Write(label)
		prf.Write([]byte{0})
		prf.Write(context)
		prf.Write(length[:])
		out = prf.Sum(out)
	}
	clear(out[n:])
	return out[:n:n]
}

// Keys holds the 128-bit keys derived for a session [MS-SMB2 3.3.5.5.3].
// Fields a dialect does not define are zero.
type Keys struct {
	// Signing is Session.SigningKey (for 2.x, Session.SessionKey).
	Signing [KeySize]byte
	// Application is Session.ApplicationKey (3.x).
	Application [KeySize]byte
	// ServerEncryption is the server's EncryptionKey, which protects
	// server-to-client traffic (the client's DecryptionKey).
	ServerEncryption [KeySize]byte
	// ServerDecryption is the server's DecryptionKey, which protects
	// client-to-server traffic (the client's EncryptionKey).
	ServerDecryption [KeySize]byte
}

// derivation is one KDF label and context pair; an empty context means
// "the preauth integrity hash".
type derivation struct {
	label, context string
}

// keyLabels lists the derivations of one dialect family
// [MS-SMB2 3.3.5.5.3, 3.2.5.3.1].
type keyLabels struct {
	signing, application, serverEncryption, serverDecryption derivation
}

// labelsFor returns the KDF labels and contexts of a 3.x dialect. For 3.1.1
// the contexts are empty: the caller substitutes the preauth hash.
func labelsFor(dialect uint16) (keyLabels, bool) {
	switch dialect {
	case dialect300, dialect302:
		return keyLabels{
			signing:          derivation{"SMB2AESCMAC\x00", "SmbSign\x00"},
			application:      derivation{"SMB2APP\x00", "SmbRpc\x00"},
			serverEncryption: derivation{"SMB2AESCCM\x00", "ServerOut\x00"},
			serverDecryption: derivation{"SMB2AESCCM\x00", "ServerIn \x00"},
		}, true
	case dialect311:
		return keyLabels{
			signing:          derivation{label: "SMBSigningKey\x00"},
			application:      derivation{label: "SMBAppKey\x00"},
			serverEncryption: derivation{label: "SMBS2CCipherKey\x00"},
			serverDecryption: derivation{label: "SMBC2SCipherKey\x00"},
		}, true
	}
	return keyLabels{}, false
}

// sessionKey16 returns Session.SessionKey: the first 16 bytes of the
// authentication key, right-padded with zeros [MS-SMB2 3.3.1.8].
func sessionKey16(key []byte) [KeySize]byte {
	var k [KeySize]byte
	copy(k[:], key)
	return k
}

// DeriveKeys derives a session's keys from the authentication session key
// [MS-SMB2 3.3.5.5.3, 3.2.5.3.1]. The key is first cut or zero-padded to
// 16 bytes (Session.SessionKey).
//
//   - 0x0202, 0x0210: Signing is the session key itself; nothing else is
//     defined, so the other fields are zero.
//   - 0x0300, 0x0302: KDF with the constant 3.0 labels and contexts.
//   - 0x0311: KDF with the 3.1.1 labels and preauthHash (the 64-byte
//     Session.PreauthIntegrityHashValue after the final SESSION_SETUP
//     request) as the context. DeriveKeys panics if preauthHash is not 64
//     bytes: that is always a caller bug, and would otherwise surface only
//     as signature failures at the peer.
//   - Any other dialect yields zero Keys; preauthHash is ignored for every
//     dialect but 0x0311.
//
// All keys are 128-bit; AES-256 encryption keys are derived from the full
// session key with KDF and bits = 256.
func DeriveKeys(dialect uint16, sessionKey []byte, preauthHash []byte) Keys {
	ki := sessionKey16(sessionKey)
	if dialect == dialect202 || dialect == dialect210 {
		return Keys{Signing: ki}
	}
	labels, ok := labelsFor(dialect)
	if !ok {
		return Keys{}
	}
	if dialect == dialect311 && len(preauthHash) != PreauthHashSize {
		panic(fmt.Sprintf("smbcrypto: 3.1.1 key derivation needs a %d-byte preauth hash, got %d", PreauthHashSize, len(preauthHash)))
	}
	derive := func(d derivation) (k [KeySize]byte) {
		context := []byte(d.context)
		if dialect == dialect311 {
			context = preauthHash
		}
		copy(k[:], KDF(ki[:], []byte(d.label), context, 8*KeySize))
		return k
	}
	return Keys{
		Signing:          derive(labels.signing),
		Application:      derive(labels.application),
		ServerEncryption: derive(labels.serverEncryption),
		ServerDecryption: derive(labels.serverDecryption),
	}
}
