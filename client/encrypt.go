package client

import (
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync/atomic"

	"github.com/signetsmb/signet/internal/bufpool"
	"github.com/signetsmb/signet/internal/smbcrypto"
	"github.com/signetsmb/signet/internal/wire"
)

// SMB 3.x encryption, client side [MS-SMB2 3.2.4.1.8, 3.2.5.1.1.1].
//
// The client always offers encryption (SMB2_GLOBAL_CAP_ENCRYPTION for
// 3.0/3.0.2, an ENCRYPTION_CAPABILITIES context for 3.1.1). It encrypts
// when Dialer.RequireEncryption is set (then a server that does not
// negotiate a cipher is refused, and so is a guest session), when the
// server sets SMB2_SESSION_FLAG_ENCRYPT_DATA, or when a share it
// connects to has SMB2_SHAREFLAG_ENCRYPT_DATA. Once on, every request of
// the session is encrypted (the server accepts encrypted requests
// anywhere), and a response to an encrypted request must come back
// encrypted.

// Cipher ids of the ENCRYPTION_CAPABILITIES context [MS-SMB2 2.2.3.1.2].
const (
	CipherAES128CCM uint16 = 1
	CipherAES128GCM uint16 = 2
	CipherAES256CCM uint16 = 3
	CipherAES256GCM uint16 = 4
)

// DefaultCiphers returns the 3.1.1 offer order used when Dialer.Ciphers
// is nil: AES-128-GCM, AES-128-CCM, AES-256-GCM, AES-256-CCM.
func DefaultCiphers() []uint16 {
	return []uint16{CipherAES128GCM, CipherAES128CCM, CipherAES256GCM, CipherAES256CCM}
}

// CipherName returns "AES-128-GCM" and so on, or "none" for 0.
func CipherName(id uint16) string {
	if id == 0 {
		return "none"
	}
	return smbcrypto.Cipher(id).String()
}

// ErrNoEncryption means Dialer.RequireEncryption is set and the server
// did not negotiate a cipher (2.x, or a 3.x server without encryption),
// or the session cannot encrypt (guest or anonymous).
var ErrNoEncryption = errors.New("smb: encryption required but the server did not negotiate it")

// ciphers returns the validated 3.1.1 offer.
func (d *Dialer) ciphers() ([]uint16, error) {
	if d.Ciphers == nil {
		return DefaultCiphers(), nil
	}
	if len(d.Ciphers) == 0 {
		return nil, errors.New("smb: Ciphers is empty")
	}
	for i, c := range d.Ciphers {
		if !smbcrypto.Cipher(c).Valid() || slices.Contains(d.Ciphers[:i], c) {
			return nil, fmt.Errorf("smb: bad or repeated cipher %d", c)
		}
	}
	return d.Ciphers, nil
}

// offerEncryption adds the encryption offer to a NEGOTIATE request.
func (d *Dialer) offerEncryption(req *negotiateRequest) error {
	if req.Dialects[len(req.Dialects)-1] < Dialect300 {
		return nil
	}
	req.Capabilities |= wire.CapEncryption
	if !slices.Contains(req.Dialects, Dialect311) {
		return nil
	}
	cs, err := d.ciphers()
	if err != nil {
		return err
	}
	req.Contexts = append(req.Contexts, wire.IDListNegContext(wire.CtxEncryption, cs))
	return nil
}

// checkEncryptionContext records the server's 3.1.1 cipher choice: one of
// ours, or 0 (none in common).
func (n *negotiation) checkEncryptionContext(d []byte) error {
	ids, err := wire.ParseIDList(d, 0)
	if err != nil {
		return err
	}
	var offered []uint16
	for _, c := range n.req.Contexts {
		if c.Type == wire.CtxEncryption {
			offered, _ = wire.ParseIDList(c.Data, 0)
		}
	}
	if len(ids) != 1 || ids[0] != 0 && !slices.Contains(offered, ids[0]) {
		return fmt.Errorf("server selected ciphers %v; offered %v", ids, offered)
	}
	n.info.Cipher = ids[0]
	return nil
}

// cipher30 sets the cipher of a 3.0/3.0.2 connection: AES-128-CCM when
// both sides set SMB2_GLOBAL_CAP_ENCRYPTION.
func (n *negotiation) cipher30() {
	if n.req.Capabilities&wire.CapEncryption != 0 && n.info.Capabilities&wire.CapEncryption != 0 {
		n.info.Cipher = CipherAES128CCM
	}
}

