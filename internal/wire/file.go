package wire

import (
	"fmt"

	"github.com/signetsmb/signet/internal/fscc"
)

// CREATE constants [MS-SMB2 2.2.13].
const (
	OplockNone      uint8 = 0x00
	OplockLevelII   uint8 = 0x01
	OplockExclusive uint8 = 0x08
	OplockBatch     uint8 = 0x09
	OplockLease     uint8 = 0xFF

	ImpersonationImpersonation uint32 = 2

	// CreateDisposition
	FileSupersede   uint32 = 0
	FileOpen        uint32 = 1
	FileCreate      uint32 = 2
	FileOpenIf      uint32 = 3
	FileOverwrite   uint32 = 4
	FileOverwriteIf uint32 = 5

	// CreateAction in the response
	FileSuperseded  uint32 = 0
	FileOpened      uint32 = 1
	FileCreated     uint32 = 2
	FileOverwritten uint32 = 3

	// CreateOptions
	FileDirectoryFile           uint32 = 0x00000001
	FileWriteThrough            uint32 = 0x00000002
	FileSequentialOnly          uint32 = 0x00000004
	FileNoIntermediateBuffering uint32 = 0x00000008
	FileSynchronousIOAlert      uint32 = 0x00000010
	FileSynchronousIONonalert   uint32 = 0x00000020
	FileNonDirectoryFile        uint32 = 0x00000040
	FileCompleteIfOplocked      uint32 = 0x00000100
	FileNoEaKnowledge           uint32 = 0x00000200
	FileRandomAccess            uint32 = 0x00000800
	FileDeleteOnClose           uint32 = 0x00001000
	FileOpenByFileID            uint32 = 0x00002000
	FileOpenForBackupIntent     uint32 = 0x00004000
	FileNoCompression           uint32 = 0x00008000
	FileOpenReparsePoint        uint32 = 0x00200000
	FileOpenNoRecall            uint32 = 0x00400000
	FileOpenForFreeSpaceQuery   uint32 = 0x00800000
	CreateOptionsValid          uint32 = 0x00FFFFFF

	// ShareAccess
	FileShareRead   uint32 = 0x1
	FileShareWrite  uint32 = 0x2
	FileShareDelete uint32 = 0x4
	FileShareValid  uint32 = 0x7

	// Access mask bits [MS-SMB2 2.2.13.1], defined once in fscc.
	FileReadData         = fscc.FileReadData
	FileWriteData        = fscc.FileWriteData
	FileAppendData       = fscc.FileAppendData
	FileReadEA           = fscc.FileReadEA
	FileWriteEA          = fscc.FileWriteEA
	FileExecute          = fscc.FileExecute
	FileDeleteChild      = fscc.FileDeleteChild
	FileReadAttributes   = fscc.FileReadAttributes
	FileWriteAttributes  = fscc.FileWriteAttributes
	Delete               = fscc.Delete
	ReadControl          = fscc.ReadControl
	WriteDAC             = fscc.WriteDAC
	WriteOwner           = fscc.WriteOwner
	Synchronize          = fscc.Synchronize
	AccessSystemSecurity = fscc.AccessSystemSecurity
	MaximumAllowed       = fscc.MaximumAllowed
	GenericAll           = fscc.GenericAll
	GenericExecute       = fscc.GenericExecute
	GenericWrite         = fscc.GenericWrite
	GenericRead          = fscc.GenericRead
)

// Create context names [MS-SMB2 2.2.13.2].
const (
	CtxNameExtA      = "ExtA"
	CtxNameSecD      = "SecD"
	CtxNameDHnQ      = "DHnQ"
	CtxNameDHnC      = "DHnC"
	CtxNameAlSi      = "AlSi"
	CtxNameMxAc      = "MxAc"
	CtxNameTWrp      = "TWrp"
	CtxNameQFid      = "QFid"
	CtxNameRqLs      = "RqLs"
	CtxNameDH2Q      = "DH2Q"
	CtxNameDH2C      = "DH2C"
	CtxNameAppInstID = "\x45\xBC\xA6\x6A\xEF\xA7\xF7\x4A\x90\x08\xFA\x46\x2E\x14\x4D\x74"
)

