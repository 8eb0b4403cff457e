package client

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/smbcrypto"
	"github.com/signetsmb/signet/internal/wire"
)

func channelDialer(n int) *Dialer {
	d := testDialer()
	d.Channels = n
	return d
}

// TestMultichannelSpreads: with Channels 2 against a server offering
// multichannel, the session binds a second connection; reads and writes
// are spread over both, every request is signed with its channel's key
// (the server verifies each connection with its own key) and the two
// channel keys differ. Covered for 3.0, 3.0.2 (AES-CMAC) and 3.1.1 with
// each algorithm (the channel key comes from the binding's preauth hash).
func TestMultichannelSpreads(t *testing.T) {
	cases := []struct {
		dialect, alg uint16
	}{
		{Dialect300, SigningAESCMAC}, {Dialect302, SigningAESCMAC},
		{Dialect311, SigningAESGMAC}, {Dialect311, SigningAESCMAC}, {Dialect311, SigningHMACSHA256},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s/%s", DialectName(c.dialect), SigningAlgorithmName(c.alg)), func(t *testing.T) {
			srv := newFakeServer(t, fakeOptions{maxDialect: c.dialect, signingPrefs: []uint16{c.alg}, multichannel: true, ioDelay: time.Millisecond})
			d := channelDialer(2)
			d.IOSize = 256 << 10
			s := dialFake(t, srv, d)
			if s.Channels() != 2 || s.SigningAlgorithm() != c.alg {
				t.Fatalf("Channels() = %d, algorithm %s", s.Channels(), SigningAlgorithmName(s.SigningAlgorithm()))
			}
			sh := mountFake(t, s)
			data := randomBytes(t, 4<<20+5)
			writeFile(t, sh, "mc.bin", data)
			if got, err := sh.ReadFile("mc.bin"); err != nil || !bytes.Equal(got, data) {
				t.Fatalf("ReadFile: %d bytes, %v", len(got), err)
			}
			c0, c1 := srv.connByIndex(0), srv.connByIndex(1)
			if c1 == nil || c0.ioRequests.Load() < 8 || c1.ioRequests.Load() < 8 {
				t.Fatalf("READ/WRITE not spread over the channels: %d and %v", c0.ioRequests.Load(), c1)
			}
			if n := srv.stats.badSignatures.Load() + srv.stats.unsignedAfterLogon.Load(); n != 0 {
				t.Fatalf("server saw %d unsigned or badly signed requests", n)
			}
			// Each channel has its own key: a message signed by one does not
			// verify with the other.
			s.chmu.Lock()
			a, b := s.chans[0].signer, s.chans[1].signer
			s.chmu.Unlock()
			msg := wire.AppendSimple(newMessage(wire.CmdEcho, 4))
			a.Sign(msg)
			if b.Verify(msg) || !a.Verify(msg) {
				t.Fatal("the two channels share a signing key")
			}
		})
	}
}

// TestMultichannelOpenOnAnyChannel: a file opened on one channel is
// read and written on the other (READ/WRITE go to both channels in turn,
// CREATE and CLOSE to the first).
func TestMultichannelOpenOnAnyChannel(t *testing.T) {
	srv := newFakeServer(t, fakeOptions{multichannel: true})
	s := dialFake(t, srv, channelDialer(2))
	sh := mountFake(t, s)
	f, err := sh.Create("x.bin")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		if _, err := f.WriteAt([]byte{byte(i)}, int64(i)); err != nil {
			t.Fatalf("WriteAt %d: %v", i, err)
		}
	}
	f.Close()
	if c1 := srv.connByIndex(1); c1 == nil || c1.ioRequests.Load() == 0 {
		t.Fatal("no WRITE went to the second channel")
	}
	if got, err := sh.ReadFile("x.bin"); err != nil || !bytes.Equal(got, []byte{0, 1, 2, 3}) {
		t.Fatalf("ReadFile: %v, %v", got, err)
	}
}

