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
	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/smbtest/wiretap"
	"github.com/signetsmb/signet/internal/wire"
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

// TestSignetMultichannelReplayAcrossChannels: a signed request captured on
// one channel of a two-channel session and replayed, byte for byte, on the
// other is refused by Signet with STATUS_ACCESS_DENIED: each channel signs
// with its own key, so a signature valid on channel A is not valid on
// channel B. The replay is given a MessageId that channel B has not used
// yet, so it is its signature, not the sequence window, that refuses it;
// the session keeps working afterwards.
func TestSignetMultichannelReplayAcrossChannels(t *testing.T) {
	srv := startSignet(t, serverOpts{requireSigning: boolp(true)})
	tap := wiretap.Start(t, wiretap.Config{Target: srv.addr, Password: testPassword})
	d := tapChannelsDialer(tap, client.Dialect311, 256<<10)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := d.Dial(ctx, tap.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Channels() != 2 {
		t.Fatalf("Channels() = %d", s.Channels())
	}
	sh, err := s.Mount(ctx, "share")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := randomData(t, 2<<20)
	writeClientFile(t, sh.WithContext(ctx), "r.bin", data)
	for range 20 { // small requests, all on the first channel
		if _, err := sh.WithContext(ctx).Stat("r.bin"); err != nil {
			t.Fatal(err)
		}
	}
	// Channel B's next MessageId, and a signed request of channel A whose
	// MessageId is at or after it.
	var nextB uint64
	for _, m := range tap.Messages() {
		if m.Conn == 2 && m.Dir == wiretap.ClientToServer && m.Kind == wiretap.KindSMB2 && m.MessageID >= nextB {
			nextB = m.MessageID + 1
		}
	}
	var replay *wiretap.Message
	for _, m := range tap.Messages() {
		if m.Conn == 1 && m.Dir == wiretap.ClientToServer && m.Kind == wiretap.KindSMB2 && m.Signed &&
			m.SigValid == wiretap.Valid && m.Cmd != wire.CmdWrite && m.Cmd != wire.CmdRead && m.MessageID >= nextB &&
			(replay == nil || m.MessageID < replay.MessageID) {
			replay = &m
		}
	}
	if replay == nil {
		t.Fatalf("no signed request of channel A at or after channel B's MessageId %d\n%s", nextB, tap.Transcript())
	}
	if err := tap.Inject(2, wiretap.ClientToServer, replay.Raw); err != nil {
		t.Fatal(err)
	}
	var answer *wiretap.Message
	deadline := time.Now().Add(10 * time.Second)
	for answer == nil && time.Now().Before(deadline) {
		for _, m := range tap.Messages() {
			if m.Conn == 2 && m.Dir == wiretap.ServerToClient && m.Kind == wiretap.KindSMB2 && m.MessageID == replay.MessageID {
				answer = &m
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if answer == nil {
		t.Fatalf("no answer to the replayed %v (mid %d) on channel B\n%s\n%s", replay.Cmd, replay.MessageID, tap.Transcript(), srv.Log())
	}
	if answer.Status != ntstatus.AccessDenied {
		t.Fatalf("replayed %v on channel B: %v, want STATUS_ACCESS_DENIED", replay.Cmd, answer.Status)
	}
	if !srv.waitLog("request refused: bad signature", 5*time.Second) {
		t.Fatalf("no bad-signature line in the server log:\n%s", srv.Log())
	}
	if got, err := sh.WithContext(ctx).ReadFile("r.bin"); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("session after the replay: %d bytes, %v", len(got), err)
	}
	t.Logf("replayed %v (mid %d) from channel A on channel B: %v", replay.Cmd, replay.MessageID, answer.Status)
}
