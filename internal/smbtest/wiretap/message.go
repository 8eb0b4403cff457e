package wiretap

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
)

// Direction is the direction a message travelled through the tap.
type Direction int

// Directions.
const (
	ClientToServer Direction = iota
	ServerToClient
)

// String returns "C->S" or "S->C".
func (d Direction) String() string {
	switch d {
	case ClientToServer:
		return "C->S"
	case ServerToClient:
		return "S->C"
	}
	return fmt.Sprintf("Direction(%d)", int(d))
}

// SigStatus is the outcome of checking one message's signature.
type SigStatus int

// Signature check outcomes.
const (
	// NotChecked: the message does not carry SMB2_FLAGS_SIGNED, or it is
	// not an SMB2 message (SMB1, encrypted, malformed).
	NotChecked SigStatus = iota
	// Valid: SIGNED is set and the signature verifies with the key the tap
	// reconstructed for the message's session.
	Valid
	// Invalid: SIGNED is set and the signature does not verify.
	Invalid
	// NoKey: SIGNED is set but the tap knows no key for the message: its
	// SessionId is 0 or unknown, the session is still being set up, or the
	// key could not be reconstructed (wrong password, Kerberos, guest, ...;
	// see SessionReport.KeyNote).
	NoKey
)

// String returns "not-checked", "valid", "invalid" or "no-key".
func (s SigStatus) String() string {
	switch s {
	case NotChecked:
		return "not-checked"
	case Valid:
		return "valid"
	case Invalid:
		return "invalid"
	case NoKey:
		return "no-key"
	}
	return fmt.Sprintf("SigStatus(%d)", int(s))
}

// Kind says what a recorded unit is.
type Kind int

// Kinds of recorded units.
const (
	// KindSMB2 is one SMB2 message (one compound element).
	KindSMB2 Kind = iota
	// KindSMB1 is an SMB1 message (normally the multi-protocol NEGOTIATE).
	KindSMB1
	// KindEncrypted is an SMB2 TRANSFORM_HEADER frame (3.x encryption). Its
	// content is not decrypted.
	KindEncrypted
	// KindCompressed is an SMB2 COMPRESSION_TRANSFORM_HEADER frame.
	KindCompressed
	// KindNetBIOS is a transport frame whose type byte is not 0x00 (NetBIOS
	// session request, keep-alive, ...).
	KindNetBIOS
	// KindMalformed is anything else: a frame too short for its header, an
	// unknown protocol id, a broken compound chain, a truncated frame.
	KindMalformed
)

