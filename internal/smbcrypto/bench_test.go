package smbcrypto

import (
	"math/rand/v2"
	"testing"
)

var benchSizes = []struct {
	name string
	n    int
}{
	{"1KiB", 1 << 10},
	{"64KiB", 64 << 10},
	{"1MiB", 1 << 20},
}

var benchAlgorithms = []struct {
	name string
	alg  Algorithm
}{
	{"HMAC", HMACSHA256},
	{"CMAC", AESCMAC},
	{"GMAC", AESGMAC},
}

func BenchmarkSign(b *testing.B) {
	for _, a := range benchAlgorithms {
		for _, size := range benchSizes {
			b.Run(a.name+"/"+size.name, func(b *testing.B) {
				s := newTestSigner(b, a.alg, make([]byte, 16))
				msg := make([]byte, size.n)
				b.SetBytes(int64(size.n))
				b.ReportAllocs()
				for b.Loop() {
					s.Sign(msg)
				}
			})
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	for _, a := range benchAlgorithms {
		for _, size := range benchSizes {
			b.Run(a.name+"/"+size.name, func(b *testing.B) {
				s := newTestSigner(b, a.alg, make([]byte, 16))
				msg := make([]byte, size.n)
				s.Sign(msg)
				b.SetBytes(int64(size.n))
				b.ReportAllocs()
				for b.Loop() {
					if !s.Verify(msg) {
						b.Fatal("Verify failed")
					}
				}
			})
		}
	}
}

// BenchmarkGMACCorrection is the fixed cost Verify adds to GMAC: S·H^(n-2)
// for a 1 KiB, 64 KiB and 16 MiB message.
func BenchmarkGMACCorrection(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	x, h := randElement(r), randElement(r)
	t := newPowerTable(h)
	for _, n := range []struct {
		name   string
		blocks uint64
	}{{"256B", 16}, {"1KiB", 64}, {"64KiB", 4096}, {"16MiB", 1 << 20}} {
		b.Run(n.name, func(b *testing.B) {
			for b.Loop() {
				x = t.mulPow(x, n.blocks-2)
			}
		})
	}
}

func BenchmarkGFMul(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	x, y := randElement(r), randElement(r)
	b.Run("mul", func(b *testing.B) {
		for b.Loop() {
			x = gfMul(x, y)
		}
	})
	b.Run("square", func(b *testing.B) {
		for b.Loop() {
			x = gfSquare(x)
		}
	})
}

func BenchmarkPreauthUpdate(b *testing.B) {
	msg := make([]byte, 512)
	var h PreauthHash
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		h = h.Update(msg)
	}
}

func BenchmarkDeriveKeys311(b *testing.B) {
	key := make([]byte, 16)
	var ph PreauthHash
	b.ReportAllocs()
	for b.Loop() {
		_ = DeriveKeys(0x0311, key, ph[:])
	}
}
