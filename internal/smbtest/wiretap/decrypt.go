package wiretap

import (
	"crypto/cipher"
	"fmt"

	"github.com/signetsmb/signet/internal/smbcrypto"
	"github.com/signetsmb/signet/internal/wire"
)

// Decryption of SMB 3.x TRANSFORM_HEADER frames. When the tap has
// reconstructed a session's key (NTLM with the configured password) and
// seen the cipher negotiated (3.0/3.0.2: CAP_ENCRYPTION on both sides;
// 3.1.1: the ENCRYPTION_CAPABILITIES answer), it derives the session's two
// encryption keys as the server does [MS-SMB2 3.3.5.5.3] and opens every
// transform of that session: the transform is recorded (Decrypted set
// when it authenticated), followed by the SMB2 messages inside it, each
// analysed like any other and marked Encrypted.

// installCiphers derives the session's AEADs, one per direction. The
// caller holds Tap.mu.
func (c *connState) installCiphers(s *session, preauth []byte) {
	if c.cipher == 0 {
		return
	}
	keys, err := smbcrypto.DeriveCipherKeys(c.dialect, smbcrypto.Cipher(c.cipher), s.key, preauth)
	if err != nil {
		s.rep.KeyNote = joinNote(s.rep.KeyNote, "encryption keys: "+err.Error())
		return
	}
	c2s, err1 := smbcrypto.NewAEAD(smbcrypto.Cipher(c.cipher), keys.Decryption)
	s2c, err2 := smbcrypto.NewAEAD(smbcrypto.Cipher(c.cipher), keys.Encryption)
	if err1 != nil || err2 != nil {
		s.rep.KeyNote = joinNote(s.rep.KeyNote, fmt.Sprintf("encryption keys: %v %v", err1, err2))
		return
	}
	s.aead = [2]cipher.AEAD{ClientToServer: c2s, ServerToClient: s2c}
}

// decrypt opens a transform of the given direction with its session's
// key; it returns the SMB2 compound inside, or a note saying why not. msg
// is not modified.
func (c *connState) decrypt(dir Direction, msg []byte, sid uint64) ([]byte, string) {
	s := c.sessions[sid]
	if s == nil {
		if sh := c.tap.sessions[sid]; sh != nil && sh.aead[dir] != nil {
			return openTransform(sh.aead[dir], msg)
		}
		return nil, "transform for a session the tap does not know"
	}
	if s.aead[dir] == nil {
		return nil, "no encryption key for the session (key not reconstructed or no cipher seen)"
	}
	return openTransform(s.aead[dir], msg)
}

func openTransform(a cipher.AEAD, msg []byte) ([]byte, string) {
	t, err := smbcrypto.ParseTransform(msg)
	if err != nil {
		return nil, err.Error()
	}
	if t.Flags != smbcrypto.TransformEncrypted || int(t.OriginalSize) != len(msg)-smbcrypto.TransformHeaderSize {
		return nil, fmt.Sprintf("bad TRANSFORM_HEADER: flags %#x, OriginalMessageSize %d of %d", t.Flags, t.OriginalSize, len(msg))
	}
	plain, err := smbcrypto.OpenTransform(a, append([]byte(nil), msg...))
	if err != nil {
		return nil, "transform does not authenticate"
	}
	if len(plain) < 4 || [4]byte(plain[:4]) != wire.ProtocolSMB2 {
		return nil, "decrypted message is not SMB2"
	}
	return plain, ""
}

// analyzeDecrypted records the SMB2 messages of a decrypted transform
// after the transform itself. The caller holds Tap.mu.
func (c *connState) analyzeDecrypted(dir Direction, frameNo int, plain []byte) {
	elems, err := wire.SplitCompound(plain, maxCompound)
	if err != nil {
		c.tap.msgs = append(c.tap.msgs, Message{Conn: c.id, Frame: frameNo, Dir: dir, Kind: KindMalformed,
			Class: ClassOther, Encrypted: true, Size: len(plain), Raw: c.tap.keep(plain), Note: "decrypted compound: " + err.Error()})
		return
	}
	var prevSID uint64
	for i, e := range elems {
		m := Message{Conn: c.id, Frame: frameNo, Index: i, Dir: dir, Kind: KindSMB2, Class: ClassOther,
			Size: len(e), Raw: c.tap.keep(e), Encrypted: true}
		prevSID = c.analyzeSMB2(&m, dir, i, e, prevSID)
		c.tap.msgs = append(c.tap.msgs, m)
	}
}
