package smbcrypto

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
)

// encVectors mirrors testdata/encryption.json (all binary values hex).
type encVectors struct {
	CCM []struct {
		Name, Key, Nonce, AAD, Plaintext, Sealed string
		TagSize                                  int
	}
	Derive []struct {
		Name                               string
		Dialect                            uint16
		Cipher                             Cipher
		SessionKey, PreauthHash            string
		ServerEncryption, ServerDecryption string
	}
	Transforms []struct {
		Name                                      string
		Cipher                                    Cipher
		Key, SessionID, Nonce, Message, Transform string
	}
	CCMLarge struct {
		Name, Key, Nonce, AAD, SealedSHA256, Tag string
		Length                                   int
	}
}

func loadEncVectors(t testing.TB) *encVectors {
	t.Helper()
	b, err := os.ReadFile("testdata/encryption.json")
	if err != nil {
		t.Fatal(err)
	}
	v := new(encVectors)
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
	return v
}

// unhexOrZeros decodes hex, or "zeros:N" as N zero bytes.
func unhexOrZeros(t testing.TB, s string) []byte {
	t.Helper()
	if n, ok := strings.CutPrefix(s, "zeros:"); ok {
		k, err := strconv.Atoi(n)
		if err != nil {
			t.Fatal(err)
		}
		return make([]byte, k)
	}
	return unhexT(t, s)
}

func unhexT(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func TestCCMVectors(t *testing.T) {
	v := loadEncVectors(t)
	if len(v.CCM) < 3 {
		t.Fatal("missing CCM vectors")
	}
	for _, tc := range v.CCM {
		t.Run(tc.Name, func(t *testing.T) {
			key, nonce, aad := unhexT(t, tc.Key), unhexT(t, tc.Nonce), unhexOrZeros(t, tc.AAD)
			pt, want := unhexT(t, tc.Plaintext), unhexT(t, tc.Sealed)
			for _, a := range ccmsUnderTest(t, key, len(nonce), tc.TagSize) {
				checkCCMVector(t, a, nonce, aad, pt, want, tc.TagSize)
			}
		})
	}
}

// ccmsUnderTest returns the portable CCM and, where the CPU has AES-NI,
// the assembly one (newAESCCM), so that every vector runs both.
func ccmsUnderTest(t *testing.T, key []byte, nonceSize, tagSize int) []cipher.AEAD {
	t.Helper()
	b, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	portable, err := NewCCM(b, nonceSize, tagSize)
	if err != nil {
		t.Fatal(err)
	}
	wide, err := newAESCCM(key, nonceSize, tagSize)
	if err != nil {
		t.Fatal(err)
	}
	if wide.rk == nil {
		return []cipher.AEAD{portable}
	}
	return []cipher.AEAD{portable, wide}
}

func checkCCMVector(t *testing.T, a cipher.AEAD, nonce, aad, pt, want []byte, tagSize int) {
	t.Helper()
	if got := a.Seal(nil, nonce, pt, aad); !bytes.Equal(got, want) {
		t.Fatalf("%T: seal:\n got %x\nwant %x", a, got, want)
	}
	// In place, as the server uses it.
	buf := append(make([]byte, 0, len(pt)+tagSize), pt...)
	if got := a.Seal(buf[:0], nonce, buf, aad); !bytes.Equal(got, want) {
		t.Fatalf("%T: in-place seal differs", a)
	}
	open, err := a.Open(nil, nonce, want, aad)
	if err != nil || !bytes.Equal(open, pt) {
		t.Fatalf("%T: open: %v %x", a, err, open)
	}
	for _, i := range []int{0, len(want) / 2, len(want) - 1} {
		bad := bytes.Clone(want)
		bad[i] ^= 0x80
		if _, err := a.Open(nil, nonce, bad, aad); err == nil {
			t.Fatalf("%T: flipped byte %d accepted", a, i)
		}
	}
	if len(aad) > 0 {
		bad := bytes.Clone(aad)
		bad[0] ^= 1
		if _, err := a.Open(nil, nonce, want, bad); err == nil {
			t.Fatalf("%T: changed AAD accepted", a)
		}
	}
}

// TestCCMLarge checks the chunked CBC-MAC path on a megabyte against
// OpenSSL's AES-CCM.
func TestCCMLarge(t *testing.T) {
	v := loadEncVectors(t).CCMLarge
	if v.Length == 0 {
		t.Fatal("missing large CCM vector")
	}
	pt := make([]byte, v.Length)
	for i := range pt {
		pt[i] = byte(i*7 + 3)
	}
	for _, a := range ccmsUnderTest(t, unhexT(t, v.Key), 11, 16) {
		sealed := a.Seal(nil, unhexT(t, v.Nonce), pt, unhexT(t, v.AAD))
		if sum := sha256.Sum256(sealed); hex.EncodeToString(sum[:]) != v.SealedSHA256 || hex.EncodeToString(sealed[len(pt):]) != v.Tag {
			t.Fatalf("%T: sealed SHA-256 %x, tag %x", a, sum, sealed[len(pt):])
		}
		got, err := a.Open(sealed[:0], unhexT(t, v.Nonce), sealed, unhexT(t, v.AAD))
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("%T: open in place: %v", a, err)
		}
	}
}

