package dcerpc

import (
	"encoding/binary"
	"strings"
	"unicode/utf16"

	"github.com/signetsmb/signet/internal/fscc"
)

// The lsarpc interface (MS-LSAT), limited to what clients need to show
// names instead of SIDs in security descriptors and to turn the names an
// administrator types back into SIDs: LsarOpenPolicy/2, LsarClose,
// LsarLookupSids/2 and LsarLookupNames/2. The policy handle carries no
// state: every lookup answers from the Backend.

// 12345778-1234-abcd-ef00-0123456789ab v0.0
const syntaxLsarpc = "\x78\x57\x34\x12\x34\x12\xcd\xab\xef\x00\x01\x23\x45\x67\x89\xab\x00\x00\x00\x00"

// lsarpc operation numbers (MS-LSAT 3.1.4, MS-LSAD 3.1.4).
const (
	opLsarClose                   = 0
	opLsarOpenPolicy              = 6
	opLsarQueryInformationPolicy  = 7
	opLsarQueryInformationPolicy2 = 46
	opLsarLookupNames             = 14
	opLsarLookupSids              = 15
	opLsarOpenPolicy2             = 44
	opLsarLookupSids2             = 57
	opLsarLookupNames2            = 58
	opLsarLookupNames3            = 68
	opLsarLookupSids3             = 76
	opLsarLookupNames4            = 77
)

// statusAccessDenied answers LsarLookupSids3 and LsarLookupNames4, which
// Windows serves only over TCP with a Netlogon secure channel.
const statusAccessDenied = 0xC0000022

// Forms of the translated SIDs of a name lookup.
const (
	namesPlain = iota // LSA_TRANSLATED_SID (opnum 14)
	namesEx           // LSAPR_TRANSLATED_SID_EX (58)
	namesEx2          // LSAPR_TRANSLATED_SID_EX2, with the whole SID (68)
)

// NTSTATUS values lsarpc returns (MS-ERREF 2.3.1).
const (
	statusSuccess       = 0x00000000
	statusSomeNotMapped = 0x00000107
	statusNoneMapped    = 0xC0000073
	statusInvalidParam  = 0xC000000D
)

// SID_NAME_USE values (MS-LSAT 2.2.13).
const (
	SidTypeUser           = 1
	SidTypeGroup          = 2
	SidTypeDomain         = 3
	SidTypeAlias          = 4
	SidTypeWellKnownGroup = 5
	SidTypeUnknown        = 8
)

// maxLookups caps the SIDs or names of one lookup; Windows' limit is
// 20480 (LSA_MAXIMUM_LOOKUP_SIDS_COUNT).
const maxLookups = 20480

// Account is a name lookup result: a principal's SID, its name, its
// SID_NAME_USE and the domain it belongs to.
type Account struct {
	SID       fscc.SID
	Name      string
	Use       uint16
	Domain    string
	DomainSID fscc.SID
}

// Names is an optional Backend capability: the server's accounts, for
// lsarpc. A Backend without it answers only the well-known SIDs.
type Names interface {
	// LookupSID returns the account with sid.
	LookupSID(sid fscc.SID) (Account, bool)
	// LookupName returns the account named name ("user" or
	// "DOMAIN\user").
	LookupName(name string) (Account, bool)
	// AccountDomain is the domain of the server's own accounts: its name
	// and the machine SID.
	AccountDomain() (string, fscc.SID)
}

func lsarpcService() service {
	return service{name: "lsarpc", syntax: syntaxLsarpc, dispatch: lsarpcDispatch}
}

func lsarpcDispatch(b Backend, _ string, opnum uint16, stub []byte) ([]byte, error) {
	switch opnum {
	case opLsarClose:
		return lsarClose(stub)
	case opLsarOpenPolicy, opLsarOpenPolicy2:
		return lsarOpenPolicy(stub)
	case opLsarLookupSids, opLsarLookupSids2:
		return lsarLookupSids(b, stub, opnum == opLsarLookupSids2)
	case opLsarLookupNames:
		return lsarLookupNames(b, stub, namesPlain)
	case opLsarLookupNames2:
		return lsarLookupNames(b, stub, namesEx)
	case opLsarLookupNames3:
		return lsarLookupNames(b, stub, namesEx2)
	case opLsarLookupSids3, opLsarLookupNames4:
		// Refused over a named pipe, as Windows does (MS-LSAT 3.1.4.9,
		// 3.1.4.5): no referenced domains, no translations.
		w := newNDRWriter(20)
		w.pointer(false)
		w.uint32(0)
		w.pointer(false)
		w.uint32(0)
		w.uint32(statusAccessDenied)
		return w.bytes(), nil
	case opLsarQueryInformationPolicy, opLsarQueryInformationPolicy2:
		return lsarQueryInformationPolicy(b, stub)
	}
	return nil, errOpRange
}

