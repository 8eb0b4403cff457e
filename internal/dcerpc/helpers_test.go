package dcerpc

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"
)

// This file holds test-side helpers that deliberately do not use the
// package's own NDR or PDU code: PDUs are built and NDR is decoded here
// independently, so that a bug in ndr.go or pdu.go cannot cancel itself
// out in a round trip.

// fakeBackend is a fixed Backend.
type fakeBackend struct {
	shares []ShareInfo
	server ServerInfo
	users  []string // users Shares was called with
}

func (b *fakeBackend) Shares(user string) []ShareInfo {
	b.users = append(b.users, user)
	return b.shares
}

func (b *fakeBackend) Server() ServerInfo { return b.server }

func testBackend() *fakeBackend {
	return &fakeBackend{
		shares: []ShareInfo{
			{Name: "IPC$", Comment: "IPC Service", Type: ShareTypeIPC | ShareTypeSpecial},
			{Name: "data", Comment: "Team data", Path: `C:\srv\data`, Type: ShareTypeDisk, MaxUses: 10, CurrentUses: 2, Flags: 0x30},
			{Name: "Öffentlich", Comment: "ünïcode 😀", Path: `C:\srv\pub`, Type: ShareTypeDisk},
		},
		server: ServerInfo{Name: "SIGNET", Comment: "Signet SMB", Domain: "WORKGROUP"},
	}
}

// manyShares returns n disk shares with distinct names and comments.
func manyShares(n int) []ShareInfo {
	s := make([]ShareInfo, n)
	for i := range s {
		s[i] = ShareInfo{
			Name:    fmt.Sprintf("share%04d", i),
			Comment: fmt.Sprintf("comment for share %d", i),
			Path:    fmt.Sprintf(`C:\exports\share%04d`, i),
		}
	}
	return s
}

func readHex(t testing.TB, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	b, err := hex.DecodeString(strings.Join(strings.Fields(string(raw)), ""))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return b
}

