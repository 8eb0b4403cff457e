package smbcrypto

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// Cipher identifies an SMB 3.x encryption algorithm by its wire id in the
// SMB2_ENCRYPTION_CAPABILITIES negotiate context [MS-SMB2 2.2.3.1.2].
type Cipher uint16

// Ciphers [MS-SMB2 2.2.3.1.2]. 3.0 and 3.0.2 use AES-128-CCM.
const (
	AES128CCM Cipher = 1
	AES128GCM Cipher = 2
	AES256CCM Cipher = 3
	AES256GCM Cipher = 4
)

// DefaultCiphers is the preference order: GCM before CCM (GCM is several
// times faster), 128-bit before 256-bit (as Windows and Samba order them).
var DefaultCiphers = []Cipher{AES128GCM, AES128CCM, AES256GCM, AES256CCM}

// ErrUnknownCipher is returned (wrapped) for an unknown cipher id or name.
var ErrUnknownCipher = errors.New("smbcrypto: unknown cipher")

// String returns the cipher's conventional name, for example
// "AES-128-GCM".
func (c Cipher) String() string {
	switch c {
	case AES128CCM:
		return "AES-128-CCM"
	case AES128GCM:
		return "AES-128-GCM"
	case AES256CCM:
		return "AES-256-CCM"
	case AES256GCM:
		return "AES-256-GCM"
	}
	return fmt.Sprintf("Cipher(0x%04X)", uint16(c))
}

// Valid reports whether c is one of the four SMB ciphers.
func (c Cipher) Valid() bool { return c >= AES128CCM && c <= AES256GCM }

// KeySize is the key length of the cipher in bytes (16 or 32).
func (c Cipher) KeySize() int {
	if c == AES256CCM || c == AES256GCM {
		return 32
	}
	return 16
}

// gcm reports a GCM cipher.
func (c Cipher) gcm() bool { return c == AES128GCM || c == AES256GCM }

// NonceSize is the number of nonce bytes the cipher uses out of the
// transform header's 16: 11 for CCM, 12 for GCM [MS-SMB2 2.2.41].
func (c Cipher) NonceSize() int {
	if c.gcm() {
		return 12
	}
	return 11
}

// ParseCipher maps a configuration name ("AES-128-GCM", case-insensitive;
// also "aes128-gcm") to a Cipher.
func ParseCipher(name string) (Cipher, error) {
	n := strings.ReplaceAll(strings.ToLower(name), "-", "")
	for _, c := range []Cipher{AES128CCM, AES128GCM, AES256CCM, AES256GCM} {
		if n == strings.ReplaceAll(strings.ToLower(c.String()), "-", "") {
			return c, nil
		}
	}
	return 0, fmt.Errorf("%w %q", ErrUnknownCipher, name)
}

// CipherKeys are a session's two encryption keys, as the server names them
// [MS-SMB2 3.3.5.5.3]: Encryption protects server-to-client messages (the
// client's DecryptionKey), Decryption client-to-server ones (the client's
// EncryptionKey).
type CipherKeys struct {
	Encryption []byte
	Decryption []byte
}

// DeriveCipherKeys derives the encryption keys of a 3.x session
// [MS-SMB2 3.3.5.5.3, 3.2.5.3.1]: 3.0/3.0.2 with the constant
// "SMB2AESCCM" labels, 3.1.1 with "SMBS2CCipherKey"/"SMBC2SCipherKey" and
// the session's preauth hash. The 128-bit ciphers use the 16-byte
// Session.SessionKey as KDF input and L = 128; the 256-bit ciphers use the
// full authentication key (Session.FullSessionKey) and L = 256.
func DeriveCipherKeys(dialect uint16, c Cipher, sessionKey, preauthHash []byte) (CipherKeys, error) {
	labels, ok := labelsFor(dialect)
	if !ok {
		return CipherKeys{}, fmt.Errorf("smbcrypto: no encryption in dialect 0x%04x", dialect)
	}
	if !c.Valid() {
		return CipherKeys{}, fmt.Errorf("%w 0x%04x", ErrUnknownCipher, uint16(c))
	}
	if dialect != dialect311 && c != AES128CCM && c != AES128GCM {
		return CipherKeys{}, fmt.Errorf("smbcrypto: %v needs dialect 3.1.1", c)
	}
	if dialect == dialect311 && len(preauthHash) != PreauthHashSize {
		return CipherKeys{}, fmt.Errorf("smbcrypto: 3.1.1 key derivation needs a %d-byte preauth hash, got %d", PreauthHashSize, len(preauthHash))
	}
	var ki []byte
	if c.KeySize() == 32 {
		ki = sessionKey
	} else {
		k := sessionKey16(sessionKey)
		ki = k[:]
	}
	derive := func(d derivation) []byte {
		context := []byte(d.context)
		if dialect == dialect311 {
			context = preauthHash
		}
		return KDF(ki, []byte(d.label), context, 8*c.KeySize())
	}
	return CipherKeys{Encryption: derive(labels.serverEncryption), Decryption: derive(labels.serverDecryption)}, nil
}

