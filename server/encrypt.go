package server

import (
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"sync/atomic"

	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/smbcrypto"
	"github.com/signetsmb/signet/internal/wire"
)

// SMB 3.x encryption [MS-SMB2 3.1.4.3, 3.3.4.1.4, 3.3.5.2.1.1].
//
// What is negotiated: c.cipher (reader-owned, read-only after NEGOTIATE)
// is the connection's cipher, 0 when the client cannot encrypt. 3.0 and
// 3.0.2 use AES-128-CCM when both sides set SMB2_GLOBAL_CAP_ENCRYPTION;
// 3.1.1 picks from the client's ENCRYPTION_CAPABILITIES by the server's
// preference (Settings.Ciphers, GCM first).
//
// Keys are per session: authDone derives them next to the signing key
// and stores one *sessionCipher in session.enc (an atomic pointer, set
// once, never cleared: a request decrypted under it or a response being
// sealed with it may outlive the session). A sessionCipher is immutable
// apart from its nonce counter, so any goroutine may use it.
//
// Inbound: a transform is authenticated and decrypted in place before
// anything else looks at the message: the reader checks its header
// (checkTransform) and decrypts a small frame itself; a large one is
// decrypted on a handler goroutine and admitted in arrival order
// (decrypt.go). A transform with no negotiated cipher, an unknown
// session, a wrong Flags field, an OriginalMessageSize that is not the
// payload's, or a bad tag closes the connection (counted and logged). The elements of the decrypted compound carry the
// sessionCipher (request.cipher): they are authenticated, so their
// signatures are not checked, and their responses are encrypted.
//
// Outbound: emit is still the one send path. Responses live in pooled
// buffers with frameRoom bytes in front (transport header and transform
// header), so sealing is in place; emit decides per frame (sealFor),
// skips signing when it seals, and writes the transform header.

// frameRoom is the space in front of every response message: the 4-byte
// transport header and the 52-byte transform header.
const frameRoom = 4 + smbcrypto.TransformHeaderSize

// tagRoom is spare capacity after a message: the AEADs write their tag
// there before it is moved into the transform header.
const tagRoom = 16

// sessionCipher is a session's encryption state. enc seals server-to-
// client messages, dec opens client-to-server ones.
type sessionCipher struct {
	id     uint64
	cipher smbcrypto.Cipher
	enc    cipher.AEAD
	dec    cipher.AEAD
	// all is Session.EncryptData: every message of the session is
	// encrypted (server-wide encrypt_data).
	all bool
	// nonces counts the nonces used under enc; it never wraps.
	nonces atomic.Uint64
	// used is set once the client has sent an encrypted message: its
	// unsolicited notifications are encrypted from then on.
	used atomic.Bool
}

var errNonceExhausted = errors.New("encryption nonces exhausted for this session")

// seal encrypts the message in buf[TransformHeaderSize:] in place and
// writes the transform header in front of it. Each call takes a fresh
// nonce: a 64-bit counter, never reused under the session's key; at the
// end of the counter the session refuses to go on.
func (sc *sessionCipher) seal(buf []byte) error {
	n := sc.nonces.Add(1)
	if n == math.MaxUint64 || n == 0 {
		sc.nonces.Store(math.MaxUint64)
		return errNonceExhausted
	}
	var nonce [16]byte
	binary.LittleEndian.PutUint64(nonce[:], n)
	smbcrypto.SealTransform(sc.enc, buf, nonce[:sc.cipher.NonceSize()], sc.id)
	return nil
}

// encryptionName names the session's cipher for logs: "none" when the
// session has no encryption keys, else the cipher and, with encrypt_data,
// "/required".
func (s *session) encryptionName() string {
	sc := s.enc.Load()
	switch {
	case sc == nil:
		return "none"
	case sc.all:
		return sc.cipher.String() + "/required"
	}
	return sc.cipher.String()
}

// defaultCiphers is the 3.1.1 preference when Settings.Ciphers is empty.
var defaultCiphers = smbcrypto.DefaultCiphers

