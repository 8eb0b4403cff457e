package dcerpc

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/signetsmb/signet/internal/fscc"
)

// namesBackend is a Backend with accounts (Names).
type namesBackend struct {
	*fakeBackend
}

var (
	testDomainSID = mustParseSID("S-1-5-21-1-2-3")
	testAliceSID  = mustParseSID("S-1-5-21-1-2-3-1001")
)

func mustParseSID(s string) fscc.SID {
	sid, err := fscc.ParseSID(s)
	if err != nil {
		panic(err)
	}
	return sid
}

func (namesBackend) LookupSID(sid fscc.SID) (Account, bool) {
	if sid == testAliceSID {
		return Account{SID: sid, Name: "alice", Use: SidTypeUser, Domain: "SIGNET", DomainSID: testDomainSID}, true
	}
	return Account{}, false
}

func (namesBackend) LookupName(name string) (Account, bool) {
	if name == "alice" || name == `SIGNET\alice` {
		return Account{SID: testAliceSID, Name: "alice", Use: SidTypeUser, Domain: "SIGNET", DomainSID: testDomainSID}, true
	}
	return Account{}, false
}

// lookupSidsStub builds an LsarLookupSids request as Samba's client
// marshals it.
func lookupSidsStub(sids ...fscc.SID) []byte {
	w := newNDRWriter(128)
	w.raw(policyHandle[:])
	w.uint32(uint32(len(sids)))
	w.pointer(true)
	w.uint32(uint32(len(sids)))
	for range sids {
		w.pointer(true)
	}
	for _, s := range sids {
		w.sid(s)
	}
	w.uint32(0) // TranslatedNames.Entries
	w.pointer(false)
	w.uint16(1) // LookupLevel
	w.uint32(0) // MappedCount
	return w.bytes()
}

// decodeLookupSids decodes the response: domains, then (use, name,
// domain index) per SID, the mapped count and the status.
func decodeLookupSids(t *testing.T, b []byte, ex bool) (domains []string, names []string, uses []uint16, status uint32) {
	t.Helper()
	r := newNDRReader(b)
	if r.pointer() == 0 {
		t.Fatal("no referenced domains")
	}
	n := r.uint32()
	p := r.pointer()
	r.uint32() // MaxEntries
	if p != 0 {
		if r.uint32() != n {
			t.Fatal("domain array conformance")
		}
		ptrs := make([]bool, n)
		for i := range ptrs {
			r.align(4)
			r.uint16()
			r.uint16()
			ptrs[i] = r.pointer() != 0
			r.pointer()
		}
		for i := range ptrs {
			name := ""
			if ptrs[i] {
				name = r.varyingString()
			}
			domains = append(domains, name)
			r.sid()
		}
	}
	count := r.uint32()
	if r.pointer() != 0 {
		if r.uint32() != count {
			t.Fatal("names array conformance")
		}
		ptrs := make([]bool, count)
		for i := range ptrs {
			uses = append(uses, r.uint16())
			r.align(4)
			r.uint16()
			r.uint16()
			ptrs[i] = r.pointer() != 0
			r.uint32() // domain index
			if ex {
				r.uint32()
			}
		}
		for i := range ptrs {
			name := ""
			if ptrs[i] {
				name = r.varyingString()
			}
			names = append(names, name)
		}
	}
	r.uint32() // mapped
	status = r.uint32()
	if r.err != nil {
		t.Fatalf("response does not decode: %v", r.err)
	}
	if r.off != len(b) {
		t.Fatalf("%d trailing octets", len(b)-r.off)
	}
	return
}

// TestLsarLookupSids: well-known SIDs and the backend's accounts get
// names and domains; an unknown SID makes the status SOME_NOT_MAPPED, all
// unknown NONE_MAPPED.
func TestLsarLookupSids(t *testing.T) {
	be := namesBackend{testBackend()}
	unknown := mustParseSID("S-1-5-21-9-9-9-500")
	for _, ex := range []bool{false, true} {
		stub := lookupSidsStub(fscc.EveryoneSID(), testAliceSID, fscc.AdministratorsSID(), unknown)
		if ex {
			stub = append(stub, 0, 0, 0, 0, 2, 0, 0, 0) // LookupOptions, ClientRevision
		}
		op := uint16(opLsarLookupSids)
		if ex {
			op = opLsarLookupSids2
		}
		out, err := lsarpcDispatch(be, "", op, stub)
		if err != nil {
			t.Fatal(err)
		}
		doms, names, uses, st := decodeLookupSids(t, out, ex)
		if st != statusSomeNotMapped {
			t.Errorf("status %#x", st)
		}
		want := []string{"Everyone", "alice", "Administrators", unknown.String()}
		for i := range want {
			if i >= len(names) || names[i] != want[i] {
				t.Fatalf("names %q, want %q", names, want)
			}
		}
		if uses[1] != SidTypeUser || uses[2] != SidTypeAlias || uses[3] != SidTypeUnknown {
			t.Errorf("uses %v", uses)
		}
		if len(doms) != 3 || doms[1] != "SIGNET" || doms[2] != "BUILTIN" {
			t.Errorf("domains %q", doms)
		}
	}
	out, err := lsarpcDispatch(be, "", opLsarLookupSids, lookupSidsStub(unknown))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, st := decodeLookupSids(t, out, false); st != statusNoneMapped {
		t.Errorf("all unknown: status %#x", st)
	}
}