// NewAEAD returns the AEAD of cipher c under key: AES-GCM with a 12-byte
// nonce or AES-CCM with an 11-byte nonce, both with a 16-byte tag. GCM is
// the wide assembly of gcm_wide.go where the CPU has it (gcmAVX512), else
// the standard library's; CCM is ccm.go's, in one assembly loop where the
// CPU has AES-NI (ccmAESNI).
func NewAEAD(c Cipher, key []byte) (cipher.AEAD, error) {
	if !c.Valid() {
		return nil, fmt.Errorf("%w 0x%04x", ErrUnknownCipher, uint16(c))
	}
	if len(key) != c.KeySize() {
		return nil, fmt.Errorf("smbcrypto: %v needs a %d-byte key, got %d", c, c.KeySize(), len(key))
	}
	if !c.gcm() {
		return newAESCCM(key, 11, 16)
	}
	if gcmAVX512 {
		return newWideGCM(key)
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// Transform header layout [MS-SMB2 2.2.41].
const (
	// TransformHeaderSize is the size of SMB2 TRANSFORM_HEADER.
	TransformHeaderSize = 52
	// TransformEncrypted is the Flags value (EncryptionAlgorithm in 3.0)
	// of an encrypted message.
	TransformEncrypted = 0x0001
	transformAADOffset = 20 // the AAD is the header from Nonce on
	transformNonceOff  = 20
	transformSizeOff   = 36
	transformFlagsOff  = 42
	transformSessOff   = 44
)

// TransformInfo is the clear part of a transform header.
type TransformInfo struct {
	Nonce        [16]byte
	OriginalSize uint32
	Flags        uint16
	SessionID    uint64
}

// ParseTransform reads the fields of a transform header at the start of
// buf; it checks only the length and protocol id.
func ParseTransform(buf []byte) (TransformInfo, error) {
	if len(buf) < TransformHeaderSize || buf[0] != 0xFD || string(buf[1:4]) != "SMB" {
		return TransformInfo{}, errors.New("smbcrypto: not a transform header")
	}
	var t TransformInfo
	copy(t.Nonce[:], buf[transformNonceOff:])
	t.OriginalSize = binary.LittleEndian.Uint32(buf[transformSizeOff:])
	t.Flags = binary.LittleEndian.Uint16(buf[transformFlagsOff:])
	t.SessionID = binary.LittleEndian.Uint64(buf[transformSessOff:])
	return t, nil
}

// SealTransform encrypts in place the message in buf[TransformHeaderSize:]
// and fills the transform header in buf[:TransformHeaderSize] for the
// session sessionID with the given nonce (up to 16 bytes, normally the
// cipher's NonceSize; the rest of the field stays zero; the whole field is
// authenticated, only the first NonceSize bytes feed the cipher)
// [MS-SMB2 2.2.41, 3.1.4.3]. The tag
// goes into the header's Signature; with 16 bytes of spare capacity after
// buf the message is encrypted without a copy.
func SealTransform(aead cipher.AEAD, buf, nonce []byte, sessionID uint64) {
	h := buf[:TransformHeaderSize]
	msg := buf[TransformHeaderSize:]
	h[0], h[1], h[2], h[3] = 0xFD, 'S', 'M', 'B'
	clear(h[4:transformSizeOff])
	copy(h[transformNonceOff:transformSizeOff], nonce)
	binary.LittleEndian.PutUint32(h[transformSizeOff:], uint32(len(msg)))
	binary.LittleEndian.PutUint16(h[40:], 0)
	binary.LittleEndian.PutUint16(h[transformFlagsOff:], TransformEncrypted)
	binary.LittleEndian.PutUint64(h[transformSessOff:], sessionID)
	n := aead.NonceSize()
	var nonceCopy [16]byte
	copy(nonceCopy[:], h[transformNonceOff:transformNonceOff+n])
	var ct []byte
	if cap(buf)-len(buf) >= aead.Overhead() {
		ct = aead.Seal(msg[:0], nonceCopy[:n], msg, h[transformAADOffset:])
	} else {
		ct = aead.Seal(nil, nonceCopy[:n], msg, h[transformAADOffset:])
		copy(msg, ct)
	}
	// The tag follows the ciphertext; it belongs in the Signature field.
	copy(h[4:20], ct[len(msg):])
}

// ErrTransformAuth means a transform message failed authentication.
var ErrTransformAuth = errors.New("smbcrypto: transform message failed authentication")

// OpenTransform authenticates and decrypts, in place, the message after
// the transform header in buf and returns it. The header fields must have
// been checked by the caller (ParseTransform). On failure nothing of the
// plaintext is returned.
func OpenTransform(aead cipher.AEAD, buf []byte) ([]byte, error) {
	if len(buf) < TransformHeaderSize {
		return nil, ErrTransformAuth
	}
	h := buf[:TransformHeaderSize]
	msg := buf[TransformHeaderSize:]
	n := aead.NonceSize()
	// The AEAD wants ciphertext||tag; the tag lives in the header. Open
	// the pieces with the tag appended in a 16-byte-longer view when the
	// buffer has the capacity, else in a copy.
	var ct []byte
	if cap(buf)-len(buf) >= 16 {
		ct = buf[TransformHeaderSize : len(buf)+16]
		copy(ct[len(msg):], h[4:20])
	} else {
		ct = make([]byte, len(msg)+16)
		copy(ct, msg)
		copy(ct[len(msg):], h[4:20])
	}
	var nonce [16]byte
	copy(nonce[:], h[transformNonceOff:transformNonceOff+n])
	pt, err := aead.Open(ct[:0], nonce[:n], ct, h[transformAADOffset:])
	if err != nil {
		return nil, ErrTransformAuth
	}
	if &pt[0] != &msg[0] && len(pt) > 0 {
		copy(msg, pt)
	}
	return msg, nil
}
