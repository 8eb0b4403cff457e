package interop

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signetsmb/signet/client"
	"github.com/signetsmb/signet/internal/smbtest/wiretap"
)

// sambaMultichannel is the [global] addition that lets Samba 4.17 offer
// SMB2_GLOBAL_CAP_MULTI_CHANNEL on Linux.
const sambaMultichannel = "server multi channel support = yes\n"

// channelTracker is a Dialer.DialContext that records the TCP
// connections of a session (the first is the logon's, the next ones the
// bound channels) and counts the bytes each one sends.
type channelTracker struct {
	mu    sync.Mutex
	conns []*countingConn
}

type countingConn struct {
	net.Conn
	sent atomic.Int64
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.sent.Add(int64(n))
	return n, err
}

func (tr *channelTracker) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	c := &countingConn{Conn: nc}
	tr.mu.Lock()
	tr.conns = append(tr.conns, c)
	tr.mu.Unlock()
	return c, nil
}

func (tr *channelTracker) conn(i int) *countingConn {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.conns[i]
}

// dialChannels dials addr with 2 channels, signing required, one dialect;
// ioSize, when not zero, sets Dialer.IOSize with 2 requests in flight per
// channel, so that a transfer has many requests.
func dialChannels(t *testing.T, addr string, dialect uint16, tr *channelTracker, ioSize int) *client.Session {
	t.Helper()
	d := &client.Dialer{
		User: testUser, Password: testPassword, RequireSigning: true,
		MinDialect: dialect, MaxDialect: dialect, Timeout: 60 * time.Second,
		Channels: 2, DialContext: tr.dial,
	}
	if ioSize != 0 {
		d.IOSize, d.MaxInFlight = ioSize, 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := d.Dial(ctx, addr)
	if err != nil {
		t.Fatalf("Dial with 2 channels (%s): %v", client.DialectName(dialect), err)
	}
	t.Cleanup(func() { s.Close() })
	if s.Channels() != 2 || !s.Signed() {
		t.Fatalf("Channels() = %d, Signed() = %v; want 2 signed channels", s.Channels(), s.Signed())
	}
	return s
}

func randomData(t *testing.T, n int) ([]byte, [32]byte) {
	t.Helper()
	data := make([]byte, n)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	return data, sha256.Sum256(data)
}

// TestClientSambaMultichannel: the Signet client binds a second channel
// to a Samba session (signing required; 3.0.2 signs with AES-CMAC, 3.1.1
// with AES-GMAC and a channel key bound to the binding's preauth hash),
// writes and reads 64 MiB spread over both channels, SHA-256 checked on
// the server's disk and on the way back.
func TestClientSambaMultichannel(t *testing.T) {
	addr, dir := startSambaConf(t, "mandatory", sambaMultichannel)
	const size = 64 << 20
	data, sum := randomData(t, size)
	for _, tc := range []struct {
		dialect uint16
		alg     uint16
	}{{client.Dialect302, client.SigningAESCMAC}, {client.Dialect311, client.SigningAESGMAC}} {
		t.Run(client.DialectName(tc.dialect), func(t *testing.T) {
			tr := &channelTracker{}
			s := dialChannels(t, addr, tc.dialect, tr, 0)
			if s.SigningAlgorithm() != tc.alg {
				t.Fatalf("signing algorithm %s, want %s", client.SigningAlgorithmName(s.SigningAlgorithm()), client.SigningAlgorithmName(tc.alg))
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			sh, err := s.Mount(ctx, "share")
			if err != nil {
				t.Fatal(err)
			}
			sh = sh.WithContext(ctx)
			name := "mc-" + client.DialectName(tc.dialect) + ".bin"
			sent0, sent1 := tr.conn(0).sent.Load(), tr.conn(1).sent.Load()
			writeClientFile(t, sh, name, data)
			up0, up1 := tr.conn(0).sent.Load()-sent0, tr.conn(1).sent.Load()-sent1
			if up0 < size/4 || up1 < size/4 {
				t.Fatalf("upload not spread: %d bytes on channel 1, %d on channel 2", up0, up1)
			}
			onDisk, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil || sha256.Sum256(onDisk) != sum {
				t.Fatalf("file on Samba's disk differs (%d bytes, %v)", len(onDisk), err)
			}
			f, err := sh.OpenFile(name, os.O_RDONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			h := sha256.New()
			if n, err := io.Copy(h, f); err != nil || n != size || !bytes.Equal(h.Sum(nil), sum[:]) {
				t.Fatalf("read back %d bytes, %v, checksum equal %v", n, err, bytes.Equal(h.Sum(nil), sum[:]))
			}
			t.Logf("%s: upload sent %d MiB on channel 1 (%s) and %d MiB on channel 2 (%s)", client.DialectName(tc.dialect),
				up0>>20, tr.conn(0).RemoteAddr(), up1>>20, tr.conn(1).RemoteAddr())
			ifs, err := s.NetworkInterfaces(ctx)
			if err != nil || len(ifs) == 0 {
				t.Fatalf("NetworkInterfaces: %v, %v", ifs, err)
			}
			t.Logf("Samba's interfaces: %+v", ifs)
			if err := s.Close(); err != nil {
				t.Fatalf("Close (LOGOFF): %v", err)
			}
		})
	}
	t.Run("cli", func(t *testing.T) {
		local := filepath.Join(t.TempDir(), "cli.bin")
		if err := os.WriteFile(local, data[:8<<20], 0o644); err != nil {
			t.Fatal(err)
		}
		base := "//" + addr + "/share"
		for _, args := range [][]string{{"put", local, base + "/cli.bin"}, {"get", base + "/cli.bin", local + ".back"}} {
			if out, errOut, code := signetCLI(t, append(args, "-U", testUser, "--channels", "2")...); code != 0 {
				t.Fatalf("signet %v --channels 2: exit %d\n%s%s", args, code, out, errOut)
			}
		}
		if back, err := os.ReadFile(local + ".back"); err != nil || !bytes.Equal(back, data[:8<<20]) {
			t.Fatalf("put/get --channels 2 round trip differs (%v)", err)
		}
	})
}

// cutAfter is a reader (or writer) that closes one TCP connection of the
// session once n bytes have passed, in the middle of a transfer.
type cutAfter struct {
	r    io.Reader
	w    io.Writer
	n    int64
	seen int64
	cut  func()
	once sync.Once
}

func (c *cutAfter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.pass(n)
	return n, err
}

func (c *cutAfter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.pass(n)
	return n, err
}

func (c *cutAfter) pass(n int) {
	c.seen += int64(n)
	if c.seen >= c.n {
		c.once.Do(c.cut)
	}
}

// TestClientSambaMultichannelFailover: a channel whose TCP connection
// dies mid-transfer is dropped and its requests in flight are reissued on
// the other channel; the transfer completes intact. The upload loses the
// bound channel, the download (on a fresh session) the logon's own
// connection.
func TestClientSambaMultichannelFailover(t *testing.T) {
	addr, dir := startSambaConf(t, "mandatory", sambaMultichannel)
	multichannelFailover(t, addr, dir)
}

// multichannelFailover writes 32 MiB over two channels and cuts the bound
// channel a third of the way; then reads it back on a new two-channel
// session and cuts the logon's connection a third of the way.
func multichannelFailover(t *testing.T, addr, dir string) {
	const size = 32 << 20
	data, sum := randomData(t, size)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	tr := &channelTracker{}
	s := dialChannels(t, addr, client.Dialect311, tr, 1<<20)
	sh, err := s.Mount(ctx, "share")
	if err != nil {
		t.Fatal(err)
	}
	sh = sh.WithContext(ctx)
	f, err := sh.Create("failover.bin")
	if err != nil {
		t.Fatal(err)
	}
	var usedBeforeCut int64
	src := &cutAfter{r: bytes.NewReader(data), n: size / 3, cut: func() {
		usedBeforeCut = tr.conn(1).sent.Load()
		tr.conn(1).Close()
	}}
	if n, err := io.Copy(f, src); err != nil || n != size {
		t.Fatalf("upload with channel 2 cut: %d bytes, %v", n, err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if s.Channels() != 1 || usedBeforeCut < 1<<20 {
		t.Fatalf("Channels() = %d after losing one (want 1); channel 2 had sent %d bytes before the cut", s.Channels(), usedBeforeCut)
	}
	if onDisk, err := os.ReadFile(filepath.Join(dir, "failover.bin")); err != nil || sha256.Sum256(onDisk) != sum {
		t.Fatalf("file on Samba's disk differs after failover (%d bytes, %v)", len(onDisk), err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("LOGOFF on the surviving channel: %v", err)
	}

	tr2 := &channelTracker{}
	s2 := dialChannels(t, addr, client.Dialect311, tr2, 1<<20)
	sh2, err := s2.Mount(ctx, "share")
	if err != nil {
		t.Fatal(err)
	}
	sh2 = sh2.WithContext(ctx)
	g, err := sh2.OpenFile("failover.bin", os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	var sentAtCut int64
	dst := &cutAfter{w: h, n: size / 3, cut: func() {
		sentAtCut = tr2.conn(1).sent.Load()
		tr2.conn(0).Close()
	}}
	if n, err := io.Copy(dst, g); err != nil || n != size || !bytes.Equal(h.Sum(nil), sum[:]) {
		t.Fatalf("download with channel 1 cut: %d bytes, %v, checksum equal %v", n, err, bytes.Equal(h.Sum(nil), sum[:]))
	}
	if s2.Channels() != 1 {
		t.Fatalf("Channels() = %d after losing the logon's connection, want 1", s2.Channels())
	}
	// A READ request is 117 bytes on the wire; the 21 MiB left after the
	// cut take about 20 of them, all on channel 2.
	if after := tr2.conn(1).sent.Load(); after-sentAtCut < 15*117 {
		t.Fatalf("channel 2 sent %d bytes after the cut: the rest of the download did not move to it", after-sentAtCut)
	}
	// The open and the session live on: a request after the loss works.
	if _, err := g.Stat(); err != nil {
		t.Fatalf("Stat on the surviving channel: %v", err)
	}
	g.Close()
}

// TestClientSambaMultichannelWire: through the wiretap proxy, which
// derives each key from the NTLM exchanges it sees, every message of both
// connections of a two-channel session with Samba is signed and verifies
// with its own channel's key: the binding is recognised, the second
// channel's key is known and its final SESSION_SETUP response is valid.
func TestClientSambaMultichannelWire(t *testing.T) {
	addr, _ := startSambaConf(t, "mandatory", sambaMultichannel)
	multichannelWire(t, addr)
}

// tapChannelsDialer is a signing Signet client asking for two channels,
// each connection made through the wiretap proxy.
func tapChannelsDialer(tap *wiretap.Tap, dialect uint16, ioSize int) *client.Dialer {
	return &client.Dialer{
		User: testUser, Password: testPassword, RequireSigning: true,
		MinDialect: dialect, MaxDialect: dialect, Timeout: 30 * time.Second, Channels: 2, IOSize: ioSize,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var nd net.Dialer
			return nd.DialContext(ctx, network, tap.Addr())
		},
	}
}

// multichannelWire runs a two-channel session through the wiretap proxy
// on 3.0.2 and 3.1.1 and checks every message of both connections.
func multichannelWire(t *testing.T, addr string) {
	for _, dialect := range []uint16{client.Dialect302, client.Dialect311} {
		t.Run(client.DialectName(dialect), func(t *testing.T) {
			tap := wiretap.Start(t, wiretap.Config{Target: addr, Password: testPassword, MaxRaw: 256})
			d := tapChannelsDialer(tap, dialect, 1<<20)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			s, err := d.Dial(ctx, tap.Addr())
			if err != nil {
				t.Fatal(err)
			}
			if s.Channels() != 2 {
				t.Fatalf("Channels() = %d", s.Channels())
			}
			sh, err := s.Mount(ctx, "share")
			if err != nil {
				t.Fatal(err)
			}
			data, _ := randomData(t, 8<<20)
			writeClientFile(t, sh.WithContext(ctx), "wire.bin", data)
			if got, err := sh.WithContext(ctx).ReadFile("wire.bin"); err != nil || !bytes.Equal(got, data) {
				t.Fatalf("ReadFile: %d bytes, %v", len(got), err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			rep := tap.Report()
			if v := rep.Verdict(); v != "signed" {
				t.Fatalf("verdict %q\n%s", v, rep)
			}
			if len(rep.Conns) != 2 {
				t.Fatalf("%d connections through the tap, want 2", len(rep.Conns))
			}
			for i, c := range rep.Conns {
				if c.Requests.Valid < 8 || c.Responses.Valid < 8 {
					t.Fatalf("connection %d: requests %v, responses %v", i, c.Requests, c.Responses)
				}
			}
			bound := rep.Conns[1].Sessions
			if len(bound) != 1 || !bound[0].Binding || !bound[0].KeyKnown || !bound[0].SetupSigned || bound[0].SetupSig != wiretap.Valid {
				t.Fatalf("second connection's sessions: %+v", bound)
			}
		})
	}
}
