package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"testing"
	"time"

	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
)

func testDialer() *Dialer {
	return &Dialer{User: fakeUser, Password: fakePassword, Timeout: 10 * time.Second}
}

func dialFake(t testing.TB, srv *fakeServer, d *Dialer) *Session {
	t.Helper()
	s, err := d.Dial(context.Background(), srv.addr())
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mountFake(t testing.TB, s *Session) *Share {
	t.Helper()
	sh, err := s.Mount(context.Background(), "share")
	if err != nil {
		t.Fatalf("Mount: %v", err)
	}
	return sh
}

// TestSignedSessionsAllDialects: with the client requiring signing, every
// dialect (and every 3.1.1 algorithm) yields a signed session in which
// the server sees no unsigned request, and files round-trip.
func TestSignedSessionsAllDialects(t *testing.T) {
	type tc struct {
		dialect uint16
		alg     uint16
	}
	cases := []tc{
		{Dialect202, SigningHMACSHA256}, {Dialect210, SigningHMACSHA256},
		{Dialect300, SigningAESCMAC}, {Dialect302, SigningAESCMAC},
		{Dialect311, SigningAESGMAC}, {Dialect311, SigningAESCMAC}, {Dialect311, SigningHMACSHA256},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s/%s", DialectName(c.dialect), SigningAlgorithmName(c.alg)), func(t *testing.T) {
			srv := newFakeServer(t, fakeOptions{maxDialect: c.dialect, signingPrefs: []uint16{c.alg}})
			s := dialFake(t, srv, testDialer())
			if s.Dialect() != c.dialect || !s.Signed() || s.SigningAlgorithm() != c.alg {
				t.Fatalf("dialect %s signed %v alg %s", DialectName(s.Dialect()), s.Signed(), SigningAlgorithmName(s.SigningAlgorithm()))
			}
			sh := mountFake(t, s)
			data := randomBytes(t, 3<<20+17)
			writeFile(t, sh, "f.bin", data)
			if got, err := sh.ReadFile("f.bin"); err != nil || !bytes.Equal(got, data) {
				t.Fatalf("ReadFile: %d bytes, %v", len(got), err)
			}
			if n := srv.stats.unsignedAfterLogon.Load(); n != 0 {
				t.Fatalf("server saw %d unsigned requests on a signed session", n)
			}
			if n := srv.stats.badSignatures.Load(); n != 0 {
				t.Fatalf("server saw %d bad signatures", n)
			}
		})
	}
}

// TestSigningPolicyMatrix: Session.Signed() is client policy OR server
// policy, and when neither requires signing the requests go unsigned
// (except what must always be signed).
func TestSigningPolicyMatrix(t *testing.T) {
	for _, client := range []bool{true, false} {
		for _, server := range []bool{true, false} {
			for _, dialect := range []uint16{Dialect202, Dialect302, Dialect311} {
				name := fmt.Sprintf("client=%v/server=%v/%s", client, server, DialectName(dialect))
				t.Run(name, func(t *testing.T) {
					srv := newFakeServer(t, fakeOptions{maxDialect: dialect, requireSigning: server})
					d := testDialer()
					d.AllowUnsigned = !client
					s := dialFake(t, srv, d)
					if s.Signed() != (client || server) {
						t.Fatalf("Signed() = %v", s.Signed())
					}
					sh := mountFake(t, s)
					writeFile(t, sh, "x", []byte("hello"))
					unsigned := srv.stats.unsignedAfterLogon.Load()
					if s.Signed() && unsigned != 0 {
						t.Fatalf("%d unsigned requests on a signed session", unsigned)
					}
					if !s.Signed() && unsigned == 0 {
						t.Fatalf("an unsigned session sent no unsigned request")
					}
				})
			}
		}
	}
}

