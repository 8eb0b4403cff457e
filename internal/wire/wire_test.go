package wire

import (
	"bytes"
	"encoding/hex"
	"os"
	"strings"
	"testing"
)

func loadHex(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	out, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The Windows 10 messages published with the 3.1.1 preauth example
// (testdata, from the Microsoft Open Specifications blog).
func TestParseWindowsNegotiate(t *testing.T) {
	msg := loadHex(t, "negotiate_req_311.hex")
	h, err := ParseHeader(msg)
	if err != nil {
		t.Fatal(err)
	}
	if h.Command != CmdNegotiate || h.MessageID != 1 || h.Credits != 0x80 {
		t.Fatalf("header %+v", h)
	}
	r, err := ParseNegotiateRequest(msg)
	if err != nil {
		t.Fatal(err)
	}
	want := []uint16{0x0202, 0x0210, 0x0300, 0x0302, 0x0311}
	if len(r.Dialects) != len(want) {
		t.Fatalf("dialects %x", r.Dialects)
	}
	for i := range want {
		if r.Dialects[i] != want[i] {
			t.Fatalf("dialects %x", r.Dialects)
		}
	}
	if len(r.Contexts) != 2 || r.Contexts[0].Type != CtxPreauthIntegrity || r.Contexts[1].Type != CtxEncryption {
		t.Fatalf("contexts %+v", r.Contexts)
	}
	p, err := ParsePreauthContext(r.Contexts[0].Data)
	if err != nil || len(p.HashAlgorithms) != 1 || p.HashAlgorithms[0] != HashSHA512 || len(p.Salt) != 32 {
		t.Fatalf("preauth %+v %v", p, err)
	}
	ciphers, err := ParseIDList(r.Contexts[1].Data, 0)
	if err != nil || len(ciphers) != 2 || ciphers[0] != 2 || ciphers[1] != 1 {
		t.Fatalf("ciphers %v %v", ciphers, err)
	}
	if r.SecurityMode != 0 || r.Capabilities != 0x3f { // as captured from Windows 10
		t.Fatalf("security mode %x caps %x", r.SecurityMode, r.Capabilities)
	}
}

func TestParseWindowsNegotiateResponse(t *testing.T) {
	msg := loadHex(t, "negotiate_resp_311.hex")
	r, err := ParseNegotiateResponse(msg)
	if err != nil {
		t.Fatal(err)
	}
	if r.Dialect != Dialect311 || r.SecurityMode != SigningEnabled || len(r.SecurityBuffer) != 0x140 || len(r.Contexts) != 2 {
		t.Fatalf("%+v", r)
	}
	if r.MaxReadSize != 0x800000 {
		t.Fatalf("max read %x", r.MaxReadSize)
	}
}

func TestParseWindowsSessionSetup(t *testing.T) {
	msg := loadHex(t, "sesssetup_req2_311.hex")
	r, err := ParseSessionSetupRequest(msg)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.SecurityBuffer) != 0x1cf || r.SecurityBuffer[0] != 0xa1 || r.SecurityMode != 1 {
		t.Fatalf("%+v", r)
	}
}

// Encoding then decoding a NEGOTIATE response gives the same values, and
// the contexts land 8-byte aligned from the header.
func TestNegotiateResponseRoundTrip(t *testing.T) {
	in := &NegotiateResponse{
		SecurityMode: SigningEnabled | SigningRequired, Dialect: Dialect311,
		ServerGUID: [16]byte{1, 2, 3}, Capabilities: CapLargeMTU,
		MaxTransactSize: 8 << 20, MaxReadSize: 8 << 20, MaxWriteSize: 8 << 20,
		SystemTime: 1234, SecurityBuffer: []byte{0x60, 1, 2},
		Contexts: []NegContext{{Type: CtxPreauthIntegrity, Data: []byte{1, 0, 0, 0, 1, 0}}, {Type: CtxSigning, Data: []byte{1, 0, 2, 0}}},
	}
	buf := make([]byte, HeaderSize)
	(&Header{Command: CmdNegotiate, Flags: FlagServerToRedir}).Put(buf)
	buf = AppendNegotiateResponse(buf, in)
	out, err := ParseNegotiateResponse(buf)
	if err != nil {
		t.Fatal(err)
	}
	if out.Dialect != in.Dialect || out.SecurityMode != in.SecurityMode || !bytes.Equal(out.SecurityBuffer, in.SecurityBuffer) ||
		len(out.Contexts) != 2 || !bytes.Equal(out.Contexts[1].Data, in.Contexts[1].Data) || out.ServerGUID != in.ServerGUID {
		t.Fatalf("round trip: %+v", out)
	}
	if off := le.Uint32(buf[HeaderSize+60:]); off%8 != 0 {
		t.Fatalf("context offset %d not aligned", off)
	}
}

