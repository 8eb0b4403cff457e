package dcerpc

import (
	"fmt"
	"strings"
)

// Share types (MS-SRVS 2.2.2.4, shi*_type).
const (
	ShareTypeDisk       = 0x00000000 // STYPE_DISKTREE
	ShareTypePrintQueue = 0x00000001 // STYPE_PRINTQ
	ShareTypeDevice     = 0x00000002 // STYPE_DEVICE
	ShareTypeIPC        = 0x00000003 // STYPE_IPC
	ShareTypeTemporary  = 0x40000000 // STYPE_TEMPORARY
	ShareTypeSpecial    = 0x80000000 // STYPE_SPECIAL (IPC$, ADMIN$, C$)
)

// Server type bits (MS-SRVS 2.2.2.7, sv101_type).
const (
	ServerTypeWorkstation = 0x00000001 // SV_TYPE_WORKSTATION
	ServerTypeServer      = 0x00000002 // SV_TYPE_SERVER
	ServerTypeNT          = 0x00001000 // SV_TYPE_NT
	ServerTypeServerNT    = 0x00008000 // SV_TYPE_SERVER_NT

	// DefaultServerType is reported when ServerInfo.Type is 0.
	DefaultServerType = ServerTypeWorkstation | ServerTypeServer | ServerTypeNT | ServerTypeServerNT
)

// shareUsesUnlimited is SHI_USES_UNLIMITED, sent for ShareInfo.MaxUses 0.
const shareUsesUnlimited = 0xffffffff

// ShareInfo describes one share for NetrShareEnum and NetrShareGetInfo.
type ShareInfo struct {
	Name    string // share name, e.g. "data" or "IPC$"
	Comment string // remark shown by share browsers
	// Path is the local path reported at levels 2 and 502 (Windows
	// clients expect a DOS-style path such as `C:\data`; "" for IPC$).
	Path string
	// Type is ShareTypeDisk, or ShareTypeIPC|ShareTypeSpecial for IPC$.
	Type uint32
	// MaxUses is the connection limit; 0 means unlimited and is sent as
	// SHI_USES_UNLIMITED (0xFFFFFFFF).
	MaxUses     uint32
	CurrentUses uint32
	// Flags are the SHI1005_FLAGS_* reported at levels 501 and 1005
	// (client-side caching policy, access-based enumeration, ...).
	Flags uint32
}

// ServerInfo describes the server for NetrServerGetInfo and
// NetrWkstaGetInfo.
type ServerInfo struct {
	Name    string // NetBIOS computer name, without leading backslashes
	Comment string // server comment (sv101_comment)
	Domain  string // workgroup or domain (wki100_langroup)
	// VersionMajor and VersionMinor are the reported OS version; 0.0
	// means 10.0.
	VersionMajor, VersionMinor uint32
	// Type is the SV_TYPE_* bit set; 0 means DefaultServerType.
	Type uint32
}

// withDefaults fills the documented defaults.
func (s ServerInfo) withDefaults() ServerInfo {
	if s.VersionMajor == 0 && s.VersionMinor == 0 {
		s.VersionMajor = 10
	}
	if s.Type == 0 {
		s.Type = DefaultServerType
	}
	return s
}

// srvsvc operation numbers (MS-SRVS 3.1.4).
const (
	opNetrShareEnum     = 15
	opNetrShareGetInfo  = 16
	opNetrServerGetInfo = 21
)

func srvsvcService() service {
	return service{name: "srvsvc", syntax: syntaxSrvsvc, dispatch: srvsvcDispatch}
}

func srvsvcDispatch(b Backend, user string, opnum uint16, stub []byte) ([]byte, error) {
	switch opnum {
	case opNetrShareEnum:
		return netrShareEnum(b, user, stub)
	case opNetrShareGetInfo:
		return netrShareGetInfo(b, user, stub)
	case opNetrServerGetInfo:
		return netrServerGetInfo(b, stub)
	}
	return nil, errOpRange
}

// shareInfoFlatSize is the size of the fixed part of SHARE_INFO_<level>;
// 0 marks a level that is not implemented.
func shareInfoFlatSize(level uint32) int {
	switch level {
	case 0, 1005:
		return 4
	case 1:
		return 12
	case 2:
		return 32
	case 501:
		return 16
	case 502:
		return 40
	}
	return 0
}

func validEnumLevel(level uint32) bool { return level != 1005 && shareInfoFlatSize(level) != 0 }

func validGetInfoLevel(level uint32) bool { return shareInfoFlatSize(level) != 0 }

