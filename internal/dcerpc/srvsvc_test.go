package dcerpc

import (
	"bytes"
	"fmt"
	"reflect"
	"testing"
)

// wantShare is what a ShareInfo decodes to at a level.
func wantShare(level uint32, s ShareInfo) gotShare {
	g := gotShare{Name: s.Name, Comment: "<nil>", Path: "<nil>", Passwd: "<nil>"}
	if level == 1005 {
		return gotShare{Name: "<nil>", Comment: "<nil>", Path: "<nil>", Passwd: "<nil>", Flags: s.Flags}
	}
	if level == 0 {
		return g
	}
	g.Type, g.Comment = s.Type, s.Comment
	switch level {
	case 501:
		g.Flags = s.Flags
	case 2, 502:
		g.MaxUses, g.CurUses, g.Path = s.MaxUses, s.CurrentUses, s.Path
		if g.MaxUses == 0 {
			g.MaxUses = 0xffffffff
		}
	}
	return g
}

func TestNetrShareEnumImpacketStubs(t *testing.T) {
	be := testBackend()
	for _, level := range []uint32{0, 1, 2, 501, 502} {
		t.Run(fmt.Sprint(level), func(t *testing.T) {
			p := newBoundPipe(t, "srvsvc", be, 4280)
			stub := readHex(t, fmt.Sprintf("stub_netrshareenum_l%d.hex", level))
			resp := decodeShareEnum(t, call(t, p, 2, opNetrShareEnum, stub))
			if resp.Level != level || resp.Tag != level || !resp.Container || resp.Status != 0 {
				t.Fatalf("%+v", resp)
			}
			if resp.EntriesRead != 3 || resp.TotalEntries != 3 || resp.Resume == nil || *resp.Resume != 0 {
				t.Fatalf("entries %d total %d resume %v", resp.EntriesRead, resp.TotalEntries, resp.Resume)
			}
			for i, s := range be.shares {
				if want := wantShare(level, s); !reflect.DeepEqual(resp.Shares[i], want) {
					t.Errorf("share %d:\ngot  %+v\nwant %+v", i, resp.Shares[i], want)
				}
			}
		})
	}
	if be.users[0] != "alice" {
		t.Fatalf("Shares called for %q", be.users[0])
	}
}

func TestNetrShareEnumImpacketFullPDU(t *testing.T) {
	// The complete request PDU impacket sends for hNetrShareEnum(dce, 1).
	p := newBoundPipe(t, "srvsvc", testBackend(), 4280)
	mustWrite(t, p, readHex(t, "req_netrshareenum_l1_call2.hex"))
	resp := decodeShareEnum(t, responseStub(t, drain(t, p), 2, 0))
	if resp.EntriesRead != 3 || resp.Shares[0].Name != "IPC$" || resp.Shares[0].Type != 0x80000003 {
		t.Fatalf("%+v", resp)
	}
}

func TestNetrShareEnumGoldenStub(t *testing.T) {
	be := &fakeBackend{shares: []ShareInfo{
		{Name: "IPC$", Comment: "IPC", Type: ShareTypeIPC | ShareTypeSpecial},
		{Name: "a"},
	}}
	p := newBoundPipe(t, "srvsvc", be, 4280)
	got := call(t, p, 2, opNetrShareEnum, readHex(t, "stub_netrshareenum_l1.hex"))
	want := mustHex(t, `
		01000000 01000000 00000200          # level, tag, -> container
		02000000 04000200                   # EntriesRead, -> buffer
		02000000                            # conformance
		08000200 03000080 0c000200          # IPC$: name, type, remark
		10000200 00000000 14000200          # a
		05000000 00000000 05000000 4900500043002400 0000 0000  # "IPC$" + pad
		04000000 00000000 04000000 490050004300 0000           # "IPC"
		02000000 00000000 02000000 6100 0000                   # "a"
		01000000 00000000 01000000 0000 0000                   # "" + pad
		02000000                            # TotalEntries
		18000200 00000000                   # -> ResumeHandle = 0
		00000000                            # NERR_Success`)
	if !bytes.Equal(got, want) {
		t.Fatalf("got  % x\nwant % x", got, want)
	}
}