// String returns the kind's short name.
func (k Kind) String() string {
	switch k {
	case KindSMB2:
		return "smb2"
	case KindSMB1:
		return "smb1"
	case KindEncrypted:
		return "encrypted"
	case KindCompressed:
		return "compressed"
	case KindNetBIOS:
		return "netbios"
	case KindMalformed:
		return "malformed"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Class says how Report counts a message. Only ClassCounted messages enter
// the signed/unsigned verdict; CANCEL requests are counted separately; the
// others are messages MS-SMB2 never signs or that precede the session key
// [MS-SMB2 3.3.4.1.1, 3.2.5.1.3].
type Class int

// Message classes.
const (
	// ClassCounted is traffic of an established session: every request and
	// response with a SessionId whose SESSION_SETUP succeeded on this
	// connection (including LOGOFF and re-authentication), except the
	// classes below.
	ClassCounted Class = iota
	// ClassNoSession is a message with SessionId 0 (NEGOTIATE, ...).
	ClassNoSession
	// ClassInterim is a STATUS_PENDING interim response.
	ClassInterim
	// ClassNotification is an unsolicited server message with MessageId
	// 0xFFFFFFFFFFFFFFFF (oplock or lease break).
	ClassNotification
	// ClassCancel is a CANCEL request.
	ClassCancel
	// ClassSetup is a SESSION_SETUP request or response of a session (or
	// channel binding) that is not yet established, including the error
	// response that ends a failed exchange.
	ClassSetup
	// ClassSetupFinal is the successful SESSION_SETUP response that
	// establishes a session or binds a channel. Its signature is checked
	// with the new key and reported in SessionReport.
	ClassSetupFinal
	// ClassUnknownSession is a message whose SessionId has no established
	// session on this connection: a failed or logged-off session, or one
	// the tap never saw set up.
	ClassUnknownSession
	// ClassOther is everything that is not an SMB2 message (see Kind).
	ClassOther
)

// String returns the class's short name.
func (c Class) String() string {
	switch c {
	case ClassCounted:
		return "counted"
	case ClassNoSession:
		return "no-session"
	case ClassInterim:
		return "interim"
	case ClassNotification:
		return "notification"
	case ClassCancel:
		return "cancel"
	case ClassSetup:
		return "setup"
	case ClassSetupFinal:
		return "setup-final"
	case ClassUnknownSession:
		return "unknown-session"
	case ClassOther:
		return "other"
	}
	return fmt.Sprintf("Class(%d)", int(c))
}

// Message is one recorded unit: an SMB2 message (one compound element) or a
// transport frame that is not SMB2.
type Message struct {
	// Conn numbers the tap's connections from 1 in accept order.
	Conn int
	// Frame numbers the transport frames of one direction of the
	// connection from 1; Index is the element's position in a compound
	// frame (0 for the first or only one).
	Frame, Index int
	Dir          Direction
	Kind         Kind
	Class        Class

	// Header fields (KindSMB2; SessionID also for KindEncrypted).
	Cmd       wire.Command
	Status    ntstatus.Status // responses; in 3.x requests: ChannelSequence
	Flags     uint32
	MessageID uint64
	// SessionID is the session the tap attributed the message to: the
	// header's SessionId, except for a related compound element, which
	// belongs to the previous element's session [MS-SMB2 3.3.5.2.7.2].
	SessionID uint64

	// Signed reports SMB2_FLAGS_SIGNED; SigValid the signature check.
	Signed   bool
	SigValid SigStatus

	// Size is the length of the message as forwarded. Raw holds its bytes
	// (at most Config.MaxRaw of them when that is set). Raw and Original
	// are shared with the tap: do not modify them.
	Size int
	Raw  []byte
	// Mutated is set when Config.Mutate replaced the message; Original is
	// then the message as received (truncated like Raw). A message that
	// Mutate dropped is recorded with Mutated set and an empty Raw.
	Mutated  bool
	Original []byte

	// Decrypted (KindEncrypted): the tap opened the transform with the
	// session's reconstructed key and it authenticated; the SMB2 messages
	// inside follow it, each with Encrypted set.
	Decrypted bool
	// Encrypted (KindSMB2): the message arrived inside a transform.
	Encrypted bool

	// Note explains anything unusual (parse errors, SMB1 command, dropped).
	Note string
}

// String formats the message on one line, for logs.
func (m *Message) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "conn %d %s frame %d", m.Conn, m.Dir, m.Frame)
	if m.Index > 0 {
		fmt.Fprintf(&b, ".%d", m.Index)
	}
	switch m.Kind {
	case KindSMB2:
		fmt.Fprintf(&b, " %s mid %d sid 0x%x", m.Cmd, m.MessageID, m.SessionID)
		if m.Dir == ServerToClient {
			fmt.Fprintf(&b, " %s", m.Status)
		}
		fmt.Fprintf(&b, " flags 0x%x", m.Flags)
		if m.Signed {
			fmt.Fprintf(&b, " signed/%s", m.SigValid)
		} else {
			b.WriteString(" unsigned")
		}
		fmt.Fprintf(&b, " [%s]", m.Class)
	case KindEncrypted:
		fmt.Fprintf(&b, " encrypted sid 0x%x", m.SessionID)
	default:
		fmt.Fprintf(&b, " %s", m.Kind)
	}
	fmt.Fprintf(&b, " %d bytes", m.Size)
	if m.Mutated {
		b.WriteString(" MUTATED")
	}
	if m.Note != "" {
		fmt.Fprintf(&b, " (%s)", m.Note)
	}
	return b.String()
}

// MsgInfo describes the message handed to Config.Mutate.
type MsgInfo struct {
	// Conn is the connection number (see Message.Conn); Frame the transport
	// frame number in this direction, from 1.
	Conn, Frame int
	// Index is the element's position in its compound frame, Count the
	// number of elements in the frame.
	Index, Count int
	// Header is the decoded SMB2 header of the message as received.
	Header wire.Header
}

// Corrupt returns a copy of msg with the lowest bit of byte off flipped.
// An off outside msg leaves the copy unchanged. It is a convenience for
// Config.Mutate, e.g. Corrupt(msg, len(msg)-1) spoils the signature of a
// signed message without touching its header.
func Corrupt(msg []byte, off int) []byte {
	out := append([]byte(nil), msg...)
	if off >= 0 && off < len(out) {
		out[off] ^= 0x01
	}
	return out
}

// StripSignature returns a copy of msg with SMB2_FLAGS_SIGNED cleared and a
// zero Signature field: the message as a peer that does not sign would send
// it. Messages shorter than the SMB2 header are copied unchanged.
func StripSignature(msg []byte) []byte {
	out := append([]byte(nil), msg...)
	if len(out) >= wire.HeaderSize {
		f := binary.LittleEndian.Uint32(out[16:])
		binary.LittleEndian.PutUint32(out[16:], f&^wire.FlagSigned)
		clear(out[wire.SignatureOffset : wire.SignatureOffset+16])
	}
	return out
}
