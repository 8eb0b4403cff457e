package dcerpc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

func TestSyntaxConstants(t *testing.T) {
	for name, c := range map[string]struct {
		got   string
		uuid  string
		major uint16
		minor uint16
	}{
		"NDR20":  {syntaxNDR20, uuidNDR20, 2, 0},
		"NDR64":  {syntaxNDR64, uuidNDR64, 1, 0},
		"srvsvc": {syntaxSrvsvc, uuidSrvsvc, 3, 0},
		"wkssvc": {syntaxWkssvc, uuidWkssvc, 1, 0},
		"BTFN":   {btfnPrefix + "\x03\x00\x00\x00\x00\x00\x00\x00" + btfnVersion, "6cb71c2c-9812-4540-0300-000000000000", 1, 0},
	} {
		if want := uuidWire(t, c.uuid, c.major, c.minor); c.got != string(want) {
			t.Errorf("%s: % x, want % x", name, c.got, want)
		}
	}
}

// bindAckSrvsvcBody is the part of a srvsvc bind_ack between the header
// and the result list: max frags 4280/4280, assoc group 0x534e, secondary address
// "\PIPE\srvsvc" (13 octets with the NUL) and one pad octet.
const bindAckSrvsvcBody = `b810 b810 4e530000 0d00 5c504950455c73727673766300 00`

func TestBindAckGoldenImpacket(t *testing.T) {
	p, err := NewPipe("srvsvc", testBackend(), "alice", testMaxOutput)
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, p, readHex(t, "bind_srvsvc_impacket.hex"))
	want := mustHex(t, `05000c03 10000000 4400 0000 01000000`+bindAckSrvsvcBody+`
		01 00 0000
		0000 0000 045d888aeb1cc9119fe808002b104860 02000000`)
	got := drain(t, p)
	if len(got) != 1 || !bytes.Equal(got[0], want) {
		t.Fatalf("bind_ack\ngot  % x\nwant % x", got, want)
	}
}

func TestBindAckGoldenNDR64AndFeatureNegotiation(t *testing.T) {
	// Contexts 0 (NDR20), 1 (NDR64) and 2 (bind time feature negotiation
	// with bitmask 0x03) as Windows clients send them.
	p, _ := NewPipe(`\PIPE\srvsvc`, testBackend(), "", testMaxOutput)
	mustWrite(t, p, readHex(t, "bind_srvsvc_ndr20_ndr64_btfn.hex"))
	want := mustHex(t, `05000c03 10000000 7400 0000 02000000`+bindAckSrvsvcBody+`
		03 00 0000
		0000 0000 045d888aeb1cc9119fe808002b104860 02000000
		0200 0200 0000000000000000000000000000000000000000
		0300 0200 0000000000000000000000000000000000000000`)
	got := drain(t, p)
	if len(got) != 1 || !bytes.Equal(got[0], want) {
		t.Fatalf("bind_ack\ngot  % x\nwant % x", got, want)
	}
	if p.features != featureKeepConnectionOnOrphan || !p.hasContext(0) || p.hasContext(1) || p.hasContext(2) {
		t.Fatalf("features %#x contexts %v", p.features, p.contexts)
	}
}

func TestBindAckWkssvc(t *testing.T) {
	p, _ := NewPipe("WKSSVC", testBackend(), "", testMaxOutput)
	mustWrite(t, p, readHex(t, "bind_wkssvc_impacket.hex"))
	got := drain(t, p)
	wantAddr := []byte("\x0d\x00\\PIPE\\wkssvc\x00")
	if len(got) != 1 || got[0][2] != ptypeBindAck || !bytes.Equal(got[0][24:24+len(wantAddr)], wantAddr) {
		t.Fatalf("bind_ack % x", got)
	}
	if res := binary.LittleEndian.Uint16(got[0][44:]); res != ctxAcceptance {
		t.Fatalf("result %d", res)
	}
}

