package client

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"slices"
	"testing"

	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
)

// TestNegotiateRequestEncoding decodes our request with the server-side
// parser and checks the layout Samba insists on.
func TestNegotiateRequestEncoding(t *testing.T) {
	d := &Dialer{RequireSigning: true, SigningAlgorithms: []uint16{SigningAESCMAC, SigningAESGMAC}}
	req, err := d.negotiateRequest()
	if err != nil {
		t.Fatal(err)
	}
	msg := appendNegotiateRequest(newMessage(wire.CmdNegotiate, 128), req)
	r, err := wire.ParseNegotiateRequest(msg)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.Dialects, allDialects) || r.SecurityMode != wire.SigningRequired ||
		r.Capabilities != wire.CapLargeMTU|wire.CapEncryption || r.ClientGUID != req.ClientGUID || r.ClientGUID == [16]byte{} {
		t.Fatalf("decoded %+v", r)
	}
	off := binary.LittleEndian.Uint32(msg[wire.HeaderSize+28:])
	if want := uint32(wire.Pad8(wire.HeaderSize + 36 + 2*len(allDialects))); off != want {
		t.Fatalf("NegotiateContextOffset %d, want %d", off, want)
	}
	if len(r.Contexts) != 3 || r.Contexts[0].Type != wire.CtxPreauthIntegrity || r.Contexts[1].Type != wire.CtxSigning ||
		r.Contexts[2].Type != wire.CtxEncryption {
		t.Fatalf("contexts %+v", r.Contexts)
	}
	pc, err := wire.ParsePreauthContext(r.Contexts[0].Data)
	if err != nil || !slices.Equal(pc.HashAlgorithms, []uint16{wire.HashSHA512}) || len(pc.Salt) != 32 {
		t.Fatalf("preauth context %+v, %v", pc, err)
	}
	if ids, _ := wire.ParseIDList(r.Contexts[1].Data, 0); !slices.Equal(ids, []uint16{SigningAESCMAC, SigningAESGMAC}) {
		t.Fatalf("signing offer %v", ids)
	}
	if ids, _ := wire.ParseIDList(r.Contexts[2].Data, 0); !slices.Equal(ids, DefaultCiphers()) {
		t.Fatalf("cipher offer %v", ids)
	}
}

func TestNegotiateRequestWithout311(t *testing.T) {
	if zero := (&Dialer{}).securityMode(); zero != wire.SigningRequired {
		t.Errorf("zero Dialer SecurityMode %d, want SIGNING_REQUIRED", zero)
	}
	d := &Dialer{MaxDialect: Dialect202, AllowUnsigned: true}
	req, err := d.negotiateRequest()
	if err != nil {
		t.Fatal(err)
	}
	msg := appendNegotiateRequest(newMessage(wire.CmdNegotiate, 64), req)
	if len(msg) != wire.HeaderSize+36+2 || req.SecurityMode != wire.SigningEnabled || req.Capabilities != 0 ||
		req.ClientGUID != [16]byte{} {
		t.Fatalf("2.0.2-only request: %d bytes, %+v", len(msg), req)
	}
}

func TestDialerValidation(t *testing.T) {
	bad := []Dialer{
		{MinDialect: Dialect311, MaxDialect: Dialect202},
		{MinDialect: 0x0201},
		{SigningAlgorithms: []uint16{}},
		{SigningAlgorithms: []uint16{SigningAESCMAC, SigningAESCMAC}},
		{SigningAlgorithms: []uint16{7}},
		{Ciphers: []uint16{}},
		{Ciphers: []uint16{CipherAES128GCM, CipherAES128GCM}},
		{Ciphers: []uint16{9}},
	}
	for _, d := range bad {
		if _, err := d.negotiateRequest(); err == nil {
			t.Errorf("%+v accepted", d)
		}
	}
	d := Dialer{MinDialect: Dialect300, MaxDialect: Dialect302}
	if got, _ := d.dialects(); !slices.Equal(got, []uint16{Dialect300, Dialect302}) {
		t.Errorf("dialects %v", got)
	}
}

// negotiationFor builds a negotiation from a request and a response
// built with the server-side encoder.
func negotiationFor(t *testing.T, req *negotiateRequest, resp *wire.NegotiateResponse) error {
	t.Helper()
	msg := wire.AppendNegotiateResponse(wire.AppendHeader(nil, &wire.Header{Command: wire.CmdNegotiate, Flags: wire.FlagServerToRedir}), resp)
	r, err := wire.ParseNegotiateResponse(msg)
	if err != nil {
		t.Fatal(err)
	}
	n := &negotiation{req: *req, resp: r}
	return n.check()
}