// offerEncryption returns SMB2_GLOBAL_CAP_ENCRYPTION for a 3.0/3.0.2
// NEGOTIATE from a client that set it, and records AES-128-CCM as the
// connection's cipher [MS-SMB2 3.3.5.4]. 3.1.1 negotiates a cipher in
// ENCRYPTION_CAPABILITIES instead (chooseCipher). Reader only.
func (c *conn) offerEncryption(dialect uint16, st *Settings) uint32 {
	c.cipher = 0
	if (dialect != wire.Dialect300 && dialect != wire.Dialect302) || c.clientCaps&wire.CapEncryption == 0 {
		return 0
	}
	if prefs := st.Ciphers; len(prefs) > 0 && !slices.Contains(prefs, smbcrypto.AES128CCM) {
		return 0
	}
	c.cipher = smbcrypto.AES128CCM
	return wire.CapEncryption
}

// chooseCipher answers a 3.1.1 ENCRYPTION_CAPABILITIES context: the
// server's most preferred cipher the client offered. No common cipher
// leaves the connection without encryption and the context unanswered
// (answering cipher 0 breaks clients such as go-smb2). Reader only.
func (c *conn) chooseCipher(offered []uint16, st *Settings) (wire.NegContext, bool) {
	prefs := st.Ciphers
	if len(prefs) == 0 {
		prefs = defaultCiphers
	}
	for _, p := range prefs {
		if slices.Contains(offered, uint16(p)) {
			c.cipher = p
			d := binary.LittleEndian.AppendUint16(nil, 1)
			d = binary.LittleEndian.AppendUint16(d, uint16(p))
			return wire.NegContext{Type: wire.CtxEncryption, Data: d}, true
		}
	}
	return wire.NegContext{}, false
}

// encryptionRequired reports the server-wide encrypt_data of the
// connection's settings snapshot.
func (c *conn) encryptionRequired() bool { return c.settings != nil && c.settings.EncryptData }

// sessionEncryption derives a new session's encryption keys when the
// connection negotiated a cipher and returns the SessionFlags to add:
// SMB2_SESSION_FLAG_ENCRYPT_DATA when the whole server encrypts. A client
// that cannot encrypt on such a server is refused with ACCESS_DENIED
// unless allow_unencrypted_access is set [MS-SMB2 3.3.5.5.3]. Reader
// only; key is the authentication session key, preauth the 3.1.1 hash.
func (r *request) sessionEncryption(s *session, key, preauth []byte) (uint16, error) {
	c := r.c
	if c.cipher == 0 {
		if c.encryptionRequired() {
			s.ops.noEncryption.Store(true) // audited once s.mu is released
		}
		if c.encryptionRequired() && !c.settings.AllowUnencryptedAccess {
			c.srv.stats.refusedUnencrypted.Add(1)
			c.log.Warn("session refused: the server requires encryption and the client cannot encrypt",
				"dialect", wire.DialectName(c.dialect), "session_id", s.id)
			return 0, ntstatus.AccessDenied
		}
		return 0, nil
	}
	keys, err := smbcrypto.DeriveCipherKeys(c.dialect, c.cipher, key, preauth)
	if err != nil {
		return 0, err
	}
	enc, err := smbcrypto.NewAEAD(c.cipher, keys.Encryption)
	if err != nil {
		return 0, err
	}
	dec, err := smbcrypto.NewAEAD(c.cipher, keys.Decryption)
	if err != nil {
		return 0, err
	}
	sc := &sessionCipher{id: s.id, cipher: c.cipher, enc: enc, dec: dec, all: c.encryptionRequired()}
	s.enc.Store(sc)
	if sc.all {
		return wire.SessionEncryptData, nil
	}
	return 0, nil
}

// checkTransform checks a transform header on the reader, before the
// message is decrypted here or on a handler (decrypt.go), and returns the
// session cipher that must open it [MS-SMB2 3.3.5.2.1.1]: a negotiated
// cipher, the Flags field, an OriginalMessageSize that is the payload's,
// and a session of this connection with keys. Every failure is
// connection-fatal, counted and logged. Reader only.
func (c *conn) checkTransform(buf []byte) (*sessionCipher, error) {
	if c.cipher == 0 {
		return nil, c.badTransform("encryption_not_negotiated", "transform header on a connection without encryption")
	}
	t, err := smbcrypto.ParseTransform(buf)
	if err != nil {
		return nil, c.badTransform("bad_transform", "%v", err)
	}
	if t.Flags != smbcrypto.TransformEncrypted {
		return nil, c.badTransform("bad_transform", "flags/algorithm 0x%04x", t.Flags)
	}
	if int(t.OriginalSize) != len(buf)-smbcrypto.TransformHeaderSize || t.OriginalSize < wire.HeaderSize {
		return nil, c.badTransform("bad_transform", "OriginalMessageSize %d in a %d-byte message", t.OriginalSize, len(buf))
	}
	s := c.lookupSession(t.SessionID)
	if s == nil {
		return nil, c.badTransform("bad_transform", "unknown session 0x%x", t.SessionID)
	}
	sc := s.enc.Load()
	if sc == nil {
		return nil, c.badTransform("bad_transform", "session 0x%x has no encryption keys", t.SessionID)
	}
	return sc, nil
}

