package client

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"net"
	"testing"

	"github.com/signetsmb/signet/internal/smbcrypto"
	"github.com/signetsmb/signet/internal/wire"
)

// Microsoft's SMB 3.1.1 encryption example (blog "SMB 3.1.1 encryption in
// Windows 10", 2015): the server's encrypted WRITE response, AES-128-GCM,
// the client's decryption key and the plaintext.
const (
	ms311Key       = "748c50868c90f302962a5c35f5f9a8bf"
	ms311SessionID = 0x100000000025
	ms311Transform = "fd534d42acbe1cb7ed343adf1725ef144d90d4b0e06831dd2e8eb7b4000000000000000050000000" +
		"00000100250000000010000026bbbf949983a6c1c796559d0f2c510cb651d1f7b6ac8ded32a2a0b8" +
		"f2d793a815c6f6b848d69767a215841a42d400ae6ddb5f0b44173a014973321fdd7950da6179159b" +
		"82e03c9e18a050ff0ea1c967"
	ms311Plain = "fe534d4240000100000000000900010001000000000000000500000000000000fffe000001000000" +
		"25000000001000000000000000000000000000000000000011000000170000000000000000000000"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testConn is a conn over one end of a pipe (closed with the test).
func testConn(t *testing.T) *conn {
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	c := newConn(a)
	t.Cleanup(c.close)
	return c
}

// TestOpenTransform: the client decrypts Microsoft's published 3.1.1
// response; a flipped byte anywhere, another session's transform, a
// wrong OriginalMessageSize and a transform without keys are refused.
func TestOpenTransform(t *testing.T) {
	c := testConn(t)
	tr := unhex(t, ms311Transform)
	if _, err := c.open(bytes.Clone(tr)); !errors.Is(err, ErrInvalidResponse) {
		t.Fatalf("transform without keys: %v", err)
	}
	dec, err := smbcrypto.NewAEAD(smbcrypto.AES128GCM, unhex(t, ms311Key))
	if err != nil {
		t.Fatal(err)
	}
	c.enc.Store(&sessionCipher{id: ms311SessionID, cipher: smbcrypto.AES128GCM, dec: dec})
	got, err := c.open(bytes.Clone(tr))
	if err != nil || !bytes.Equal(got, unhex(t, ms311Plain)) {
		t.Fatalf("open: %v\n%x", err, got)
	}
	for _, i := range []int{5, 25, 50, 60, len(tr) - 1} {
		bad := bytes.Clone(tr)
		bad[i] ^= 0x20
		if _, err := c.open(bad); err == nil {
			t.Errorf("flipped byte %d accepted", i)
		}
	}
	other := bytes.Clone(tr)
	other[44] ^= 1
	if _, err := c.open(other); !errors.Is(err, ErrInvalidResponse) {
		t.Errorf("another session's transform: %v", err)
	}
	short := bytes.Clone(tr)
	short[36]--
	if _, err := c.open(short); !errors.Is(err, ErrInvalidResponse) {
		t.Errorf("wrong OriginalMessageSize: %v", err)
	}
}

// TestSealRoundTrip: what seal produces opens with the same key (as the
// server's), nonces differ, and the counter refuses to wrap.
func TestSealRoundTrip(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 16)
	for _, ci := range []smbcrypto.Cipher{smbcrypto.AES128CCM, smbcrypto.AES128GCM} {
		a, _ := smbcrypto.NewAEAD(ci, key)
		sc := &sessionCipher{id: 9, cipher: ci, enc: a}
		msg := wire.AppendSimple(newMessage(wire.CmdEcho, 4))
		f1, err := sc.seal(msg)
		if err != nil {
			t.Fatal(err)
		}
		f2, _ := sc.seal(msg)
		if bytes.Equal(f1[20:36], f2[20:36]) {
			t.Fatalf("%v: nonce repeated", ci)
		}
		got, err := smbcrypto.OpenTransform(a, f1)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("%v: %v", ci, err)
		}
		sc.nonces.Store(math.MaxUint64 - 1)
		if _, err := sc.seal(msg); err == nil {
			t.Fatalf("%v: sealed with the last nonce value", ci)
		}
		if _, err := sc.seal(msg); err == nil {
			t.Fatalf("%v: counter wrapped", ci)
		}
	}
}

// TestEncryptedRequestNeedsEncryptedAnswer: a response to an encrypted
// request that arrives in the clear is refused (and ends the connection);
// an encrypted one is accepted unsigned.
func TestEncryptedRequestNeedsEncryptedAnswer(t *testing.T) {
	s := &Session{conn: testConn(t), id: 5}
	req := &request{msg: wire.AppendSimple(newMessage(wire.CmdEcho, 4)), sessionID: 5, sealed: true}
	h := wire.Header{Command: wire.CmdEcho, Flags: wire.FlagServerToRedir, SessionID: 5}
	resp := &response{hdr: h, msg: wire.AppendSimple(wire.AppendHeader(nil, &h)), encrypted: true}
	if err := s.check(&channel{conn: s.conn}, req, &exchange{}, resp); err != nil {
		t.Fatalf("encrypted answer: %v", err)
	}
	resp.encrypted = false
	if err := s.check(&channel{conn: s.conn}, req, &exchange{}, resp); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("clear answer to an encrypted request: %v", err)
	}
	if s.conn.failure() == nil {
		t.Fatal("connection still usable")
	}
}
