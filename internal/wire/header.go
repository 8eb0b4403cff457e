// Package wire is the SMB2/SMB3 codec shared by Signet's server and client:
// the 64-byte header, compound splitting, and per-command request/response
// bodies. Decoders are validating constructors: once a value is returned,
// every offset and length in it has been checked against the message, so
// accessors never panic. Encoders append to a caller's buffer.
//
// All offsets named in this package are from the first byte of the SMB2
// header, as in MS-SMB2; the 4-byte transport prefix is never included.
package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
)

var le = binary.LittleEndian

// HeaderSize is the size of the SMB2 sync and async headers [MS-SMB2 2.2.1].
const HeaderSize = 64

// ProtocolID magic values [MS-SMB2 2.2.1, 2.2.41].
var (
	ProtocolSMB2      = [4]byte{0xFE, 'S', 'M', 'B'}
	ProtocolSMB1      = [4]byte{0xFF, 'S', 'M', 'B'}
	ProtocolTransform = [4]byte{0xFD, 'S', 'M', 'B'}
	ProtocolCompress  = [4]byte{0xFC, 'S', 'M', 'B'}
)

// Command is an SMB2 command code [MS-SMB2 2.2.1.2].
type Command uint16

// SMB2 commands.
const (
	CmdNegotiate Command = iota
	CmdSessionSetup
	CmdLogoff
	CmdTreeConnect
	CmdTreeDisconnect
	CmdCreate
	CmdClose
	CmdFlush
	CmdRead
	CmdWrite
	CmdLock
	CmdIoctl
	CmdCancel
	CmdEcho
	CmdQueryDirectory
	CmdChangeNotify
	CmdQueryInfo
	CmdSetInfo
	CmdOplockBreak
	NumCommands
)

var cmdNames = [...]string{
	"NEGOTIATE", "SESSION_SETUP", "LOGOFF", "TREE_CONNECT", "TREE_DISCONNECT",
	"CREATE", "CLOSE", "FLUSH", "READ", "WRITE", "LOCK", "IOCTL", "CANCEL",
	"ECHO", "QUERY_DIRECTORY", "CHANGE_NOTIFY", "QUERY_INFO", "SET_INFO",
	"OPLOCK_BREAK",
}

func (c Command) String() string {
	if int(c) < len(cmdNames) {
		return cmdNames[c]
	}
	return fmt.Sprintf("CMD(0x%04X)", uint16(c))
}

// Header flags [MS-SMB2 2.2.1.2].
const (
	FlagServerToRedir   uint32 = 0x00000001
	FlagAsyncCommand    uint32 = 0x00000002
	FlagRelated         uint32 = 0x00000004
	FlagSigned          uint32 = 0x00000008
	FlagPriorityMask    uint32 = 0x00000070
	FlagDFSOperations   uint32 = 0x10000000
	FlagReplayOperation uint32 = 0x20000000

	// FlagsValidRequest is every flag a client may set on a request.
	FlagsValidRequest = FlagAsyncCommand | FlagRelated | FlagSigned | FlagPriorityMask |
		FlagDFSOperations | FlagReplayOperation
)

// Well-known header field values.
const (
	// MessageIDUnsolicited marks oplock/lease break notifications.
	MessageIDUnsolicited uint64 = 0xFFFFFFFFFFFFFFFF
	// SignatureOffset is where the 16-byte signature sits in the header.
	SignatureOffset = 48
)

// Header is a decoded SMB2 header. For sync messages TreeID is valid; for
// async ones (FlagAsyncCommand) AsyncID is.
type Header struct {
	CreditCharge uint16
	// Status is the NTSTATUS of a response; in 3.x requests it carries
	// ChannelSequence (low 16 bits).
	Status      uint32
	Command     Command
	Credits     uint16 // CreditRequest or CreditResponse
	Flags       uint32
	NextCommand uint32
	MessageID   uint64
	AsyncID     uint64
	ProcessID   uint32 // sync form only
	TreeID      uint32 // sync form only
	SessionID   uint64
	Signature   [16]byte
}

// Errors returned by the decoders. Callers map them to
// STATUS_INVALID_PARAMETER or drop the connection.
var (
	ErrShort     = errors.New("wire: message too short")
	ErrProtocol  = errors.New("wire: bad protocol id")
	ErrStructure = errors.New("wire: bad structure size")
	ErrOffset    = errors.New("wire: offset or length out of range")
)

// IsAsync reports whether the header uses the async form.
func (h *Header) IsAsync() bool { return h.Flags&FlagAsyncCommand != 0 }

// IsResponse reports whether the header is server-to-client.
func (h *Header) IsResponse() bool { return h.Flags&FlagServerToRedir != 0 }