func TestCCMParameters(t *testing.T) {
	b, _ := aes.NewCipher(make([]byte, 16))
	for _, c := range []struct{ n, tag int }{{6, 16}, {14, 16}, {11, 3}, {11, 18}, {11, 5}} {
		if _, err := NewCCM(b, c.n, c.tag); err == nil {
			t.Errorf("NewCCM(nonce %d, tag %d) accepted", c.n, c.tag)
		}
	}
	a, _ := NewCCM(b, 11, 16)
	if _, err := a.Open(nil, make([]byte, 11), make([]byte, 15), nil); err == nil {
		t.Error("short ciphertext accepted")
	}
	// Round trips across block boundaries, empty message included.
	for _, n := range []int{0, 1, 15, 16, 17, 31, 32, 33, 4096} {
		pt := bytes.Repeat([]byte{byte(n)}, n)
		ct := a.Seal(nil, make([]byte, 11), pt, []byte("aad"))
		got, err := a.Open(nil, make([]byte, 11), ct, []byte("aad"))
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("round trip %d: %v", n, err)
		}
	}
}

func TestDeriveCipherKeys(t *testing.T) {
	v := loadEncVectors(t)
	if len(v.Derive) == 0 {
		t.Fatal("no derivation vectors")
	}
	for _, tc := range v.Derive {
		t.Run(tc.Name, func(t *testing.T) {
			var ph []byte
			if tc.PreauthHash != "" {
				ph = unhexT(t, tc.PreauthHash)
			}
			k, err := DeriveCipherKeys(tc.Dialect, tc.Cipher, unhexT(t, tc.SessionKey), ph)
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(k.Encryption) != tc.ServerEncryption || hex.EncodeToString(k.Decryption) != tc.ServerDecryption {
				t.Fatalf("got enc %x dec %x", k.Encryption, k.Decryption)
			}
			// DeriveKeys (signing) agrees on the 128-bit keys.
			all := DeriveKeys(tc.Dialect, unhexT(t, tc.SessionKey), ph)
			if !bytes.Equal(all.ServerEncryption[:], k.Encryption) || !bytes.Equal(all.ServerDecryption[:], k.Decryption) {
				t.Fatal("DeriveKeys and DeriveCipherKeys disagree")
			}
		})
	}
	// 256-bit keys: 32 bytes, the 3.1.1 labels with L = 256.
	ph := bytes.Repeat([]byte{7}, 64)
	sk := bytes.Repeat([]byte{9}, 32)
	k, err := DeriveCipherKeys(dialect311, AES256GCM, sk, ph)
	if err != nil {
		t.Fatal(err)
	}
	want := KDF(sk, []byte("SMBS2CCipherKey\x00"), ph, 256)
	if len(k.Encryption) != 32 || !bytes.Equal(k.Encryption, want) {
		t.Fatalf("AES-256 encryption key %x, want %x", k.Encryption, want)
	}
	if _, err := DeriveCipherKeys(dialect300, AES256GCM, sk, nil); err == nil {
		t.Fatal("AES-256 accepted for 3.0")
	}
	if _, err := DeriveCipherKeys(dialect210, AES128CCM, sk, nil); err == nil {
		t.Fatal("encryption accepted for 2.1")
	}
	if _, err := DeriveCipherKeys(dialect311, AES128GCM, sk, ph[:10]); err == nil {
		t.Fatal("short preauth hash accepted")
	}
}