func TestBindRejections(t *testing.T) {
	ndr20 := uuidWire(t, uuidNDR20, 2, 0)
	ndr64 := uuidWire(t, uuidNDR64, 1, 0)
	for name, c := range map[string]struct {
		ctx    tCtx
		result uint16
		reason uint16
	}{
		"wrong interface":       {tCtx{0, uuidWire(t, uuidWkssvc, 1, 0), [][]byte{ndr20}}, 2, 1},
		"wrong major version":   {tCtx{0, uuidWire(t, uuidSrvsvc, 2, 0), [][]byte{ndr20}}, 2, 1},
		"newer minor version":   {tCtx{0, uuidWire(t, uuidSrvsvc, 3, 1), [][]byte{ndr20}}, 2, 1},
		"NDR64 only":            {tCtx{0, uuidWire(t, uuidSrvsvc, 3, 0), [][]byte{ndr64}}, 2, 2},
		"NDR64 then NDR20":      {tCtx{0, uuidWire(t, uuidSrvsvc, 3, 0), [][]byte{ndr64, ndr20}}, 0, 0},
		"NDR20 with wrong vers": {tCtx{0, uuidWire(t, uuidSrvsvc, 3, 0), [][]byte{uuidWire(t, uuidNDR20, 1, 0)}}, 2, 2},
	} {
		p, _ := NewPipe("srvsvc", testBackend(), "", testMaxOutput)
		mustWrite(t, p, tBind(ptypeBind, 9, 4280, 4280, c.ctx))
		got := drain(t, p)
		if len(got) != 1 || got[0][2] != ptypeBindAck {
			t.Fatalf("%s: % x", name, got)
		}
		res := got[0][44:]
		if r, rs := binary.LittleEndian.Uint16(res), binary.LittleEndian.Uint16(res[2:]); r != c.result || rs != c.reason {
			t.Errorf("%s: result %d reason %d, want %d %d", name, r, rs, c.result, c.reason)
		}
		wantTS := syntaxNull
		if c.result == ctxAcceptance {
			wantTS = syntaxNDR20
		}
		if string(res[4:24]) != wantTS {
			t.Errorf("%s: transfer syntax % x", name, res[4:24])
		}
	}
}

func TestBindNak(t *testing.T) {
	good := tBind(ptypeBind, 1, 4280, 4280, tCtx{0, uuidWire(t, uuidSrvsvc, 3, 0), [][]byte{uuidWire(t, uuidNDR20, 2, 0)}})
	withAuth := append([]byte(nil), good...)
	// Append an NTLMSSP-negotiate-sized verifier: sec_trailer + 16 octets.
	withAuth = append(withAuth, 10, 2, 0, 0, 1, 0, 0, 0)
	withAuth = append(withAuth, make([]byte, 16)...)
	binary.LittleEndian.PutUint16(withAuth[8:], uint16(len(withAuth)))
	binary.LittleEndian.PutUint16(withAuth[10:], 16)

	noCtx := tBind(ptypeBind, 1, 4280, 4280)
	noTransfer := tBind(ptypeBind, 1, 4280, 4280, tCtx{0, uuidWire(t, uuidSrvsvc, 3, 0), nil})
	truncated := append([]byte(nil), good[:len(good)-4]...)
	binary.LittleEndian.PutUint16(truncated[8:], uint16(len(truncated)))
	btfn := uuidWire(t, "6cb71c2c-9812-4540-0300-000000000000", 1, 0)
	twoBTFN := tBind(ptypeBind, 1, 4280, 4280,
		tCtx{0, uuidWire(t, uuidSrvsvc, 3, 0), [][]byte{btfn}},
		tCtx{1, uuidWire(t, uuidSrvsvc, 3, 0), [][]byte{btfn}})

	for name, c := range map[string]struct {
		pdus   [][]byte
		reason uint16
	}{
		"auth":                 {[][]byte{withAuth}, 8},
		"no context":           {[][]byte{noCtx}, 4},
		"truncated":            {[][]byte{truncated}, 4},
		"no transfer syntax":   {[][]byte{noTransfer}, 0},
		"two feature elements": {[][]byte{twoBTFN}, 0},
		"second bind":          {[][]byte{good, good}, 0},
	} {
		p, _ := NewPipe("srvsvc", testBackend(), "", testMaxOutput)
		for _, b := range c.pdus {
			mustWrite(t, p, b)
		}
		got := drain(t, p)
		nak := got[len(got)-1]
		want := mustHex(t, `05000d03 10000000 1800 0000 01000000`)
		want = binary.LittleEndian.AppendUint16(want, c.reason)
		want = append(want, 1, 5, 0, 0, 0, 0)
		if !bytes.Equal(nak, want) {
			t.Errorf("%s: got % x, want % x", name, nak, want)
		}
		if _, err := p.Write(good); !errors.Is(err, ErrPipeBroken) {
			t.Errorf("%s: Write after bind_nak: %v, want ErrPipeBroken", name, err)
		}
	}
}

