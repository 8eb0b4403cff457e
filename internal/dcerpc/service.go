package dcerpc

import "encoding/binary"

// errOpRange is returned by a dispatch function for an opnum it does not
// implement; the pipe answers with a nca_s_op_rng_error fault. Any other
// dispatch error is a malformed stub, answered with rpc_x_bad_stub_data.
const errOpRange Error = "dcerpc: operation number out of range"

// service is one RPC interface served on a pipe.
type service struct {
	name     string // pipe name, also used in the bind_ack secondary address
	syntax   string // abstract syntax in wire form (UUID + version)
	dispatch func(b Backend, user string, opnum uint16, stub []byte) ([]byte, error)
}

// matches reports whether a proposed abstract syntax selects this
// interface: same UUID and major version, minor version not newer than
// ours (C706 "compatible" interface versions).
func (s service) matches(abstract []byte) bool {
	if len(abstract) != syntaxLen || string(abstract[:16]) != s.syntax[:16] {
		return false
	}
	major := binary.LittleEndian.Uint16(abstract[16:])
	minor := binary.LittleEndian.Uint16(abstract[18:])
	return major == le16(s.syntax[16:]) && minor <= le16(s.syntax[18:])
}

// le16 decodes a little-endian uint16 from the start of s.
func le16(s string) uint16 { return uint16(s[0]) | uint16(s[1])<<8 }

// Win32 / LAN Manager status codes returned in stubs (NET_API_STATUS).
const (
	errorSuccess        = 0
	errorInvalidLevel   = 124  // ERROR_INVALID_LEVEL
	errorMoreData       = 234  // ERROR_MORE_DATA
	nerrNetNameNotFound = 2310 // NERR_NetNameNotFound
)

// PlatformIDNT is the platform id reported by NetrServerGetInfo and
// NetrWkstaGetInfo (PLATFORM_ID_NT).
const PlatformIDNT = 500

// writeUnionNull writes a non-encapsulated union of pointer arms whose arm
// is NULL, as answered with an error status: the tag, then a NULL pointer.
func writeUnionNull(w *ndrWriter, tag uint32) {
	w.uint32(tag)
	w.pointer(false)
}
