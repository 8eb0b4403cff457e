package smbcrypto

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
)

var allAlgorithms = []Algorithm{HMACSHA256, AESCMAC, AESGMAC}

func newTestSigner(t testing.TB, alg Algorithm, key []byte) Signer {
	t.Helper()
	s, err := NewSigner(alg, key)
	if err != nil {
		t.Fatalf("NewSigner(%v): %v", alg, err)
	}
	if s.Algorithm() != alg {
		t.Fatalf("Algorithm() = %v, want %v", s.Algorithm(), alg)
	}
	return s
}

// TestSignatureVectors signs each vector message (signature zeroed first)
// and checks the published or constructed signature; then verifies the
// signed message and checks that changing any single bit is detected.
func TestSignatureVectors(t *testing.T) {
	for _, tc := range loadVectors(t).Signatures {
		alg, err := ParseAlgorithm(tc.Alg)
		if err != nil {
			t.Fatal(err)
		}
		s := newTestSigner(t, alg, mustHex(t, tc.Key))
		msg := mustHex(t, tc.Msg)
		want := mustHex(t, tc.Sig)

		if tc.Nonce != "" {
			var nonce [gmacNonceSize]byte
			gmacNonce(&nonce, msg)
			if got := hex.EncodeToString(nonce[:]); got != tc.Nonce {
				t.Errorf("%s: nonce = %s, want %s", tc.Name, got, tc.Nonce)
			}
		}

		signed := bytes.Clone(msg)
		clear(signed[offSignature:offSignatureEnd])
		s.Sign(signed)
		if got := signed[offSignature:offSignatureEnd]; !bytes.Equal(got, want) {
			t.Errorf("%s: signature = %x, want %x", tc.Name, got, want)
			continue
		}
		if !s.Verify(signed) {
			t.Errorf("%s: Verify rejected the signed message", tc.Name)
		}
		checkEveryBitFlipFails(t, tc.Name, s, signed)
	}
}

// TestPublishedCMACPacket is the SMB 3.0 example: derive the signing key
// from the session key, then verify the signature the packet carries.
func TestPublishedCMACPacket(t *testing.T) {
	keys := DeriveKeys(0x0300, mustHex(t, "726d4c454e63516446695457664e5042"), nil)
	s := newTestSigner(t, AESCMAC, keys.Signing[:])
	pkt := mustHex(t, "fe534d42400001000000000001007f0009000000000000000300000000000000"+
		"0000000000000000020000007bfba3f4041393e756a048c9092c4e52dc703719"+
		"0900000048000900a1073005a0030a0100")
	orig := bytes.Clone(pkt)
	if !s.Verify(pkt) {
		t.Fatal("Verify rejected the published packet")
	}
	if !bytes.Equal(pkt, orig) {
		t.Fatal("Verify modified the packet")
	}
	checkEveryBitFlipFails(t, "13.5", s, pkt)
}

func checkEveryBitFlipFails(t *testing.T, name string, s Signer, msg []byte) {
	t.Helper()
	m := bytes.Clone(msg)
	for i := range m {
		for bit := range 8 {
			m[i] ^= 1 << bit
			if s.Verify(m) {
				t.Fatalf("%s: Verify accepted the message with byte %d bit %d flipped", name, i, bit)
			}
			m[i] ^= 1 << bit
		}
	}
	if !s.Verify(m) {
		t.Fatalf("%s: Verify rejected the restored message", name)
	}
	for _, cut := range []int{1, 8, len(m) - headerSize + 1} {
		if cut <= len(m) && s.Verify(m[:len(m)-cut]) {
			t.Fatalf("%s: Verify accepted the message truncated by %d", name, cut)
		}
	}
	if s.Verify(append(bytes.Clone(m), 0)) {
		t.Fatalf("%s: Verify accepted the message with a byte appended", name)
	}
}