// flipByte returns a tamper hook that flips one byte of the body of the
// first response to cmd.
func flipByte(cmd wire.Command, at int) func(wire.Command, []byte) []byte {
	done := false
	return func(c wire.Command, msg []byte) []byte {
		if c == cmd && !done && len(msg) > at {
			done = true
			msg[at] ^= 0x01
		}
		return msg
	}
}

// flipInSuccess flips one byte of every STATUS_SUCCESS response to cmd.
func flipInSuccess(cmd wire.Command, at int) func(wire.Command, []byte) []byte {
	return func(c wire.Command, msg []byte) []byte {
		if c == cmd && le32(msg[8:]) == 0 && len(msg) > at {
			msg[at] ^= 0x01
		}
		return msg
	}
}

func le32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

// TestTamperedResponseRejected: a response with one flipped byte is
// discarded with ErrBadSignature and the session is closed.
func TestTamperedResponseRejected(t *testing.T) {
	for _, dialect := range []uint16{Dialect202, Dialect302, Dialect311} {
		t.Run(DialectName(dialect), func(t *testing.T) {
			srv := newFakeServer(t, fakeOptions{maxDialect: dialect, tamper: flipByte(wire.CmdRead, wire.HeaderSize+16+3)})
			s := dialFake(t, srv, testDialer())
			sh := mountFake(t, s)
			writeFile(t, sh, "f", []byte("some data that will be tampered with"))
			f, err := sh.Open("f")
			if err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 64)
			_, err = f.Read(buf)
			if !errors.Is(err, ErrBadSignature) {
				t.Fatalf("Read of a tampered response: %v, want ErrBadSignature", err)
			}
			if _, err := sh.Stat("f"); !errors.Is(err, ErrBadSignature) {
				t.Fatalf("Stat after the bad signature: %v, want the connection closed with ErrBadSignature", err)
			}
		})
	}
}

// TestUnsignedResponseRejected: on a signed session a response without
// signature is refused, even an error response.
func TestUnsignedResponseRejected(t *testing.T) {
	strip := func(c wire.Command, msg []byte) []byte {
		if c == wire.CmdCreate {
			wire.SetFlags(msg, wire.Flags(msg)&^wire.FlagSigned)
			clear(msg[48:64])
		}
		return msg
	}
	srv := newFakeServer(t, fakeOptions{tamper: strip})
	s := dialFake(t, srv, testDialer())
	sh := mountFake(t, s)
	if _, err := sh.Stat("missing"); !errors.Is(err, ErrBadSignature) || errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Stat with an unsigned response: %v, want ErrBadSignature only", err)
	}
}

// TestVerifiesSignedResponsesWhenNotRequired: with signing optional on
// both sides, a signed response must still verify.
func TestVerifiesSignedResponsesWhenNotRequired(t *testing.T) {
	srv := newFakeServer(t, fakeOptions{maxDialect: Dialect311, tamper: flipByte(wire.CmdTreeConnect, wire.HeaderSize+4)})
	d := testDialer()
	d.AllowUnsigned = true
	s := dialFake(t, srv, d)
	if s.Signed() {
		t.Fatal("session signed although nobody requires it")
	}
	// 3.1.1 always signs TREE_CONNECT, so its response is signed too.
	if _, err := s.Mount(context.Background(), "share"); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("Mount with a tampered signed response: %v, want ErrBadSignature", err)
	}
}