// ParseHeader decodes the 64-byte header at the start of msg.
func ParseHeader(msg []byte) (Header, error) {
	var h Header
	if len(msg) < HeaderSize {
		return h, ErrShort
	}
	if [4]byte(msg[0:4]) != ProtocolSMB2 {
		return h, ErrProtocol
	}
	if le.Uint16(msg[4:]) != HeaderSize {
		return h, ErrStructure
	}
	h.CreditCharge = le.Uint16(msg[6:])
	h.Status = le.Uint32(msg[8:])
	h.Command = Command(le.Uint16(msg[12:]))
	h.Credits = le.Uint16(msg[14:])
	h.Flags = le.Uint32(msg[16:])
	h.NextCommand = le.Uint32(msg[20:])
	h.MessageID = le.Uint64(msg[24:])
	if h.Flags&FlagAsyncCommand != 0 {
		h.AsyncID = le.Uint64(msg[32:])
	} else {
		h.ProcessID = le.Uint32(msg[32:])
		h.TreeID = le.Uint32(msg[36:])
	}
	h.SessionID = le.Uint64(msg[40:])
	copy(h.Signature[:], msg[48:64])
	return h, nil
}

// Put encodes h into the first 64 bytes of b.
func (h *Header) Put(b []byte) {
	_ = b[HeaderSize-1]
	copy(b[0:4], ProtocolSMB2[:])
	le.PutUint16(b[4:], HeaderSize)
	le.PutUint16(b[6:], h.CreditCharge)
	le.PutUint32(b[8:], h.Status)
	le.PutUint16(b[12:], uint16(h.Command))
	le.PutUint16(b[14:], h.Credits)
	le.PutUint32(b[16:], h.Flags)
	le.PutUint32(b[20:], h.NextCommand)
	le.PutUint64(b[24:], h.MessageID)
	if h.Flags&FlagAsyncCommand != 0 {
		le.PutUint64(b[32:], h.AsyncID)
	} else {
		le.PutUint32(b[32:], h.ProcessID)
		le.PutUint32(b[36:], h.TreeID)
	}
	le.PutUint64(b[40:], h.SessionID)
	copy(b[48:64], h.Signature[:])
}

// AppendHeader appends the encoded header to dst.
func AppendHeader(dst []byte, h *Header) []byte {
	n := len(dst)
	dst = append(dst, make([]byte, HeaderSize)...)
	h.Put(dst[n:])
	return dst
}

// Field accessors used on raw messages (e.g. patching a response in place).

// SetNextCommand writes NextCommand into the header at msg[0:64].
func SetNextCommand(msg []byte, next uint32) { le.PutUint32(msg[20:], next) }

// SetCredits writes the CreditResponse field.
func SetCredits(msg []byte, credits uint16) { le.PutUint16(msg[14:], credits) }

// Flags returns the Flags field of a raw message.
func Flags(msg []byte) uint32 { return le.Uint32(msg[16:]) }

// SetFlags writes the Flags field of a raw message.
func SetFlags(msg []byte, f uint32) { le.PutUint32(msg[16:], f) }

// SplitCompound splits a transport frame into its compound elements
// [MS-SMB2 3.3.5.2.7]. Each element slice runs from its header to the next
// header (padding included), which is exactly the range its signature
// covers. NextCommand must point past the header, inside the frame, and be a
// multiple of 8.
func SplitCompound(frame []byte, max int) ([][]byte, error) {
	var out [][]byte
	for len(frame) > 0 {
		if len(frame) < HeaderSize {
			return nil, ErrShort
		}
		if [4]byte(frame[0:4]) != ProtocolSMB2 {
			return nil, ErrProtocol
		}
		next := le.Uint32(frame[20:])
		if next == 0 {
			out = append(out, frame)
			break
		}
		if next < HeaderSize || next%8 != 0 || uint64(next) > uint64(len(frame)) {
			return nil, ErrOffset
		}
		out = append(out, frame[:next])
		frame = frame[next:]
		if len(out) >= max {
			return nil, fmt.Errorf("wire: compound of more than %d elements", max)
		}
	}
	return out, nil
}

// Pad8 returns n rounded up to a multiple of 8.
func Pad8(n int) int { return (n + 7) &^ 7 }

// body returns the body of msg after validating the fixed StructureSize.
// MS-SMB2 bodies declare their fixed size; an odd size means a variable
// buffer follows, which may be empty on the wire in some clients, so only
// size-1 bytes are required then.
func body(msg []byte, structSize uint16) ([]byte, error) {
	if len(msg) < HeaderSize+2 {
		return nil, ErrShort
	}
	b := msg[HeaderSize:]
	if le.Uint16(b) != structSize {
		return nil, ErrStructure
	}
	need := int(structSize &^ 1)
	if len(b) < need {
		return nil, ErrShort
	}
	return b, nil
}

// buffer returns msg[off:off+length] after checking that the range lies in
// msg and after the fixed part of the body (minOff). A zero length yields
// nil regardless of the offset.
func buffer(msg []byte, off, length uint32, minOff int) ([]byte, error) {
	if length == 0 {
		return nil, nil
	}
	if int(off) < minOff || uint64(off)+uint64(length) > uint64(len(msg)) {
		return nil, ErrOffset
	}
	return msg[off : off+length], nil
}