// CtxNameAppInstVer is SMB2_CREATE_APP_INSTANCE_VERSION (3.1.1)
// [MS-SMB2 2.2.13.2.15].
const CtxNameAppInstVer = "\xB9\x82\xD0\xB7\x3B\x56\x07\x4F\xA0\x7B\x52\x4A\x81\x16\xA0\x10"

// CreateContext is one create context: name and data.
type CreateContext struct {
	Name string
	Data []byte
}

// CreateRequest is a validated CREATE request [MS-SMB2 2.2.13].
type CreateRequest struct {
	SecurityFlags        uint8
	RequestedOplockLevel uint8
	ImpersonationLevel   uint32
	DesiredAccess        uint32
	FileAttributes       uint32
	ShareAccess          uint32
	CreateDisposition    uint32
	CreateOptions        uint32
	Name                 string // UTF-16 decoded, as sent (backslashes)
	NameBytes            []byte
	Contexts             []CreateContext
}

// ParseCreateRequest validates and decodes msg.
func ParseCreateRequest(msg []byte) (*CreateRequest, error) {
	b, err := body(msg, 57)
	if err != nil {
		return nil, err
	}
	r := &CreateRequest{
		SecurityFlags:        b[2],
		RequestedOplockLevel: b[3],
		ImpersonationLevel:   le.Uint32(b[4:]),
		DesiredAccess:        le.Uint32(b[24:]),
		FileAttributes:       le.Uint32(b[28:]),
		ShareAccess:          le.Uint32(b[32:]),
		CreateDisposition:    le.Uint32(b[36:]),
		CreateOptions:        le.Uint32(b[40:]),
	}
	name, err := buffer(msg, uint32(le.Uint16(b[44:])), uint32(le.Uint16(b[46:])), HeaderSize+56)
	if err != nil {
		return nil, err
	}
	if len(name)%2 != 0 {
		return nil, ErrOffset
	}
	r.NameBytes = name
	r.Name = DecodeUTF16(name)
	ctxOff, ctxLen := le.Uint32(b[48:]), le.Uint32(b[52:])
	if ctxLen > 0 {
		cb, err := buffer(msg, ctxOff, ctxLen, HeaderSize+56)
		if err != nil {
			return nil, err
		}
		if r.Contexts, err = ParseCreateContexts(cb); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// ParseCreateContexts decodes a chain of create contexts [MS-SMB2 2.2.13.2].
func ParseCreateContexts(b []byte) ([]CreateContext, error) {
	var out []CreateContext
	for len(b) > 0 {
		if len(b) < 16 {
			return nil, ErrShort
		}
		next := le.Uint32(b)
		nameOff, nameLen := int(le.Uint16(b[4:])), int(le.Uint16(b[6:]))
		dataOff, dataLen := int(le.Uint16(b[10:])), int(le.Uint32(b[12:]))
		end := len(b)
		if next != 0 {
			if next < 16 || next%8 != 0 || int(next) > len(b) {
				return nil, ErrOffset
			}
			end = int(next)
		}
		if nameOff < 16 || nameOff+nameLen > end || nameLen == 0 {
			return nil, ErrOffset
		}
		c := CreateContext{Name: string(b[nameOff : nameOff+nameLen])}
		if dataLen > 0 {
			if dataOff < 16 || dataOff+dataLen > end {
				return nil, ErrOffset
			}
			c.Data = b[dataOff : dataOff+dataLen]
		}
		out = append(out, c)
		if len(out) > 64 {
			return nil, fmt.Errorf("wire: too many create contexts")
		}
		if next == 0 {
			break
		}
		b = b[next:]
	}
	return out, nil
}

// AppendCreateContexts appends a context chain; each context is 8-aligned
// relative to the start of the chain.
func AppendCreateContexts(dst []byte, ctxs []CreateContext) []byte {
	base := len(dst)
	prev := -1
	for _, c := range ctxs {
		for (len(dst)-base)%8 != 0 {
			dst = append(dst, 0)
		}
		start := len(dst)
		if prev >= 0 {
			le.PutUint32(dst[prev:], uint32(start-prev))
		}
		prev = start
		var h [16]byte
		le.PutUint16(h[4:], 16)
		le.PutUint16(h[6:], uint16(len(c.Name)))
		dataOff := Pad8(16 + len(c.Name))
		if len(c.Data) > 0 {
			le.PutUint16(h[10:], uint16(dataOff))
		}
		le.PutUint32(h[12:], uint32(len(c.Data)))
		dst = append(dst, h[:]...)
		dst = append(dst, c.Name...)
		if len(c.Data) > 0 {
			for len(dst)-start < dataOff {
				dst = append(dst, 0)
			}
			dst = append(dst, c.Data...)
		}
	}
	return dst
}

// AppendCreateRequest appends a request body (client side).
func AppendCreateRequest(dst []byte, r *CreateRequest) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, 56)...)
	b := dst[start:]
	le.PutUint16(b[0:], 57)
	b[2] = r.SecurityFlags
	b[3] = r.RequestedOplockLevel
	le.PutUint32(b[4:], r.ImpersonationLevel)
	le.PutUint32(b[24:], r.DesiredAccess)
	le.PutUint32(b[28:], r.FileAttributes)
	le.PutUint32(b[32:], r.ShareAccess)
	le.PutUint32(b[36:], r.CreateDisposition)
	le.PutUint32(b[40:], r.CreateOptions)
	name := EncodeUTF16(r.Name)
	le.PutUint16(b[44:], uint16(start+56))
	le.PutUint16(b[46:], uint16(len(name)))
	dst = append(dst, name...)
	if len(name) == 0 {
		dst = append(dst, 0) // the buffer is never empty on the wire
	}
	if len(r.Contexts) > 0 {
		dst = padTo8(dst)
		off := len(dst)
		dst = AppendCreateContexts(dst, r.Contexts)
		le.PutUint32(dst[start+48:], uint32(off))
		le.PutUint32(dst[start+52:], uint32(len(dst)-off))
	}
	return dst
}

