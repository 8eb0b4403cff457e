package wire

import "unicode/utf16"

// Share types and flags [MS-SMB2 2.2.10].
const (
	ShareTypeDisk  uint8 = 0x01
	ShareTypePipe  uint8 = 0x02
	ShareTypePrint uint8 = 0x03

	ShareFlagManualCaching uint32 = 0x00000000
	ShareFlagNoCaching     uint32 = 0x00000030
	ShareFlagEncryptData   uint32 = 0x00008000

	ShareCapDFS uint32 = 0x00000008
)

// TreeConnectRequest is a validated TREE_CONNECT request [MS-SMB2 2.2.9].
type TreeConnectRequest struct {
	Flags uint16
	Path  string // \\server\share
}

// ParseTreeConnectRequest validates and decodes msg.
func ParseTreeConnectRequest(msg []byte) (*TreeConnectRequest, error) {
	b, err := body(msg, 9)
	if err != nil {
		return nil, err
	}
	r := &TreeConnectRequest{Flags: le.Uint16(b[2:])}
	p, err := buffer(msg, uint32(le.Uint16(b[4:])), uint32(le.Uint16(b[6:])), HeaderSize+8)
	if err != nil {
		return nil, err
	}
	if len(p)%2 != 0 {
		return nil, ErrOffset
	}
	r.Path = DecodeUTF16(p)
	return r, nil
}

// AppendTreeConnectRequest appends a request body (client side). Flags is
// zero for 2.x/3.0 clients.
func AppendTreeConnectRequest(dst []byte, path string) []byte {
	start := len(dst)
	name := EncodeUTF16(path)
	dst = append(dst, make([]byte, 8)...)
	b := dst[start:]
	le.PutUint16(b[0:], 9)
	le.PutUint16(b[4:], uint16(start+8))
	le.PutUint16(b[6:], uint16(len(name)))
	return append(dst, name...)
}

// TreeConnectResponse is the TREE_CONNECT response [MS-SMB2 2.2.10].
type TreeConnectResponse struct {
	ShareType     uint8
	ShareFlags    uint32
	Capabilities  uint32
	MaximalAccess uint32
}

// AppendTreeConnectResponse appends the 16-byte body.
func AppendTreeConnectResponse(dst []byte, r *TreeConnectResponse) []byte {
	var b [16]byte
	le.PutUint16(b[0:], 16)
	b[2] = r.ShareType
	le.PutUint32(b[4:], r.ShareFlags)
	le.PutUint32(b[8:], r.Capabilities)
	le.PutUint32(b[12:], r.MaximalAccess)
	return append(dst, b[:]...)
}

// ParseTreeConnectResponse decodes a response (client side).
func ParseTreeConnectResponse(msg []byte) (*TreeConnectResponse, error) {
	b, err := body(msg, 16)
	if err != nil {
		return nil, err
	}
	return &TreeConnectResponse{
		ShareType:     b[2],
		ShareFlags:    le.Uint32(b[4:]),
		Capabilities:  le.Uint32(b[8:]),
		MaximalAccess: le.Uint32(b[12:]),
	}, nil
}

// ParseSimpleRequest validates the 4-byte bodies of LOGOFF, TREE_DISCONNECT,
// ECHO and CANCEL (StructureSize 4, Reserved) [MS-SMB2 2.2.7, 2.2.11,
// 2.2.28, 2.2.30].
func ParseSimpleRequest(msg []byte) error {
	_, err := body(msg, 4)
	return err
}

// AppendSimple appends a 4-byte body (StructureSize 4, Reserved 0), the
// shape of LOGOFF, TREE_DISCONNECT and ECHO requests and responses.
func AppendSimple(dst []byte) []byte { return append(dst, 4, 0, 0, 0) }

// AppendErrorResponse appends an SMB2 ERROR body [MS-SMB2 2.2.2]: with no
// error data one zero byte is still sent.
func AppendErrorResponse(dst []byte, data []byte) []byte {
	var b [8]byte
	le.PutUint16(b[0:], 9)
	le.PutUint32(b[4:], uint32(len(data)))
	dst = append(dst, b[:]...)
	if len(data) == 0 {
		return append(dst, 0)
	}
	return append(dst, data...)
}

// EncodeUTF16 encodes s as UTF-16LE.
func EncodeUTF16(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, v := range u {
		le.PutUint16(b[2*i:], v)
	}
	return b
}

// DecodeUTF16 decodes UTF-16LE (an odd trailing byte is ignored).
func DecodeUTF16(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = le.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}
