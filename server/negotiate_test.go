package server

import (
	"bytes"
	"testing"

	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/smbcrypto"
	"github.com/signetsmb/signet/internal/wire"
)

// Tests of NEGOTIATE [MS-SMB2 3.3.5.4] through the tester.

// negotiateWith sends nr and returns the response.
func (tc *tester) negotiateWith(nr *wire.NegotiateRequest) *resp {
	tc.t.Helper()
	return tc.roundTrip(tc.negotiateReqFrom(nr))
}

// TestNegotiateDialects: the server picks the highest offered dialect in
// its configured range; none in range is STATUS_NOT_SUPPORTED and the
// client may try again. The response advertises signing and I/O sizes.
func TestNegotiateDialects(t *testing.T) {
	tc := newTester(t, &testerConfig{MinDialect: wire.Dialect210, MaxDialect: wire.Dialect302})
	r := tc.negotiateReq(wire.Dialect202, wire.Dialect311, 0x0222)
	expectStatus(t, "no dialect in range", tc.roundTrip(r), ntstatus.NotSupported)
	nr := tc.negotiate(wire.Dialect311, wire.Dialect210, wire.Dialect302, wire.Dialect300)
	if nr.Dialect != wire.Dialect302 {
		t.Fatalf("dialect %s, want 3.0.2", wire.DialectName(nr.Dialect))
	}
	if nr.SecurityMode != wire.SigningEnabled|wire.SigningRequired || nr.Capabilities&wire.CapLargeMTU == 0 ||
		nr.MaxReadSize != maxIOSize || len(nr.Contexts) != 0 {
		t.Fatalf("response %+v", nr)
	}

	tc = newTester(t, &testerConfig{NoSigning: true})
	nr = tc.negotiate(wire.Dialect202)
	if nr.SecurityMode != wire.SigningEnabled || nr.MaxReadSize != maxIOSize202 || nr.Capabilities != 0 {
		t.Fatalf("2.0.2 response %+v", nr)
	}
}

// TestNegotiateMalformed: a signed NEGOTIATE, an empty dialect list, or
// more than 64 dialects are STATUS_INVALID_PARAMETER.
func TestNegotiateMalformed(t *testing.T) {
	tc := newTester(t, nil)
	r := tc.negotiateReq(wire.Dialect300)
	r.signFlag = true
	expectStatus(t, "signed NEGOTIATE", tc.roundTrip(r), ntstatus.InvalidParameter)
	expectStatus(t, "no dialects", tc.negotiateWith(&wire.NegotiateRequest{}), ntstatus.InvalidParameter)
	expectStatus(t, "65 dialects", tc.negotiateWith(&wire.NegotiateRequest{Dialects: make([]uint16, 65)}), ntstatus.InvalidParameter)
	tc.negotiate()
	if tc.dialect != wire.Dialect311 {
		t.Fatalf("dialect %#x", tc.dialect)
	}
}