// CreateResponse is the CREATE response [MS-SMB2 2.2.14].
type CreateResponse struct {
	OplockLevel    uint8
	Flags          uint8
	CreateAction   uint32
	CreationTime   uint64
	LastAccessTime uint64
	LastWriteTime  uint64
	ChangeTime     uint64
	AllocationSize uint64
	EndOfFile      uint64
	FileAttributes uint32
	FileID         FileID
	Contexts       []CreateContext
}

// AppendCreateResponse appends the body.
func AppendCreateResponse(dst []byte, r *CreateResponse) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, 88)...)
	b := dst[start:]
	le.PutUint16(b[0:], 89)
	b[2] = r.OplockLevel
	b[3] = r.Flags
	le.PutUint32(b[4:], r.CreateAction)
	le.PutUint64(b[8:], r.CreationTime)
	le.PutUint64(b[16:], r.LastAccessTime)
	le.PutUint64(b[24:], r.LastWriteTime)
	le.PutUint64(b[32:], r.ChangeTime)
	le.PutUint64(b[40:], r.AllocationSize)
	le.PutUint64(b[48:], r.EndOfFile)
	le.PutUint32(b[56:], r.FileAttributes)
	PutFileID(b[64:], r.FileID)
	if len(r.Contexts) == 0 {
		return append(dst, 0)
	}
	off := len(dst)
	dst = AppendCreateContexts(dst, r.Contexts)
	le.PutUint32(dst[start+80:], uint32(off))
	le.PutUint32(dst[start+84:], uint32(len(dst)-off))
	return dst
}

