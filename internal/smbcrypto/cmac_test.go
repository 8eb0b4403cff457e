package smbcrypto

import (
	"bytes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/hex"
	"math/rand/v2"
	"testing"
)

// cmacOneShot is RFC 4493 section 2.4 written as literally as possible: the
// independent oracle for the streaming [CMAC].
func cmacOneShot(k *cmacKey, m []byte) [cmacSize]byte {
	n := (len(m) + cmacSize - 1) / cmacSize
	complete := n > 0 && len(m)%cmacSize == 0
	if n == 0 {
		n = 1
	}
	var last [cmacSize]byte
	if complete {
		subtle.XORBytes(last[:], m[(n-1)*cmacSize:], k.k1[:])
	} else {
		rest := m[(n-1)*cmacSize:]
		copy(last[:], rest)
		last[len(rest)] = 0x80
		subtle.XORBytes(last[:], last[:], k.k2[:])
	}
	var x, y [cmacSize]byte
	for i := range n - 1 {
		subtle.XORBytes(y[:], x[:], m[i*cmacSize:(i+1)*cmacSize])
		k.block.Encrypt(x[:], y[:])
	}
	subtle.XORBytes(y[:], last[:], x[:])
	k.block.Encrypt(x[:], y[:])
	return x
}

// cmacCBC is the alternative strategy the brief suggested: whole runs of
// blocks go through cipher.NewCBCEncrypter into a reused 4 KiB scratch
// buffer and only the last ciphertext block is kept. It is kept here as the
// baseline of BenchmarkCMACStrategy; it is no faster than [CMAC].
type cmacCBC struct {
	key     *cmacKey
	cbc     cipher.BlockMode
	x, buf  [cmacSize]byte
	n       int
	scratch [4096]byte
}

func newCMACCBC(k *cmacKey) *cmacCBC {
	c := &cmacCBC{key: k}
	c.cbc = cipher.NewCBCEncrypter(k.block, c.x[:])
	return c
}

func (c *cmacCBC) Reset() {
	c.x, c.buf, c.n = [cmacSize]byte{}, [cmacSize]byte{}, 0
	c.cbc.(interface{ SetIV([]byte) }).SetIV(c.x[:])
}

func (c *cmacCBC) chain(p []byte) {
	for len(p) > 0 {
		k := min(len(p), len(c.scratch))
		c.cbc.CryptBlocks(c.scratch[:k], p[:k])
		copy(c.x[:], c.scratch[k-cmacSize:k])
		p = p[k:]
	}
}

func (c *cmacCBC) Write(p []byte) {
	if c.n < cmacSize {
		k := copy(c.buf[c.n:], p)
		c.n += k
		p = p[k:]
	}
	if len(p) == 0 {
		return
	}
	c.chain(c.buf[:])
	bulk := (len(p) - 1) &^ (cmacSize - 1)
	c.chain(p[:bulk])
	c.n = copy(c.buf[:], p[bulk:])
}