// writeShareInfo writes the fixed part of SHARE_INFO_<level> for s and
// queues the string referents in d (MS-SRVS 2.2.4.22-2.2.4.29).
func writeShareInfo(w *ndrWriter, level uint32, s *ShareInfo, d *ndrStrings) {
	if level == 1005 {
		w.uint32(s.Flags)
		return
	}
	w.stringPtr(s.Name, d)
	if level == 0 {
		return
	}
	w.uint32(s.Type)
	w.stringPtr(s.Comment, d)
	switch level {
	case 501:
		w.uint32(s.Flags)
	case 2, 502:
		maxUses := s.MaxUses
		if maxUses == 0 {
			maxUses = shareUsesUnlimited
		}
		w.uint32(0) // permissions: share-level security is not used
		w.uint32(maxUses)
		w.uint32(s.CurrentUses)
		w.stringPtr(s.Path, d)
		w.pointer(false) // password
		if level == 502 {
			w.uint32(0)      // shi502_reserved: security descriptor length
			w.pointer(false) // security descriptor
		}
	}
}

// shareInfoSize is the number of stub octets writeShareInfo and the
// deferred strings take for s, used against PreferedMaximumLength.
func shareInfoSize(level uint32, s *ShareInfo) int {
	n := shareInfoFlatSize(level)
	switch level {
	case 0:
		n += ndrStringSize(s.Name)
	case 1, 501:
		n += ndrStringSize(s.Name) + ndrStringSize(s.Comment)
	case 2, 502:
		n += ndrStringSize(s.Name) + ndrStringSize(s.Comment) + ndrStringSize(s.Path)
	}
	return n
}

// shareEnumRequest holds the NetrShareEnum inputs (MS-SRVS 3.1.4.8).
type shareEnumRequest struct {
	level     uint32
	prefMax   uint32
	hasResume bool
	resume    uint32
}

// parseShareEnum decodes a NetrShareEnum request stub:
//
//	[in, string, unique] SRVSVC_HANDLE ServerName,
//	[in, out] LPSHARE_ENUM_STRUCT InfoStruct,
//	[in] DWORD PreferedMaximumLength,
//	[in, out, unique] DWORD* ResumeHandle
//
// Every arm of SHARE_ENUM_UNION is a pointer to a container {DWORD
// EntriesRead; pointer Buffer}, so the layout is known even for levels
// that are not implemented. Clients send a NULL Buffer; a non-NULL one is
// rejected rather than decoded, as its contents would be ignored anyway.
func parseShareEnum(stub []byte) (shareEnumRequest, error) {
	r := newNDRReader(stub)
	r.uniqueStr() // ServerName: ignored (MS-SRVS 3.1.4.8)
	var req shareEnumRequest
	req.level = r.uint32()
	tag := r.uint32()
	if r.pointer() != 0 {
		r.uint32() // EntriesRead
		if r.pointer() != 0 && r.err == nil {
			return req, fmt.Errorf("%w: NetrShareEnum with a non-NULL input share buffer", errNDR)
		}
	}
	req.prefMax = r.uint32()
	if r.pointer() != 0 {
		req.hasResume = true
		req.resume = r.uint32()
	}
	if r.err != nil {
		return req, r.err
	}
	if tag != req.level {
		return req, fmt.Errorf("%w: SHARE_ENUM_STRUCT level %d with union tag %d", errNDR, req.level, tag)
	}
	return req, nil
}

// maxPreferredLength is MAX_PREFERRED_LENGTH: "return everything".
const maxPreferredLength = 0xffffffff

// maxEnumBytes bounds one NetrShareEnum answer even for
// MAX_PREFERRED_LENGTH; past it the client gets ERROR_MORE_DATA and a
// resume handle. It only matters for servers with thousands of shares.
const maxEnumBytes = 1 << 20

// pageShares selects the entries of one NetrShareEnum answer: from index
// start, as many as fit in the preferred length (at least one, so that
// enumeration always progresses). next is the resume handle for the rest,
// 0 when the enumeration is complete.
func pageShares(shares []ShareInfo, level, start, prefMax uint32) (page []ShareInfo, next uint32) {
	if uint64(start) >= uint64(len(shares)) {
		return nil, 0
	}
	budget := maxEnumBytes
	if prefMax != maxPreferredLength && uint64(prefMax) < uint64(budget) {
		budget = int(prefMax)
	}
	end, used := int(start), 0
	for end < len(shares) {
		size := shareInfoSize(level, &shares[end])
		if end > int(start) && used+size > budget {
			break
		}
		used += size
		end++
	}
	if end < len(shares) {
		next = uint32(end)
	}
	return shares[start:end], next
}

