package interop

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/signetsmb/signet/client"
)

// streamReader is n deterministic pseudo-random bytes (AES-CTR keystream),
// so that a large transfer needs no buffer of its size.
func streamReader(n int64, seed byte) io.Reader {
	block, _ := aes.NewCipher(bytes.Repeat([]byte{seed}, 16))
	return io.LimitReader(cipher.StreamReader{S: cipher.NewCTR(block, make([]byte, 16)), R: zeroReader{}}, n)
}

func streamSum(t *testing.T, n int64, seed byte) []byte {
	h := sha256.New()
	if _, err := io.Copy(h, streamReader(n, seed)); err != nil {
		t.Fatal(err)
	}
	return h.Sum(nil)
}

func streamFileSHA(t *testing.T, path string) []byte {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return h.Sum(nil)
}

// TestClientSignetMultichannel: the Signet client with 2 channels against
// Signet's server (signing required): a file written and read back spread
// over both channels, SHA-256 checked on the server's disk and on the way
// back: 1 GiB on 3.1.1 (AES-GMAC; 128 MiB with -short), 128 MiB on 3.0.2
// (AES-CMAC, slower to sign, kept small for CI time).
func TestClientSignetMultichannel(t *testing.T) {
	srv := startSignet(t, serverOpts{requireSigning: boolp(true)})
	for i, dialect := range []uint16{client.Dialect302, client.Dialect311} {
		size := int64(128 << 20)
		if dialect == client.Dialect311 && !testing.Short() {
			size = 1 << 30
		}
		t.Run(client.DialectName(dialect), func(t *testing.T) {
			seed := byte(i + 1)
			want := streamSum(t, size, seed)
			tr := &channelTracker{}
			s := dialChannels(t, srv.addr, dialect, tr, 0)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			sh, err := s.Mount(ctx, "share")
			if err != nil {
				t.Fatal(err)
			}
			sh = sh.WithContext(ctx)
			name := "mc-" + client.DialectName(dialect) + ".bin"
			f, err := sh.Create(name)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			if n, err := io.Copy(f, streamReader(size, seed)); err != nil || n != size {
				t.Fatalf("upload: %d, %v", n, err)
			}
			up := time.Since(start)
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			up0, up1 := tr.conn(0).sent.Load(), tr.conn(1).sent.Load()
			if up0 < size/4 || up1 < size/4 {
				t.Fatalf("upload not spread: %d bytes on channel 1, %d on channel 2", up0, up1)
			}
			if got := streamFileSHA(t, filepath.Join(srv.share, name)); !bytes.Equal(got, want) {
				t.Fatal("file on the server's disk differs")
			}
			g, err := sh.OpenFile(name, os.O_RDONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			h := sha256.New()
			start = time.Now()
			if n, err := io.Copy(h, g); err != nil || n != size || !bytes.Equal(h.Sum(nil), want) {
				t.Fatalf("read back %d bytes, %v, checksum equal %v", n, err, bytes.Equal(h.Sum(nil), want))
			}
			down := time.Since(start)
			g.Close()
			os.Remove(filepath.Join(srv.share, name))
			t.Logf("%s, 2 channels, %d MiB: upload %.0f MB/s (%d/%d MiB per channel), download %.0f MB/s",
				client.DialectName(dialect), size>>20, float64(size)/up.Seconds()/1e6, up0>>20, up1>>20, float64(size)/down.Seconds()/1e6)
			if err := s.Close(); err != nil {
				t.Fatalf("Close (LOGOFF): %v", err)
			}
		})
	}
}

// TestClientSignetMultichannelFailover: against Signet's server, a channel
// cut mid-upload and the logon's connection cut mid-download; both
// transfers complete intact on the surviving channel.
func TestClientSignetMultichannelFailover(t *testing.T) {
	srv := startSignet(t, serverOpts{requireSigning: boolp(true)})
	multichannelFailover(t, srv.addr, srv.share)
}

// TestClientSignetMultichannelWire: the wiretap proxy checks every message
// of a two-channel session with Signet's server against the keys it
// derives itself, each connection with its own channel key.
func TestClientSignetMultichannelWire(t *testing.T) {
	srv := startSignet(t, serverOpts{requireSigning: boolp(true)})
	multichannelWire(t, srv.addr)
}