func TestFragmentNegotiation(t *testing.T) {
	for _, c := range []struct{ xmit, recv, want uint16 }{
		{4280, 4280, 4280},
		{5840, 5840, 4280},
		{65535, 2048, 2048},
		{2048, 65535, 2048},
		{1000, 1000, 1432},
		{0, 0, 1432},
		{3001, 4000, 3000},
	} {
		if got := negotiateFrag(c.xmit, c.recv); got != c.want {
			t.Errorf("negotiateFrag(%d, %d) = %d, want %d", c.xmit, c.recv, got, c.want)
		}
	}
}

func TestAlterContext(t *testing.T) {
	p := newBoundPipe(t, "srvsvc", testBackend(), 4280)
	srv := uuidWire(t, uuidSrvsvc, 3, 0)
	mustWrite(t, p, tBind(ptypeAlterContext, 5, 4280, 4280,
		tCtx{1, srv, [][]byte{uuidWire(t, uuidNDR20, 2, 0)}},
		tCtx{2, srv, [][]byte{uuidWire(t, uuidNDR64, 1, 0)}}))
	got := drain(t, p)
	want := mustHex(t, `05000f03 10000000 5000 0000 05000000 b810 b810 4e530000 0000 0000
		02 00 0000
		0000 0000 045d888aeb1cc9119fe808002b104860 02000000
		0200 0200 0000000000000000000000000000000000000000`)
	if len(got) != 1 || !bytes.Equal(got[0], want) {
		t.Fatalf("alter_context_resp\ngot  % x\nwant % x", got, want)
	}
	// The new context carries calls, answered on that context.
	stub := tLevelStub(100)
	mustWrite(t, p, tRequest(6, 1, opNetrServerGetInfo, 3, len(stub), stub))
	if v := decodeServerInfo(t, responseStub(t, drain(t, p), 6, 1)); v.Name != "SIGNET" {
		t.Fatalf("%+v", v)
	}
	// The rejected one does not.
	mustWrite(t, p, tRequest(7, 2, opNetrServerGetInfo, 3, len(stub), stub))
	if s := faultStatus(t, drain(t, p), 7); s != faultUnknownIf {
		t.Fatalf("fault %#x, want nca_s_unk_if", s)
	}
}

func TestAlterContextErrors(t *testing.T) {
	alter := tBind(ptypeAlterContext, 3, 4280, 4280, tCtx{1, uuidWire(t, uuidSrvsvc, 3, 0), [][]byte{uuidWire(t, uuidNDR20, 2, 0)}})
	// Before bind: protocol error, pipe broken.
	p, _ := NewPipe("srvsvc", testBackend(), "", testMaxOutput)
	mustWrite(t, p, alter)
	if s := faultStatus(t, drain(t, p), 3); s != faultProtoError {
		t.Fatalf("fault %#x", s)
	}
	if _, err := p.Write(alter); !errors.Is(err, ErrPipeBroken) {
		t.Fatalf("err %v", err)
	}
	// With an auth verifier: access denied.
	p = newBoundPipe(t, "srvsvc", testBackend(), 4280)
	withAuth := append(append([]byte(nil), alter...), 10, 2, 0, 0, 1, 0, 0, 0, 1, 2, 3, 4)
	binary.LittleEndian.PutUint16(withAuth[8:], uint16(len(withAuth)))
	binary.LittleEndian.PutUint16(withAuth[10:], 4)
	mustWrite(t, p, withAuth)
	if s := faultStatus(t, drain(t, p), 3); s != faultAccessDenied {
		t.Fatalf("fault %#x", s)
	}
}

func TestContextLimit(t *testing.T) {
	p := newBoundPipe(t, "srvsvc", testBackend(), 4280)
	srv, ndr := uuidWire(t, uuidSrvsvc, 3, 0), uuidWire(t, uuidNDR20, 2, 0)
	var ctxs []tCtx
	for i := 1; i <= maxContexts+5; i++ {
		ctxs = append(ctxs, tCtx{uint16(i), srv, [][]byte{ndr}})
	}
	mustWrite(t, p, tBind(ptypeAlterContext, 2, 4280, 4280, ctxs...))
	got := drain(t, p)
	res := got[0][28:]
	if n := int(res[0]); n != len(ctxs) {
		t.Fatalf("%d results", n)
	}
	for i := range ctxs {
		r := binary.LittleEndian.Uint16(res[4+24*i:])
		reason := binary.LittleEndian.Uint16(res[6+24*i:])
		wantAccept := i < maxContexts-1 // context 0 is already taken
		if (r == ctxAcceptance) != wantAccept || (!wantAccept && reason != reasonLocalLimitExceeded) {
			t.Fatalf("context %d: result %d reason %d", i+1, r, reason)
		}
	}
	if len(p.contexts) != maxContexts {
		t.Fatalf("%d contexts", len(p.contexts))
	}
}