func (c *cmacCBC) Sum(out *[cmacSize]byte) {
	m := CMAC{key: c.key, x: c.x, buf: c.buf, n: c.n}
	m.final(out)
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func TestCMACRFC4493(t *testing.T) {
	v := loadVectors(t)
	if len(v.CMAC) != 4 {
		t.Fatalf("expected 4 RFC 4493 vectors, got %d", len(v.CMAC))
	}
	for _, tc := range v.CMAC {
		key, msg, want := mustHex(t, tc.Key), mustHex(t, tc.Msg), mustHex(t, tc.Tag)
		c, err := NewCMAC(key)
		if err != nil {
			t.Fatal(err)
		}
		c.Write(msg)
		if got := c.Sum(nil); !bytes.Equal(got, want) {
			t.Errorf("%s: CMAC = %x, want %x", tc.Name, got, want)
		}
		c.Reset()
		for i := range msg {
			c.Write(msg[i : i+1])
		}
		if got := c.Sum([]byte("prefix")); !bytes.Equal(got[6:], want) || string(got[:6]) != "prefix" {
			t.Errorf("%s: byte-wise CMAC = %x, want prefix+%x", tc.Name, got, want)
		}
		if got := cmacOneShot(c.key, msg); !bytes.Equal(got[:], want) {
			t.Errorf("%s: oracle = %x, want %x", tc.Name, got, want)
		}
	}
}

func TestCMACSubkeys(t *testing.T) {
	// RFC 4493 section 4, subkey generation.
	k, err := newCMACKey(mustHex(t, "2b7e151628aed2a6abf7158809cf4f3c"))
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(k.k1[:]); got != "fbeed618357133667c85e08f7236a8de" {
		t.Errorf("K1 = %s", got)
	}
	if got := hex.EncodeToString(k.k2[:]); got != "f7ddac306ae266ccf90bc11ee46d513b" {
		t.Errorf("K2 = %s", got)
	}
}

func TestCMACInterface(t *testing.T) {
	c, err := NewCMAC(make([]byte, 16))
	if err != nil {
		t.Fatal(err)
	}
	if c.Size() != 16 || c.BlockSize() != 16 {
		t.Errorf("Size, BlockSize = %d, %d; want 16, 16", c.Size(), c.BlockSize())
	}
	if n, err := c.Write(make([]byte, 37)); n != 37 || err != nil {
		t.Errorf("Write = %d, %v", n, err)
	}
	for _, n := range []int{0, 15, 17, 24, 32} {
		if _, err := NewCMAC(make([]byte, n)); err == nil {
			t.Errorf("NewCMAC accepted a %d-byte key", n)
		}
	}
}

// TestCMACStreamingProperty checks, for random messages cut into random
// pieces, that the streaming CMAC equals the one-shot oracle and the CBC
// variant, that Sum does not disturb the state, and that input is never
// modified.
func TestCMACStreamingProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	key := make([]byte, 16)
	for i := range key {
		key[i] = byte(r.Uint32())
	}
	c, err := NewCMAC(key)
	if err != nil {
		t.Fatal(err)
	}
	alt := newCMACCBC(c.key)
	for iter := range 400 {
		n := r.IntN(12000)
		if iter < 70 {
			n = iter // every small length, including 0 and block edges
		}
		msg := make([]byte, n)
		for i := range msg {
			msg[i] = byte(r.Uint32())
		}
		orig := bytes.Clone(msg)
		c.Reset()
		alt.Reset()
		for p := msg; len(p) > 0; {
			k := min(len(p), r.IntN(5000)+1)
			c.Write(p[:k])
			alt.Write(p[:k])
			_ = c.Sum(nil) // must not change the state
			p = p[k:]
		}
		want := cmacOneShot(c.key, msg)
		if got := c.Sum(nil); !bytes.Equal(got, want[:]) {
			t.Fatalf("len %d: CMAC = %x, want %x", n, got, want)
		}
		var got [cmacSize]byte
		if alt.Sum(&got); got != want {
			t.Fatalf("len %d: CBC variant = %x, want %x", n, got, want)
		}
		if !bytes.Equal(msg, orig) {
			t.Fatalf("len %d: Write modified its input", n)
		}
	}
}

func TestCMACZeroAllocs(t *testing.T) {
	c, err := NewCMAC(make([]byte, 16))
	if err != nil {
		t.Fatal(err)
	}
	msg := make([]byte, 10000)
	out := make([]byte, 0, 16)
	allocs := testing.AllocsPerRun(100, func() {
		c.Reset()
		c.Write(msg[:48])
		c.Write(msg[48:])
		out = c.Sum(out[:0])
	})
	if allocs != 0 {
		t.Errorf("Reset+Write+Sum allocates %v times per message", allocs)
	}
}

// BenchmarkCMACStrategy compares the per-block [CMAC] with the CBC-encrypter
// variant on the same streaming pattern a signer uses (48 + 16 + rest).
func BenchmarkCMACStrategy(b *testing.B) {
	key := make([]byte, 16)
	for _, size := range benchSizes {
		msg := make([]byte, size.n)
		b.Run("perblock/"+size.name, func(b *testing.B) {
			c, _ := NewCMAC(key)
			out := make([]byte, 0, 16)
			b.SetBytes(int64(size.n))
			b.ReportAllocs()
			for b.Loop() {
				c.Reset()
				c.Write(msg[:48])
				c.Write(msg[48:64])
				c.Write(msg[64:])
				out = c.Sum(out[:0])
			}
		})
		b.Run("cbc/"+size.name, func(b *testing.B) {
			k, _ := newCMACKey(key)
			c := newCMACCBC(k)
			var out [cmacSize]byte
			b.SetBytes(int64(size.n))
			b.ReportAllocs()
			for b.Loop() {
				c.Reset()
				c.Write(msg[:48])
				c.Write(msg[48:64])
				c.Write(msg[64:])
				c.Sum(&out)
			}
		})
	}
}

// TestCMACAssemblyUsed: on a CPU with AES-NI the CMAC keeps the expanded
// key for the assembly loop, so the tests above check that loop against
// the one-shot oracle, which calls the standard library's AES per block.
func TestCMACAssemblyUsed(t *testing.T) {
	c, err := NewCMAC(make([]byte, 16))
	if err != nil {
		t.Fatal(err)
	}
	if (c.key.rk != nil) != cmacAESNI {
		t.Fatalf("assembly key %v, CPU support %v", c.key.rk != nil, cmacAESNI)
	}
	t.Logf("CMAC assembly loop in use: %v", cmacAESNI)
}