// Policy information classes answered (MS-LSAD 2.2.4.1).
const (
	policyPrimaryDomainInformation = 3
	policyAccountDomainInformation = 5
)

// lsarQueryInformationPolicy answers LsarQueryInformationPolicy (opnum 7)
// and LsarQueryInformationPolicy2 (opnum 46) (MS-LSAD 3.1.4.4.3-4) for
// the primary domain (the workgroup of a stand-alone server, no SID) and
// the account domain (the server's name and machine SID):
//
//	[in] LSAPR_HANDLE PolicyHandle,
//	[in] POLICY_INFORMATION_CLASS InformationClass,
//	[out, switch_is(InformationClass)] PLSAPR_POLICY_INFORMATION* PolicyInformation
//
// Other classes are STATUS_INVALID_PARAMETER with a NULL pointer.
func lsarQueryInformationPolicy(b Backend, stub []byte) ([]byte, error) {
	r := newNDRReader(stub)
	r.raw(20)
	class := r.uint16()
	if r.err != nil {
		return nil, r.err
	}
	var name string
	var sid *fscc.SID
	switch class {
	case policyPrimaryDomainInformation:
		name = b.Server().withDefaults().Domain
	case policyAccountDomainInformation:
		n, ok := b.(Names)
		if !ok {
			name = b.Server().withDefaults().Name
			break
		}
		dn, ds := n.AccountDomain()
		name, sid = dn, &ds
	default:
		w := newNDRWriter(8)
		w.pointer(false)
		w.uint32(statusInvalidParam)
		return w.bytes(), nil
	}
	w := newNDRWriter(128)
	w.pointer(true)
	w.uint16(class) // union discriminant
	w.unicodeStringHdr(name)
	w.pointer(sid != nil)
	w.unicodeStringBody(name)
	if sid != nil {
		w.sid(*sid)
	}
	w.uint32(statusSuccess)
	return w.bytes(), nil
}

// policyHandle is the one context handle lsarpc hands out: a non-zero
// attribute and UUID; it names no state.
var policyHandle = [20]byte{0, 0, 0, 0, 's', 'i', 'g', 'n', 'e', 't', '-', 'l', 's', 'a', 'r', 'p', 'c', 0, 0, 1}

// lsarClose answers LsarClose: [in, out] LSAPR_HANDLE* ObjectHandle;
// the handle comes back zeroed.
func lsarClose(stub []byte) ([]byte, error) {
	r := newNDRReader(stub)
	r.raw(20)
	if r.err != nil {
		return nil, r.err
	}
	w := newNDRWriter(24)
	w.raw(make([]byte, 20))
	w.uint32(statusSuccess)
	return w.bytes(), nil
}

// lsarOpenPolicy answers LsarOpenPolicy and LsarOpenPolicy2 (MS-LSAD
// 3.1.4.4.1-2): the arguments are not needed to look names up, and any
// caller that reached IPC$ may.
func lsarOpenPolicy(stub []byte) ([]byte, error) {
	if len(stub) < 4 {
		return nil, errNDR
	}
	w := newNDRWriter(24)
	w.raw(policyHandle[:])
	w.uint32(statusSuccess)
	return w.bytes(), nil
}

// domainList collects the referenced domains of a lookup, in order.
type domainList struct {
	names []string
	sids  []fscc.SID
}

func (d *domainList) index(name string, sid fscc.SID) int32 {
	for i := range d.names {
		if d.sids[i] == sid {
			return int32(i)
		}
	}
	d.names = append(d.names, name)
	d.sids = append(d.sids, sid)
	return int32(len(d.names) - 1)
}

// lookupSID resolves one SID: well-known ones here, accounts through the
// Backend's Names.
func lookupSID(b Backend, sid fscc.SID) (Account, bool) {
	if a, ok := wellKnownBySID(sid); ok {
		return a, true
	}
	if n, ok := b.(Names); ok {
		return n.LookupSID(sid)
	}
	return Account{}, false
}