// sessionCipher is a session's encryption state, shared by the sending
// goroutines and the reader: immutable but for the nonce counter.
type sessionCipher struct {
	id       uint64
	cipher   smbcrypto.Cipher
	enc, dec cipher.AEAD // client-to-server, server-to-client
	nonces   atomic.Uint64
}

// installCipher derives the session's encryption keys when a cipher was
// negotiated [MS-SMB2 3.2.5.3.1]; key is the authentication key.
func (st *setup) installCipher(key []byte) error {
	s := st.s
	id := s.neg.info.Cipher
	if id == 0 {
		return nil
	}
	keys, err := smbcrypto.DeriveCipherKeys(s.Dialect(), smbcrypto.Cipher(id), key, st.preauth[:])
	if err != nil {
		return err
	}
	// The server's decryption key is the client's encryption key.
	enc, err := smbcrypto.NewAEAD(smbcrypto.Cipher(id), keys.Decryption)
	if err != nil {
		return err
	}
	dec, err := smbcrypto.NewAEAD(smbcrypto.Cipher(id), keys.Encryption)
	if err != nil {
		return err
	}
	s.conn.enc.Store(&sessionCipher{id: s.id, cipher: smbcrypto.Cipher(id), enc: enc, dec: dec})
	return nil
}

// startEncryption turns encryption on for every later request, or fails
// when the session has no keys.
func (s *Session) startEncryption(why string) error {
	if s.conn.enc.Load() == nil {
		if s.cfg.RequireEncryption {
			return fmt.Errorf("%w (%s)", ErrNoEncryption, why)
		}
		return fmt.Errorf("%w (%s)", ErrEncryptionRequired, why)
	}
	s.conn.sealing.Store(true)
	s.chmu.Lock()
	for _, ch := range s.chans {
		if ch.conn.enc.Load() == nil {
			ch.conn.enc.Store(s.conn.enc.Load())
		}
		ch.conn.sealing.Store(true)
	}
	s.chmu.Unlock()
	return nil
}

// Encrypted reports whether the session's requests are encrypted.
func (s *Session) Encrypted() bool { return s.conn.sealing.Load() }

// Cipher returns the negotiated cipher id (0: none).
func (s *Session) Cipher() uint16 { return s.neg.info.Cipher }

// seal returns msg wrapped in a transform with a fresh nonce. The
// counter never wraps: at its end the connection refuses to go on.
func (sc *sessionCipher) seal(msg []byte) ([]byte, error) {
	n := sc.nonces.Add(1)
	if n == math.MaxUint64 || n == 0 {
		sc.nonces.Store(math.MaxUint64)
		return nil, errors.New("smb: encryption nonces exhausted for this session")
	}
	// From the pool: send gives it back once written.
	buf := bufpool.Get(smbcrypto.TransformHeaderSize + len(msg) + 16)[:smbcrypto.TransformHeaderSize+len(msg)]
	copy(buf[smbcrypto.TransformHeaderSize:], msg)
	var nonce [16]byte
	binary.LittleEndian.PutUint64(nonce[:], n)
	smbcrypto.SealTransform(sc.enc, buf, nonce[:sc.cipher.NonceSize()], sc.id)
	return buf, nil
}

// open decrypts a transform from the server; any failure is fatal for the
// connection.
func (c *conn) open(frame []byte) ([]byte, error) {
	sc := c.enc.Load()
	if sc == nil {
		return nil, fmt.Errorf("%w: encrypted message without negotiated encryption", ErrInvalidResponse)
	}
	t, err := smbcrypto.ParseTransform(frame)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidResponse, err)
	}
	if t.SessionID != sc.id || t.Flags != smbcrypto.TransformEncrypted ||
		int(t.OriginalSize) != len(frame)-smbcrypto.TransformHeaderSize {
		return nil, fmt.Errorf("%w: transform header %+v", ErrInvalidResponse, t)
	}
	msg, err := smbcrypto.OpenTransform(sc.dec, frame)
	if err != nil {
		return nil, fmt.Errorf("%w: encrypted response failed authentication", ErrBadSignature)
	}
	return msg, nil
}