// TestLsarLookupNames: a user name (bare or with the domain) maps to its
// RID in its domain.
func TestLsarLookupNames(t *testing.T) {
	be := namesBackend{testBackend()}
	w := newNDRWriter(128)
	w.raw(policyHandle[:])
	names := []string{`SIGNET\alice`, "nobody", "Everyone"}
	w.uint32(uint32(len(names)))
	w.uint32(uint32(len(names)))
	for _, n := range names {
		w.unicodeStringHdr(n)
	}
	for _, n := range names {
		w.unicodeStringBody(n)
	}
	w.uint32(0)
	w.pointer(false)
	w.uint16(1)
	w.uint32(0)
	out, err := lsarpcDispatch(be, "", opLsarLookupNames, w.bytes())
	if err != nil {
		t.Fatal(err)
	}
	// Skip the referenced domains by decoding them as LookupSids does.
	r := newNDRReader(out)
	r.pointer()
	n := r.uint32()
	r.pointer()
	r.uint32()
	r.uint32()
	ptrs := make([]bool, n)
	for i := range ptrs {
		r.align(4)
		r.uint16()
		r.uint16()
		ptrs[i] = r.pointer() != 0
		r.pointer()
	}
	for _, p := range ptrs {
		if p {
			r.varyingString()
		}
		r.sid()
	}
	if c := r.uint32(); c != 3 {
		t.Fatalf("%d translated SIDs", c)
	}
	r.pointer()
	r.uint32()
	type tsid struct {
		use      uint16
		rid, dom uint32
	}
	var got []tsid
	for range 3 {
		u := r.uint16()
		rid := r.uint32()
		got = append(got, tsid{u, rid, r.uint32()})
	}
	mapped := r.uint32()
	st := r.uint32()
	if r.err != nil {
		t.Fatal(r.err)
	}
	if got[0].use != SidTypeUser || got[0].rid != 1001 || got[1].use != SidTypeUnknown || got[2].rid != 0 ||
		mapped != 2 || st != statusSomeNotMapped {
		t.Errorf("translated %+v mapped %d status %#x", got, mapped, st)
	}
}

// TestLsarPolicyHandle: OpenPolicy2 hands out a handle and Close zeroes it.
func TestLsarPolicyHandle(t *testing.T) {
	w := newNDRWriter(64)
	w.pointer(false) // SystemName
	for range 6 {
		w.uint32(0) // OBJECT_ATTRIBUTES
	}
	w.uint32(0x00000800)
	out, err := lsarpcDispatch(testBackend(), "", opLsarOpenPolicy2, w.bytes())
	if err != nil || len(out) != 24 || binary.LittleEndian.Uint32(out[20:]) != statusSuccess {
		t.Fatalf("OpenPolicy2: % x %v", out, err)
	}
	out, err = lsarpcDispatch(testBackend(), "", opLsarClose, out[:20])
	if err != nil || len(out) != 24 || string(out[:20]) != string(make([]byte, 20)) {
		t.Fatalf("Close: % x %v", out, err)
	}
	if _, err := lsarpcDispatch(testBackend(), "", opLsarClose, nil); !errors.Is(err, errNDR) {
		t.Fatalf("Close without a handle: %v", err)
	}
}

// FuzzLsarpc: any stub fails with errOpRange or errNDR, or is answered.
func FuzzLsarpc(f *testing.F) {
	f.Add(uint16(opLsarLookupSids), lookupSidsStub(fscc.EveryoneSID(), testAliceSID))
	f.Add(uint16(opLsarLookupNames), make([]byte, 40))
	f.Fuzz(func(t *testing.T, opnum uint16, stub []byte) {
		_, err := lsarpcDispatch(namesBackend{testBackend()}, "", opnum, stub)
		if err != nil && !errors.Is(err, errOpRange) && !errors.Is(err, errNDR) {
			t.Fatalf("error %v wraps neither errOpRange nor errNDR", err)
		}
	})
}

func (namesBackend) AccountDomain() (string, fscc.SID) { return "SIGNET", testDomainSID }