func TestNegotiateResponseValidation(t *testing.T) {
	d := &Dialer{SigningAlgorithms: []uint16{SigningAESCMAC}}
	req, _ := d.negotiateRequest()
	good := func() *wire.NegotiateResponse {
		return &wire.NegotiateResponse{Dialect: Dialect311, MaxTransactSize: 1 << 20, MaxReadSize: 1 << 20, MaxWriteSize: 1 << 20,
			Contexts: []wire.NegContext{preauthContext(make([]byte, 32)), signingContext([]uint16{SigningAESCMAC})}}
	}
	if err := negotiationFor(t, req, good()); err != nil {
		t.Fatalf("good response: %v", err)
	}
	cases := map[string]func(r *wire.NegotiateResponse){
		"dialect not offered":   func(r *wire.NegotiateResponse) { r.Dialect = 0x0300 + 0x20 },
		"small MaxReadSize":     func(r *wire.NegotiateResponse) { r.MaxReadSize = 4096 },
		"no preauth context":    func(r *wire.NegotiateResponse) { r.Contexts = r.Contexts[1:] },
		"algorithm not offered": func(r *wire.NegotiateResponse) { r.Contexts[1] = signingContext([]uint16{SigningAESGMAC}) },
		"two algorithms": func(r *wire.NegotiateResponse) {
			r.Contexts[1] = signingContext([]uint16{SigningAESCMAC, SigningAESGMAC})
		},
		"preauth not SHA-512":  func(r *wire.NegotiateResponse) { r.Contexts[0].Data[4] = 2 },
		"two signing contexts": func(r *wire.NegotiateResponse) { r.Contexts = append(r.Contexts, r.Contexts[1]) },
		"cipher not offered":   func(r *wire.NegotiateResponse) { r.Contexts = append(r.Contexts, signingCtxOf(wire.CtxEncryption, 7)) },
		"two cipher contexts": func(r *wire.NegotiateResponse) {
			r.Contexts = append(r.Contexts, signingCtxOf(wire.CtxEncryption, 2), signingCtxOf(wire.CtxEncryption, 2))
		},
		"unsolicited compression": func(r *wire.NegotiateResponse) { r.Contexts = append(r.Contexts, signingCtxOf(wire.CtxCompression, 1)) },
	}
	for name, mutate := range cases {
		r := good()
		mutate(r)
		if err := negotiationFor(t, req, r); !errors.Is(err, ErrInvalidResponse) {
			t.Errorf("%s: %v, want ErrInvalidResponse", name, err)
		}
	}
	r := good()
	r.Contexts = r.Contexts[:1]
	if err := negotiationFor(t, req, r); err != nil {
		t.Fatalf("no signing context: %v", err)
	}
}

func signingCtxOf(typ, id uint16) wire.NegContext {
	c := signingContext([]uint16{id})
	c.Type = typ
	return c
}

// TestNegotiateProbe: Dialer.Negotiate reports what the server said, and
// the server sees our offer order and picks by its own preference.
func TestNegotiateProbe(t *testing.T) {
	srv := newFakeServer(t, fakeOptions{requireSigning: true, signingPrefs: []uint16{SigningAESCMAC, SigningAESGMAC}})
	d := &Dialer{SigningAlgorithms: []uint16{SigningAESGMAC, SigningHMACSHA256, SigningAESCMAC}}
	info, err := d.Negotiate(context.Background(), srv.addr())
	if err != nil {
		t.Fatal(err)
	}
	if info.Dialect != Dialect311 || !info.SigningRequired || !info.SigningEnabled ||
		info.SigningAlgorithm != SigningAESCMAC || !info.SigningAlgorithmNegotiated || info.ServerGUID != fakeServerGUID {
		t.Fatalf("info %+v", info)
	}
	if got := srv.stats.offeredAlgs.Load().([]uint16); !slices.Equal(got, d.SigningAlgorithms) {
		t.Fatalf("server saw offer %v", got)
	}
	d.SigningAlgorithms = []uint16{SigningHMACSHA256}
	info, err = d.Negotiate(context.Background(), srv.addr())
	if err != nil || info.SigningAlgorithmNegotiated || info.SigningAlgorithm != SigningAESCMAC {
		t.Fatalf("unsupported offer: %+v, %v", info, err)
	}
	old := newFakeServer(t, fakeOptions{maxDialect: Dialect210})
	_, err = (&Dialer{MinDialect: Dialect300}).Negotiate(context.Background(), old.addr())
	var st ntstatus.Status
	if !errors.As(err, &st) || st != ntstatus.NotSupported {
		t.Fatalf("no common dialect: %v", err)
	}
}