// TestMultichannelFallsBackToOne: without multichannel on the server, on
// 2.1, or with one channel asked for, the session has one connection;
// with Channels <= 1 the NEGOTIATE does not advertise multichannel.
func TestMultichannelFallsBackToOne(t *testing.T) {
	for _, c := range []struct {
		name  string
		opt   fakeOptions
		chans int
	}{
		{"server without multichannel", fakeOptions{}, 2},
		{"2.1", fakeOptions{maxDialect: Dialect210, multichannel: true}, 2},
		{"one channel", fakeOptions{multichannel: true}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := newFakeServer(t, c.opt)
			s := dialFake(t, srv, channelDialer(c.chans))
			if s.Channels() != 1 {
				t.Fatalf("Channels() = %d, want 1", s.Channels())
			}
			if srv.connByIndex(1) != nil {
				t.Fatal("a second connection was opened")
			}
			if c.chans <= 1 && s.neg.req.Capabilities&wire.CapMultiChannel != 0 {
				t.Fatal("NEGOTIATE advertised multichannel for one channel")
			}
			writeFile(t, mountFake(t, s), "f", []byte("one"))
		})
	}
}

// TestMultichannelBindingWrongKey: a final binding response signed with
// the session key instead of the channel key fails Dial with
// ErrBadSignature.
func TestMultichannelBindingWrongKey(t *testing.T) {
	for _, dialect := range []uint16{Dialect302, Dialect311} {
		srv := newFakeServer(t, fakeOptions{maxDialect: dialect, multichannel: true, bindWrongKey: true})
		_, err := channelDialer(2).Dial(context.Background(), srv.addr())
		if !errors.Is(err, ErrBadSignature) {
			t.Fatalf("%s: Dial: %v, want ErrBadSignature", DialectName(dialect), err)
		}
	}
}

// TestMultichannelBindingRefusals: an interim binding response that does
// not verify with the session's key, and a binding answered as a guest
// logon, fail Dial; the client closes the session.
func TestMultichannelBindingRefusals(t *testing.T) {
	for name, c := range map[string]struct {
		opt  fakeOptions
		want error
	}{
		"interim not signed with the session key": {fakeOptions{multichannel: true, bindInterimBad: true}, ErrBadSignature},
		"guest binding": {fakeOptions{multichannel: true, bindGuest: true}, ErrInvalidResponse},
	} {
		t.Run(name, func(t *testing.T) {
			srv := newFakeServer(t, c.opt)
			_, err := channelDialer(2).Dial(context.Background(), srv.addr())
			if !errors.Is(err, c.want) {
				t.Fatalf("Dial: %v, want %v", err, c.want)
			}
			if srv.stats.logoffs.Load() != 1 {
				t.Fatalf("%d LOGOFFs after the failed binding, want 1", srv.stats.logoffs.Load())
			}
		})
	}
}

// TestMultichannelBindingRequestSigned: the server refuses an unsigned or
// wrongly signed binding request; the client's was accepted, so it was
// signed with the session's key (and the server saw no bad signature).
func TestMultichannelBindingRequestSigned(t *testing.T) {
	srv := newFakeServer(t, fakeOptions{multichannel: true})
	s := dialFake(t, srv, channelDialer(3))
	if s.Channels() != 3 || srv.stats.badSignatures.Load() != 0 {
		t.Fatalf("Channels() = %d, bad signatures %d", s.Channels(), srv.stats.badSignatures.Load())
	}
	// Channel keys of three channels are pairwise distinct.
	s.chmu.Lock()
	signers := []smbcrypto.Signer{s.chans[0].signer, s.chans[1].signer, s.chans[2].signer}
	s.chmu.Unlock()
	for i := range signers {
		msg := wire.AppendSimple(newMessage(wire.CmdEcho, 4))
		signers[i].Sign(msg)
		for j := range signers {
			if i != j && signers[j].Verify(msg) {
				t.Fatalf("channels %d and %d share a key", i, j)
			}
		}
	}
}

// cutWhenBusy closes the client side of channel i's connection as soon as
// the server is handling READ or WRITE requests of that channel.
func cutWhenBusy(t *testing.T, srv *fakeServer, s *Session, i int) chan struct{} {
	done := make(chan struct{})
	s.chmu.Lock()
	victim := s.chans[i].conn
	s.chmu.Unlock()
	go func() {
		defer close(done)
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if c := srv.connByIndex(i); c != nil && c.ioInFlight.Load() >= 2 {
				victim.nc.Close()
				return
			}
			time.Sleep(100 * time.Microsecond)
		}
		t.Error("channel never busy")
	}()
	return done
}

