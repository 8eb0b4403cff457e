package smbcrypto

import (
	"bytes"
	"encoding/hex"
	"testing"
)

func addFuzzSeeds(f *testing.F) {
	f.Add([]byte{}, uint8(0), uint16(0))
	f.Add(make([]byte, 63), uint8(1), uint16(5))
	f.Add(make([]byte, 64), uint8(2), uint16(63))
	for _, m := range []string{
		"fe534d42400001000000000001007f0009000000000000000300000000000000" +
			"0000000000000000020000007bfba3f4041393e756a048c9092c4e52dc703719" +
			"0900000048000900a1073005a0030a0100",
		"fe534d4240000000000000000c0000000a000000000000000500000000000000" +
			"0800000000000000250000000010000000000000000000000000000000000000" +
			"04000000",
	} {
		b, _ := hex.DecodeString(m)
		for alg := range uint8(3) {
			f.Add(b, alg, uint16(70))
		}
	}
}

// FuzzSigner checks that Verify never panics on arbitrary input, that it
// never modifies its input, that Sign followed by Verify always succeeds,
// that flipping one bit makes Verify fail, and, for GMAC, that the
// corrected tag equals the tag over a zeroed copy.
func FuzzSigner(f *testing.F) {
	addFuzzSeeds(f)
	key := []byte("0123456789abcdef")
	signers := make([]Signer, len(allAlgorithms))
	for i, alg := range allAlgorithms {
		signers[i] = newTestSigner(f, alg, key)
	}
	f.Fuzz(func(t *testing.T, data []byte, alg uint8, flip uint16) {
		s := signers[int(alg)%len(signers)]
		orig := bytes.Clone(data)
		s.Verify(data)
		if !bytes.Equal(data, orig) {
			t.Fatal("Verify modified its input")
		}
		if len(data) < headerSize {
			return
		}
		msg := bytes.Clone(data)
		s.Sign(msg)
		if !s.Verify(msg) {
			t.Fatalf("%v: Verify rejected a freshly signed %d-byte message", s.Algorithm(), len(msg))
		}
		if want := oneShotSignature(t, s.Algorithm(), key, msg); !bytes.Equal(msg[offSignature:offSignatureEnd], want) {
			t.Fatalf("%v: signature differs from the one-shot computation", s.Algorithm())
		}
		bit := int(flip) % (8 * len(msg))
		msg[bit/8] ^= 1 << (bit % 8)
		if s.Verify(msg) {
			t.Fatalf("%v: Verify accepted a message with bit %d flipped", s.Algorithm(), bit)
		}
		if g, ok := s.(*gmacSigner); ok {
			var sc gmacScratch
			g.zeroedTag(&sc, data)
			if want := oneShotSignature(t, AESGMAC, key, data); !bytes.Equal(sc.tag[:], want) {
				t.Fatalf("GMAC correction wrong for %d bytes", len(data))
			}
		}
	})
}

// FuzzCMACStreaming checks that splitting the input at arbitrary points
// does not change the CMAC.
func FuzzCMACStreaming(f *testing.F) {
	f.Add([]byte("hello, world; a message of more than one block"), uint8(3), uint8(17))
	f.Add([]byte{}, uint8(0), uint8(0))
	k, err := newCMACKey([]byte("0123456789abcdef"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte, a, b uint8) {
		c := &CMAC{key: k}
		i := min(int(a), len(data))
		j := min(i+int(b), len(data))
		c.Write(data[:i])
		c.Write(data[i:j])
		c.Write(data[j:])
		want := cmacOneShot(k, data)
		if got := c.Sum(nil); !bytes.Equal(got, want[:]) {
			t.Fatalf("split at %d,%d: %x, want %x", i, j, got, want)
		}
	})
}
