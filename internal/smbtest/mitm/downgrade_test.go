package mitm

import (
	"context"
	"encoding/binary"
	"errors"
	"slices"
	"testing"

	"github.com/signetsmb/signet/client"
	"github.com/signetsmb/signet/internal/smbtest/wiretap"
	"github.com/signetsmb/signet/internal/wire"
)

var le = binary.LittleEndian

// negBody is where the NEGOTIATE request and response bodies start.
const negBody = wire.HeaderSize

// clearRequestSigningRequired removes SIGNING_REQUIRED from the client's
// NEGOTIATE SecurityMode, the classic downgrade of the signing policy.
func clearRequestSigningRequired(msg []byte) []byte {
	out := append([]byte(nil), msg...)
	le.PutUint16(out[negBody+4:], le.Uint16(out[negBody+4:])&^wire.SigningRequired)
	return out
}

// clearResponseSigningRequired removes SIGNING_REQUIRED from the server's
// NEGOTIATE response SecurityMode.
func clearResponseSigningRequired(msg []byte) []byte {
	out := append([]byte(nil), msg...)
	le.PutUint16(out[negBody+2:], le.Uint16(out[negBody+2:])&^wire.SigningRequired)
	return out
}

// dropDialects removes dialects from a NEGOTIATE request. It must remove
// 3.1.1 when the request offers it: the negotiate contexts are dropped
// with it (their offset and count become ClientStartTime, zero).
func dropDialects(drop ...uint16) func([]byte) []byte {
	return func(msg []byte) []byte {
		r, err := wire.ParseNegotiateRequest(msg)
		if err != nil {
			panic(err)
		}
		keep := slices.DeleteFunc(r.Dialects, func(d uint16) bool { return slices.Contains(drop, d) })
		if slices.Contains(keep, wire.Dialect311) {
			panic("dropDialects keeps 3.1.1 and cannot move its contexts")
		}
		out := append([]byte(nil), msg[:negBody+36]...)
		le.PutUint16(out[negBody+2:], uint16(len(keep)))
		clear(out[negBody+28 : negBody+36])
		for _, d := range keep {
			out = le.AppendUint16(out, d)
		}
		return out
	}
}

// signingOfferHMACOnly rewrites the 3.1.1 SIGNING_CAPABILITIES context of
// a NEGOTIATE request to offer HMAC-SHA256 alone (same length: the count
// becomes 1), so that the server picks the weakest algorithm.
func signingOfferHMACOnly(msg []byte) []byte {
	out := append([]byte(nil), msg...)
	p, n := int(le.Uint32(out[negBody+28:])), int(le.Uint16(out[negBody+32:]))
	for range n {
		p = wire.Pad8(p)
		typ, dlen := le.Uint16(out[p:]), int(le.Uint16(out[p+2:]))
		if typ == wire.CtxSigning {
			le.PutUint16(out[p+8:], 1)
			le.PutUint16(out[p+10:], client.SigningHMACSHA256)
			return out
		}
		p += 8 + dlen
	}
	panic("no SIGNING_CAPABILITIES context")
}

// smb1Negotiate2002 replaces the client's SMB2 NEGOTIATE with an SMB1
// multi-protocol NEGOTIATE offering "SMB 2.002" as its only SMB2 dialect;
// the server answers it with an SMB2 NEGOTIATE response selecting 2.0.2
// and MessageId 0, which the client takes for the answer to its request.
func smb1Negotiate2002([]byte) []byte {
	msg := make([]byte, 32, 64)
	copy(msg, wire.ProtocolSMB1[:])
	msg[4] = 0x72        // SMB_COM_NEGOTIATE
	msg[9] = 0x18        // Flags: case insensitive, canonicalized paths
	msg = append(msg, 0) // WordCount
	dialects := "\x02NT LM 0.12\x00\x02" + wire.SMB1DialectSMB2002 + "\x00"
	msg = le.AppendUint16(msg, uint16(len(dialects)))
	return append(msg, dialects...)
}

