package wire

// FSCTL codes [MS-SMB2 2.2.31, MS-FSCC 2.3].
const (
	FsctlDfsGetReferrals            uint32 = 0x00060194
	FsctlPipePeek                   uint32 = 0x0011400C
	FsctlPipeWait                   uint32 = 0x00110018
	FsctlPipeTransceive             uint32 = 0x0011C017
	FsctlSrvCopyChunk               uint32 = 0x001440F2
	FsctlSrvEnumerateSnapshots      uint32 = 0x00144064
	FsctlSrvRequestResumeKey        uint32 = 0x00140078
	FsctlSrvReadHash                uint32 = 0x001441BB
	FsctlSrvCopyChunkWrite          uint32 = 0x001480F2
	FsctlLmrRequestResiliency       uint32 = 0x001401D4
	FsctlQueryNetworkInterfaceInfo  uint32 = 0x001401FC
	FsctlSetReparsePoint            uint32 = 0x000900A4
	FsctlDfsGetReferralsEx          uint32 = 0x000601B0
	FsctlFileLevelTrim              uint32 = 0x00098208
	FsctlValidateNegotiateInfo      uint32 = 0x00140204
	FsctlGetReparsePoint            uint32 = 0x000900A8
	FsctlCreateOrGetObjectID        uint32 = 0x000900C0
	FsctlGetObjectID                uint32 = 0x0009009C
	FsctlSetSparse                  uint32 = 0x000900C4
	FsctlSetZeroData                uint32 = 0x000980C8
	FsctlQueryAllocatedRanges       uint32 = 0x000940CF
	FsctlGetCompression             uint32 = 0x0009003C
	FsctlSetCompression             uint32 = 0x0009C040
	FsctlGetIntegrityInformation    uint32 = 0x0009027C
	FsctlQueryFileRegions           uint32 = 0x00090284
	FsctlDuplicateExtentsToFile     uint32 = 0x00098344
	IoctlFlagIsFsctl                uint32 = 0x00000001
	ValidateNegotiateInfoRequestMin        = 24
)

// FileID is an SMB2_FILEID: persistent and volatile parts [MS-SMB2 2.2.14.1].
type FileID struct{ Persistent, Volatile uint64 }

// AllOnes is the FileID meaning "not a file" / "the previous compound
// element's file".
var AllOnes = FileID{^uint64(0), ^uint64(0)}

// GetFileID decodes a FileID at b[0:16].
func GetFileID(b []byte) FileID {
	return FileID{le.Uint64(b), le.Uint64(b[8:])}
}

// PutFileID encodes id at b[0:16].
func PutFileID(b []byte, id FileID) {
	le.PutUint64(b, id.Persistent)
	le.PutUint64(b[8:], id.Volatile)
}

// IoctlRequest is a validated IOCTL request [MS-SMB2 2.2.31].
type IoctlRequest struct {
	CtlCode           uint32
	FileID            FileID
	Input             []byte
	MaxInputResponse  uint32
	MaxOutputResponse uint32
	Flags             uint32
}

// ParseIoctlRequest validates and decodes msg.
func ParseIoctlRequest(msg []byte) (*IoctlRequest, error) {
	b, err := body(msg, 57)
	if err != nil {
		return nil, err
	}
	r := &IoctlRequest{
		CtlCode:           le.Uint32(b[4:]),
		FileID:            GetFileID(b[8:]),
		MaxInputResponse:  le.Uint32(b[32:]),
		MaxOutputResponse: le.Uint32(b[44:]),
		Flags:             le.Uint32(b[48:]),
	}
	r.Input, err = buffer(msg, le.Uint32(b[24:]), le.Uint32(b[28:]), HeaderSize+56)
	return r, err
}

// AppendIoctlRequest appends a request body (client side).
func AppendIoctlRequest(dst []byte, r *IoctlRequest) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, 56)...)
	b := dst[start:]
	le.PutUint16(b[0:], 57)
	le.PutUint32(b[4:], r.CtlCode)
	PutFileID(b[8:], r.FileID)
	if len(r.Input) > 0 {
		le.PutUint32(b[24:], uint32(start+56))
	}
	le.PutUint32(b[28:], uint32(len(r.Input)))
	le.PutUint32(b[32:], r.MaxInputResponse)
	le.PutUint32(b[44:], r.MaxOutputResponse)
	le.PutUint32(b[48:], r.Flags)
	return append(dst, r.Input...)
}