// mustHex decodes hex with any white space; "#" starts a comment that
// runs to the end of the line.
func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	var digits []string
	for _, line := range strings.Split(s, "\n") {
		line, _, _ = strings.Cut(line, "#")
		digits = append(digits, strings.Fields(line)...)
	}
	b, err := hex.DecodeString(strings.Join(digits, ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// uuidWire converts a textual UUID and version to p_syntax_id_t form.
func uuidWire(t testing.TB, u string, major, minor uint16) []byte {
	t.Helper()
	h, err := hex.DecodeString(strings.ReplaceAll(u, "-", ""))
	if err != nil || len(h) != 16 {
		t.Fatalf("bad uuid %q", u)
	}
	b := []byte{h[3], h[2], h[1], h[0], h[5], h[4], h[7], h[6]}
	b = append(b, h[8:]...)
	b = binary.LittleEndian.AppendUint16(b, major)
	return binary.LittleEndian.AppendUint16(b, minor)
}

const (
	uuidSrvsvc = "4b324fc8-1670-01d3-1278-5a47bf6ee188"
	uuidWkssvc = "6bffd098-a112-3610-9833-46c3f87e345a"
	uuidNDR20  = "8a885d04-1ceb-11c9-9fe8-08002b104860"
	uuidNDR64  = "71710533-beba-4937-8319-b5dbef9ccc36"
)

// tCtx is a presentation context proposal for tBind.
type tCtx struct {
	id        uint16
	abstract  []byte
	transfers [][]byte
}

// tBind builds a bind (or alter_context) PDU.
func tBind(ptype uint8, callID uint32, maxXmit, maxRecv uint16, ctxs ...tCtx) []byte {
	b := []byte{5, 0, ptype, 3, 0x10, 0, 0, 0, 0, 0, 0, 0}
	b = binary.LittleEndian.AppendUint32(b, callID)
	b = binary.LittleEndian.AppendUint16(b, maxXmit)
	b = binary.LittleEndian.AppendUint16(b, maxRecv)
	b = append(b, 0, 0, 0, 0, uint8(len(ctxs)), 0, 0, 0)
	for _, c := range ctxs {
		b = binary.LittleEndian.AppendUint16(b, c.id)
		b = append(b, uint8(len(c.transfers)), 0)
		b = append(b, c.abstract...)
		for _, ts := range c.transfers {
			b = append(b, ts...)
		}
	}
	binary.LittleEndian.PutUint16(b[8:], uint16(len(b)))
	return b
}

// tRequest builds one request PDU fragment.
func tRequest(callID uint32, ctxID, opnum uint16, flags uint8, allocHint int, stub []byte) []byte {
	b := []byte{5, 0, 0, flags, 0x10, 0, 0, 0, 0, 0, 0, 0}
	b = binary.LittleEndian.AppendUint32(b, callID)
	b = binary.LittleEndian.AppendUint32(b, uint32(allocHint))
	b = binary.LittleEndian.AppendUint16(b, ctxID)
	b = binary.LittleEndian.AppendUint16(b, opnum)
	b = append(b, stub...)
	binary.LittleEndian.PutUint16(b[8:], uint16(len(b)))
	return b
}

// tRequestFrags splits stub over request fragments of at most chunk
// stub octets each.
func tRequestFrags(callID uint32, ctxID, opnum uint16, stub []byte, chunk int) []byte {
	var out []byte
	for off := 0; off < len(stub) || off == 0; off += chunk {
		end := min(off+chunk, len(stub))
		var flags uint8
		if off == 0 {
			flags |= 1
		}
		if end == len(stub) {
			flags |= 2
		}
		out = append(out, tRequest(callID, ctxID, opnum, flags, len(stub)-off, stub[off:end])...)
		if end == len(stub) {
			break
		}
	}
	return out
}

// newBoundPipe returns a pipe bound to its interface on context 0 with the
// given fragment size proposal.
func newBoundPipe(t testing.TB, name string, b Backend, frag uint16) *Pipe {
	t.Helper()
	p, err := NewPipe(name, b, "alice", testMaxOutput)
	if err != nil {
		t.Fatal(err)
	}
	abstract := uuidWire(t, uuidSrvsvc, 3, 0)
	if p.Name() == "wkssvc" {
		abstract = uuidWire(t, uuidWkssvc, 1, 0)
	}
	mustWrite(t, p, tBind(ptypeBind, 1, frag, frag, tCtx{0, abstract, [][]byte{uuidWire(t, uuidNDR20, 2, 0)}}))
	msgs := drain(t, p)
	if len(msgs) != 1 || msgs[0][2] != ptypeBindAck {
		t.Fatalf("bind: got %x", msgs)
	}
	return p
}

func mustWrite(t testing.TB, p *Pipe, b []byte) {
	t.Helper()
	n, err := p.Write(b)
	if err != nil || n != len(b) {
		t.Fatalf("Write(%d octets) = %d, %v", len(b), n, err)
	}
}

// drain reads every queued message with a buffer large enough for any PDU.
func drain(t testing.TB, p *Pipe) [][]byte {
	t.Helper()
	var msgs [][]byte
	for {
		buf := make([]byte, 70000)
		n, more, err := p.ReadMessage(buf)
		if errors.Is(err, ErrNoData) {
			if p.Pending() != 0 {
				t.Fatalf("ErrNoData with %d octets pending", p.Pending())
			}
			return msgs
		}
		if err != nil || more {
			t.Fatalf("ReadMessage: n=%d more=%v err=%v", n, more, err)
		}
		msgs = append(msgs, buf[:n])
	}
}

// call sends one unfragmented request and returns the reassembled
// response stub, checking the response PDUs' headers on the way.
func call(t testing.TB, p *Pipe, callID uint32, opnum uint16, stub []byte) []byte {
	t.Helper()
	mustWrite(t, p, tRequest(callID, 0, opnum, 3, len(stub), stub))
	return responseStub(t, drain(t, p), callID, 0)
}

// responseStub validates a sequence of response PDUs for one call and
// returns the concatenated stub.
func responseStub(t testing.TB, pdus [][]byte, callID uint32, ctxID uint16) []byte {
	t.Helper()
	if len(pdus) == 0 {
		t.Fatal("no response PDU")
	}
	var stub []byte
	for i, b := range pdus {
		if len(b) < 24 {
			t.Fatalf("PDU %d: %d octets", i, len(b))
		}
		if b[2] != ptypeResponse {
			t.Fatalf("PDU %d: type %d, want response; % x", i, b[2], b)
		}
		if b[0] != 5 || b[1] != 0 || b[4] != 0x10 {
			t.Fatalf("PDU %d: bad version/drep % x", i, b[:8])
		}
		wantFlags := uint8(0)
		if i == 0 {
			wantFlags |= 1
		}
		if i == len(pdus)-1 {
			wantFlags |= 2
		}
		if b[3] != wantFlags {
			t.Fatalf("PDU %d of %d: flags %#x, want %#x", i, len(pdus), b[3], wantFlags)
		}
		if fl := binary.LittleEndian.Uint16(b[8:]); int(fl) != len(b) {
			t.Fatalf("PDU %d: frag_length %d, PDU %d octets", i, fl, len(b))
		}
		if al := binary.LittleEndian.Uint16(b[10:]); al != 0 {
			t.Fatalf("PDU %d: auth_length %d", i, al)
		}
		if id := binary.LittleEndian.Uint32(b[12:]); id != callID {
			t.Fatalf("PDU %d: call_id %d, want %d", i, id, callID)
		}
		if c := binary.LittleEndian.Uint16(b[20:]); c != ctxID {
			t.Fatalf("PDU %d: p_cont_id %d, want %d", i, c, ctxID)
		}
		stub = append(stub, b[24:]...)
	}
	// alloc_hint of each fragment is the stub remaining from it on.
	remaining := len(stub)
	for i, b := range pdus {
		if h := binary.LittleEndian.Uint32(b[16:]); int(h) != remaining {
			t.Fatalf("PDU %d: alloc_hint %d, want %d", i, h, remaining)
		}
		remaining -= len(b) - 24
	}
	return stub
}

// faultStatus checks msgs is a single fault PDU and returns its status.
func faultStatus(t testing.TB, msgs [][]byte, callID uint32) uint32 {
	t.Helper()
	if len(msgs) != 1 {
		t.Fatalf("got %d messages, want one fault", len(msgs))
	}
	b := msgs[0]
	if len(b) != 32 || b[2] != ptypeFault || int(binary.LittleEndian.Uint16(b[8:])) != len(b) {
		t.Fatalf("not a 32-octet fault PDU: % x", b)
	}
	if b[3]&3 != 3 {
		t.Fatalf("fault flags %#x lack first/last", b[3])
	}
	if id := binary.LittleEndian.Uint32(b[12:]); id != callID {
		t.Fatalf("fault call_id %d, want %d", id, callID)
	}
	return binary.LittleEndian.Uint32(b[24:])
}

// tReader is the test-side NDR20 decoder. It is stricter than the
// package's reader: padding must be zero, strings must be NUL-terminated
// with maximum == actual count, and referent ids unique.
type tReader struct {
	t    testing.TB
	b    []byte
	off  int
	refs map[uint32]bool
}

func newTReader(t testing.TB, b []byte) *tReader {
	return &tReader{t: t, b: b, refs: map[uint32]bool{}}
}

func (r *tReader) u32() uint32 {
	r.t.Helper()
	for r.off%4 != 0 {
		if r.off >= len(r.b) || r.b[r.off] != 0 {
			r.t.Fatalf("bad padding at %d in % x", r.off, r.b)
		}
		r.off++
	}
	if r.off+4 > len(r.b) {
		r.t.Fatalf("truncated at %d (len %d)", r.off, len(r.b))
	}
	v := binary.LittleEndian.Uint32(r.b[r.off:])
	r.off += 4
	return v
}

// ptr reads a unique pointer; non-NULL referent ids must be unique.
func (r *tReader) ptr() bool {
	r.t.Helper()
	v := r.u32()
	if v == 0 {
		return false
	}
	if r.refs[v] {
		r.t.Fatalf("referent id %#x reused", v)
	}
	r.refs[v] = true
	return true
}

func (r *tReader) str() string {
	r.t.Helper()
	maxCount, offset, actual := r.u32(), r.u32(), r.u32()
	if offset != 0 || maxCount != actual || actual == 0 {
		r.t.Fatalf("string header max=%d offset=%d actual=%d", maxCount, offset, actual)
	}
	if r.off+2*int(actual) > len(r.b) {
		r.t.Fatalf("string of %d units truncated", actual)
	}
	u := make([]uint16, actual)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(r.b[r.off+2*i:])
	}
	r.off += 2 * int(actual)
	if u[len(u)-1] != 0 {
		r.t.Fatalf("string not NUL-terminated: %v", u)
	}
	return string(utf16.Decode(u[:len(u)-1]))
}

// strings reads the deferred referents of the non-NULL pointers in order.
func (r *tReader) strings(targets []*string, present []bool) {
	r.t.Helper()
	for i, tg := range targets {
		if present[i] {
			*tg = r.str()
		}
	}
}

func (r *tReader) end() {
	r.t.Helper()
	if r.off != len(r.b) {
		r.t.Fatalf("%d trailing octets after offset %d: % x", len(r.b)-r.off, r.off, r.b[r.off:])
	}
}

// gotShare is a decoded SHARE_INFO_*; absent pointers stay "<nil>".
type gotShare struct {
	Name, Comment, Path, Passwd    string
	Type, Perms, MaxUses, CurUses  uint32
	Flags, Reserved                uint32
	SecurityDescriptorPointerFound bool
}

// readShareFlat reads the fixed part of SHARE_INFO_<level>, returning the
// string targets to fill once the deferred referents are reached.
func (r *tReader) readShareFlat(level uint32, s *gotShare) (targets []*string, present []bool) {
	r.t.Helper()
	s.Name, s.Comment, s.Path, s.Passwd = "<nil>", "<nil>", "<nil>", "<nil>"
	add := func(tg *string) {
		targets = append(targets, tg)
		present = append(present, r.ptr())
	}
	if level == 1005 {
		s.Flags = r.u32()
		return nil, nil
	}
	add(&s.Name)
	if level == 0 {
		return
	}
	s.Type = r.u32()
	add(&s.Comment)
	switch level {
	case 501:
		s.Flags = r.u32()
	case 2, 502:
		s.Perms, s.MaxUses, s.CurUses = r.u32(), r.u32(), r.u32()
		add(&s.Path)
		add(&s.Passwd)
		if level == 502 {
			s.Reserved = r.u32()
			s.SecurityDescriptorPointerFound = r.ptr()
		}
	}
	return
}

// shareEnumResp is a decoded NetrShareEnum response.
type shareEnumResp struct {
	Level, Tag   uint32
	Container    bool
	EntriesRead  uint32
	Shares       []gotShare
	TotalEntries uint32
	Resume       *uint32
	Status       uint32
}

func decodeShareEnum(t testing.TB, stub []byte) shareEnumResp {
	t.Helper()
	r := newTReader(t, stub)
	var resp shareEnumResp
	resp.Level, resp.Tag = r.u32(), r.u32()
	resp.Container = r.ptr()
	if resp.Container {
		resp.EntriesRead = r.u32()
		if r.ptr() {
			if n := r.u32(); n != resp.EntriesRead {
				t.Fatalf("array conformance %d, EntriesRead %d", n, resp.EntriesRead)
			}
			resp.Shares = make([]gotShare, resp.EntriesRead)
			var targets []*string
			var present []bool
			for i := range resp.Shares {
				tg, pr := r.readShareFlat(resp.Level, &resp.Shares[i])
				targets, present = append(targets, tg...), append(present, pr...)
			}
			r.strings(targets, present)
		} else if resp.EntriesRead != 0 {
			t.Fatalf("EntriesRead %d with a NULL buffer", resp.EntriesRead)
		}
	}
	resp.TotalEntries = r.u32()
	if r.ptr() {
		v := r.u32()
		resp.Resume = &v
	}
	resp.Status = r.u32()
	r.end()
	return resp
}

// decodeShareGetInfo decodes a NetrShareGetInfo response.
func decodeShareGetInfo(t testing.TB, stub []byte) (tag uint32, s *gotShare, status uint32) {
	t.Helper()
	r := newTReader(t, stub)
	tag = r.u32()
	if r.ptr() {
		s = new(gotShare)
		targets, present := r.readShareFlat(tag, s)
		r.strings(targets, present)
	}
	status = r.u32()
	r.end()
	return tag, s, status
}

// infoResp is a decoded SERVER_INFO_10x or WKSTA_INFO_10x response.
type infoResp struct {
	Tag, Platform                    uint32
	Name, Comment, LanGroup, LanRoot string
	Major, Minor, Type, LoggedOn     uint32
	Present                          bool
	Status                           uint32
}

func decodeServerInfo(t testing.TB, stub []byte) infoResp {
	t.Helper()
	r := newTReader(t, stub)
	var v infoResp
	v.Tag = r.u32()
	if v.Present = r.ptr(); v.Present {
		v.Platform = r.u32()
		targets := []*string{&v.Name}
		present := []bool{r.ptr()}
		if v.Tag == 101 {
			v.Major, v.Minor, v.Type = r.u32(), r.u32(), r.u32()
			targets, present = append(targets, &v.Comment), append(present, r.ptr())
		}
		r.strings(targets, present)
	}
	v.Status = r.u32()
	r.end()
	return v
}

func decodeWkstaInfo(t testing.TB, stub []byte) infoResp {
	t.Helper()
	r := newTReader(t, stub)
	var v infoResp
	v.Tag = r.u32()
	if v.Present = r.ptr(); v.Present {
		v.Platform = r.u32()
		targets := []*string{&v.Name, &v.LanGroup}
		present := []bool{r.ptr(), r.ptr()}
		v.Major, v.Minor = r.u32(), r.u32()
		if v.Tag >= 101 {
			targets, present = append(targets, &v.LanRoot), append(present, r.ptr())
		}
		if v.Tag == 102 {
			v.LoggedOn = r.u32()
		}
		r.strings(targets, present)
	}
	v.Status = r.u32()
	r.end()
	return v
}

// tShareEnumStub builds a NetrShareEnum request stub the way impacket
// does, with a chosen server name, level, preferred length and resume
// handle (nil for a NULL pointer).
func tShareEnumStub(level, pref uint32, resume *uint32) []byte {
	le := binary.LittleEndian
	var b []byte
	b = le.AppendUint32(b, 0x11) // ServerName referent
	b = le.AppendUint32(b, 1)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, 1)
	b = append(b, 0, 0, 0, 0) // L"" + padding
	b = le.AppendUint32(b, level)
	b = le.AppendUint32(b, level)
	b = le.AppendUint32(b, 0x22) // container
	b = le.AppendUint32(b, 0)    // EntriesRead
	b = le.AppendUint32(b, 0)    // Buffer NULL
	b = le.AppendUint32(b, pref)
	if resume == nil {
		return le.AppendUint32(b, 0)
	}
	b = le.AppendUint32(b, 0x33)
	return le.AppendUint32(b, *resume)
}

// tNameLevelStub builds {NULL unique server name, [ref] string name, level}.
func tNameLevelStub(name string, level uint32) []byte {
	le := binary.LittleEndian
	u := utf16.Encode([]rune(name + "\x00"))
	b := le.AppendUint32(nil, 0)
	b = le.AppendUint32(b, uint32(len(u)))
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, uint32(len(u)))
	for _, c := range u {
		b = le.AppendUint16(b, c)
	}
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return le.AppendUint32(b, level)
}

// tLevelStub builds {NULL unique server name, level}.
func tLevelStub(level uint32) []byte {
	return binary.LittleEndian.AppendUint32(make([]byte, 4), level)
}