// downgrade is one tampering of the NEGOTIATE exchange.
type downgrade struct {
	name       string
	maxDialect uint16 // the client's offer: 2.0.2 up to this
	dir        wiretap.Direction
	edit       func([]byte) []byte
	// serverRequires is the server's RequireSigning: off when the attack
	// targets the client's requirement, so that it would matter.
	serverRequires bool
	// Detection. With 3.0 and 3.0.2 (and, downgraded, 2.x) the client's
	// signed FSCTL_VALIDATE_NEGOTIATE_INFO after the first TREE_CONNECT
	// exposes the change: the server compares it with the NEGOTIATE it
	// saw and terminates the connection [MS-SMB2 3.3.5.15.12] (serverLog
	// names the mismatch), or the client compares the signed answer with
	// the NEGOTIATE response it saw and terminates [MS-SMB2 3.2.5.14.12].
	// With 3.1.1 the preauth integrity hash covers both NEGOTIATE
	// messages, so the two sides derive different keys and the client
	// refuses the final SESSION_SETUP response [MS-SMB2 3.2.5.3.1]
	// (atLogon).
	dialect   uint16 // negotiated after the tampering
	serverLog string
	atLogon   bool
}

func downgrades() []downgrade {
	c2s, s2c := wiretap.ClientToServer, wiretap.ServerToClient
	return []downgrade{
		{name: "3.0/client SIGNING_REQUIRED cleared", maxDialect: wire.Dialect300, dir: c2s, edit: clearRequestSigningRequired,
			dialect: wire.Dialect300, serverLog: "security mode differs"},
		{name: "3.0.2/client SIGNING_REQUIRED cleared", maxDialect: wire.Dialect302, dir: c2s, edit: clearRequestSigningRequired,
			dialect: wire.Dialect302, serverLog: "security mode differs"},
		{name: "3.0.2/3.0.2 removed", maxDialect: wire.Dialect302, dir: c2s, edit: dropDialects(wire.Dialect302),
			dialect: wire.Dialect300, serverLog: "dialect list differs"},
		{name: "3.0/3.0 removed", maxDialect: wire.Dialect300, dir: c2s, edit: dropDialects(wire.Dialect300),
			dialect: wire.Dialect210, serverLog: "dialect list differs"},
		{name: "3.0.2/server SIGNING_REQUIRED cleared", maxDialect: wire.Dialect302, dir: s2c, edit: clearResponseSigningRequired,
			serverRequires: true, dialect: wire.Dialect302},
		{name: "3.1.1/client SIGNING_REQUIRED cleared", maxDialect: wire.Dialect311, dir: c2s, edit: clearRequestSigningRequired,
			atLogon: true},
		{name: "3.1.1/signing offer cut to HMAC-SHA256", maxDialect: wire.Dialect311, dir: c2s, edit: signingOfferHMACOnly,
			atLogon: true},
		{name: "3.1.1/server SIGNING_REQUIRED cleared", maxDialect: wire.Dialect311, dir: s2c, edit: clearResponseSigningRequired,
			serverRequires: true, atLogon: true},
		{name: "3.1.1/3.1.1 removed", maxDialect: wire.Dialect311, dir: c2s, edit: dropDialects(wire.Dialect311),
			dialect: wire.Dialect302, serverLog: "dialect list differs"},
		{name: "3.1.1/every 3.x removed", maxDialect: wire.Dialect311, dir: c2s,
			edit:    dropDialects(wire.Dialect300, wire.Dialect302, wire.Dialect311),
			dialect: wire.Dialect210, serverLog: "dialect list differs"},
		{name: "3.1.1/all but 2.0.2 removed", maxDialect: wire.Dialect311, dir: c2s,
			edit:    dropDialects(wire.Dialect210, wire.Dialect300, wire.Dialect302, wire.Dialect311),
			dialect: wire.Dialect202, serverLog: "dialect list differs"},
		{name: "3.1.1/NEGOTIATE replaced by SMB1 offering SMB 2.002", maxDialect: wire.Dialect311, dir: c2s,
			edit: smb1Negotiate2002, dialect: wire.Dialect202, serverLog: "dialect list differs"},
	}
}