// TestLsarQueryInformationPolicy: the account domain is the server's name
// and machine SID; the primary domain the workgroup, without a SID; other
// classes are STATUS_INVALID_PARAMETER.
func TestLsarQueryInformationPolicy(t *testing.T) {
	query := func(op uint16, class uint16) (name string, sid *fscc.SID, status uint32) {
		t.Helper()
		w := newNDRWriter(32)
		w.raw(policyHandle[:])
		w.uint16(class)
		out, err := lsarpcDispatch(namesBackend{testBackend()}, "", op, w.bytes())
		if err != nil {
			t.Fatal(err)
		}
		r := newNDRReader(out)
		if r.pointer() != 0 {
			if got := r.uint16(); got != class {
				t.Fatalf("union arm %d, want %d", got, class)
			}
			r.align(4)
			r.uint16()
			r.uint16()
			namePtr := r.pointer() != 0
			sidPtr := r.pointer() != 0
			if namePtr {
				name = r.varyingString()
			}
			if sidPtr {
				s := r.sid()
				sid = &s
			}
		}
		status = r.uint32()
		if r.err != nil || r.off != len(out) {
			t.Fatalf("response: %v, %d of %d octets", r.err, r.off, len(out))
		}
		return
	}
	for _, op := range []uint16{opLsarQueryInformationPolicy, opLsarQueryInformationPolicy2} {
		if name, sid, st := query(op, policyAccountDomainInformation); name != "SIGNET" || sid == nil || *sid != testDomainSID || st != 0 {
			t.Errorf("op %d account domain: %q %v %#x", op, name, sid, st)
		}
		if name, sid, st := query(op, policyPrimaryDomainInformation); name != "WORKGROUP" || sid != nil || st != 0 {
			t.Errorf("op %d primary domain: %q %v %#x", op, name, sid, st)
		}
		if _, _, st := query(op, 12); st != statusInvalidParam {
			t.Errorf("op %d class 12: %#x", op, st)
		}
	}
}

// lookupNamesStub builds an LsarLookupNames request for names.
func lookupNamesStub(names ...string) []byte {
	w := newNDRWriter(128)
	w.raw(policyHandle[:])
	w.uint32(uint32(len(names)))
	w.uint32(uint32(len(names)))
	for _, n := range names {
		w.unicodeStringHdr(n)
	}
	for _, n := range names {
		w.unicodeStringBody(n)
	}
	w.uint32(0)
	w.pointer(false)
	w.uint16(1)
	w.uint32(0)
	return w.bytes()
}

// skipDomains reads past a referenced domain list.
func skipDomains(r *ndrReader) {
	r.pointer()
	n := r.uint32()
	r.pointer()
	r.uint32()
	if n == 0 {
		return
	}
	r.uint32()
	ptrs := make([]bool, n)
	for i := range ptrs {
		r.align(4)
		r.uint16()
		r.uint16()
		ptrs[i] = r.pointer() != 0
		r.pointer()
	}
	for _, p := range ptrs {
		if p {
			r.varyingString()
		}
		r.sid()
	}
}

// TestLsarLookupNames3: the EX2 form carries each whole SID; unknown
// names have none. LookupSids3 and LookupNames4 are refused over a pipe.
func TestLsarLookupNames3(t *testing.T) {
	be := namesBackend{testBackend()}
	out, err := lsarpcDispatch(be, "", opLsarLookupNames3, append(lookupNamesStub("alice", "nobody", `BUILTIN\Administrators`), 0, 0, 0, 0, 2, 0, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	r := newNDRReader(out)
	skipDomains(r)
	if n := r.uint32(); n != 3 {
		t.Fatalf("%d translations", n)
	}
	r.pointer()
	r.uint32()
	var uses []uint16
	var ptrs []bool
	for range 3 {
		uses = append(uses, r.uint16())
		ptrs = append(ptrs, r.pointer() != 0)
		r.uint32() // domain index
		r.uint32() // flags
	}
	var sids []fscc.SID
	for _, p := range ptrs {
		if p {
			sids = append(sids, r.sid())
		}
	}
	mapped, st := r.uint32(), r.uint32()
	if r.err != nil || r.off != len(out) {
		t.Fatalf("response: %v, %d of %d octets", r.err, r.off, len(out))
	}
	if uses[0] != SidTypeUser || uses[1] != SidTypeUnknown || uses[2] != SidTypeAlias || len(sids) != 2 ||
		sids[0] != testAliceSID || sids[1] != fscc.AdministratorsSID() || mapped != 2 || st != statusSomeNotMapped {
		t.Errorf("uses %v sids %v mapped %d status %#x", uses, sids, mapped, st)
	}
	for _, op := range []uint16{opLsarLookupSids3, opLsarLookupNames4} {
		out, err := lsarpcDispatch(be, "", op, lookupSidsStub(fscc.EveryoneSID()))
		if err != nil || len(out) != 20 || binary.LittleEndian.Uint32(out[16:]) != statusAccessDenied {
			t.Errorf("opnum %d: % x %v", op, out, err)
		}
	}
}
