package ntlm

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rc4"
	"encoding/binary"
)

// Magic constants of SIGNKEY and SEALKEY [MS-NLMP 3.4.5.2, 3.4.5.3]; the
// trailing NUL is part of the constant.
const (
	clientSignMagic = "session key to client-to-server signing key magic constant\x00"
	serverSignMagic = "session key to server-to-client signing key magic constant\x00"
	clientSealMagic = "session key to client-to-server sealing key magic constant\x00"
	serverSealMagic = "session key to server-to-client sealing key magic constant\x00"
)

// signatureLen is the size of NTLMSSP_MESSAGE_SIGNATURE with extended session
// security [MS-NLMP 2.2.2.9.1].
const signatureLen = 16

// direction is the integrity state of one direction of an NTLM security
// context: its signing key, the RC4 handle shared with sealing (initialised
// once with the sealing key) and the sequence number [MS-NLMP 3.4.4.2].
type direction struct {
	signKey []byte
	handle  rc4.Cipher
	seq     uint32
}

// security is an NTLM session security context [MS-NLMP 3.4]: the outgoing
// and incoming directions and whether checksums are RC4-encrypted.
type security struct {
	keyExch bool
	out, in direction
}

// signKey returns SIGNKEY [MS-NLMP 3.4.5.2] for extended session security.
func signKey(exportedKey []byte, magic string) []byte {
	h := md5.New()
	h.Write(exportedKey)
	h.Write([]byte(magic))
	return h.Sum(nil)
}

// sealKey returns SEALKEY [MS-NLMP 3.4.5.3] for extended session security:
// the whole key with NEGOTIATE_128, 7 bytes with NEGOTIATE_56, else 5.
func sealKey(exportedKey []byte, flags uint32, magic string) []byte {
	n := 5
	switch {
	case flags&flag128 != 0:
		n = len(exportedKey)
	case flags&flag56 != 0:
		n = 7
	}
	h := md5.New()
	h.Write(exportedKey[:min(n, len(exportedKey))])
	h.Write([]byte(magic))
	return h.Sum(nil)
}

// newDirection derives one direction's keys.
func newDirection(exportedKey []byte, flags uint32, signMagic, sealMagic string) direction {
	c, err := rc4.NewCipher(sealKey(exportedKey, flags, sealMagic))
	if err != nil { // unreachable: MD5 output is 16 bytes
		panic("ntlm: " + err.Error())
	}
	return direction{signKey: signKey(exportedKey, signMagic), handle: *c}
}

// newSecurity derives the session security context of the client
// (server=false) or the server from ExportedSessionKey and the negotiated
// flags [MS-NLMP 3.4.5]. Extended session security is assumed: it is always
// negotiated with NTLMv2 here.
func newSecurity(exportedKey []byte, flags uint32, server bool) *security {
	c2s := newDirection(exportedKey, flags, clientSignMagic, clientSealMagic)
	s2c := newDirection(exportedKey, flags, serverSignMagic, serverSealMagic)
	s := &security{keyExch: flags&flagKeyExch != 0, out: c2s, in: s2c}
	if server {
		s.out, s.in = s2c, c2s
	}
	return s
}

// mac computes NTLMSSP_MESSAGE_SIGNATURE over msg with d's key, sequence
// number and RC4 handle [MS-NLMP 3.4.4.2] and advances d.
func (s *security) mac(d *direction, msg []byte) []byte {
	var seq [4]byte
	binary.LittleEndian.PutUint32(seq[:], d.seq)
	checksum := hmacMD5(d.signKey, seq[:], msg)[:8]
	if s.keyExch {
		d.handle.XORKeyStream(checksum, checksum)
	}
	sig := make([]byte, 0, signatureLen)
	sig = binary.LittleEndian.AppendUint32(sig, 1)
	sig = append(sig, checksum...)
	sig = append(sig, seq[:]...)
	d.seq++
	return sig
}

// sign returns the signature of msg in the outgoing direction (GSS_GetMIC).
func (s *security) sign(msg []byte) []byte {
	return s.mac(&s.out, msg)
}

// verify checks sig over msg in the incoming direction (GSS_VerifyMIC) in
// constant time. The direction's RC4 state and sequence number advance only
// when the signature is valid, so a forged token cannot desynchronise it.
func (s *security) verify(msg, sig []byte) bool {
	d := s.in
	want := s.mac(&d, msg)
	if !hmac.Equal(want, sig) {
		return false
	}
	s.in = d
	return true
}