// ParseCreateResponse decodes a response (client side).
func ParseCreateResponse(msg []byte) (*CreateResponse, error) {
	b, err := body(msg, 89)
	if err != nil {
		return nil, err
	}
	r := &CreateResponse{
		OplockLevel:    b[2],
		Flags:          b[3],
		CreateAction:   le.Uint32(b[4:]),
		CreationTime:   le.Uint64(b[8:]),
		LastAccessTime: le.Uint64(b[16:]),
		LastWriteTime:  le.Uint64(b[24:]),
		ChangeTime:     le.Uint64(b[32:]),
		AllocationSize: le.Uint64(b[40:]),
		EndOfFile:      le.Uint64(b[48:]),
		FileAttributes: le.Uint32(b[56:]),
		FileID:         GetFileID(b[64:]),
	}
	cb, err := buffer(msg, le.Uint32(b[80:]), le.Uint32(b[84:]), HeaderSize+88)
	if err != nil {
		return nil, err
	}
	if len(cb) > 0 {
		if r.Contexts, err = ParseCreateContexts(cb); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// CLOSE [MS-SMB2 2.2.15, 2.2.16].
const CloseFlagPostQueryAttrib uint16 = 0x0001

// CloseRequest is a validated CLOSE request.
type CloseRequest struct {
	Flags  uint16
	FileID FileID
}

// ParseCloseRequest validates and decodes msg.
func ParseCloseRequest(msg []byte) (*CloseRequest, error) {
	b, err := body(msg, 24)
	if err != nil {
		return nil, err
	}
	return &CloseRequest{Flags: le.Uint16(b[2:]), FileID: GetFileID(b[8:])}, nil
}

// AppendCloseRequest appends a request body (client side).
func AppendCloseRequest(dst []byte, flags uint16, id FileID) []byte {
	var b [24]byte
	le.PutUint16(b[0:], 24)
	le.PutUint16(b[2:], flags)
	PutFileID(b[8:], id)
	return append(dst, b[:]...)
}

// CloseResponse is the CLOSE response body; attributes are zero unless
// PostQueryAttrib was asked for.
type CloseResponse struct {
	Flags                                                   uint16
	CreationTime, LastAccessTime, LastWriteTime, ChangeTime uint64
	AllocationSize, EndOfFile                               uint64
	FileAttributes                                          uint32
}

// AppendCloseResponse appends the 60-byte body.
func AppendCloseResponse(dst []byte, r *CloseResponse) []byte {
	var b [60]byte
	le.PutUint16(b[0:], 60)
	le.PutUint16(b[2:], r.Flags)
	le.PutUint64(b[8:], r.CreationTime)
	le.PutUint64(b[16:], r.LastAccessTime)
	le.PutUint64(b[24:], r.LastWriteTime)
	le.PutUint64(b[32:], r.ChangeTime)
	le.PutUint64(b[40:], r.AllocationSize)
	le.PutUint64(b[48:], r.EndOfFile)
	le.PutUint32(b[56:], r.FileAttributes)
	return append(dst, b[:]...)
}

// FlushRequest [MS-SMB2 2.2.17]: only the FileID matters.
func ParseFlushRequest(msg []byte) (FileID, error) {
	b, err := body(msg, 24)
	if err != nil {
		return FileID{}, err
	}
	return GetFileID(b[8:]), nil
}

// AppendFlushRequest appends a request body (client side).
func AppendFlushRequest(dst []byte, id FileID) []byte {
	var b [24]byte
	le.PutUint16(b[0:], 24)
	PutFileID(b[8:], id)
	return append(dst, b[:]...)
}

// READ [MS-SMB2 2.2.19, 2.2.20].
const (
	ReadFlagUnbuffered uint8 = 0x01
	ReadFlagCompressed uint8 = 0x02
)

// ReadRequest is a validated READ request.
type ReadRequest struct {
	Padding        uint8
	Flags          uint8
	Length         uint32
	Offset         uint64
	FileID         FileID
	MinimumCount   uint32
	Channel        uint32
	RemainingBytes uint32
}

// ParseReadRequest validates and decodes msg.
func ParseReadRequest(msg []byte) (*ReadRequest, error) {
	b, err := body(msg, 49)
	if err != nil {
		return nil, err
	}
	return &ReadRequest{
		Padding:        b[2],
		Flags:          b[3],
		Length:         le.Uint32(b[4:]),
		Offset:         le.Uint64(b[8:]),
		FileID:         GetFileID(b[16:]),
		MinimumCount:   le.Uint32(b[32:]),
		Channel:        le.Uint32(b[36:]),
		RemainingBytes: le.Uint32(b[40:]),
	}, nil
}

// AppendReadRequest appends a request body (client side).
func AppendReadRequest(dst []byte, r *ReadRequest) []byte {
	var b [49]byte
	le.PutUint16(b[0:], 49)
	b[2] = 0x50 // data offset from the header in the response
	b[3] = r.Flags
	le.PutUint32(b[4:], r.Length)
	le.PutUint64(b[8:], r.Offset)
	PutFileID(b[16:], r.FileID)
	le.PutUint32(b[32:], r.MinimumCount)
	return append(dst, b[:]...)
}

// ReadResponseHeaderSize is the size of the READ response body before data.
const ReadResponseHeaderSize = 16

// PutReadResponse writes the 16-byte READ response body at b (which must
// follow the 64-byte header); the data follows at offset 0x50.
func PutReadResponse(b []byte, dataLen uint32) {
	le.PutUint16(b[0:], 17)
	b[2] = HeaderSize + ReadResponseHeaderSize // DataOffset
	b[3] = 0
	le.PutUint32(b[4:], dataLen)
	le.PutUint32(b[8:], 0) // DataRemaining
	le.PutUint32(b[12:], 0)
}

// ParseReadResponse returns the data of a READ response (client side).
func ParseReadResponse(msg []byte) ([]byte, error) {
	b, err := body(msg, 17)
	if err != nil {
		return nil, err
	}
	return buffer(msg, uint32(b[2]), le.Uint32(b[4:]), HeaderSize+16)
}

// WRITE [MS-SMB2 2.2.21, 2.2.22].
const (
	WriteFlagWriteThrough uint32 = 0x00000001
	WriteFlagUnbuffered   uint32 = 0x00000002
)

// WriteRequest is a validated WRITE request; Data aliases the message.
type WriteRequest struct {
	Offset         uint64
	FileID         FileID
	Channel        uint32
	RemainingBytes uint32
	Flags          uint32
	Data           []byte
}

// ParseWriteRequest validates and decodes msg.
func ParseWriteRequest(msg []byte) (*WriteRequest, error) {
	b, err := body(msg, 49)
	if err != nil {
		return nil, err
	}
	r := &WriteRequest{
		Offset:         le.Uint64(b[8:]),
		FileID:         GetFileID(b[16:]),
		Channel:        le.Uint32(b[32:]),
		RemainingBytes: le.Uint32(b[36:]),
		Flags:          le.Uint32(b[44:]),
	}
	r.Data, err = buffer(msg, uint32(le.Uint16(b[2:])), le.Uint32(b[4:]), HeaderSize+48)
	return r, err
}

// AppendWriteRequest appends a request body and the data (client side).
func AppendWriteRequest(dst []byte, r *WriteRequest) []byte {
	var b [48]byte
	le.PutUint16(b[0:], 49)
	le.PutUint16(b[2:], uint16(len(dst)+48))
	le.PutUint32(b[4:], uint32(len(r.Data)))
	le.PutUint64(b[8:], r.Offset)
	PutFileID(b[16:], r.FileID)
	le.PutUint32(b[44:], r.Flags)
	dst = append(dst, b[:]...)
	return append(dst, r.Data...)
}

// AppendWriteResponse appends the 17-byte body.
func AppendWriteResponse(dst []byte, count uint32) []byte {
	var b [16]byte
	le.PutUint16(b[0:], 17)
	le.PutUint32(b[4:], count)
	dst = append(dst, b[:]...)
	return append(dst, 0)
}

// ParseWriteResponse returns the byte count (client side).
func ParseWriteResponse(msg []byte) (uint32, error) {
	b, err := body(msg, 17)
	if err != nil {
		return 0, err
	}
	return le.Uint32(b[4:]), nil
}

// QUERY_DIRECTORY [MS-SMB2 2.2.33, 2.2.34].
const (
	QueryDirRestartScans      uint8 = 0x01
	QueryDirReturnSingleEntry uint8 = 0x02
	QueryDirIndexSpecified    uint8 = 0x04
	QueryDirReopen            uint8 = 0x10
)

// QueryDirectoryRequest is a validated QUERY_DIRECTORY request.
type QueryDirectoryRequest struct {
	InfoClass          uint8
	Flags              uint8
	FileIndex          uint32
	FileID             FileID
	Pattern            string
	OutputBufferLength uint32
}

// ParseQueryDirectoryRequest validates and decodes msg.
func ParseQueryDirectoryRequest(msg []byte) (*QueryDirectoryRequest, error) {
	b, err := body(msg, 33)
	if err != nil {
		return nil, err
	}
	r := &QueryDirectoryRequest{
		InfoClass:          b[2],
		Flags:              b[3],
		FileIndex:          le.Uint32(b[4:]),
		FileID:             GetFileID(b[8:]),
		OutputBufferLength: le.Uint32(b[28:]),
	}
	p, err := buffer(msg, uint32(le.Uint16(b[24:])), uint32(le.Uint16(b[26:])), HeaderSize+32)
	if err != nil {
		return nil, err
	}
	if len(p)%2 != 0 {
		return nil, ErrOffset
	}
	r.Pattern = DecodeUTF16(p)
	return r, nil
}

// AppendQueryDirectoryRequest appends a request body (client side).
func AppendQueryDirectoryRequest(dst []byte, r *QueryDirectoryRequest) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, 32)...)
	b := dst[start:]
	le.PutUint16(b[0:], 33)
	b[2] = r.InfoClass
	b[3] = r.Flags
	le.PutUint32(b[4:], r.FileIndex)
	PutFileID(b[8:], r.FileID)
	p := EncodeUTF16(r.Pattern)
	le.PutUint16(b[24:], uint16(start+32))
	le.PutUint16(b[26:], uint16(len(p)))
	le.PutUint32(b[28:], r.OutputBufferLength)
	dst = append(dst, p...)
	if len(p) == 0 {
		dst = append(dst, 0)
	}
	return dst
}