// TestFinalSessionSetupSignature covers the rules for the last
// SESSION_SETUP response.
func TestFinalSessionSetupSignature(t *testing.T) {
	cases := []struct {
		name    string
		opt     fakeOptions
		require bool
		want    []error // nil: success
	}{
		{"unsigned/client requires", fakeOptions{unsignedFinal: true, maxDialect: Dialect302}, true, []error{ErrSigningRequired, ErrBadSignature}},
		{"unsigned/server requires", fakeOptions{unsignedFinal: true, maxDialect: Dialect202, requireSigning: true}, false, []error{ErrSigningRequired}},
		{"unsigned/3.1.1 optional", fakeOptions{unsignedFinal: true}, false, []error{ErrBadSignature}},
		{"unsigned/3.0.2 optional", fakeOptions{unsignedFinal: true, maxDialect: Dialect302}, false, nil},
		{"tampered/3.1.1", fakeOptions{tamper: flipInSuccess(wire.CmdSessionSetup, 75)}, true, []error{ErrBadSignature}},
		{"tampered/2.0.2", fakeOptions{maxDialect: Dialect202, tamper: flipInSuccess(wire.CmdSessionSetup, 75)}, false, []error{ErrBadSignature}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := newFakeServer(t, c.opt)
			d := testDialer()
			d.AllowUnsigned = !c.require
			s, err := d.Dial(context.Background(), srv.addr())
			if c.want == nil {
				if err != nil {
					t.Fatalf("Dial: %v", err)
				}
				s.Close()
				return
			}
			for _, w := range c.want {
				if !errors.Is(err, w) {
					t.Fatalf("Dial: %v, want %v", err, w)
				}
			}
		})
	}
}

// TestPreauthIntegrity: altering a hashed message (a NEGOTIATE response
// byte the client does not otherwise check, or a MORE_PROCESSING
// response's padding) desynchronises the 3.1.1 preauth hash, so the
// server's final signature cannot verify.
func TestPreauthIntegrity(t *testing.T) {
	cases := map[string]func(wire.Command, []byte) []byte{
		"negotiate system time": flipByte(wire.CmdNegotiate, wire.HeaderSize+40),
		"session setup header":  flipByte(wire.CmdSessionSetup, 32), // Reserved/ProcessId of the MORE_PROCESSING response
	}
	for name, tamper := range cases {
		t.Run(name, func(t *testing.T) {
			srv := newFakeServer(t, fakeOptions{tamper: tamper})
			_, err := testDialer().Dial(context.Background(), srv.addr())
			if !errors.Is(err, ErrBadSignature) {
				t.Fatalf("Dial: %v, want ErrBadSignature", err)
			}
		})
	}
}

// TestGuestSessions: a guest logon is refused when the client requires
// signing, and accepted unsigned otherwise.
func TestGuestSessions(t *testing.T) {
	srv := newFakeServer(t, fakeOptions{guest: true})
	if _, err := testDialer().Dial(context.Background(), srv.addr()); !errors.Is(err, ErrSigningRequired) {
		t.Fatalf("guest with RequireSigning: %v, want ErrSigningRequired", err)
	}
	d := testDialer()
	d.AllowUnsigned = true
	s := dialFake(t, srv, d)
	if !s.Guest() || s.Signed() {
		t.Fatalf("Guest %v Signed %v", s.Guest(), s.Signed())
	}
	srvReq := newFakeServer(t, fakeOptions{guest: true, requireSigning: true})
	if _, err := d.Dial(context.Background(), srvReq.addr()); !errors.Is(err, ErrSigningRequired) {
		t.Fatalf("guest on a server requiring signing: %v, want ErrSigningRequired", err)
	}
}

// TestAnonymousSessions: an anonymous logon (no key) is accepted unsigned
// when nobody requires signing, refused when the server requires it.
func TestAnonymousSessions(t *testing.T) {
	srv := newFakeServer(t, fakeOptions{anonymous: true})
	s := dialFake(t, srv, &Dialer{AllowUnsigned: true})
	if !s.Guest() || s.Signed() {
		t.Fatalf("Guest %v Signed %v", s.Guest(), s.Signed())
	}
	if _, err := s.Shares(context.Background()); err != nil {
		t.Fatalf("anonymous Shares: %v", err)
	}
	srvReq := newFakeServer(t, fakeOptions{anonymous: true, requireSigning: true})
	if _, err := (&Dialer{AllowUnsigned: true}).Dial(context.Background(), srvReq.addr()); !errors.Is(err, ErrSigningRequired) {
		t.Fatalf("anonymous on a server requiring signing: %v, want ErrSigningRequired", err)
	}
}