func TestSignSetsFlagAndOnlySignatureChanges(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, alg := range allAlgorithms {
		s := newTestSigner(t, alg, randBytes(r, 16))
		msg := randBytes(r, 300)
		binary.LittleEndian.PutUint32(msg[offFlags:], 0x00000001) // SERVER_TO_REDIR only
		before := bytes.Clone(msg)
		s.Sign(msg)
		if f := binary.LittleEndian.Uint32(msg[offFlags:]); f != 0x09 {
			t.Errorf("%v: Flags after Sign = %#x, want 0x9", alg, f)
		}
		binary.LittleEndian.PutUint32(before[offFlags:], 0x09)
		if !bytes.Equal(msg[:offSignature], before[:offSignature]) || !bytes.Equal(msg[offSignatureEnd:], before[offSignatureEnd:]) {
			t.Errorf("%v: Sign changed bytes outside Flags and Signature", alg)
		}
		// The signature does not depend on what the field held before.
		again := bytes.Clone(before)
		copy(again[offSignature:], "garbage garbage!")
		s.Sign(again)
		if !bytes.Equal(again, msg) {
			t.Errorf("%v: Sign depends on the old Signature field", alg)
		}
	}
}

func TestVerifyShortMessages(t *testing.T) {
	for _, alg := range allAlgorithms {
		s := newTestSigner(t, alg, make([]byte, 16))
		for n := range headerSize {
			if s.Verify(make([]byte, n)) {
				t.Errorf("%v: Verify accepted a %d-byte message", alg, n)
			}
		}
		if s.Verify(nil) {
			t.Errorf("%v: Verify(nil) = true", alg)
		}
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%v: Sign of a 63-byte message did not panic", alg)
				}
			}()
			s.Sign(make([]byte, headerSize-1))
		}()
		// The shortest legal message: a bare header.
		msg := make([]byte, headerSize)
		s.Sign(msg)
		if !s.Verify(msg) {
			t.Errorf("%v: Verify rejected a signed bare header", alg)
		}
	}
}

func TestNewSignerKeys(t *testing.T) {
	for _, alg := range []Algorithm{AESCMAC, AESGMAC} {
		for _, n := range []int{0, 8, 15, 17, 24, 32} {
			if _, err := NewSigner(alg, make([]byte, n)); err == nil {
				t.Errorf("%v accepted a %d-byte key", alg, n)
			}
		}
	}
	if _, err := NewSigner(3, make([]byte, 16)); !errors.Is(err, ErrUnknownAlgorithm) {
		t.Errorf("NewSigner(3) error = %v", err)
	}
	// HMAC keys are cut or padded to 16 bytes.
	msg := make([]byte, 100)
	sig := func(key []byte) []byte {
		m := bytes.Clone(msg)
		newTestSigner(t, HMACSHA256, key).Sign(m)
		return m[offSignature:offSignatureEnd]
	}
	long := bytes.Repeat([]byte{0x5A}, 40)
	if !bytes.Equal(sig(long), sig(long[:16])) {
		t.Error("HMAC key longer than 16 bytes not truncated")
	}
	if !bytes.Equal(sig([]byte{1, 2}), sig([]byte{1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})) {
		t.Error("HMAC key shorter than 16 bytes not zero-padded")
	}
	// The signer keeps its own copy of the key.
	key := bytes.Repeat([]byte{9}, 16)
	for _, alg := range allAlgorithms {
		s := newTestSigner(t, alg, key)
		m := bytes.Clone(msg)
		s.Sign(m)
		key[0] ^= 1
		if !s.Verify(m) {
			t.Errorf("%v: signer aliases the caller's key", alg)
		}
		key[0] ^= 1
	}
}

func TestHMACRFC4231(t *testing.T) {
	for _, tc := range loadVectors(t).HMAC {
		s := newHMACSigner(mustHex(t, tc.Key)) // "Jefe" padded to 16 is the same HMAC key
		st := hmacPool.Get().(*hmacState)
		s.sum(st, [3][]byte{mustHex(t, tc.Msg)})
		if got := hex.EncodeToString(st.sum[:]); got != tc.MAC {
			t.Errorf("%s: HMAC = %s, want %s", tc.Name, got, tc.MAC)
		}
	}
}