func TestNetrShareEnumNoShares(t *testing.T) {
	p := newBoundPipe(t, "srvsvc", &fakeBackend{}, 4280)
	resp := decodeShareEnum(t, call(t, p, 2, opNetrShareEnum, tShareEnumStub(1, maxPreferredLength, nil)))
	if !resp.Container || resp.EntriesRead != 0 || resp.Shares != nil || resp.TotalEntries != 0 || resp.Resume != nil || resp.Status != 0 {
		t.Fatalf("%+v", resp)
	}
}

func TestNetrShareEnumInvalidLevel(t *testing.T) {
	for _, level := range []uint32{3, 503, 1005, 0xffffffff} {
		p := newBoundPipe(t, "srvsvc", testBackend(), 4280)
		zero := uint32(0)
		resp := decodeShareEnum(t, call(t, p, 2, opNetrShareEnum, tShareEnumStub(level, maxPreferredLength, &zero)))
		if resp.Level != level || resp.Tag != level || resp.Container || resp.Status != errorInvalidLevel || resp.Resume == nil {
			t.Fatalf("level %d: %+v", level, resp)
		}
	}
}

func TestNetrShareEnumPaging(t *testing.T) {
	// impacket stub: level 1, PreferedMaximumLength 200, ResumeHandle 2.
	be := &fakeBackend{shares: manyShares(10)}
	p := newBoundPipe(t, "srvsvc", be, 4280)
	resp := decodeShareEnum(t, call(t, p, 2, opNetrShareEnum, readHex(t, "stub_netrshareenum_l1_resume2_pref200.hex")))
	// Each level 1 entry here is 12 + 32 + 52 = 96 octets: two fit in 200.
	if resp.EntriesRead != 2 || resp.Shares[0].Name != "share0002" || resp.Shares[1].Name != "share0003" {
		t.Fatalf("%+v", resp)
	}
	if resp.TotalEntries != 10 || resp.Resume == nil || *resp.Resume != 4 || resp.Status != errorMoreData {
		t.Fatalf("total %d resume %v status %d", resp.TotalEntries, resp.Resume, resp.Status)
	}

	// A client looping on the resume handle sees every share exactly once.
	var names []string
	resume := uint32(0)
	for i := 0; ; i++ {
		r := decodeShareEnum(t, call(t, p, uint32(10+i), opNetrShareEnum, tShareEnumStub(0, 30, &resume)))
		for _, s := range r.Shares {
			names = append(names, s.Name)
		}
		if r.Status == 0 {
			if *r.Resume != 0 {
				t.Fatalf("final resume handle %d", *r.Resume)
			}
			break
		}
		if r.Status != errorMoreData || i > 20 {
			t.Fatalf("status %d after %d calls", r.Status, i)
		}
		resume = *r.Resume
	}
	if len(names) != 10 || names[0] != "share0000" || names[9] != "share0009" {
		t.Fatalf("%v", names)
	}

	// A resume handle past the end returns nothing, successfully.
	far := uint32(1000)
	r := decodeShareEnum(t, call(t, p, 40, opNetrShareEnum, tShareEnumStub(1, maxPreferredLength, &far)))
	if r.EntriesRead != 0 || r.TotalEntries != 10 || *r.Resume != 0 || r.Status != 0 {
		t.Fatalf("%+v", r)
	}
}

func TestPageSharesBounds(t *testing.T) {
	shares := manyShares(5)
	if page, next := pageShares(shares, 1, 0, 0); len(page) != 1 || next != 1 {
		t.Fatalf("zero budget: %d entries, next %d", len(page), next)
	}
	if page, next := pageShares(shares, 1, 0, maxPreferredLength); len(page) != 5 || next != 0 {
		t.Fatalf("max: %d entries, next %d", len(page), next)
	}
	if page, next := pageShares(shares, 1, 0xffffffff, maxPreferredLength); page != nil || next != 0 {
		t.Fatalf("past end: %d entries, next %d", len(page), next)
	}
	// MAX_PREFERRED_LENGTH is still capped by maxEnumBytes.
	big := make([]ShareInfo, 3)
	for i := range big {
		big[i] = ShareInfo{Name: string(bytes.Repeat([]byte{'x'}, maxEnumBytes/4))}
	}
	if page, next := pageShares(big, 0, 0, maxPreferredLength); len(page) != 1 || next != 1 {
		t.Fatalf("cap: %d entries, next %d", len(page), next)
	}
}