// TestNegotiateContexts: 3.1.1 requires exactly one preauth integrity
// context offering SHA-512; the signing context selects the server's most
// preferred offered algorithm, and is not answered when none is known;
// the encryption context is answered with the preferred common cipher;
// netname and unknown contexts are tolerated and not answered
// [MS-SMB2 3.3.5.4].
func TestNegotiateContexts(t *testing.T) {
	salt := bytes.Repeat([]byte{1}, 32)
	preauth := wire.PreauthNegContext(salt)
	noSHA := wire.NegContext{Type: wire.CtxPreauthIntegrity, Data: []byte{1, 0, 0, 0, 2, 0}}
	sign := func(ids ...uint16) wire.NegContext { return wire.IDListNegContext(wire.CtxSigning, ids) }
	with := func(ctxs ...wire.NegContext) *wire.NegotiateRequest {
		return &wire.NegotiateRequest{SecurityMode: wire.SigningEnabled, Dialects: []uint16{wire.Dialect311}, Contexts: ctxs}
	}
	for name, c := range map[string]struct {
		req  *wire.NegotiateRequest
		want ntstatus.Status
	}{
		"no contexts":        {with(), ntstatus.InvalidParameter},
		"no preauth":         {with(sign(1)), ntstatus.InvalidParameter},
		"two preauth":        {with(preauth, preauth), ntstatus.InvalidParameter},
		"no SHA-512":         {with(noSHA), ntstatus.NoPreauthIntegrityHashOverlap},
		"short preauth":      {with(wire.NegContext{Type: wire.CtxPreauthIntegrity, Data: []byte{1}}), ntstatus.InvalidParameter},
		"empty signing list": {with(preauth, wire.NegContext{Type: wire.CtxSigning, Data: []byte{0, 0}}), ntstatus.InvalidParameter},
		"bad encryption":     {with(preauth, wire.NegContext{Type: wire.CtxEncryption, Data: []byte{1}}), ntstatus.InvalidParameter},
	} {
		t.Run(name, func(t *testing.T) {
			tc := newTester(t, nil)
			expectStatus(t, name, tc.negotiateWith(c.req), c.want)
		})
	}

	tc := newTester(t, &testerConfig{Settings: func(st *Settings) {
		st.SigningAlgorithms = []smbcrypto.Algorithm{smbcrypto.HMACSHA256, smbcrypto.AESCMAC}
	}})
	r := tc.negotiateReqFrom(with(preauth, sign(2, 1, 0), wire.IDListNegContext(wire.CtxEncryption, []uint16{1, 2}),
		wire.NegContext{Type: wire.CtxNetname, Data: wire.EncodeUTF16("TEST")}, wire.NegContext{Type: 0x7777, Data: []byte{1}}))
	resp := tc.roundTrip(r)
	expectStatus(t, "full 3.1.1 NEGOTIATE", resp, ntstatus.Success)
	tc.negotiated(r, resp)
	if tc.signingAlg != smbcrypto.HMACSHA256 || len(tc.neg.Contexts) != 3 {
		t.Fatalf("signing %v, %d contexts answered", tc.signingAlg, len(tc.neg.Contexts))
	}
	for _, ctx := range tc.neg.Contexts {
		if ctx.Type == wire.CtxEncryption && !bytes.Equal(ctx.Data, []byte{1, 0, 2, 0}) {
			t.Fatalf("encryption context %x, want AES-128-GCM (GCM preferred)", ctx.Data)
		}
	}
	tc.mustSessionSetup("alice", "pw")
	tc.mustTreeConnect("share")

	tc = newTester(t, nil)
	r = tc.negotiateReqFrom(with(preauth, sign(9)))
	resp = tc.roundTrip(r)
	expectStatus(t, "unknown signing algorithm", resp, ntstatus.Success)
	tc.negotiated(r, resp)
	if tc.signingAlg != smbcrypto.AESCMAC || len(tc.neg.Contexts) != 1 {
		t.Fatalf("without a common algorithm: %v, %d contexts; want AES-CMAC and no signing context", tc.signingAlg, len(tc.neg.Contexts))
	}
	tc.mustSessionSetup("alice", "pw")
	tc.mustTreeConnect("share")
}

// TestIOSizeLimits: WRITEs are limited to MaxWriteSize (2 MiB with
// LARGE_MTU, 64 KiB on 2.0.2) and READs to MaxReadSize (8 MiB); a WRITE
// one byte over is STATUS_INVALID_PARAMETER [MS-SMB2 3.3.5.13] and writes
// nothing, while a READ larger than MaxWriteSize is served.
func TestIOSizeLimits(t *testing.T) {
	for _, c := range []struct {
		dialect     uint16
		read, write uint32
	}{{wire.Dialect311, maxIOSize, maxWriteSize}, {wire.Dialect202, maxIOSize202, maxIOSize202}} {
		t.Run(wire.DialectName(c.dialect), func(t *testing.T) {
			tc := newSessionTester(t, nil, c.dialect)
			if tc.neg.MaxReadSize != c.read || tc.neg.MaxTransactSize != c.read || tc.neg.MaxWriteSize != c.write {
				t.Fatalf("MaxRead/Transact/WriteSize %d/%d/%d, want %d/%d/%d", tc.neg.MaxReadSize,
					tc.neg.MaxTransactSize, tc.neg.MaxWriteSize, c.read, c.read, c.write)
			}
			id := tc.mustCreate("limits.bin")
			data := bytes.Repeat([]byte{0x5a}, int(c.write)+1)
			if _, st := tc.write(id, 0, data); st != ntstatus.InvalidParameter {
				t.Fatalf("WRITE of MaxWriteSize+1 bytes: %v, want STATUS_INVALID_PARAMETER", st)
			}
			if b, st := tc.read(id, 0, 16); st != ntstatus.EndOfFile {
				t.Fatalf("the refused WRITE wrote something: %v, %d bytes", st, len(b))
			}
			size := 0
			for range 2 {
				n, st := tc.write(id, uint64(size), data[:c.write])
				if st != ntstatus.Success || n != c.write {
					t.Fatalf("WRITE of MaxWriteSize bytes: %v, %d", st, n)
				}
				size += int(n)
			}
			if c.read > c.write {
				b, st := tc.read(id, 0, uint32(size))
				if st != ntstatus.Success || len(b) != size {
					t.Fatalf("READ of %d bytes (over MaxWriteSize): %v, %d bytes", size, st, len(b))
				}
			}
			if _, st := tc.read(id, 0, c.read+1); st != ntstatus.InvalidParameter {
				t.Fatalf("READ of MaxReadSize+1 bytes: %v, want STATUS_INVALID_PARAMETER", st)
			}
		})
	}
}
