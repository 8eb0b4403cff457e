package spnego

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/signetsmb/signet/auth"
)

// SIGNING.md 12.3 item 1.
const negTokenInit2Hex = "604806062b0601050502a03e303ca00e300c060a2b06010401823702020a" +
	"a32a3028a0261b246e6f745f646566696e65645f696e5f5246433431373840706c656173655f69676e6f7265"

func TestNegTokenInit2(t *testing.T) {
	got := NegTokenInit2()
	if len(got) != 74 || hex.EncodeToString(got) != negTokenInit2Hex {
		t.Fatalf("NegTokenInit2 = %x (%d bytes)", got, len(got))
	}
	init, err := parseInitialContextToken(got)
	if err != nil || len(init.mechTypes) != 1 || string(init.mechTypes[0]) != oidNTLMSSP ||
		init.mechToken != nil || init.mechListMIC != nil {
		t.Fatalf("parse: %+v, %v", init, err)
	}
}

// TestWindowsTokens parses the real SPNEGO tokens of the Windows exchange,
// extracts the NTLM messages and the mechListMIC exactly, and re-encodes
// them to the same bytes.
func TestWindowsTokens(t *testing.T) {
	w := loadWindows(t)

	init, err := parseInitialContextToken(w.init)
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(init.mechTypesDER) != "300c060a2b06010401823702020a" ||
		len(init.mechTypes) != 1 || !bytes.Equal(init.mechToken, w.negotiate) || init.mechListMIC != nil {
		t.Fatalf("NegTokenInit: %+v", init)
	}
	if got := marshalInitialContextToken(init.mechTypesDER, init.mechToken); !bytes.Equal(got, w.init) {
		t.Fatalf("re-encoded NegTokenInit\n got %x\nwant %x", got, w.init)
	}

	chal, err := parseNegTokenResp(w.challengeResp)
	if err != nil {
		t.Fatal(err)
	}
	if chal.state != stateAcceptIncomplete || string(chal.supportedMech) != oidNTLMSSP ||
		!bytes.Equal(chal.responseToken, w.challenge) || chal.mechListMIC != nil {
		t.Fatalf("challenge NegTokenResp: %+v", chal)
	}
	if got := chal.marshal(); !bytes.Equal(got, w.challengeResp) {
		t.Fatalf("re-encoded challenge NegTokenResp\n got %x\nwant %x", got, w.challengeResp)
	}

	authResp, err := parseNegTokenResp(w.authResp)
	if err != nil {
		t.Fatal(err)
	}
	if authResp.state != stateAcceptIncomplete || authResp.supportedMech != nil ||
		!bytes.Equal(authResp.responseToken, w.authenticate) ||
		hex.EncodeToString(authResp.mechListMIC) != "0100000063775a9a5fd97f0600000000" {
		t.Fatalf("authenticate NegTokenResp: %+v", authResp)
	}
	if got := authResp.marshal(); !bytes.Equal(got, w.authResp) {
		t.Fatalf("re-encoded authenticate NegTokenResp\n got %x\nwant %x", got, w.authResp)
	}

	// Windows' NegTokenInit2 offers NEGOEX first, with a NEGOEX mechToken.
	hint, err := parseInitialContextToken(w.hint)
	if err != nil {
		t.Fatal(err)
	}
	if len(hint.mechTypes) != 2 || indexOf(hint.mechTypes, oidNTLMSSP) != 1 || len(hint.mechToken) != 0x108 {
		t.Fatalf("Windows NegTokenInit2: %d mechs, NTLMSSP at %d, mechToken %d bytes",
			len(hint.mechTypes), indexOf(hint.mechTypes, oidNTLMSSP), len(hint.mechToken))
	}
}

func TestRejectToken(t *testing.T) {
	if got := hex.EncodeToString(rejectToken()); got != "a1073005a0030a0102" {
		t.Fatalf("reject token %s", got)
	}
	if got := (&negTokenResp{state: stateAcceptCompleted}).marshal(); hex.EncodeToString(got) != "a1073005a0030a0100" {
		t.Fatalf("accept-completed token %x", got)
	}
}