func lookupName(b Backend, name string) (Account, bool) {
	if a, ok := wellKnownByName(name); ok {
		return a, true
	}
	if n, ok := b.(Names); ok {
		return n.LookupName(name)
	}
	return Account{}, false
}

// lsarLookupSids answers LsarLookupSids (opnum 15) and LsarLookupSids2
// (opnum 57) (MS-LSAT 3.1.4.10-11):
//
//	[in] LSAPR_HANDLE PolicyHandle,
//	[in] PLSAPR_SID_ENUM_BUFFER SidEnumBuffer,
//	[out] PLSAPR_REFERENCED_DOMAIN_LIST* ReferencedDomains,
//	[in, out] PLSAPR_TRANSLATED_NAMES(_EX) TranslatedNames,
//	[in] LSAP_LOOKUP_LEVEL LookupLevel,
//	[in, out] unsigned long* MappedCount,
//	(2 only: [in] unsigned long LookupOptions, ClientRevision)
func lsarLookupSids(b Backend, stub []byte, ex bool) ([]byte, error) {
	r := newNDRReader(stub)
	r.raw(20)
	n := r.uint32()
	ptr := r.pointer()
	var sids []fscc.SID
	if ptr != 0 {
		if max := r.uint32(); max != n || n > maxLookups {
			r.fail("SID array of %d (conformance %d)", n, max)
		}
		if r.err != nil {
			return nil, r.err
		}
		present := make([]bool, 0, n)
		for i := uint32(0); i < n && r.err == nil; i++ {
			present = append(present, r.pointer() != 0)
		}
		for _, p := range present {
			if !p {
				r.fail("NULL SID")
				break
			}
			sids = append(sids, r.sid())
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	var doms domainList
	type result struct {
		use    uint16
		name   string
		domain int32
	}
	res := make([]result, len(sids))
	mapped := 0
	for i, s := range sids {
		a, ok := lookupSID(b, s)
		if !ok {
			res[i] = result{use: SidTypeUnknown, name: s.String(), domain: -1}
			continue
		}
		mapped++
		di := int32(-1)
		if a.Use != SidTypeDomain || a.Domain != "" {
			di = doms.index(a.Domain, a.DomainSID)
		}
		res[i] = result{use: a.Use, name: a.Name, domain: di}
	}
	w := newNDRWriter(256)
	w.referencedDomains(&doms)
	// TranslatedNames: Entries, pointer, then the array.
	w.uint32(uint32(len(res)))
	w.pointer(len(res) > 0)
	if len(res) > 0 {
		w.uint32(uint32(len(res)))
		for _, x := range res {
			w.uint16(x.use)
			w.unicodeStringHdr(x.name)
			w.uint32(uint32(x.domain))
			if ex {
				w.uint32(0) // Flags
			}
		}
		for _, x := range res {
			w.unicodeStringBody(x.name)
		}
	}
	w.uint32(uint32(mapped))
	w.uint32(mapStatus(mapped, len(res)))
	return w.bytes(), nil
}

// lsarLookupNames answers LsarLookupNames (opnum 14) and LsarLookupNames2
// (opnum 58) (MS-LSAT 3.1.4.6-7):
//
//	[in] LSAPR_HANDLE PolicyHandle,
//	[in, range(0,1000)] unsigned long Count,
//	[in, size_is(Count)] PRPC_UNICODE_STRING Names,
//	[out] PLSAPR_REFERENCED_DOMAIN_LIST* ReferencedDomains,
//	[in, out] PLSAPR_TRANSLATED_SIDS(_EX) TranslatedSids,
//	...
//
// The answers are LSA_TRANSLATED_SID (RID and domain index) for opnum 14,
// LSAPR_TRANSLATED_SID_EX (RID, domain index, flags) for 58 and
// LSAPR_TRANSLATED_SID_EX2 (the SID, domain index, flags) for
// LsarLookupNames3 (opnum 68), which Windows uses to check names typed in
// its ACL editor.
func lsarLookupNames(b Backend, stub []byte, form int) ([]byte, error) {
	r := newNDRReader(stub)
	r.raw(20)
	n := r.uint32()
	if max := r.uint32(); max != n || n > 1000 {
		r.fail("name array of %d (conformance %d)", n, max)
	}
	if r.err != nil {
		return nil, r.err
	}
	present := make([]bool, 0, n)
	for i := uint32(0); i < n && r.err == nil; i++ {
		r.align(4)
		r.uint16() // Length
		r.uint16() // MaximumLength
		present = append(present, r.pointer() != 0)
	}
	names := make([]string, 0, n)
	for _, p := range present {
		if !p {
			names = append(names, "")
			continue
		}
		names = append(names, r.varyingString())
	}
	if r.err != nil {
		return nil, r.err
	}
	var doms domainList
	type result struct {
		use    uint16
		rid    uint32
		sid    fscc.SID
		domain int32
	}
	res := make([]result, len(names))
	mapped := 0
	for i, name := range names {
		a, ok := lookupName(b, name)
		if !ok {
			res[i] = result{use: SidTypeUnknown, domain: -1}
			continue
		}
		subs := a.SID.SubAuthorities()
		if len(subs) == 0 {
			res[i] = result{use: SidTypeUnknown, domain: -1}
			continue
		}
		mapped++
		res[i] = result{use: a.Use, rid: subs[len(subs)-1], sid: a.SID, domain: doms.index(a.Domain, a.DomainSID)}
	}
	w := newNDRWriter(256)
	w.referencedDomains(&doms)
	w.uint32(uint32(len(res)))
	w.pointer(len(res) > 0)
	if len(res) > 0 {
		w.uint32(uint32(len(res)))
		for _, x := range res {
			w.uint16(x.use)
			if form == namesEx2 {
				w.pointer(x.use != SidTypeUnknown) // Sid, deferred
			} else {
				w.uint32(x.rid)
			}
			w.uint32(uint32(x.domain))
			if form != namesPlain {
				w.uint32(0) // Flags
			}
		}
		if form == namesEx2 {
			for _, x := range res {
				if x.use != SidTypeUnknown {
					w.sid(x.sid)
				}
			}
		}
	}
	w.uint32(uint32(mapped))
	w.uint32(mapStatus(mapped, len(res)))
	return w.bytes(), nil
}

func mapStatus(mapped, total int) uint32 {
	switch {
	case total == 0:
		return statusSuccess
	case mapped == 0:
		return statusNoneMapped
	case mapped < total:
		return statusSomeNotMapped
	}
	return statusSuccess
}

// referencedDomains writes the [out] PLSAPR_REFERENCED_DOMAIN_LIST*: a
// unique pointer to {Entries, pointer to TRUST_INFORMATION array,
// MaxEntries}, the array, then each name's buffer and SID.
func (w *ndrWriter) referencedDomains(d *domainList) {
	w.pointer(true)
	w.uint32(uint32(len(d.names)))
	w.pointer(len(d.names) > 0)
	w.uint32(32) // MaxEntries, as Windows answers
	if len(d.names) == 0 {
		return
	}
	w.uint32(uint32(len(d.names)))
	for _, n := range d.names {
		w.unicodeStringHdr(n)
		w.pointer(true) // Sid
	}
	for i, n := range d.names {
		w.unicodeStringBody(n)
		w.sid(d.sids[i])
	}
}

func (w *ndrWriter) uint16(v uint16) {
	w.align(2)
	w.buf = binary.LittleEndian.AppendUint16(w.buf, v)
}

func (w *ndrWriter) raw(b []byte) { w.buf = append(w.buf, b...) }

// unicodeStringHdr writes the flat part of an RPC_UNICODE_STRING: Length
// and MaximumLength in octets, then the buffer pointer (NULL for "").
func (w *ndrWriter) unicodeStringHdr(s string) {
	n := 2 * len(utf16.Encode([]rune(s)))
	w.align(4) // the structure holds a pointer: 4-byte aligned
	w.uint16(uint16(n))
	w.uint16(uint16(n))
	w.pointer(n > 0)
}

// unicodeStringBody writes the deferred buffer of an RPC_UNICODE_STRING:
// a conformant varying array without terminator.
func (w *ndrWriter) unicodeStringBody(s string) {
	u := utf16.Encode([]rune(s))
	if len(u) == 0 {
		return
	}
	w.uint32(uint32(len(u)))
	w.uint32(0)
	w.uint32(uint32(len(u)))
	for _, c := range u {
		w.buf = binary.LittleEndian.AppendUint16(w.buf, c)
	}
}

// sid writes an RPC_SID referent: the conformance (sub-authority count),
// then the SID (MS-DTYP 2.4.2.3).
func (w *ndrWriter) sid(s fscc.SID) {
	w.uint32(uint32(len(s.SubAuthorities())))
	w.buf = s.Append(w.buf)
}

func (r *ndrReader) uint16() uint16 {
	r.align(2)
	if !r.need(2, "uint16") {
		return 0
	}
	v := binary.LittleEndian.Uint16(r.buf[r.off:])
	r.off += 2
	return v
}

func (r *ndrReader) raw(n int) []byte {
	if !r.need(n, "octets") {
		return nil
	}
	b := r.buf[r.off : r.off+n]
	r.off += n
	return b
}

// sid reads an RPC_SID referent.
func (r *ndrReader) sid() fscc.SID {
	count := r.uint32()
	if r.err != nil {
		return fscc.SID{}
	}
	if count > fscc.MaxSubAuthorities {
		r.fail("SID with %d sub-authorities", count)
		return fscc.SID{}
	}
	b := r.raw(8 + 4*int(count))
	if r.err != nil {
		return fscc.SID{}
	}
	s, _, err := fscc.DecodeSID(b)
	if err != nil || len(s.SubAuthorities()) != int(count) {
		r.fail("bad SID")
	}
	return s
}

// varyingString reads the referent of an RPC_UNICODE_STRING buffer.
func (r *ndrReader) varyingString() string {
	max := r.uint32()
	off := r.uint32()
	actual := r.uint32()
	if r.err != nil {
		return ""
	}
	if off != 0 || actual > max || actual > maxNDRStringChars {
		r.fail("string of %d/%d at %d", actual, max, off)
		return ""
	}
	b := r.raw(2 * int(actual))
	if r.err != nil {
		return ""
	}
	u := make([]uint16, actual)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

// wellKnown are the SIDs every Windows machine names the same way
// (MS-DTYP 2.4.2.4).
var wellKnown = []struct {
	sid, name, domain, domainSID string
	use                          uint16
}{
	{"S-1-1-0", "Everyone", "", "S-1-1", SidTypeWellKnownGroup},
	{"S-1-3-0", "CREATOR OWNER", "", "S-1-3", SidTypeWellKnownGroup},
	{"S-1-3-1", "CREATOR GROUP", "", "S-1-3", SidTypeWellKnownGroup},
	{"S-1-3-4", "OWNER RIGHTS", "", "S-1-3", SidTypeWellKnownGroup},
	{"S-1-5-2", "NETWORK", "NT AUTHORITY", "S-1-5", SidTypeWellKnownGroup},
	{"S-1-5-7", "ANONYMOUS LOGON", "NT AUTHORITY", "S-1-5", SidTypeWellKnownGroup},
	{"S-1-5-11", "Authenticated Users", "NT AUTHORITY", "S-1-5", SidTypeWellKnownGroup},
	{"S-1-5-18", "SYSTEM", "NT AUTHORITY", "S-1-5", SidTypeWellKnownGroup},
	{"S-1-5-32-544", "Administrators", "BUILTIN", "S-1-5-32", SidTypeAlias},
	{"S-1-5-32-545", "Users", "BUILTIN", "S-1-5-32", SidTypeAlias},
	{"S-1-5-32-546", "Guests", "BUILTIN", "S-1-5-32", SidTypeAlias},
}

func wellKnownAccount(i int) Account {
	k := wellKnown[i]
	sid, _ := fscc.ParseSID(k.sid)
	dsid, _ := fscc.ParseSID(k.domainSID)
	return Account{SID: sid, Name: k.name, Use: k.use, Domain: k.domain, DomainSID: dsid}
}

func wellKnownBySID(s fscc.SID) (Account, bool) {
	str := s.String()
	for i := range wellKnown {
		if wellKnown[i].sid == str {
			return wellKnownAccount(i), true
		}
	}
	return Account{}, false
}

func wellKnownByName(name string) (Account, bool) {
	for i := range wellKnown {
		k := wellKnown[i]
		full := k.name
		if k.domain != "" {
			full = k.domain + `\` + k.name
		}
		if strings.EqualFold(name, k.name) || strings.EqualFold(name, full) {
			return wellKnownAccount(i), true
		}
	}
	return Account{}, false
}