// TestAnonymousRefusedWhenSigningRequired: no connection is even made,
// with the zero Dialer (secure by default) as with RequireSigning.
func TestAnonymousRefusedWhenSigningRequired(t *testing.T) {
	for _, d := range []*Dialer{{}, {RequireSigning: true}, {RequireSigning: true, AllowUnsigned: true}} {
		if _, err := d.Dial(context.Background(), "127.0.0.1:1"); !errors.Is(err, ErrSigningRequired) {
			t.Fatalf("anonymous Dial %+v: %v, want ErrSigningRequired", d, err)
		}
	}
}

// TestWrongPassword maps to ErrLogonFailure and STATUS_LOGON_FAILURE.
func TestWrongPassword(t *testing.T) {
	srv := newFakeServer(t, fakeOptions{})
	d := testDialer()
	d.Password = "wrong"
	_, err := d.Dial(context.Background(), srv.addr())
	var st ntstatus.Status
	if !errors.Is(err, ErrLogonFailure) || !errors.As(err, &st) || st != ntstatus.LogonFailure {
		t.Fatalf("Dial: %v", err)
	}
}

// TestValidateNegotiate: every dialect but 3.1.1 checks
// FSCTL_VALIDATE_NEGOTIATE_INFO (2.1 too: a man in the middle may have
// removed every 3.x dialect from the NEGOTIATE request).
func TestValidateNegotiate(t *testing.T) {
	cases := []struct {
		name string
		opt  fakeOptions
		want error
	}{
		{"ok", fakeOptions{maxDialect: Dialect302}, nil},
		{"mismatch", fakeOptions{maxDialect: Dialect300, validateLie: true}, ErrValidateNegotiate},
		{"unsigned", fakeOptions{maxDialect: Dialect302, validateNoSign: true}, ErrBadSignature},
		{"unsigned, signing optional", fakeOptions{maxDialect: Dialect302, validateNoSign: true}, ErrBadSignature},
		{"2.1 mismatch, signing optional", fakeOptions{maxDialect: Dialect210, validateLie: true}, ErrValidateNegotiate},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := newFakeServer(t, c.opt)
			d := testDialer()
			d.AllowUnsigned = i >= 3
			s := dialFake(t, srv, d)
			_, err := s.Mount(context.Background(), "share")
			if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
				t.Fatalf("Mount: %v, want %v", err, c.want)
			}
			if c.want == nil {
				return
			}
			if _, err := s.Mount(context.Background(), "share"); err == nil {
				t.Fatal("session still usable after a failed validation")
			}
		})
	}
}

// TestInterimResponses: STATUS_PENDING interim responses (unsigned, with
// the credits) are skipped and the final signed responses verified.
func TestInterimResponses(t *testing.T) {
	srv := newFakeServer(t, fakeOptions{pending: map[wire.Command]bool{
		wire.CmdRead: true, wire.CmdWrite: true, wire.CmdCreate: true,
	}})
	s := dialFake(t, srv, testDialer())
	sh := mountFake(t, s)
	data := randomBytes(t, 5<<20)
	writeFile(t, sh, "p", data)
	if got, err := sh.ReadFile("p"); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("ReadFile: %v", err)
	}
}

// TestParallelIO: large transfers keep several multi-credit requests in
// flight.
func TestParallelIO(t *testing.T) {
	srv := newFakeServer(t, fakeOptions{ioDelay: 20 * time.Millisecond})
	d := testDialer()
	d.IOSize = 1 << 20 // 1 MiB requests: CreditCharge 16
	s := dialFake(t, srv, d)
	sh := mountFake(t, s)
	data := randomBytes(t, 16<<20)
	f, err := sh.Create("big")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := f.WriteAt(data, 0); n != len(data) || err != nil {
		t.Fatalf("WriteAt: %d, %v", n, err)
	}
	got := make([]byte, len(data))
	if n, err := f.ReadAt(got, 0); n != len(data) || err != nil || !bytes.Equal(got, data) {
		t.Fatalf("ReadAt: %d, %v", n, err)
	}
	f.Close()
	if m := srv.stats.maxInFlight.Load(); m < 4 {
		t.Errorf("at most %d requests in flight, want >= 4", m)
	}
	if c := srv.stats.maxCharge.Load(); c != 16 {
		t.Errorf("largest CreditCharge %d, want 16 for 1 MiB", c)
	}
}