// AppendOutputBuffer appends the common "StructureSize 9, offset u16,
// length u32, buffer" body of QUERY_DIRECTORY and QUERY_INFO responses
// [MS-SMB2 2.2.34, 2.2.38].
func AppendOutputBuffer(dst []byte, out []byte) []byte {
	var b [8]byte
	le.PutUint16(b[0:], 9)
	le.PutUint16(b[2:], uint16(len(dst)+8))
	le.PutUint32(b[4:], uint32(len(out)))
	dst = append(dst, b[:]...)
	if len(out) == 0 {
		return append(dst, 0)
	}
	return append(dst, out...)
}

// ParseOutputBuffer returns the buffer of a QUERY_DIRECTORY or QUERY_INFO
// response (client side).
func ParseOutputBuffer(msg []byte) ([]byte, error) {
	b, err := body(msg, 9)
	if err != nil {
		return nil, err
	}
	return buffer(msg, uint32(le.Uint16(b[2:])), le.Uint32(b[4:]), HeaderSize+8)
}

// QUERY_INFO / SET_INFO [MS-SMB2 2.2.37, 2.2.39].
const (
	InfoFile       uint8 = 0x01
	InfoFilesystem uint8 = 0x02
	InfoSecurity   uint8 = 0x03
	InfoQuota      uint8 = 0x04
)

