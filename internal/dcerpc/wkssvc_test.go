package dcerpc

import "testing"

func TestNetrWkstaGetInfo(t *testing.T) {
	p := newBoundPipe(t, "wkssvc", testBackend(), 4280)
	v := decodeWkstaInfo(t, call(t, p, 2, opNetrWkstaGetInfo, readHex(t, "stub_netrwkstagetinfo_l100.hex")))
	want := infoResp{Tag: 100, Platform: 500, Name: "SIGNET", LanGroup: "WORKGROUP", Major: 10, Present: true}
	if v != want {
		t.Fatalf("got  %+v\nwant %+v", v, want)
	}
	for _, level := range []uint32{101, 102} {
		v = decodeWkstaInfo(t, call(t, p, 3, opNetrWkstaGetInfo, tLevelStub(level)))
		want := infoResp{Tag: level, Platform: 500, Name: "SIGNET", LanGroup: "WORKGROUP", Major: 10, LanRoot: "", Present: true}
		if v != want {
			t.Fatalf("level %d: got  %+v\nwant %+v", level, v, want)
		}
	}
	for _, level := range []uint32{0, 502, 1013} {
		v = decodeWkstaInfo(t, call(t, p, 4, opNetrWkstaGetInfo, tLevelStub(level)))
		if v.Tag != level || v.Present || v.Status != errorInvalidLevel {
			t.Fatalf("level %d: %+v", level, v)
		}
	}
}

func TestWkssvcUnknownOpnum(t *testing.T) {
	p := newBoundPipe(t, "wkssvc", testBackend(), 4280)
	mustWrite(t, p, tRequest(8, 0, 2, 3, 8, tLevelStub(100)))
	if s := faultStatus(t, drain(t, p), 8); s != faultOpRangeError {
		t.Fatalf("fault %#x", s)
	}
}