// TestNegotiateDowngrade: a man in the middle edits the NEGOTIATE request
// or response. Whoever notices, the client never ends up with a working
// session: no file request is ever sent, and every later use of the
// session fails. Without the tampering the same client works (the last
// check of each case).
func TestNegotiateDowngrade(t *testing.T) {
	for _, dg := range downgrades() {
		t.Run(dg.name, func(t *testing.T) {
			e := newEnv(t, dg.serverRequires)
			tr := &trap{dir: dg.dir, cmd: wire.CmdNegotiate, edit: dg.edit}
			tr.arm()
			tap := e.tap(tr.mutate)
			d := victim()
			d.MaxDialect = dg.maxDialect
			dg.check(t, e, tap, d)
			if tr.hits.Load() != 1 {
				t.Fatal("NEGOTIATE was not tampered with")
			}
			if n := len(find(tap, wiretap.ClientToServer, wire.CmdCreate)); n != 0 {
				t.Fatalf("%d CREATE requests went out on the downgraded session", n)
			}
			e.mount(tap.Addr(), d) // the trap is spent: an untouched session works
			e.stillServes()
		})
	}
}

// check logs on through the tap and expects the downgrade to be caught.
func (dg *downgrade) check(t *testing.T, e *env, tap *wiretap.Tap, d *client.Dialer) {
	s, err := e.dial(tap.Addr(), d)
	if dg.atLogon {
		if !errors.Is(err, client.ErrBadSignature) {
			t.Fatalf("logon after a tampered 3.1.1 NEGOTIATE: %v; want ErrBadSignature", err)
		}
		return
	}
	if err != nil {
		t.Fatalf("logon: %v", err)
	}
	if s.Dialect() != dg.dialect {
		t.Fatalf("negotiated %s, want the downgrade to %s", client.DialectName(s.Dialect()), client.DialectName(dg.dialect))
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if _, err := s.Mount(ctx, "share"); !errors.Is(err, client.ErrValidateNegotiate) {
		t.Fatalf("Mount on a session negotiated at %s after tampering: %v; want ErrValidateNegotiate",
			client.DialectName(s.Dialect()), err)
	}
	if _, err := s.Mount(ctx, "share"); err == nil {
		t.Fatal("the session works after a failed validation")
	}
	if dg.serverLog != "" && !e.waitLog("reason=validate_negotiate_mismatch", dg.serverLog) {
		t.Errorf("the server did not detect the mismatch (%q)", dg.serverLog)
	}
}

// TestValidateNegotiateHonest: without a man in the middle, every dialect
// but 3.1.1 validates its negotiation after the first TREE_CONNECT and the
// server confirms it with a signed STATUS_SUCCESS, whether the client
// offered one dialect or a range.
func TestValidateNegotiateHonest(t *testing.T) {
	e := newEnv(t, true)
	for _, max := range []uint16{wire.Dialect202, wire.Dialect210, wire.Dialect300, wire.Dialect302} {
		for _, min := range []uint16{wire.Dialect202, max} {
			t.Run(client.DialectName(min)+"-"+client.DialectName(max), func(t *testing.T) {
				tap := e.tap(nil)
				d := victim()
				d.MinDialect, d.MaxDialect = min, max
				s, _ := e.mount(tap.Addr(), d)
				if s.Dialect() != max {
					t.Fatalf("negotiated %s", client.DialectName(s.Dialect()))
				}
				resps := find(tap, wiretap.ServerToClient, wire.CmdIoctl)
				if len(resps) != 1 || resps[0].Status != 0 || resps[0].SigValid != wiretap.Valid {
					t.Fatalf("VALIDATE_NEGOTIATE_INFO answers: %v\n%s", resps, tap.Transcript())
				}
			})
		}
	}
}