// QueryInfoRequest is a validated QUERY_INFO request.
type QueryInfoRequest struct {
	InfoType              uint8
	InfoClass             uint8
	OutputBufferLength    uint32
	Input                 []byte
	AdditionalInformation uint32
	Flags                 uint32
	FileID                FileID
}

// ParseQueryInfoRequest validates and decodes msg.
func ParseQueryInfoRequest(msg []byte) (*QueryInfoRequest, error) {
	b, err := body(msg, 41)
	if err != nil {
		return nil, err
	}
	r := &QueryInfoRequest{
		InfoType:              b[2],
		InfoClass:             b[3],
		OutputBufferLength:    le.Uint32(b[4:]),
		AdditionalInformation: le.Uint32(b[16:]),
		Flags:                 le.Uint32(b[20:]),
		FileID:                GetFileID(b[24:]),
	}
	r.Input, err = buffer(msg, uint32(le.Uint16(b[8:])), le.Uint32(b[12:]), HeaderSize+40)
	return r, err
}

// AppendQueryInfoRequest appends a request body (client side).
func AppendQueryInfoRequest(dst []byte, r *QueryInfoRequest) []byte {
	var b [40]byte
	le.PutUint16(b[0:], 41)
	b[2] = r.InfoType
	b[3] = r.InfoClass
	le.PutUint32(b[4:], r.OutputBufferLength)
	le.PutUint32(b[16:], r.AdditionalInformation)
	le.PutUint32(b[20:], r.Flags)
	PutFileID(b[24:], r.FileID)
	if len(r.Input) > 0 {
		le.PutUint16(b[8:], HeaderSize+40) // InputBufferOffset
		le.PutUint32(b[12:], uint32(len(r.Input)))
		dst = append(dst, b[:]...)
		return append(dst, r.Input...)
	}
	dst = append(dst, b[:]...)
	return append(dst, 0)
}

