package dcerpc

import (
	"encoding/binary"
	"errors"
	"testing"
)

// addPDUSeeds adds the reference PDUs and some derived sessions.
func addPDUSeeds(f *testing.F, add func(data []byte)) {
	bind := readHex(f, "bind_srvsvc_impacket.hex")
	req := readHex(f, "req_netrshareenum_l1_call2.hex")
	add(bind)
	add(readHex(f, "bind_srvsvc_ndr20_ndr64_btfn.hex"))
	add(req)
	add(append(append([]byte(nil), bind...), req...))
	stub := readHex(f, "stub_netrshareenum_l2.hex")
	add(append(append([]byte(nil), bind...), tRequestFrags(3, 0, opNetrShareEnum, stub, 7)...))
	add(tBind(ptypeAlterContext, 4, 4280, 4280, tCtx{1, []byte(syntaxSrvsvc), [][]byte{[]byte(syntaxNDR20)}}))
	add(tRequest(5, 0, opNetrShareGetInfo, 3, 0, readHex(f, "stub_netrsharegetinfo_ipc_l2.hex")))
	add(tRequest(6, 0, opNetrServerGetInfo, 3, 0, readHex(f, "stub_netrservergetinfo_l101.hex")))
}

// checkQueued reads every queued message with a buffer size derived from
// seed and checks each is one well-formed server PDU. head, if any, is the
// already-read start of the current message.
func checkQueued(t *testing.T, p *Pipe, seed uint8, head ...byte) {
	size := 1 + int(seed)*37
	for {
		if p.Pending() == 0 {
			if p.MessageRemaining() != 0 {
				t.Fatal("MessageRemaining with nothing pending")
			}
			return
		}
		msg := head
		head = nil
		for {
			buf := make([]byte, size)
			n, more, err := p.ReadMessage(buf)
			if err != nil {
				t.Fatalf("ReadMessage with %d pending: %v", p.Pending(), err)
			}
			msg = append(msg, buf[:n]...)
			if !more {
				break
			}
		}
		checkPDU(t, p, msg)
	}
}

// checkPDU checks msg is one well-formed PDU a server may send.
func checkPDU(t *testing.T, p *Pipe, msg []byte) {
	h, err := parseHeader(msg)
	if err != nil {
		t.Fatalf("queued PDU does not parse: %v: % x", err, msg)
	}
	if int(h.fragLen) != len(msg) || h.authLen != 0 || h.flags&pfcFirstAndLast == 0 && h.ptype != ptypeResponse {
		t.Fatalf("bad queued PDU header %+v, %d octets", h, len(msg))
	}
	switch h.ptype {
	case ptypeBindAck, ptypeBindNak, ptypeAlterContextResp, ptypeFault:
	case ptypeResponse:
		if p.maxFrag != 0 && len(msg) > int(p.maxFrag) {
			t.Fatalf("response fragment of %d octets, max %d", len(msg), p.maxFrag)
		}
	default:
		t.Fatalf("queued PDU of type %d", h.ptype)
	}
}

func FuzzPipeWrite(f *testing.F) {
	addPDUSeeds(f, func(b []byte) {
		f.Add(b, uint8(255), false)
		f.Add(b, uint8(0), true)
		f.Add(b, uint8(16), true)
	})
	bind := readHex(f, "bind_srvsvc_impacket.hex")
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8, bound bool) {
		p, _ := NewPipe("srvsvc", &fakeBackend{shares: manyShares(40)}, "fuzz", testMaxOutput)
		if bound {
			mustWrite(t, p, bind)
			checkQueued(t, p, chunk)
		}
		step := int(chunk) + 1
		for off := 0; off < len(data); off += step {
			n, err := p.Write(data[off:min(off+step, len(data))])
			switch {
			case err == nil:
			case errors.Is(err, ErrPipeBroken), errors.Is(err, ErrPipeBusy):
				return
			case errors.Is(err, ErrProtocol):
				if n > step {
					t.Fatalf("n %d > %d", n, step)
				}
			default:
				t.Fatalf("unexpected Write error %v", err)
			}
			checkQueued(t, p, chunk)
		}
	})
}