// TestCreditStarvation: a server that never grants enough credits for a
// 1 MiB request gets a clean error, not a hang.
func TestCreditStarvation(t *testing.T) {
	srv := newFakeServer(t, fakeOptions{credits: 1})
	s := dialFake(t, srv, testDialer())
	sh := mountFake(t, s)
	f, err := sh.Create("c")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, err = f.Write(make([]byte, 1<<20))
	if !errors.Is(err, errNoCredits) {
		t.Fatalf("Write: %v, want errNoCredits", err)
	}
	if _, err := f.Write(make([]byte, 1000)); err != nil {
		t.Fatalf("small Write: %v", err)
	}
}

// TestContextCancel: a cancelled request returns promptly with the
// context's error and sends SMB2 CANCEL.
func TestContextCancel(t *testing.T) {
	srv := newFakeServer(t, fakeOptions{ioDelay: 500 * time.Millisecond})
	s := dialFake(t, srv, testDialer())
	sh := mountFake(t, s)
	writeFile(t, sh, "slow", []byte("x"))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	f, err := sh.WithContext(ctx).Open("slow")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = f.Read(make([]byte, 10))
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 400*time.Millisecond {
		t.Fatalf("Read: %v after %v", err, time.Since(start))
	}
	deadline := time.Now().Add(2 * time.Second)
	for srv.stats.cancels.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if srv.stats.cancels.Load() == 0 {
		t.Fatal("no CANCEL sent")
	}
	// The session stays usable.
	if _, err := sh.Stat("slow"); err != nil {
		t.Fatalf("Stat after cancel: %v", err)
	}
}

// TestStatusMapping: NTSTATUS to io/fs errors.
func TestStatusMapping(t *testing.T) {
	srv := newFakeServer(t, fakeOptions{})
	s := dialFake(t, srv, testDialer())
	sh := mountFake(t, s)
	writeFile(t, sh, "exists", []byte("x"))
	var st ntstatus.Status
	if _, err := sh.Stat("nope"); !errors.Is(err, fs.ErrNotExist) || !errors.As(err, &st) || st != ntstatus.ObjectNameNotFound {
		t.Errorf("Stat(nope): %v", err)
	}
	if _, err := sh.Stat("nodir/x"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat(nodir/x): %v", err)
	}
	if _, err := sh.OpenFile("exists", os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644); !errors.Is(err, fs.ErrExist) {
		t.Errorf("O_EXCL: %v", err)
	}
	if _, err := sh.Open("denied"); !errors.Is(err, fs.ErrPermission) {
		t.Errorf("Open(denied): %v", err)
	}
	if _, err := sh.Open("/abs"); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("Open(/abs): %v", err)
	}
	if _, err := s.Mount(context.Background(), "nosuchshare"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Mount(nosuchshare): %v", err)
	}
	var se *StatusError
	if err := sh.Remove("nope"); !errors.As(err, &se) || se.Code() != uint32(ntstatus.ObjectNameNotFound) {
		t.Errorf("Remove(nope): %v", err)
	}
}

func randomBytes(t testing.TB, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t testing.TB, sh *Share, name string, data []byte) {
	t.Helper()
	f, err := sh.Create(name)
	if err != nil {
		t.Fatalf("Create(%s): %v", name, err)
	}
	if n, err := io.Copy(f, bytes.NewReader(data)); n != int64(len(data)) || err != nil {
		t.Fatalf("write %s: %d, %v", name, n, err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("Close(%s): %v", name, err)
	}
}