// SetInfoRequest is a validated SET_INFO request.
type SetInfoRequest struct {
	InfoType              uint8
	InfoClass             uint8
	Buffer                []byte
	AdditionalInformation uint32
	FileID                FileID
}

// ParseSetInfoRequest validates and decodes msg.
func ParseSetInfoRequest(msg []byte) (*SetInfoRequest, error) {
	b, err := body(msg, 33)
	if err != nil {
		return nil, err
	}
	r := &SetInfoRequest{
		InfoType:              b[2],
		InfoClass:             b[3],
		AdditionalInformation: le.Uint32(b[12:]),
		FileID:                GetFileID(b[16:]),
	}
	r.Buffer, err = buffer(msg, uint32(le.Uint16(b[8:])), le.Uint32(b[4:]), HeaderSize+32)
	return r, err
}

// AppendSetInfoRequest appends a request body (client side).
func AppendSetInfoRequest(dst []byte, r *SetInfoRequest) []byte {
	var b [32]byte
	le.PutUint16(b[0:], 33)
	b[2] = r.InfoType
	b[3] = r.InfoClass
	le.PutUint32(b[4:], uint32(len(r.Buffer)))
	le.PutUint16(b[8:], uint16(len(dst)+32))
	le.PutUint32(b[12:], r.AdditionalInformation)
	PutFileID(b[16:], r.FileID)
	dst = append(dst, b[:]...)
	return append(dst, r.Buffer...)
}

// AppendSetInfoResponse appends the 2-byte body.
func AppendSetInfoResponse(dst []byte) []byte { return append(dst, 2, 0) }

// LOCK [MS-SMB2 2.2.26].
const (
	LockFlagShared          uint32 = 0x01
	LockFlagExclusive       uint32 = 0x02
	LockFlagUnlock          uint32 = 0x04
	LockFlagFailImmediately uint32 = 0x10
)

// LockElement is one byte range of a LOCK request.
type LockElement struct {
	Offset, Length uint64
	Flags          uint32
}

// LockRequest is a validated LOCK request.
type LockRequest struct {
	LockSequence uint32
	FileID       FileID
	Locks        []LockElement
}