// netrShareEnum answers NetrShareEnum (opnum 15):
//
//	[in, out] LPSHARE_ENUM_STRUCT InfoStruct,
//	[out] DWORD* TotalEntries,
//	[in, out, unique] DWORD* ResumeHandle,
//	NET_API_STATUS return
func netrShareEnum(b Backend, user string, stub []byte) ([]byte, error) {
	req, err := parseShareEnum(stub)
	if err != nil {
		return nil, err
	}
	if !validEnumLevel(req.level) {
		w := newNDRWriter(32)
		w.uint32(req.level)
		writeUnionNull(w, req.level)
		w.uint32(0) // TotalEntries
		writeResumeHandle(w, req.hasResume, req.resume)
		w.uint32(errorInvalidLevel)
		return w.bytes(), nil
	}
	shares := b.Shares(user)
	page, next := pageShares(shares, req.level, req.resume, req.prefMax)
	w := newNDRWriter(64 + len(page)*(shareInfoFlatSize(req.level)+64))
	w.uint32(req.level) // SHARE_ENUM_STRUCT.Level
	w.uint32(req.level) // SHARE_ENUM_UNION tag
	w.pointer(true)     // -> SHARE_INFO_<level>_CONTAINER
	w.uint32(uint32(len(page)))
	w.pointer(len(page) > 0) // -> Buffer
	if len(page) > 0 {
		w.uint32(uint32(len(page))) // conformance of the array
		var d ndrStrings
		for i := range page {
			writeShareInfo(w, req.level, &page[i], &d)
		}
		w.flush(&d)
	}
	w.uint32(uint32(len(shares)))
	writeResumeHandle(w, req.hasResume, next)
	status := uint32(errorSuccess)
	if next != 0 {
		status = errorMoreData
	}
	w.uint32(status)
	return w.bytes(), nil
}

// writeResumeHandle writes the [in, out, unique] DWORD* ResumeHandle
// output: NULL when the client passed NULL.
func writeResumeHandle(w *ndrWriter, present bool, v uint32) {
	w.pointer(present)
	if present {
		w.uint32(v)
	}
}

// parseShareGetInfo decodes a NetrShareGetInfo request stub:
//
//	[in, string, unique] SRVSVC_HANDLE ServerName,
//	[in, string] WCHAR* NetName,
//	[in] DWORD Level
func parseShareGetInfo(stub []byte) (name string, level uint32, err error) {
	r := newNDRReader(stub)
	r.uniqueStr()
	name = r.str() // [ref] top-level pointer: no referent id on the wire
	level = r.uint32()
	return name, level, r.err
}

// netrShareGetInfo answers NetrShareGetInfo (opnum 16):
//
//	[out, switch_is(Level)] LPSHARE_INFO InfoStruct,
//	NET_API_STATUS return
func netrShareGetInfo(b Backend, user string, stub []byte) ([]byte, error) {
	name, level, err := parseShareGetInfo(stub)
	if err != nil {
		return nil, err
	}
	w := newNDRWriter(128)
	if !validGetInfoLevel(level) {
		writeUnionNull(w, level)
		w.uint32(errorInvalidLevel)
		return w.bytes(), nil
	}
	share, ok := findShare(b.Shares(user), name)
	if !ok {
		writeUnionNull(w, level)
		w.uint32(nerrNetNameNotFound)
		return w.bytes(), nil
	}
	w.uint32(level)
	w.pointer(true)
	var d ndrStrings
	writeShareInfo(w, level, &share, &d)
	w.flush(&d)
	w.uint32(errorSuccess)
	return w.bytes(), nil
}

// findShare looks a share up by name, case-insensitively.
func findShare(shares []ShareInfo, name string) (ShareInfo, bool) {
	for _, s := range shares {
		if strings.EqualFold(s.Name, name) {
			return s, true
		}
	}
	return ShareInfo{}, false
}

// parseLevelRequest decodes the request of NetrServerGetInfo and
// NetrWkstaGetInfo: a [in, string, unique] server name, then a DWORD level.
func parseLevelRequest(stub []byte) (uint32, error) {
	r := newNDRReader(stub)
	r.uniqueStr()
	level := r.uint32()
	return level, r.err
}

// netrServerGetInfo answers NetrServerGetInfo (opnum 21) at levels 100
// and 101 (MS-SRVS 2.2.4.40, 2.2.4.41):
//
//	[out, switch_is(Level)] LPSERVER_INFO InfoStruct,
//	NET_API_STATUS return
func netrServerGetInfo(b Backend, stub []byte) ([]byte, error) {
	level, err := parseLevelRequest(stub)
	if err != nil {
		return nil, err
	}
	w := newNDRWriter(128)
	if level != 100 && level != 101 {
		writeUnionNull(w, level)
		w.uint32(errorInvalidLevel)
		return w.bytes(), nil
	}
	si := b.Server().withDefaults()
	var d ndrStrings
	w.uint32(level)
	w.pointer(true)
	w.uint32(PlatformIDNT)
	w.stringPtr(si.Name, &d)
	if level == 101 {
		w.uint32(si.VersionMajor)
		w.uint32(si.VersionMinor)
		w.uint32(si.Type)
		w.stringPtr(si.Comment, &d)
	}
	w.flush(&d)
	w.uint32(errorSuccess)
	return w.bytes(), nil
}
