package smbcrypto

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

func TestKDFVectors(t *testing.T) {
	for _, tc := range loadVectors(t).KDF {
		got := KDF(mustHex(t, tc.Ki), mustHex(t, tc.Label), mustHex(t, tc.Context), tc.Bits)
		if want := mustHex(t, tc.Out); !bytes.Equal(got, want) {
			t.Errorf("%s: KDF = %x, want %x", tc.Name, got, want)
		}
	}
}

// TestKDFCounterMode checks the SP 800-108 layout against an independent
// construction, including lengths that need a second PRF block.
func TestKDFCounterMode(t *testing.T) {
	ki, label, ctx := []byte("key"), []byte("label\x00"), []byte("context")
	prf := func(i byte, bits int) []byte {
		m := hmac.New(sha256.New, ki)
		m.Write([]byte{0, 0, 0, i})
		m.Write(label)
		m.Write([]byte{0})
		m.Write(ctx)
		m.Write([]byte{byte(bits >> 24), byte(bits >> 16), byte(bits >> 8), byte(bits)})
		return m.Sum(nil)
	}
	for _, bits := range []int{8, 128, 256, 264, 512, 1024} {
		var want []byte
		for i := byte(1); len(want) < bits/8; i++ {
			want = append(want, prf(i, bits)...)
		}
		want = want[:bits/8]
		got := KDF(ki, label, ctx, bits)
		if !bytes.Equal(got, want) {
			t.Errorf("bits %d: KDF = %x, want %x", bits, got, want)
		}
		if cap(got) != len(got) {
			t.Errorf("bits %d: result has spare capacity %d", bits, cap(got))
		}
	}
	// L is part of the input, so a 256-bit key does not start with the
	// 128-bit key.
	if bytes.Equal(KDF(ki, label, ctx, 256)[:16], KDF(ki, label, ctx, 128)) {
		t.Error("KDF ignores L")
	}
}

func TestKDFBadLength(t *testing.T) {
	for _, bits := range []int{0, -8, 7, 129} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("KDF(bits=%d) did not panic", bits)
				}
			}()
			KDF(nil, nil, nil, bits)
		}()
	}
}

func TestDeriveKeysVectors(t *testing.T) {
	for _, tc := range loadVectors(t).Derive {
		var ph []byte
		if tc.PreauthHash != "" {
			ph = mustHex(t, tc.PreauthHash)
		}
		k := DeriveKeys(tc.Dialect, mustHex(t, tc.SessionKey), ph)
		for _, f := range []struct {
			name, want string
			got        [KeySize]byte
		}{
			{"Signing", tc.Signing, k.Signing},
			{"Application", tc.Application, k.Application},
			{"ServerEncryption (S2C)", tc.ServerEncryption, k.ServerEncryption},
			{"ServerDecryption (C2S)", tc.ServerDecryption, k.ServerDecryption},
		} {
			if f.want == "" {
				continue // no reference value for this key
			}
			if got := hex.EncodeToString(f.got[:]); got != f.want {
				t.Errorf("%s: %s = %s, want %s", tc.Name, f.name, got, f.want)
			}
		}
	}
}

func TestDeriveKeysSMB2(t *testing.T) {
	short := []byte{1, 2, 3}
	long := bytes.Repeat([]byte{0xAB}, 32)
	for _, d := range []uint16{0x0202, 0x0210} {
		k := DeriveKeys(d, short, nil)
		want := [KeySize]byte{1, 2, 3}
		if k != (Keys{Signing: want}) {
			t.Errorf("dialect %#04x, short key: %x", d, k)
		}
		k = DeriveKeys(d, long, nil)
		if !bytes.Equal(k.Signing[:], long[:16]) || k.Application != [KeySize]byte{} {
			t.Errorf("dialect %#04x, long key: %x", d, k)
		}
	}
	for _, d := range []uint16{0, 0x02FF, 0x0301, 0x0312, 0xFFFF} {
		if k := DeriveKeys(d, long, nil); k != (Keys{}) {
			t.Errorf("unknown dialect %#04x gave non-zero keys", d)
		}
	}
}

// TestDeriveKeysTruncatesSessionKey checks that a 32-byte (Kerberos AES-256)
// session key is cut to 16 bytes before derivation [MS-SMB2 3.3.1.8].
func TestDeriveKeysTruncatesSessionKey(t *testing.T) {
	key := bytes.Repeat([]byte{0x42}, 32)
	ph := bytes.Repeat([]byte{0x07}, PreauthHashSize)
	for _, d := range []uint16{0x0300, 0x0302, 0x0311} {
		if DeriveKeys(d, key, ph) != DeriveKeys(d, key[:16], ph) {
			t.Errorf("dialect %#04x: session key not cut to 16 bytes", d)
		}
	}
	other := bytes.Clone(ph)
	other[63] ^= 1
	if DeriveKeys(0x0311, key, ph) == DeriveKeys(0x0311, key, other) {
		t.Error("3.1.1 derivation ignores the preauth hash")
	}
	for _, bad := range [][]byte{nil, ph[:63], append(bytes.Clone(ph), 0)} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("3.1.1 derivation with a %d-byte preauth hash did not panic", len(bad))
				}
			}()
			DeriveKeys(0x0311, key, bad)
		}()
	}
	if DeriveKeys(0x0300, key, ph) != DeriveKeys(0x0300, key, nil) {
		t.Error("3.0 derivation depends on the preauth hash")
	}
}