// ParseLockRequest validates and decodes msg.
func ParseLockRequest(msg []byte) (*LockRequest, error) {
	b, err := body(msg, 48)
	if err != nil {
		return nil, err
	}
	n := int(le.Uint16(b[2:]))
	if n == 0 || n > 64<<10 || len(b) < 24+24*n {
		return nil, ErrOffset
	}
	r := &LockRequest{LockSequence: le.Uint32(b[4:]), FileID: GetFileID(b[8:])}
	r.Locks = make([]LockElement, n)
	for i := range r.Locks {
		e := b[24+24*i:]
		r.Locks[i] = LockElement{Offset: le.Uint64(e), Length: le.Uint64(e[8:]), Flags: le.Uint32(e[16:])}
	}
	return r, nil
}

// AppendLockRequest appends a request body (client side).
func AppendLockRequest(dst []byte, r *LockRequest) []byte {
	var b [24]byte
	le.PutUint16(b[0:], 48)
	le.PutUint16(b[2:], uint16(len(r.Locks)))
	le.PutUint32(b[4:], r.LockSequence)
	PutFileID(b[8:], r.FileID)
	dst = append(dst, b[:]...)
	for _, l := range r.Locks {
		var e [24]byte
		le.PutUint64(e[0:], l.Offset)
		le.PutUint64(e[8:], l.Length)
		le.PutUint32(e[16:], l.Flags)
		dst = append(dst, e[:]...)
	}
	return dst
}

// AppendLockResponse appends the 4-byte body.
func AppendLockResponse(dst []byte) []byte { return append(dst, 4, 0, 0, 0) }

// CHANGE_NOTIFY [MS-SMB2 2.2.35].
const NotifyWatchTree uint16 = 0x0001

// ChangeNotifyRequest is a validated CHANGE_NOTIFY request.
type ChangeNotifyRequest struct {
	Flags              uint16
	OutputBufferLength uint32
	FileID             FileID
	CompletionFilter   uint32
}

// ParseChangeNotifyRequest validates and decodes msg.
func ParseChangeNotifyRequest(msg []byte) (*ChangeNotifyRequest, error) {
	b, err := body(msg, 32)
	if err != nil {
		return nil, err
	}
	return &ChangeNotifyRequest{
		Flags:              le.Uint16(b[2:]),
		OutputBufferLength: le.Uint32(b[4:]),
		FileID:             GetFileID(b[8:]),
		CompletionFilter:   le.Uint32(b[24:]),
	}, nil
}

// OplockBreakAck is a validated OPLOCK_BREAK acknowledgment (24 bytes).
type OplockBreakAck struct {
	OplockLevel uint8
	FileID      FileID
}

// ParseOplockBreakAck validates and decodes msg.
func ParseOplockBreakAck(msg []byte) (*OplockBreakAck, error) {
	b, err := body(msg, 24)
	if err != nil {
		return nil, err
	}
	return &OplockBreakAck{OplockLevel: b[2], FileID: GetFileID(b[8:])}, nil
}

// AppendChangeNotifyRequest appends a CHANGE_NOTIFY request body (client
// side) [MS-SMB2 2.2.35].
func AppendChangeNotifyRequest(dst []byte, r *ChangeNotifyRequest) []byte {
	var b [32]byte
	le.PutUint16(b[0:], 32)
	le.PutUint16(b[2:], r.Flags)
	le.PutUint32(b[4:], r.OutputBufferLength)
	PutFileID(b[8:], r.FileID)
	le.PutUint32(b[24:], r.CompletionFilter)
	return append(dst, b[:]...)
}

// AppendOplockBreak appends the 24-byte OPLOCK_BREAK body: the client's
// acknowledgment or the server's notification and response
// [MS-SMB2 2.2.23.1, 2.2.24.1, 2.2.25.1].
func AppendOplockBreak(dst []byte, level uint8, id FileID) []byte {
	var b [24]byte
	le.PutUint16(b[0:], 24)
	b[2] = level
	PutFileID(b[8:], id)
	return append(dst, b[:]...)
}