func TestTransformVectors(t *testing.T) {
	v := loadEncVectors(t)
	if len(v.Transforms) < 4 {
		t.Fatal("missing transform vectors")
	}
	for _, tc := range v.Transforms {
		t.Run(tc.Name, func(t *testing.T) {
			a, err := NewAEAD(tc.Cipher, unhexT(t, tc.Key))
			if err != nil {
				t.Fatal(err)
			}
			msg, tr := unhexT(t, tc.Message), unhexT(t, tc.Transform)
			info, err := ParseTransform(tr)
			if err != nil {
				t.Fatal(err)
			}
			sid, _ := strconv.ParseUint(tc.SessionID, 16, 64)
			if info.SessionID != sid || info.Flags != TransformEncrypted || int(info.OriginalSize) != len(msg) {
				t.Fatalf("header %+v", info)
			}
			buf := append(make([]byte, 0, len(tr)+16), tr...)
			got, err := OpenTransform(a, buf)
			if err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("open: %v\n got %x\nwant %x", err, got, msg)
			}
			// Without spare capacity (the copy path).
			if got, err := OpenTransform(a, bytes.Clone(tr)); err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("open without capacity: %v", err)
			}
			for _, i := range []int{4, 20, 36, 44, 52, len(tr) - 1} {
				bad := bytes.Clone(tr)
				bad[i] ^= 1
				if _, err := OpenTransform(a, bad); err == nil {
					t.Fatalf("flipped byte %d accepted", i)
				}
			}
			if tc.Nonce == "" {
				return
			}
			for _, spare := range []int{16, 0} {
				out := make([]byte, TransformHeaderSize+len(msg), TransformHeaderSize+len(msg)+spare)
				copy(out[TransformHeaderSize:], msg)
				SealTransform(a, out, unhexT(t, tc.Nonce), sid)
				if !bytes.Equal(out, tr) {
					t.Fatalf("seal (spare %d):\n got %x\nwant %x", spare, out, tr)
				}
			}
		})
	}
}

func TestCipherNames(t *testing.T) {
	for _, c := range DefaultCiphers {
		p, err := ParseCipher(c.String())
		if err != nil || p != c {
			t.Fatalf("%v: %v %v", c, p, err)
		}
	}
	if c, err := ParseCipher("aes128-gcm"); err != nil || c != AES128GCM {
		t.Fatal("short name")
	}
	if _, err := ParseCipher("rc4"); err == nil {
		t.Fatal("rc4 accepted")
	}
	if _, err := NewAEAD(AES256GCM, make([]byte, 16)); err == nil {
		t.Fatal("short key accepted")
	}
	if _, err := NewAEAD(Cipher(9), make([]byte, 16)); err == nil {
		t.Fatal("unknown cipher accepted")
	}
	if _, err := ParseTransform([]byte{0xFE, 'S', 'M', 'B'}); err == nil {
		t.Fatal("short transform accepted")
	}
	_ = binary.LittleEndian
}