func TestDERLengths(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, 255, 256, 65535, 65536, 1 << 20} {
		body := make([]byte, n)
		enc := appendElement(nil, tagOctetString, body)
		e, rest, err := readElement(enc)
		if err != nil || len(rest) != 0 || len(e.body) != n || !bytes.Equal(e.raw, enc) {
			t.Fatalf("length %d: %v", n, err)
		}
		if n < 128 && len(enc) != n+2 {
			t.Fatalf("length %d: short form not used", n)
		}
	}
	// Non-minimal long form is accepted (BER leniency).
	if e, _, err := readElement([]byte{0x04, 0x82, 0x00, 0x01, 0xaa}); err != nil || len(e.body) != 1 {
		t.Fatalf("non-minimal length: %v", err)
	}
	for name, b := range map[string][]byte{
		"empty":              {},
		"tag only":           {0x04},
		"indefinite":         {0x30, 0x80, 0x00, 0x00},
		"beyond buffer":      {0x04, 0x05, 1, 2},
		"long beyond buffer": {0x04, 0x82, 0x01, 0x00, 1},
		"truncated length":   {0x04, 0x82, 0x01},
		"five length octets": {0x04, 0x85, 0, 0, 0, 0, 1, 0},
		"huge length":        {0x04, 0x84, 0xff, 0xff, 0xff, 0xff},
		"multi-octet tag":    {0x1f, 0x01, 0x00},
	} {
		if _, _, err := readElement(b); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestMalformedTokens(t *testing.T) {
	w := loadWindows(t)
	mechTypes := wrap(tagSequence, []byte(oidNTLMSSP))
	initWith := func(fields ...[]byte) []byte {
		return wrap(tagApplication0, []byte(oidSPNEGO), explicit(0, wrap(tagSequence, fields...)))
	}
	for name, tok := range map[string][]byte{
		"trailing bytes":       append(bytes.Clone(w.init), 0),
		"not SPNEGO":           wrap(tagApplication0, []byte(oidNTLMSSP), explicit(0, wrap(tagSequence))),
		"negTokenResp in 0x60": wrap(tagApplication0, []byte(oidSPNEGO), explicit(1, wrap(tagSequence))),
		"no mechTypes":         initWith(explicit(2, wrap(tagOctetString, []byte{1}))),
		"empty mechTypes":      initWith(explicit(0, wrap(tagSequence))),
		"mechType not OID":     initWith(explicit(0, wrap(tagSequence, wrap(tagOctetString, []byte{1})))),
		"out of order":         initWith(explicit(2, wrap(tagOctetString, nil)), explicit(0, mechTypes)),
		"duplicate field":      initWith(explicit(0, mechTypes), explicit(0, mechTypes)),
		"unknown field":        initWith(explicit(0, mechTypes), explicit(5, wrap(tagOctetString, nil))),
		"mechToken not octets": initWith(explicit(0, mechTypes), explicit(2, wrap(tagSequence))),
		"bad reqFlags":         initWith(explicit(0, mechTypes), explicit(1, wrap(tagOctetString, nil))),
		"bad field 3":          initWith(explicit(0, mechTypes), explicit(3, wrap(tagOID, []byte{1}))),
		"two in one field":     initWith(append(explicit(0, mechTypes), 0x05, 0x00)),
	} {
		if _, err := parseInitialContextToken(tok); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("NegTokenInit %s: err = %v", name, err)
		}
	}
	resp := func(fields ...[]byte) []byte { return wrap(tagContext0+1, wrap(tagSequence, fields...)) }
	for name, tok := range map[string][]byte{
		"wrong choice":       wrap(tagContext0, wrap(tagSequence)),
		"negState 4":         resp(explicit(0, wrap(tagEnumerated, []byte{4}))),
		"negState 2 octets":  resp(explicit(0, wrap(tagEnumerated, []byte{0, 1}))),
		"negState integer":   resp(explicit(0, wrap(0x02, []byte{1}))),
		"supportedMech str":  resp(explicit(1, wrap(tagOctetString, nil))),
		"responseToken OID":  resp(explicit(2, wrap(tagOID, []byte{1}))),
		"mechListMIC SEQ":    resp(explicit(3, wrap(tagSequence))),
		"field 4":            resp(explicit(4, wrap(tagOctetString, nil))),
		"trailing after seq": append(resp(), 0),
	} {
		if _, err := parseNegTokenResp(tok); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("NegTokenResp %s: err = %v", name, err)
		}
	}
}