// AppendIoctlResponse appends an IOCTL response body with out as the output
// buffer [MS-SMB2 2.2.32].
func AppendIoctlResponse(dst []byte, ctl uint32, id FileID, out []byte) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, 48)...)
	b := dst[start:]
	le.PutUint16(b[0:], 49)
	le.PutUint32(b[4:], ctl)
	PutFileID(b[8:], id)
	le.PutUint32(b[24:], uint32(start+48)) // InputOffset (no input echoed)
	le.PutUint32(b[32:], uint32(start+48)) // OutputOffset
	le.PutUint32(b[36:], uint32(len(out)))
	return append(dst, out...)
}

// IoctlResponse is a decoded IOCTL response (client side).
type IoctlResponse struct {
	CtlCode uint32
	FileID  FileID
	Output  []byte
}

// ParseIoctlResponse decodes a response (client side).
func ParseIoctlResponse(msg []byte) (*IoctlResponse, error) {
	b, err := body(msg, 49)
	if err != nil {
		return nil, err
	}
	r := &IoctlResponse{CtlCode: le.Uint32(b[4:]), FileID: GetFileID(b[8:])}
	r.Output, err = buffer(msg, le.Uint32(b[32:]), le.Uint32(b[36:]), HeaderSize+48)
	return r, err
}

// ValidateNegotiateInfo is the FSCTL_VALIDATE_NEGOTIATE_INFO request input
// [MS-SMB2 2.2.31.4].
type ValidateNegotiateInfo struct {
	Capabilities uint32
	GUID         [16]byte
	SecurityMode uint16
	Dialects     []uint16
}

// ParseValidateNegotiateInfo decodes the request input buffer.
func ParseValidateNegotiateInfo(in []byte) (*ValidateNegotiateInfo, error) {
	if len(in) < ValidateNegotiateInfoRequestMin {
		return nil, ErrShort
	}
	v := &ValidateNegotiateInfo{Capabilities: le.Uint32(in), SecurityMode: le.Uint16(in[20:])}
	copy(v.GUID[:], in[4:20])
	n := int(le.Uint16(in[22:]))
	if n > MaxDialects || len(in) < 24+2*n {
		return nil, ErrShort
	}
	for i := 0; i < n; i++ {
		v.Dialects = append(v.Dialects, le.Uint16(in[24+2*i:]))
	}
	return v, nil
}

// AppendValidateNegotiateInfo appends the request input (client side).
func AppendValidateNegotiateInfo(dst []byte, v *ValidateNegotiateInfo) []byte {
	var b [24]byte
	le.PutUint32(b[0:], v.Capabilities)
	copy(b[4:20], v.GUID[:])
	le.PutUint16(b[20:], v.SecurityMode)
	le.PutUint16(b[22:], uint16(len(v.Dialects)))
	dst = append(dst, b[:]...)
	for _, d := range v.Dialects {
		dst = le.AppendUint16(dst, d)
	}
	return dst
}

// ValidateNegotiateResponse is the 24-byte output [MS-SMB2 2.2.32.6].
type ValidateNegotiateResponse struct {
	Capabilities uint32
	GUID         [16]byte
	SecurityMode uint16
	Dialect      uint16
}

// Append appends the 24-byte structure.
func (v *ValidateNegotiateResponse) Append(dst []byte) []byte {
	var b [24]byte
	le.PutUint32(b[0:], v.Capabilities)
	copy(b[4:20], v.GUID[:])
	le.PutUint16(b[20:], v.SecurityMode)
	le.PutUint16(b[22:], v.Dialect)
	return append(dst, b[:]...)
}

// ParseValidateNegotiateResponse decodes the output (client side).
func ParseValidateNegotiateResponse(out []byte) (*ValidateNegotiateResponse, error) {
	if len(out) < 24 {
		return nil, ErrShort
	}
	v := &ValidateNegotiateResponse{Capabilities: le.Uint32(out), SecurityMode: le.Uint16(out[20:]), Dialect: le.Uint16(out[22:])}
	copy(v.GUID[:], out[4:20])
	return v, nil
}