func TestHeaderRoundTrip(t *testing.T) {
	for _, h := range []Header{
		{CreditCharge: 3, Status: 0xC0000022, Command: CmdRead, Credits: 7, Flags: FlagServerToRedir | FlagSigned, MessageID: 99, ProcessID: 0xFEFF, TreeID: 5, SessionID: 0x1122334455667788, Signature: [16]byte{9}},
		{Command: CmdChangeNotify, Flags: FlagServerToRedir | FlagAsyncCommand, MessageID: 4, AsyncID: 0xABCDEF, SessionID: 1},
	} {
		b := AppendHeader(nil, &h)
		if len(b) != HeaderSize {
			t.Fatal("size")
		}
		got, err := ParseHeader(b)
		if err != nil || got != h {
			t.Fatalf("got %+v want %+v (%v)", got, h, err)
		}
	}
	if _, err := ParseHeader(make([]byte, 63)); err == nil {
		t.Fatal("short header accepted")
	}
	bad := AppendHeader(nil, &Header{})
	bad[0] = 0xFF
	if _, err := ParseHeader(bad); err == nil {
		t.Fatal("bad protocol accepted")
	}
}

func TestSplitCompound(t *testing.T) {
	a := AppendHeader(nil, &Header{Command: CmdCreate, NextCommand: 72})
	a = append(a, make([]byte, 8)...)
	b := AppendHeader(nil, &Header{Command: CmdClose, Flags: FlagRelated})
	frame := append(append([]byte{}, a...), b...)
	elems, err := SplitCompound(frame, 8)
	if err != nil || len(elems) != 2 || len(elems[0]) != 72 || len(elems[1]) != 64 {
		t.Fatalf("%d elems, %v", len(elems), err)
	}
	for _, next := range []uint32{1, 63, 65, 4096} {
		bad := append([]byte{}, frame...)
		le.PutUint32(bad[20:], next)
		if _, err := SplitCompound(bad, 8); err == nil {
			t.Errorf("NextCommand %d accepted", next)
		}
	}
}

func TestParseSMB1Negotiate(t *testing.T) {
	// SMB1 NEGOTIATE as smbclient sends it (dialects abbreviated).
	var msg []byte
	msg = append(msg, 0xFF, 'S', 'M', 'B', 0x72)
	msg = append(msg, make([]byte, 27)...)
	dialects := "\x02NT LM 0.12\x00\x02SMB 2.002\x00\x02SMB 2.???\x00"
	msg = append(msg, 0)
	msg = le.AppendUint16(msg, uint16(len(dialects)))
	msg = append(msg, dialects...)
	got, err := ParseSMB1Negotiate(msg)
	if err != nil || strings.Join(got, ",") != "NT LM 0.12,SMB 2.002,SMB 2.???" {
		t.Fatalf("%q %v", got, err)
	}
	if _, err := ParseSMB1Negotiate(msg[:len(msg)-3]); err == nil {
		t.Fatal("truncated dialect accepted")
	}
}

func TestValidateNegotiateRoundTrip(t *testing.T) {
	v := &ValidateNegotiateInfo{Capabilities: 0x7f, GUID: [16]byte{4}, SecurityMode: 1, Dialects: []uint16{0x202, 0x300}}
	got, err := ParseValidateNegotiateInfo(AppendValidateNegotiateInfo(nil, v))
	if err != nil || got.Capabilities != v.Capabilities || got.GUID != v.GUID || len(got.Dialects) != 2 {
		t.Fatalf("%+v %v", got, err)
	}
}

func TestUTF16(t *testing.T) {
	for _, s := range []string{"", `\\server\share`, "日本語", "emoji 😀"} {
		if got := DecodeUTF16(EncodeUTF16(s)); got != s {
			t.Errorf("%q -> %q", s, got)
		}
	}
}

func FuzzParsers(f *testing.F) {
	f.Add(loadHex(f, "negotiate_req_311.hex"))
	f.Add(loadHex(f, "negotiate_resp_311.hex"))
	f.Add(loadHex(f, "sesssetup_req2_311.hex"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ParseHeader(b)
		ParseNegotiateRequest(b)
		ParseNegotiateResponse(b)
		ParseSessionSetupRequest(b)
		ParseSessionSetupResponse(b)
		ParseTreeConnectRequest(b)
		ParseIoctlRequest(b)
		ParseIoctlResponse(b)
		ParseSMB1Negotiate(b)
		SplitCompound(b, 64)
		if len(b) > 64 {
			ParseValidateNegotiateInfo(b[64:])
			ParsePreauthContext(b[64:])
			ParseIDList(b[64:], 2)
		}
	})
}