func FuzzTransact(f *testing.F) {
	addPDUSeeds(f, func(b []byte) {
		f.Add(b, 4280)
		f.Add(b, 10)
	})
	bind := readHex(f, "bind_srvsvc_impacket.hex")
	f.Fuzz(func(t *testing.T, in []byte, maxOut int) {
		p, _ := NewPipe("srvsvc", testBackend(), "", testMaxOutput)
		if _, _, err := p.Transact(bind, 4280); err != nil {
			t.Fatal(err)
		}
		out, more, err := p.Transact(in, maxOut)
		if err != nil {
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("Transact: %v", err)
			}
			return
		}
		if len(out) > max(maxOut, 0) || more && p.MessageRemaining() == 0 {
			t.Fatalf("out %d octets (max %d), more %v, remaining %d", len(out), maxOut, more, p.MessageRemaining())
		}
		if !more {
			if len(out) > 0 {
				checkPDU(t, p, out)
			}
			out = nil
		}
		checkQueued(t, p, uint8(maxOut), out...)
	})
}

// FuzzDispatch checks that every stub either fails cleanly or produces a
// response the strict test-side decoder accepts.
func FuzzDispatch(f *testing.F) {
	for _, s := range []struct {
		wk    bool
		opnum uint16
		file  string
	}{
		{false, opNetrShareEnum, "stub_netrshareenum_l0.hex"},
		{false, opNetrShareEnum, "stub_netrshareenum_l502.hex"},
		{false, opNetrShareEnum, "stub_netrshareenum_l1_resume2_pref200.hex"},
		{false, opNetrShareGetInfo, "stub_netrsharegetinfo_ipc_l2.hex"},
		{false, opNetrShareGetInfo, "stub_netrsharegetinfo_data_l1005.hex"},
		{false, opNetrServerGetInfo, "stub_netrservergetinfo_l101.hex"},
		{true, opNetrWkstaGetInfo, "stub_netrwkstagetinfo_l100.hex"},
	} {
		f.Add(s.wk, s.opnum, readHex(f, s.file))
	}
	f.Fuzz(func(t *testing.T, wk bool, opnum uint16, stub []byte) {
		be := testBackend()
		svc := srvsvcService()
		if wk {
			svc = wkssvcService()
		}
		out, err := svc.dispatch(be, "", opnum, stub)
		if err != nil {
			if !errors.Is(err, errOpRange) && !errors.Is(err, errNDR) {
				t.Fatalf("error %v wraps neither errOpRange nor errNDR", err)
			}
			return
		}
		switch {
		case wk:
			decodeWkstaInfo(t, out)
		case opnum == opNetrShareEnum:
			decodeShareEnum(t, out)
		case opnum == opNetrShareGetInfo:
			decodeShareGetInfo(t, out)
		case opnum == opNetrServerGetInfo:
			decodeServerInfo(t, out)
		default:
			t.Fatalf("opnum %d succeeded", opnum)
		}
	})
}

func FuzzNDRReader(f *testing.F) {
	f.Add(readHex(f, "stub_netrsharegetinfo_ipc_l2.hex"))
	f.Add(readHex(f, "stub_netrwkstagetinfo_l100.hex"))
	f.Add(binary.LittleEndian.AppendUint32(nil, 0xffffffff))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := newNDRReader(data)
		r.uniqueStr()
		r.str()
		r.uint32()
		if r.off > len(data) || (r.err != nil && !errors.Is(r.err, errNDR)) {
			t.Fatalf("off %d of %d, err %v", r.off, len(data), r.err)
		}
	})
}

func FuzzParseBindBody(f *testing.F) {
	f.Add(readHex(f, "bind_srvsvc_ndr20_ndr64_btfn.hex")[16:])
	f.Add(readHex(f, "bind_srvsvc_impacket.hex")[16:])
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := parseBindBody(body)
		if err != nil {
			return
		}
		p, _ := NewPipe("srvsvc", testBackend(), "", testMaxOutput)
		neg, err := p.negotiate(b.elems, true)
		if err == nil && len(neg.results) != len(b.elems) {
			t.Fatalf("%d results for %d elements", len(neg.results), len(b.elems))
		}
	})
}