func TestParseDialect(t *testing.T) {
	for in, want := range map[string]uint16{"2.0.2": Dialect202, "2.1": Dialect210, "3.0": Dialect300,
		"3.0.2": Dialect302, "3.1.1": Dialect311, "311": Dialect311, "0x0302": Dialect302, "SMB3_11": Dialect311, "SMB2_02": Dialect202} {
		if got, err := ParseDialect(in); got != want || err != nil {
			t.Errorf("ParseDialect(%q) = %x, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "3", "4.0", "SMB1"} {
		if _, err := ParseDialect(in); err == nil {
			t.Errorf("ParseDialect(%q) accepted", in)
		}
	}
}

func TestSplitAddr(t *testing.T) {
	cases := map[string][2]string{
		"server":          {"server", "server:445"},
		"server:4445":     {"server", "server:4445"},
		"127.0.0.1":       {"127.0.0.1", "127.0.0.1:445"},
		"[::1]:4445":      {"::1", "[::1]:4445"},
		"::1":             {"::1", "[::1]:445"},
		"[fe80::1]":       {"fe80::1", "[fe80::1]:445"},
		"files.example.o": {"files.example.o", "files.example.o:445"},
	}
	for in, want := range cases {
		h, hp, err := SplitAddr(in)
		if err != nil || h != want[0] || hp != want[1] {
			t.Errorf("SplitAddr(%q) = %q, %q, %v", in, h, hp, err)
		}
	}
	for _, in := range []string{"", "a:b:c", "host:", ":445", "a/b"} {
		if _, _, err := SplitAddr(in); err == nil {
			t.Errorf("SplitAddr(%q) accepted", in)
		}
	}
}

func TestCreditCharge(t *testing.T) {
	for in, want := range map[int]uint16{0: 1, 1: 1, 65536: 1, 65537: 2, 1 << 20: 16, 8 << 20: 128} {
		if got := creditCharge(in); got != want {
			t.Errorf("creditCharge(%d) = %d, want %d", in, got, want)
		}
	}
}

// TestCreditPool: MessageIds are consecutive per charge, waiters wake on
// grants, and a starved pool with nothing in flight fails.
func TestCreditPool(t *testing.T) {
	p := newCreditPool()
	ctx := context.Background()
	id, ask, err := p.acquire(ctx, 1)
	if id != 0 || err != nil || ask < 1 {
		t.Fatalf("first acquire: %d %d %v", id, ask, err)
	}
	p.grant(20, true, 1)
	if id, _, _ := p.acquire(ctx, 16); id != 1 {
		t.Fatalf("id %d, want 1", id)
	}
	if id, _, _ := p.acquire(ctx, 4); id != 17 {
		t.Fatalf("id %d, want 17", id)
	}
	done := make(chan uint64)
	go func() {
		id, _, _ := p.acquire(ctx, 2)
		done <- id
	}()
	p.grant(2, false, 0) // interim grant
	if id := <-done; id != 21 {
		t.Fatalf("woken waiter got %d", id)
	}
	p.close(ErrClosed)
	if _, _, err := p.acquire(ctx, 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("acquire after close: %v", err)
	}
}

func TestCreditPoolWaitsWhileInFlight(t *testing.T) {
	p := newCreditPool()
	p.acquire(context.Background(), 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := p.acquire(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("acquire with a request in flight: %v, want to wait (context.Canceled)", err)
	}
	p.grant(1, true, 1)
	if _, _, err := p.acquire(context.Background(), 5); !errors.Is(err, errNoCredits) {
		t.Fatalf("starved acquire: %v", err)
	}
}

// TestNegotiateFrameLayout pins our request header fields.
func TestNegotiateFrameLayout(t *testing.T) {
	msg := newMessage(wire.CmdSessionSetup, 0)
	if len(msg) != 64 || binary.LittleEndian.Uint16(msg[12:]) != uint16(wire.CmdSessionSetup) || !bytes.Equal(msg[:12], make([]byte, 12)) {
		t.Fatalf("newMessage: % x", msg)
	}
}