// TestMultichannelFailover: the connection of a channel is cut while the
// server handles READ/WRITE requests sent on it; those requests are
// reissued on the surviving channel, the transfer completes intact, the
// lost channel is dropped and the session lives on. It covers losing the
// bound channel during a write and the logon's connection during a read.
func TestMultichannelFailover(t *testing.T) {
	srv := newFakeServer(t, fakeOptions{multichannel: true, ioDelay: 20 * time.Millisecond})
	d := channelDialer(2)
	d.IOSize, d.MaxInFlight = 128<<10, 4
	s := dialFake(t, srv, d)
	sh := mountFake(t, s)
	data := randomBytes(t, 6<<20)
	const chunks = 6 << 20 / (128 << 10)

	f, err := sh.Create("big.bin")
	if err != nil {
		t.Fatal(err)
	}
	cut := cutWhenBusy(t, srv, s, 1)
	if n, err := f.WriteAt(data, 0); err != nil || n != len(data) {
		t.Fatalf("WriteAt with channel 2 cut: %d, %v", n, err)
	}
	<-cut
	c0, c1 := srv.connByIndex(0), srv.connByIndex(1)
	if sent := c0.ioRequests.Load() + c1.ioRequests.Load(); sent <= chunks {
		t.Fatalf("server saw %d WRITEs for %d chunks: nothing was reissued", sent, chunks)
	}
	if s.Channels() != 1 || s.sequence() != 1 {
		t.Fatalf("Channels() = %d, ChannelSequence %d after the cut; want 1, 1", s.Channels(), s.sequence())
	}

	// Bind a fresh second channel (Dial forgot the password), then lose
	// the logon's connection while reading.
	s.cfg.Password = fakePassword
	if err := s.bind(context.Background(), srv.addr()); err != nil {
		t.Fatalf("bind: %v", err)
	}
	s.chmu.Lock()
	logon := s.conn
	s.chmu.Unlock()
	before := srv.connByIndex(2).ioRequests.Load()
	got := make([]byte, len(data))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for srv.connByIndex(0).ioInFlight.Load() < 2 {
			time.Sleep(100 * time.Microsecond)
		}
		logon.nc.Close()
	}()
	if n, err := f.ReadAt(got, 0); err != nil || n != len(data) || !bytes.Equal(got, data) {
		t.Fatalf("ReadAt with channel 1 cut: %d, %v, equal %v", n, err, bytes.Equal(got, data))
	}
	<-done
	if srv.connByIndex(2).ioRequests.Load()-before < chunks/2 {
		t.Fatal("the surviving channel did not take over the reads")
	}
	if _, err := f.Stat(); err != nil {
		t.Fatalf("Stat after losing the logon's connection: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if srv.stats.logoffs.Load() != 1 {
		t.Fatalf("%d LOGOFFs, want 1", srv.stats.logoffs.Load())
	}
}

// TestMultichannelLastChannel: once every channel is lost the session
// fails with a connection error and reports no channel.
func TestMultichannelLastChannel(t *testing.T) {
	srv := newFakeServer(t, fakeOptions{multichannel: true})
	s := dialFake(t, srv, channelDialer(2))
	sh := mountFake(t, s)
	writeFile(t, sh, "f", []byte("data"))
	s.chmu.Lock()
	for _, ch := range s.chans {
		ch.conn.nc.Close()
	}
	s.chmu.Unlock()
	deadline := time.Now().Add(5 * time.Second)
	for s.Channels() != 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if s.Channels() != 0 {
		t.Fatalf("Channels() = %d with every connection closed", s.Channels())
	}
	if _, err := sh.ReadFile("f"); err == nil || !bytes.Contains([]byte(err.Error()), []byte("connection lost")) {
		t.Fatalf("ReadFile with no channel: %v, want a connection error", err)
	}
}

// TestMultichannelLogoffEndsEveryChannel: Close sends one LOGOFF and
// closes every connection of the session.
func TestMultichannelLogoffEndsEveryChannel(t *testing.T) {
	srv := newFakeServer(t, fakeOptions{multichannel: true})
	s := dialFake(t, srv, channelDialer(3))
	s.chmu.Lock()
	chans := append([]*channel(nil), s.chans...)
	s.chmu.Unlock()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if srv.stats.logoffs.Load() != 1 {
		t.Fatalf("%d LOGOFFs, want 1", srv.stats.logoffs.Load())
	}
	for i, ch := range chans {
		if !errors.Is(ch.conn.failure(), ErrClosed) {
			t.Fatalf("channel %d still open after Close: %v", i, ch.conn.failure())
		}
	}
}