// badTransform counts and logs a refused transform and returns the error
// that closes the connection.
func (c *conn) badTransform(token, format string, args ...any) error {
	n := c.srv.stats.badTransforms.Add(1)
	err := fatal(token, format, args...)
	c.log.Warn("encrypted message refused; connection closed", "reason", token, "detail", err.(*connError).detail,
		"refused_total", n)
	return err
}

// openSealed authenticates and decrypts, in place, a transform message
// checkTransform accepted, and returns the SMB2 message inside. On the
// reader for small frames, on a handler for large ones (decrypt.go).
func (c *conn) openSealed(buf []byte, sc *sessionCipher, onReader bool) ([]byte, error) {
	c.srv.stats.decrypts.note(onReader, len(buf))
	msg, err := smbcrypto.OpenTransform(sc.dec, buf)
	if err != nil {
		return nil, c.badTransform("bad_transform_tag", "session 0x%x: message failed authentication", sc.id)
	}
	if [4]byte(msg[0:4]) != wire.ProtocolSMB2 {
		return nil, c.badTransform("bad_transform", "decrypted message is not SMB2 (% x)", msg[0:4])
	}
	sc.used.Store(true)
	return msg, nil
}

// checkSealed runs for a request that arrived encrypted, in place of the
// signature check (an encrypted message is not signed [MS-SMB2 3.1.4.3]):
// the session named in its header must be the one whose key opened it.
func (r *request) checkSealed() error {
	if r.sess != nil && r.sess.enc.Load() != r.cipher {
		r.c.log.Warn("request refused: encrypted under another session's key", "command", r.hdr.Command.String(),
			"session_id", r.hdr.SessionID, "transform_session_id", r.cipher.id)
		return ntstatus.AccessDenied
	}
	if r.sess != nil {
		r.signed = true // authenticated by the session's key
	}
	return nil
}

// refuseUnencrypted refuses an unencrypted request on a session that
// encrypts everything (Session.EncryptData) [MS-SMB2 3.3.5.2.9], unless
// allow_unencrypted_access is set. SESSION_SETUP is exempt (the client
// learns of the requirement from its response); a CANCEL is ignored.
func (r *request) refuseUnencrypted() error {
	if r.cipher != nil || r.sess == nil || r.hdr.Command == wire.CmdSessionSetup {
		return nil
	}
	sc := r.sess.enc.Load()
	if sc == nil || !sc.all || r.c.settings.AllowUnencryptedAccess {
		return nil
	}
	return r.unencryptedRefused("session requires encryption")
}

// refuseUnencryptedTree is refuseUnencrypted for a tree connect on an
// encrypted share [MS-SMB2 3.3.5.2.11].
func (r *request) refuseUnencryptedTree(t *treeConnect) error {
	if r.cipher != nil || !t.encrypt || r.c.settings.AllowUnencryptedAccess {
		return nil
	}
	return r.unencryptedRefused("share requires encryption")
}

func (r *request) unencryptedRefused(why string) error {
	n := r.c.srv.stats.refusedUnencrypted.Add(1)
	r.c.log.Warn("unencrypted request refused: "+why, "command", r.hdr.Command.String(),
		"message_id", r.hdr.MessageID, "session_id", r.hdr.SessionID, "refused_total", n)
	if r.hdr.Command == wire.CmdCancel {
		return errIgnore
	}
	return ntstatus.AccessDenied
}

