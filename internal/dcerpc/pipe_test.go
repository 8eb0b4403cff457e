package dcerpc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
)

func TestNewPipeNames(t *testing.T) {
	for name, want := range map[string]string{
		"srvsvc": "srvsvc", "SRVSVC": "srvsvc", `\PIPE\srvsvc`: "srvsvc", `\pipe\SrvSvc`: "srvsvc",
		`PIPE\srvsvc`: "srvsvc", `\srvsvc`: "srvsvc", "/pipe/srvsvc": "srvsvc",
		"wkssvc": "wkssvc", `\PIPE\wkssvc`: "wkssvc", "lsarpc": "lsarpc", `\PIPE\lsarpc`: "lsarpc",
	} {
		p, err := NewPipe(name, testBackend(), "", testMaxOutput)
		if err != nil || p.Name() != want {
			t.Errorf("NewPipe(%q) = %v, %v", name, p, err)
		}
		if !IsPipeName(name) {
			t.Errorf("IsPipeName(%q) = false", name)
		}
	}
	for _, name := range []string{"", "lsass", "samr", `\PIPE\`, `\PIPE\srvsvc\x`, "srvsvc ", "pipe", `PIPEsrvsvc`} {
		if _, err := NewPipe(name, testBackend(), "", testMaxOutput); !errors.Is(err, ErrUnknownPipe) {
			t.Errorf("NewPipe(%q): %v, want ErrUnknownPipe", name, err)
		}
		if IsPipeName(name) {
			t.Errorf("IsPipeName(%q) = true", name)
		}
	}
	if _, err := NewPipe("srvsvc", nil, "", testMaxOutput); err == nil {
		t.Error("NewPipe with a nil backend succeeded")
	}
}

// session is a bind followed by a share enumeration, for the tests that
// vary how the octets are delivered.
func session(t *testing.T) []byte {
	return append(readHex(t, "bind_srvsvc_impacket.hex"), readHex(t, "req_netrshareenum_l1_call2.hex")...)
}

func TestWriteSplitAnywhere(t *testing.T) {
	in := session(t)
	ref, _ := NewPipe("srvsvc", testBackend(), "", testMaxOutput)
	mustWrite(t, ref, in)
	want := drain(t, ref)
	if len(want) != 2 || want[0][2] != ptypeBindAck || want[1][2] != ptypeResponse {
		t.Fatalf("reference session: % x", want)
	}
	for _, chunk := range []int{1, 2, 3, 7, 15, 16, 17, 71, 72, 73, 100} {
		p, _ := NewPipe("srvsvc", testBackend(), "", testMaxOutput)
		for off := 0; off < len(in); off += chunk {
			mustWrite(t, p, in[off:min(off+chunk, len(in))])
		}
		if got := drain(t, p); !reflect.DeepEqual(got, want) {
			t.Fatalf("chunk %d: got % x\nwant % x", chunk, got, want)
		}
	}
}

func TestReadShortBuffer(t *testing.T) {
	p := newBoundPipe(t, "srvsvc", testBackend(), 4280)
	for i := uint32(1); i <= 2; i++ {
		mustWrite(t, p, tRequest(10+i, 0, opNetrShareEnum, 3, 0, tShareEnumStub(2, maxPreferredLength, nil)))
	}
	total := p.Pending()
	first := p.MessageRemaining()
	if first == 0 || first*2 != total {
		t.Fatalf("pending %d, first message %d", total, first)
	}
	// Read the first message 100 octets at a time: no read crosses into
	// the second message, and the last read of the message reports !more.
	var msg []byte
	for {
		buf := make([]byte, 100)
		n, more, err := p.ReadMessage(buf)
		if err != nil {
			t.Fatal(err)
		}
		msg = append(msg, buf[:n]...)
		if p.Pending() != total-len(msg) {
			t.Fatalf("Pending %d after %d octets", p.Pending(), len(msg))
		}
		if !more {
			break
		}
		if n != 100 || p.MessageRemaining() != first-len(msg) {
			t.Fatalf("n %d, remaining %d", n, p.MessageRemaining())
		}
	}
	if len(msg) != first || binary.LittleEndian.Uint32(msg[12:]) != 11 {
		t.Fatalf("first message %d octets, call %d", len(msg), binary.LittleEndian.Uint32(msg[12:]))
	}
	// Read (io.Reader style) with a large buffer gets exactly message two.
	buf := make([]byte, 10000)
	n, err := p.Read(buf)
	if err != nil || n != first || binary.LittleEndian.Uint32(buf[12:]) != 12 {
		t.Fatalf("n %d err %v", n, err)
	}
	if _, err := p.Read(buf); !errors.Is(err, ErrNoData) {
		t.Fatalf("empty pipe: %v", err)
	}
	// A zero-length read of a pending message reports more.
	mustWrite(t, p, tRequest(13, 0, opNetrServerGetInfo, 3, 0, tLevelStub(100)))
	if n, more, err := p.ReadMessage(nil); n != 0 || !more || err != nil {
		t.Fatalf("zero read: %d %v %v", n, more, err)
	}
}

func TestResponseFragmentation(t *testing.T) {
	be := &fakeBackend{shares: manyShares(120)}
	for _, proposal := range []uint16{100, 1432, 2048, 4280, 65535} {
		t.Run(fmt.Sprint(proposal), func(t *testing.T) {
			p := newBoundPipe(t, "srvsvc", be, proposal)
			frag := int(negotiateFrag(proposal, proposal))
			mustWrite(t, p, tRequest(2, 0, opNetrShareEnum, 3, 0, tShareEnumStub(2, maxPreferredLength, nil)))
			pdus := drain(t, p)
			for i, b := range pdus {
				if len(b) > frag {
					t.Fatalf("fragment %d: %d octets > max_xmit_frag %d", i, len(b), frag)
				}
				if i < len(pdus)-1 && (len(b)-24)%8 != 0 {
					t.Fatalf("fragment %d: stub of %d octets not a multiple of 8", i, len(b)-24)
				}
			}
			stub := responseStub(t, pdus, 2, 0)
			if want := (len(stub) + (frag-24)&^7 - 1) / ((frag - 24) &^ 7); len(pdus) != want {
				t.Fatalf("%d fragments for %d octets at %d, want %d", len(pdus), len(stub), frag, want)
			}
			resp := decodeShareEnum(t, stub)
			if resp.EntriesRead != 120 || resp.Status != 0 {
				t.Fatalf("entries %d status %d", resp.EntriesRead, resp.Status)
			}
			for i, s := range be.shares {
				if want := wantShare(2, s); !reflect.DeepEqual(resp.Shares[i], want) {
					t.Fatalf("share %d: %+v", i, resp.Shares[i])
				}
			}
		})
	}
}

func TestRequestFragmentation(t *testing.T) {
	stub := readHex(t, "stub_netrshareenum_l2.hex")
	ref := newBoundPipe(t, "srvsvc", testBackend(), 4280)
	want := call(t, ref, 4, opNetrShareEnum, stub)
	for _, chunk := range []int{1, 8, 13, 51} {
		p := newBoundPipe(t, "srvsvc", testBackend(), 4280)
		in := tRequestFrags(4, 0, opNetrShareEnum, stub, chunk)
		// Deliver the fragments in awkward pieces as well.
		for off := 0; off < len(in); off += 29 {
			mustWrite(t, p, in[off:min(off+29, len(in))])
		}
		if got := responseStub(t, drain(t, p), 4, 0); !bytes.Equal(got, want) {
			t.Fatalf("chunk %d: response differs", chunk)
		}
	}
}

func TestRequestFragmentErrors(t *testing.T) {
	stub := readHex(t, "stub_netrshareenum_l1.hex")
	first := tRequest(5, 0, opNetrShareEnum, pfcFirstFrag, len(stub), stub[:8])
	big := make([]byte, 60000)
	for name, pdus := range map[string][][]byte{
		"continuation without first": {tRequest(5, 0, opNetrShareEnum, pfcLastFrag, 0, stub)},
		"new call while incomplete":  {first, tRequest(6, 0, opNetrShareEnum, 3, 0, stub)},
		"continuation of other call": {first, tRequest(6, 0, opNetrShareEnum, pfcLastFrag, 0, stub[8:])},
		"continuation changes opnum": {first, tRequest(5, 0, opNetrShareGetInfo, pfcLastFrag, 0, stub[8:])},
		"continuation changes ctx":   {first, tRequest(5, 1, opNetrShareEnum, pfcLastFrag, 0, stub[8:])},
		"stub over the cap":          {tRequest(5, 0, 15, pfcFirstFrag, 0, big), tRequest(5, 0, 15, 0, 0, big)},
		"header shorter than 24":     {tRequest(5, 0, 15, 3, 0, nil)[:20]},
		"object uuid flag, no uuid":  {tRequest(5, 0, 15, 3|pfcObjectUUID, 0, make([]byte, 8))[:24]},
	} {
		p := newBoundPipe(t, "srvsvc", testBackend(), 4280)
		for _, b := range pdus {
			binary.LittleEndian.PutUint16(b[8:], uint16(len(b)))
			mustWrite(t, p, b)
		}
		msgs := drain(t, p)
		if s := faultStatus(t, msgs[len(msgs)-1:], binary.LittleEndian.Uint32(pdus[len(pdus)-1][12:])); s != faultProtoError {
			t.Errorf("%s: fault %#x, want nca_s_proto_error", name, s)
		}
		if _, err := p.Write(first); !errors.Is(err, ErrPipeBroken) {
			t.Errorf("%s: pipe not broken: %v", name, err)
		}
	}
}

func TestObjectUUIDRequest(t *testing.T) {
	p := newBoundPipe(t, "srvsvc", testBackend(), 4280)
	stub := tLevelStub(100)
	b := tRequest(3, 0, opNetrServerGetInfo, 3|pfcObjectUUID, len(stub), append(bytes.Repeat([]byte{0xee}, 16), stub...))
	mustWrite(t, p, b)
	if v := decodeServerInfo(t, responseStub(t, drain(t, p), 3, 0)); v.Name != "SIGNET" {
		t.Fatalf("%+v", v)
	}
}

func TestFaults(t *testing.T) {
	p := newBoundPipe(t, "srvsvc", testBackend(), 4280)

	// Unknown opnum: golden fault PDU, pipe stays usable.
	mustWrite(t, p, tRequest(7, 0, 99, 3, 8, tLevelStub(100)))
	want := mustHex(t, `05000323 10000000 2000 0000 07000000 08000000 0000 00 00 0200011c 00000000`)
	if got := drain(t, p); len(got) != 1 || !bytes.Equal(got[0], want) {
		t.Fatalf("got % x\nwant % x", got, want)
	}

	for name, c := range map[string]struct {
		opnum  uint16
		stub   []byte
		status uint32
	}{
		"NetrShareEnum truncated":     {opNetrShareEnum, readHex(t, "stub_netrshareenum_l1.hex")[:30], faultBadStubData},
		"NetrShareEnum empty":         {opNetrShareEnum, nil, faultBadStubData},
		"NetrShareEnum tag mismatch":  {opNetrShareEnum, patch(tShareEnumStub(1, 0, nil), 24, 2), faultBadStubData},
		"NetrShareEnum input buffer":  {opNetrShareEnum, patch(tShareEnumStub(1, 0, nil), 36, 0x44), faultBadStubData},
		"NetrShareGetInfo bad string": {opNetrShareGetInfo, patch(tNameLevelStub("data", 1), 8, 1), faultBadStubData},
		"NetrServerGetInfo truncated": {opNetrServerGetInfo, tLevelStub(100)[:6], faultBadStubData},
		"opnum 0 on srvsvc":           {0, tLevelStub(100), faultOpRangeError},
		"NetrShareEnumSticky":         {36, readHex(t, "stub_netrshareenum_l1.hex"), faultOpRangeError},
	} {
		mustWrite(t, p, tRequest(8, 0, c.opnum, 3, len(c.stub), c.stub))
		if s := faultStatus(t, drain(t, p), 8); s != c.status {
			t.Errorf("%s: fault %#x, want %#x", name, s, c.status)
		}
	}

	// Unknown presentation context: nca_s_unk_if, not fatal.
	mustWrite(t, p, tRequest(9, 3, opNetrServerGetInfo, 3, 8, tLevelStub(100)))
	if s := faultStatus(t, drain(t, p), 9); s != faultUnknownIf {
		t.Fatalf("fault %#x", s)
	}
	// Trailing octets after a valid stub are tolerated.
	if v := decodeServerInfo(t, call(t, p, 10, opNetrServerGetInfo, append(tLevelStub(101), 0, 0, 0, 0))); v.Tag != 101 {
		t.Fatalf("%+v", v)
	}
}

// patch returns b with the uint32 at off replaced.
func patch(b []byte, off int, v uint32) []byte {
	binary.LittleEndian.PutUint32(b[off:], v)
	return b
}

func TestFatalFaults(t *testing.T) {
	req := tRequest(3, 0, opNetrServerGetInfo, 3, 8, tLevelStub(100))
	withAuth := append(append([]byte(nil), req...), 10, 5, 0, 0, 1, 0, 0, 0, 1, 2, 3, 4)
	binary.LittleEndian.PutUint16(withAuth[8:], uint16(len(withAuth)))
	binary.LittleEndian.PutUint16(withAuth[10:], 4)
	for name, c := range map[string]struct {
		bind   bool
		pdu    []byte
		status uint32
	}{
		"request before bind":  {false, req, faultProtoError},
		"request with auth":    {true, withAuth, faultAccessDenied},
		"response from client": {true, append([]byte{5, 0, ptypeResponse}, req[3:]...), faultProtoError},
		"auth3":                {true, append([]byte{5, 0, ptypeAuth3}, req[3:]...), faultProtoError},
		"shutdown from client": {true, append([]byte{5, 0, ptypeShutdown}, req[3:]...), faultProtoError},
		"unknown type":         {true, append([]byte{5, 0, 77}, req[3:]...), faultProtoError},
	} {
		p, _ := NewPipe("srvsvc", testBackend(), "", testMaxOutput)
		if c.bind {
			p = newBoundPipe(t, "srvsvc", testBackend(), 4280)
		}
		// Octets after the offending PDU in the same write are dropped.
		mustWrite(t, p, append(append([]byte(nil), c.pdu...), req...))
		if s := faultStatus(t, drain(t, p), 3); s != c.status {
			t.Errorf("%s: fault %#x, want %#x", name, s, c.status)
		}
		if _, err := p.Write(req); !errors.Is(err, ErrPipeBroken) {
			t.Errorf("%s: Write: %v", name, err)
		}
		if _, _, err := p.Transact(req, 100); !errors.Is(err, ErrPipeBroken) {
			t.Errorf("%s: Transact: %v", name, err)
		}
	}
}

func TestProtocolErrors(t *testing.T) {
	bind := readHex(t, "bind_srvsvc_impacket.hex")
	mutate := func(off int, v ...byte) []byte {
		b := append([]byte(nil), bind...)
		copy(b[off:], v)
		return b
	}
	for name, b := range map[string][]byte{
		"version 4":            mutate(0, 4),
		"minor version 2":      mutate(1, 2),
		"big endian":           mutate(4, 0x00),
		"EBCDIC":               mutate(4, 0x11),
		"frag_length 0":        mutate(8, 0, 0),
		"frag_length 15":       mutate(8, 15, 0),
		"auth_length too long": mutate(10, 0x39, 0),
	} {
		p, _ := NewPipe("srvsvc", testBackend(), "", testMaxOutput)
		// A good bind first: n counts exactly its octets.
		n, err := p.Write(append(append([]byte(nil), bind...), b...))
		if !errors.Is(err, ErrProtocol) || n != len(bind) {
			t.Errorf("%s: n=%d err=%v", name, n, err)
		}
		if _, err := p.Write(bind); !errors.Is(err, ErrPipeBroken) {
			t.Errorf("%s: not broken: %v", name, err)
		}
		// The bind_ack queued before the error can still be read.
		if msgs := drain(t, p); len(msgs) != 1 || msgs[0][2] != ptypeBindAck {
			t.Errorf("%s: % x", name, msgs)
		}
	}
	// A bad header is detected once 16 octets are in, not after the
	// announced frag_length (here 65535) has arrived.
	p, _ := NewPipe("srvsvc", testBackend(), "", testMaxOutput)
	hdr := mutate(0, 5, 0, 11, 3, 0x10, 0, 0, 0, 0xff, 0xff, 0xff, 0xff)
	if _, err := p.Write(hdr[:16]); !errors.Is(err, ErrProtocol) {
		t.Fatalf("err %v", err)
	}
	// minor version 1 is valid C706.
	p, _ = NewPipe("srvsvc", testBackend(), "", testMaxOutput)
	mustWrite(t, p, mutate(1, 1))
	if msgs := drain(t, p); len(msgs) != 1 || msgs[0][2] != ptypeBindAck {
		t.Fatalf("% x", msgs)
	}
}

func TestOrphanedAndCancel(t *testing.T) {
	p := newBoundPipe(t, "srvsvc", testBackend(), 4280)
	stub := readHex(t, "stub_netrshareenum_l1.hex")
	mustWrite(t, p, tRequest(5, 0, opNetrShareEnum, pfcFirstFrag, len(stub), stub[:16]))
	orphaned := []byte{5, 0, ptypeOrphaned, 3, 0x10, 0, 0, 0, 16, 0, 0, 0, 5, 0, 0, 0}
	coCancel := []byte{5, 0, ptypeCoCancel, 3, 0x10, 0, 0, 0, 16, 0, 0, 0, 5, 0, 0, 0}
	mustWrite(t, p, orphaned)
	mustWrite(t, p, coCancel)
	if p.Pending() != 0 {
		t.Fatal("orphaned/co_cancel produced output")
	}
	// The abandoned call is gone: a new call starts cleanly.
	if r := decodeShareEnum(t, call(t, p, 6, opNetrShareEnum, stub)); r.EntriesRead != 3 {
		t.Fatalf("%+v", r)
	}
	// An orphaned PDU for another call id leaves a partial call alone.
	mustWrite(t, p, tRequest(7, 0, opNetrShareEnum, pfcFirstFrag, len(stub), stub[:16]))
	mustWrite(t, p, orphaned)
	mustWrite(t, p, tRequest(7, 0, opNetrShareEnum, pfcLastFrag, len(stub)-16, stub[16:]))
	if r := decodeShareEnum(t, responseStub(t, drain(t, p), 7, 0)); r.EntriesRead != 3 {
		t.Fatalf("%+v", r)
	}
}

func TestTransact(t *testing.T) {
	p, _ := NewPipe("srvsvc", &fakeBackend{shares: manyShares(100)}, "", testMaxOutput)
	out, more, err := p.Transact(readHex(t, "bind_srvsvc_impacket.hex"), 4280)
	if err != nil || more || out[2] != ptypeBindAck {
		t.Fatalf("bind: % x %v %v", out, more, err)
	}
	// A fragmented response: Transact returns the first fragment, whole;
	// the others are left for Read.
	stub := readHex(t, "stub_netrshareenum_l2.hex")
	out, more, err = p.Transact(tRequest(2, 0, opNetrShareEnum, 3, len(stub), stub), 4280)
	if err != nil || more || len(out) != 4280 || out[3] != pfcFirstFrag {
		t.Fatalf("len %d flags %#x more %v err %v", len(out), out[3], more, err)
	}
	rest := drain(t, p)
	if len(rest) < 2 {
		t.Fatalf("%d more fragments", len(rest))
	}
	if r := decodeShareEnum(t, responseStub(t, append([][]byte{out}, rest...), 2, 0)); r.EntriesRead != 100 {
		t.Fatalf("%d entries", r.EntriesRead)
	}

	// A small output buffer truncates the message: more is set and Read
	// continues the same PDU.
	out, more, err = p.Transact(tRequest(3, 0, opNetrServerGetInfo, 3, 8, tLevelStub(101)), 30)
	if err != nil || !more || len(out) != 30 {
		t.Fatalf("len %d more %v err %v", len(out), more, err)
	}
	// A transceive with unread data is refused, like on Windows.
	if _, _, err := p.Transact(tRequest(4, 0, opNetrServerGetInfo, 3, 8, tLevelStub(101)), 100); !errors.Is(err, ErrPipeBusy) {
		t.Fatalf("err %v", err)
	}
	rest = drain(t, p)
	if len(rest) != 1 {
		t.Fatalf("%d messages", len(rest))
	}
	if v := decodeServerInfo(t, responseStub(t, [][]byte{append(out, rest[0]...)}, 3, 0)); v.Name != "" || v.Tag != 101 {
		t.Fatalf("%+v", v)
	}
	// A non-final fragment produces no output yet.
	out, more, err = p.Transact(tRequest(5, 0, opNetrServerGetInfo, pfcFirstFrag, 8, tLevelStub(101)[:4]), 100)
	if err != nil || more || len(out) != 0 {
		t.Fatalf("% x %v %v", out, more, err)
	}
	out, _, err = p.Transact(tRequest(5, 0, opNetrServerGetInfo, pfcLastFrag, 4, tLevelStub(101)[4:]), 100)
	if err != nil || out[2] != ptypeResponse {
		t.Fatalf("% x %v", out, err)
	}
	// Negative maxOut is treated as 0.
	if out, more, err = p.Transact(tRequest(6, 0, opNetrServerGetInfo, 3, 8, tLevelStub(100)), -1); err != nil || !more || len(out) != 0 {
		t.Fatalf("% x %v %v", out, more, err)
	}
}

// testMaxOutput is the output cap of the pipes of tests that do not test
// it.
const testMaxOutput = 8 << 20

// TestOutputCap: a request whose response would take the unread output
// past the cap is refused with ErrPipeBusy and not consumed (a partly
// written PDU and a partly reassembled call stay as they were); it goes
// through once the client has read.
func TestOutputCap(t *testing.T) {
	p := newBoundPipe(t, "srvsvc", testBackend(), 4280)
	req := func(id uint32) []byte { return tRequest(id, 0, opNetrServerGetInfo, 3, 8, tLevelStub(101)) }
	mustWrite(t, p, req(2))
	r := len(drain(t, p)[0]) // one response
	p.maxOut = 3*r + r/2
	for id := uint32(3); id < 6; id++ {
		mustWrite(t, p, req(id))
	}
	if n, err := p.Write(req(6)); n != 0 || !errors.Is(err, ErrPipeBusy) || p.Pending() != 3*r {
		t.Fatalf("past the cap: n %d err %v, %d pending", n, err, p.Pending())
	}
	drain(t, p)

	// Many requests in one write stop at the cap, at a PDU boundary.
	many := bytes.Repeat(req(7), 10)
	n, err := p.Write(many)
	if !errors.Is(err, ErrPipeBusy) || n != 3*len(req(7)) || p.Pending() != 3*r {
		t.Fatalf("n %d err %v, %d pending", n, err, p.Pending())
	}
	drain(t, p)

	// The last fragment of a call, itself written in two parts, is refused
	// without losing the fragments and octets before it.
	mustWrite(t, p, req(8))
	mustWrite(t, p, req(9))
	mustWrite(t, p, req(10))
	mustWrite(t, p, tRequest(11, 0, opNetrServerGetInfo, pfcFirstFrag, 8, tLevelStub(101)[:4]))
	last := tRequest(11, 0, opNetrServerGetInfo, pfcLastFrag, 4, tLevelStub(101)[4:])
	mustWrite(t, p, last[:10])
	if n, err := p.Write(last[10:]); n != 0 || !errors.Is(err, ErrPipeBusy) {
		t.Fatalf("last fragment: n %d err %v", n, err)
	}
	drain(t, p)
	mustWrite(t, p, last[10:])
	if v := decodeServerInfo(t, responseStub(t, drain(t, p), 11, 0)); v.Tag != 101 {
		t.Fatalf("%+v", v)
	}

	// A response is always taken into an empty queue, however small the cap.
	p.maxOut = 1
	mustWrite(t, p, req(12))
	if n, err := p.Write(req(13)); n != 0 || !errors.Is(err, ErrPipeBusy) || p.Pending() != r {
		t.Fatalf("cap 1: n %d err %v, %d pending", n, err, p.Pending())
	}
	drain(t, p)

	// A negative cap is no cap.
	p.maxOut = -1
	mustWrite(t, p, bytes.Repeat(req(14), 20))
	if p.Pending() != 20*r {
		t.Fatalf("no cap: %d pending", p.Pending())
	}
}

// TestOutputCapLargeAnswers: with the default cap (1 MiB) and answers of
// about 1 MiB, a client that never reads gets one answer queued, not more.
func TestOutputCapLargeAnswers(t *testing.T) {
	shares := manyShares(500)
	for i := range shares {
		shares[i].Comment = string(bytes.Repeat([]byte{'c'}, 1000))
	}
	p := newBoundPipe(t, "srvsvc", &fakeBackend{shares: shares}, 4280)
	p.maxOut = 1 << 20
	req := tRequest(2, 0, opNetrShareEnum, 3, 0, tShareEnumStub(1, maxPreferredLength, nil))
	mustWrite(t, p, req)
	one := p.Pending()
	n, err := p.Write(bytes.Repeat(req, 13))
	if n != 0 || !errors.Is(err, ErrPipeBusy) || p.Pending() != one || one > maxEnumBytes+(64<<10) {
		t.Fatalf("n %d err %v, %d pending (one answer %d)", n, err, p.Pending(), one)
	}
}

func TestConcurrentUse(t *testing.T) {
	be := &fakeBackend{shares: manyShares(50)}
	shared := newBoundPipe(t, "srvsvc", be, 4280)
	stub := readHex(t, "stub_netrshareenum_l1.hex")
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				shared.Write(tRequest(uint32(i), 0, opNetrServerGetInfo, 3, 8, tLevelStub(100)))
				shared.Pending()
				shared.MessageRemaining()
				shared.Read(make([]byte, 64))
			}
		}()
	}
	wg.Wait()
	// Each goroutine's pipe is independent; run them in parallel too.
	errs := make(chan error, 4)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, _ := NewPipe("srvsvc", &fakeBackend{shares: manyShares(50)}, "", testMaxOutput)
			if _, _, err := p.Transact(readHex(t, "bind_srvsvc_impacket.hex"), 4280); err != nil {
				errs <- err
				return
			}
			for i := 0; i < 20; i++ {
				if _, _, err := p.Transact(tRequest(uint32(i), 0, opNetrShareEnum, 3, 0, stub), 4280); err != nil {
					errs <- err
					return
				}
				for p.Pending() > 0 {
					p.Read(make([]byte, 4280))
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