// TestSignersAgreeWithOneShot compares every signer on random messages with
// a one-shot computation over a zeroed copy, using the standard library
// (crypto/hmac, crypto/cipher GCM) or the CMAC oracle.
func TestSignersAgreeWithOneShot(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for iter := range 300 {
		key := randBytes(r, 16)
		msg := randBytes(r, headerSize+r.IntN(3000))
		if iter%3 == 0 {
			binary.LittleEndian.PutUint16(msg[offCommand:], cmdCancel)
		}
		for _, alg := range allAlgorithms {
			s := newTestSigner(t, alg, key)
			signed := bytes.Clone(msg)
			s.Sign(signed)
			want := oneShotSignature(t, alg, key, signed)
			if got := signed[offSignature:offSignatureEnd]; !bytes.Equal(got, want) {
				t.Fatalf("%v, len %d: signature %x, one-shot %x", alg, len(msg), got, want)
			}
		}
	}
}

func TestVerifyDoesNotMutate(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, alg := range allAlgorithms {
		s := newTestSigner(t, alg, randBytes(r, 16))
		msg := randBytes(r, 1000)
		s.Sign(msg)
		orig := bytes.Clone(msg)
		if !s.Verify(msg) || !bytes.Equal(msg, orig) {
			t.Errorf("%v: Verify failed or modified a valid message", alg)
		}
		msg[100] ^= 1
		orig = bytes.Clone(msg)
		if s.Verify(msg) || !bytes.Equal(msg, orig) {
			t.Errorf("%v: Verify accepted or modified an invalid message", alg)
		}
	}
}

// TestConcurrentUse shares one signer and one received buffer among many
// goroutines; under -race any write to the shared buffer or shared signer
// state is reported.
func TestConcurrentUse(t *testing.T) {
	for _, alg := range allAlgorithms {
		s := newTestSigner(t, alg, bytes.Repeat([]byte{3}, 16))
		shared := make([]byte, 4096+7)
		s.Sign(shared)
		var wg sync.WaitGroup
		errs := make(chan string, 64)
		for g := range 8 {
			wg.Go(func() {
				own := make([]byte, 200+g*97)
				for range 200 {
					if !s.Verify(shared) {
						errs <- "shared message rejected"
						return
					}
					binary.LittleEndian.PutUint64(own[offMessageID:], uint64(g))
					s.Sign(own)
					if !s.Verify(own) {
						errs <- "own message rejected"
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Errorf("%v: %s", alg, e)
		}
	}
}

func TestSignerZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops objects under -race")
	}
	for _, alg := range allAlgorithms {
		s := newTestSigner(t, alg, make([]byte, 16))
		msg := make([]byte, 70000)
		if a := testing.AllocsPerRun(50, func() { s.Sign(msg) }); a != 0 {
			t.Errorf("%v: Sign allocates %v times", alg, a)
		}
		if a := testing.AllocsPerRun(50, func() { s.Verify(msg) }); a != 0 {
			t.Errorf("%v: Verify allocates %v times", alg, a)
		}
	}
}

// TestIdleSignerSize measures the heap an idle signer retains; 10,000 idle
// sessions must stay cheap.
func TestIdleSignerSize(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation sizes differ under -race")
	}
	const n = 2000
	key := make([]byte, 16)
	for _, alg := range allAlgorithms {
		keep := make([]Signer, n)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for i := range keep {
			keep[i], _ = NewSigner(alg, key)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		per := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / n
		t.Logf("%v: %d bytes per idle signer", alg, per)
		if per > 1536 {
			t.Errorf("%v: idle signer retains %d bytes, want <= 1536", alg, per)
		}
		runtime.KeepAlive(keep)
	}
}

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}