// shareEncryption applies encrypt_data to a TREE_CONNECT of share sh
// (share setting or server-wide): a session that can encrypt gets
// SMB2_SHAREFLAG_ENCRYPT_DATA and an encrypted tree; one that cannot
// (no cipher negotiated, or an anonymous or guest session without keys)
// is refused with ACCESS_DENIED and a log line unless
// allow_unencrypted_access is set [MS-SMB2 3.3.5.7].
func (r *request) shareEncryption(sh *Share, t *treeConnect, resp *wire.TreeConnectResponse) error {
	c := r.c
	if !sh.EncryptData && !c.encryptionRequired() {
		return nil
	}
	if r.sess.enc.Load() == nil {
		r.sess.audit(c, auditEncryptionIndex)
		if c.settings.AllowUnencryptedAccess {
			return nil
		}
		n := c.srv.stats.refusedUnencrypted.Add(1)
		c.log.Warn("tree connect refused: the share requires encryption and the client cannot encrypt",
			"share", sh.Name, "user", r.sess.identityCopy().User, "dialect", wire.DialectName(c.dialect),
			"refused_total", n)
		return ntstatus.AccessDenied
	}
	t.encrypt = true
	resp.ShareFlags |= wire.ShareFlagEncryptData
	return nil
}

// auditEncryptionIndex is AuditEncryption's index in auditReasons.
const auditEncryptionIndex = 5

// auditEncryption records, under require_signing = "audit", a session
// that could not encrypt on a server that encrypts everything, allowed
// (allow_unencrypted_access) or refused, once per session (Windows'
// "Audit client does not support encryption"). A TREE_CONNECT to an
// encrypted share records it in shareEncryption.
func (s *session) auditEncryption(c *conn) {
	if s.ops.noEncryption.Load() {
		s.audit(c, auditEncryptionIndex)
	}
}

// sealFor returns the session cipher that must seal the response frame
// of done, or nil [MS-SMB2 3.3.4.1.4]: a response to an encrypted
// request is encrypted with the key that opened it; otherwise a response
// in a session that encrypts everything, or on an encrypted tree, is
// encrypted, except NEGOTIATE and SESSION_SETUP responses to unencrypted
// requests (the client reads those in the clear; the final SESSION_SETUP
// response is signed instead) and the TREE_CONNECT response that makes
// a tree encrypted (the client learns from it that it must encrypt;
// Samba answers it in the clear too).
func sealFor(done []*request) *sessionCipher {
	for _, r := range done {
		if r.cipher != nil {
			return r.cipher
		}
	}
	for _, r := range done {
		cmd := r.hdr.Command
		if r.sess == nil || cmd == wire.CmdNegotiate || cmd == wire.CmdSessionSetup {
			continue
		}
		if sc := r.sess.enc.Load(); sc != nil && (sc.all || r.tree != nil && r.tree.encrypt && cmd != wire.CmdTreeConnect) {
			return sc
		}
	}
	return nil
}

// sealFrame encrypts frame (room for the transport and transform headers
// in front, the message from frameRoom on, tagRoom spare capacity) with
// sc; the transport header stays for the caller to fill.
func (c *conn) sealFrame(sc *sessionCipher, frame []byte) error {
	if err := sc.seal(frame[4:]); err != nil {
		return fatal("nonce_exhausted", "session 0x%x: %v", sc.id, err)
	}
	c.srv.stats.encryptedResponses.Add(1)
	return nil
}

// breakFrame frames an unsolicited OPLOCK_BREAK message (never signed),
// encrypted when the session's traffic is (Session.EncryptData, an
// encrypted tree, or a client that encrypts its requests)
// [MS-SMB2 3.3.4.1.4]. It returns nil when the session cannot seal any
// more (the connection is then closed).
func (o *open) breakFrame(msg []byte) []byte {
	sc := o.sess.enc.Load()
	if sc == nil || !(sc.all || o.tree.encrypt || sc.used.Load()) {
		frame := getBuf(4 + len(msg))
		copy(frame[4:], msg)
		binary.BigEndian.PutUint32(frame, uint32(len(msg)))
		return frame
	}
	frame := getBuf(frameRoom + len(msg) + tagRoom)[:frameRoom+len(msg)]
	copy(frame[frameRoom:], msg)
	if err := sc.seal(frame[4:]); err != nil {
		putBuf(frame)
		o.conn.close(fatal("nonce_exhausted", "session 0x%x: %v", sc.id, err))
		return nil
	}
	binary.BigEndian.PutUint32(frame, uint32(len(frame)-4))
	return frame
}