// TestMultichannelInterfaces: channels go to the server's listed
// interfaces of the dialed family, fastest first, before the dialed
// address; an interface that cannot be reached falls back to the dialed
// address.
func TestMultichannelInterfaces(t *testing.T) {
	srv := newFakeServer(t, fakeOptions{multichannel: true,
		interfaces: []net.IP{net.ParseIP("::1"), net.ParseIP("127.0.0.1"), net.ParseIP("127.0.0.3"), net.ParseIP("127.0.0.2")}})
	_, port, _ := net.SplitHostPort(srv.addr())
	var mu sync.Mutex
	var dialed []string
	d := channelDialer(3)
	d.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		mu.Lock()
		dialed = append(dialed, addr)
		mu.Unlock()
		if strings.HasPrefix(addr, "127.0.0.2:") {
			return nil, errors.New("unreachable")
		}
		var nd net.Dialer
		return nd.DialContext(ctx, network, srv.addr()) // 127.0.0.3 reaches the server
	}
	s := dialFake(t, srv, d)
	if s.Channels() != 3 {
		t.Fatalf("Channels() = %d", s.Channels())
	}
	want := []string{srv.addr(), "127.0.0.2:" + port, srv.addr(), "127.0.0.3:" + port}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(dialed, want) {
		t.Fatalf("dialed %v, want %v", dialed, want)
	}
}