func TestNetrShareGetInfo(t *testing.T) {
	be := testBackend()
	for _, level := range []uint32{0, 1, 2, 501, 502, 1005} {
		p := newBoundPipe(t, "srvsvc", be, 4280)
		tag, s, status := decodeShareGetInfo(t, call(t, p, 2, opNetrShareGetInfo, tNameLevelStub("DATA", level)))
		if tag != level || s == nil || status != 0 {
			t.Fatalf("level %d: tag %d share %v status %d", level, tag, s, status)
		}
		if want := wantShare(level, be.shares[1]); !reflect.DeepEqual(*s, want) {
			t.Errorf("level %d:\ngot  %+v\nwant %+v", level, *s, want)
		}
	}
}

func TestNetrShareGetInfoImpacketStubs(t *testing.T) {
	p := newBoundPipe(t, "srvsvc", testBackend(), 4280)
	tag, s, status := decodeShareGetInfo(t, call(t, p, 2, opNetrShareGetInfo, readHex(t, "stub_netrsharegetinfo_ipc_l2.hex")))
	if tag != 2 || status != 0 || s.Name != "IPC$" || s.Type != 0x80000003 || s.Path != "" || s.Passwd != "<nil>" || s.MaxUses != 0xffffffff {
		t.Fatalf("tag %d status %d %+v", tag, status, s)
	}
	tag, s, status = decodeShareGetInfo(t, call(t, p, 3, opNetrShareGetInfo, readHex(t, "stub_netrsharegetinfo_data_l1005.hex")))
	if tag != 1005 || status != 0 || s.Flags != 0x30 {
		t.Fatalf("tag %d status %d %+v", tag, status, s)
	}
}

func TestNetrShareGetInfoErrors(t *testing.T) {
	p := newBoundPipe(t, "srvsvc", testBackend(), 4280)
	for _, c := range []struct {
		name   string
		level  uint32
		status uint32
	}{
		{"nosuch", 1, nerrNetNameNotFound},
		{"", 1, nerrNetNameNotFound},
		{"data", 3, errorInvalidLevel},
		{"data", 503, errorInvalidLevel},
		{"öffentlich", 1, 0}, // case-insensitive beyond ASCII
	} {
		tag, s, status := decodeShareGetInfo(t, call(t, p, 2, opNetrShareGetInfo, tNameLevelStub(c.name, c.level)))
		if tag != c.level || status != c.status || (status != 0) != (s == nil) {
			t.Errorf("%q level %d: tag %d share %v status %d, want %d", c.name, c.level, tag, s, status, c.status)
		}
	}
}

func TestNetrServerGetInfo(t *testing.T) {
	be := testBackend()
	p := newBoundPipe(t, "srvsvc", be, 4280)
	v := decodeServerInfo(t, call(t, p, 2, opNetrServerGetInfo, readHex(t, "stub_netrservergetinfo_l101.hex")))
	want := infoResp{Tag: 101, Platform: 500, Name: "SIGNET", Comment: "Signet SMB", Major: 10, Minor: 0, Type: DefaultServerType, Present: true}
	if v != want {
		t.Fatalf("got  %+v\nwant %+v", v, want)
	}
	v = decodeServerInfo(t, call(t, p, 3, opNetrServerGetInfo, tLevelStub(100)))
	if want := (infoResp{Tag: 100, Platform: 500, Name: "SIGNET", Present: true}); v != want {
		t.Fatalf("got  %+v\nwant %+v", v, want)
	}
	be.server = ServerInfo{Name: "X", VersionMajor: 6, VersionMinor: 3, Type: 0x3}
	v = decodeServerInfo(t, call(t, p, 4, opNetrServerGetInfo, tLevelStub(101)))
	if v.Major != 6 || v.Minor != 3 || v.Type != 3 || v.Comment != "" {
		t.Fatalf("%+v", v)
	}
	for i, level := range []uint32{102, 502, 0} {
		v = decodeServerInfo(t, call(t, p, uint32(5+i), opNetrServerGetInfo, tLevelStub(level)))
		if v.Tag != level || v.Present || v.Status != errorInvalidLevel {
			t.Fatalf("level %d: %+v", level, v)
		}
	}
}