func TestParseNetworkInterfaces(t *testing.T) {
	e := func(next uint32, family uint16, ip net.IP, speed uint64, capab uint32) []byte {
		b := make([]byte, netifEntrySize)
		binary.LittleEndian.PutUint32(b, next)
		binary.LittleEndian.PutUint32(b[4:], 7)
		binary.LittleEndian.PutUint32(b[8:], capab)
		binary.LittleEndian.PutUint64(b[16:], speed)
		binary.LittleEndian.PutUint16(b[netifSockAddr:], family)
		if family == afInet {
			copy(b[netifSockAddr+4:], ip.To4())
		} else {
			copy(b[netifSockAddr+8:], ip.To16())
		}
		return b
	}
	good := slices.Concat(e(netifEntrySize, afInet, net.ParseIP("10.0.0.1"), 1e9, netifRSS),
		e(netifEntrySize, 0x99, nil, 0, 0), e(0, afInet6, net.ParseIP("fe80::1"), 1e10, netifRDMA))
	ifs, err := parseNetworkInterfaces(good)
	if err != nil || len(ifs) != 2 || !ifs[0].IP.Equal(net.ParseIP("10.0.0.1")) || !ifs[0].RSS || ifs[0].RDMA ||
		ifs[0].LinkSpeed != 1e9 || ifs[0].Index != 7 || !ifs[1].IP.Equal(net.ParseIP("fe80::1")) || !ifs[1].RDMA {
		t.Fatalf("parse: %+v, %v", ifs, err)
	}
	for name, bad := range map[string][]byte{
		"short":      good[:100],
		"next short": e(8, afInet, net.ParseIP("10.0.0.1"), 1, 0),
		"next out":   e(2*netifEntrySize, afInet, net.ParseIP("10.0.0.1"), 1, 0),
		"empty":      nil,
	} {
		if _, err := parseNetworkInterfaces(bad); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	got := interfaceAddrs(ifs, net.ParseIP("10.0.0.9"), "srv", "445")
	if !slices.Equal(got, []string{"10.0.0.1:445", "srv:445"}) {
		t.Fatalf("interfaceAddrs: %v", got)
	}
}

// TestMultichannelAllLostMidTransfer: when every channel dies while READs
// are in flight, the transfer fails with a connection error instead of
// reissuing forever.
func TestMultichannelAllLostMidTransfer(t *testing.T) {
	srv := newFakeServer(t, fakeOptions{multichannel: true, ioDelay: 20 * time.Millisecond})
	d := channelDialer(2)
	d.IOSize = 128 << 10
	s := dialFake(t, srv, d)
	sh := mountFake(t, s)
	writeFile(t, sh, "f", randomBytes(t, 2<<20))
	f, err := sh.OpenFile("f", os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	s.chmu.Lock()
	chans := append([]*channel(nil), s.chans...)
	s.chmu.Unlock()
	go func() {
		for srv.connByIndex(1).ioInFlight.Load() == 0 {
			time.Sleep(100 * time.Microsecond)
		}
		for _, ch := range chans {
			ch.conn.nc.Close()
		}
	}()
	done := make(chan error, 1)
	go func() {
		_, err := f.ReadAt(make([]byte, 2<<20), 0)
		done <- err
	}()
	select {
	case err := <-done:
		// The read fails (it does not hang or retry forever); which
		// closing connection reports first decides the wording.
		if err == nil || !strings.Contains(err.Error(), "connection lost") && !strings.Contains(err.Error(), "context canceled") {
			t.Fatalf("ReadAt with every channel lost: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ReadAt did not return after every channel was lost")
	}
}

// TestChannelSequence: 3.x requests carry the session's ChannelSequence,
// which goes up with each lost channel; a WRITE refused with
// STATUS_FILE_NOT_AVAILABLE because its sequence became stale while it
// was in flight is sent again with the current one, and one refused for
// another reason is reported, not retried.
func TestChannelSequence(t *testing.T) {
	var sess atomic.Pointer[Session]
	srv := newFakeServer(t, fakeOptions{openSeq: 1, tamper: func(cmd wire.Command, msg []byte) []byte {
		if cmd == wire.CmdWrite && ntstatus.Status(binary.LittleEndian.Uint32(msg[8:])) == ntstatus.FileNotAvailable {
			if s := sess.Load(); s != nil && s.sequence() == 0 {
				s.chanSeq.Add(1) // a channel was lost meanwhile
			}
		}
		return msg
	}})
	s := dialFake(t, srv, testDialer())
	sh := mountFake(t, s)
	f, err := sh.Create("seq.bin")
	if err != nil {
		t.Fatal(err)
	}
	sess.Store(s)
	if _, err := f.WriteAt([]byte("abc"), 0); err != nil {
		t.Fatalf("WriteAt: %v", err)
	}
	if srv.stats.staleWrites.Load() != 1 || s.sequence() != 1 {
		t.Fatalf("stale writes %d, sequence %d; want 1, 1", srv.stats.staleWrites.Load(), s.sequence())
	}
	f.Close()
	if got, err := sh.ReadFile("seq.bin"); err != nil || string(got) != "abc" {
		t.Fatalf("ReadFile: %q, %v", got, err)
	}

	srv2 := newFakeServer(t, fakeOptions{openSeq: 5})
	s2 := dialFake(t, srv2, testDialer())
	g, err := mountFake(t, s2).Create("seq.bin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.WriteAt([]byte("x"), 0); !errors.Is(err, ntstatus.FileNotAvailable) || srv2.stats.staleWrites.Load() != 1 {
		t.Fatalf("WriteAt with a sequence the server never accepts: %v after %d refusals", err, srv2.stats.staleWrites.Load())
	}
}

// TestMultichannelCrossChannelSignature: a response on the second channel
// signed with the first channel's key is refused as a bad signature (and
// not retried elsewhere); the channel is closed, the session lives on.
func TestMultichannelCrossChannelSignature(t *testing.T) {
	srv := newFakeServer(t, fakeOptions{multichannel: true, crossSign: true})
	d := channelDialer(2)
	d.IOSize = 64 << 10
	s := dialFake(t, srv, d)
	sh := mountFake(t, s)
	f, err := sh.Create("x")
	if err != nil {
		t.Fatal(err)
	}
	// One-chunk writes go to the channels in turn: within two, one is
	// answered on channel 2.
	var bad error
	for i := 0; i < 2 && bad == nil; i++ {
		_, bad = f.WriteAt(make([]byte, 1000), 0)
	}
	if !errors.Is(bad, ErrBadSignature) {
		t.Fatalf("WriteAt with channel 2 answering under channel 1's key: %v, want ErrBadSignature", bad)
	}
	if s.Channels() != 1 {
		t.Fatalf("Channels() = %d, want 1 after the bad signature", s.Channels())
	}
	if err := f.Close(); err != nil {
		t.Fatalf("Close on the first channel: %v", err)
	}
}
