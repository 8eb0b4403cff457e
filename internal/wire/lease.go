package wire

import "errors"

// Lease states and flags [MS-SMB2 2.2.13.2.8].
const (
	LeaseRead   uint32 = 0x01
	LeaseHandle uint32 = 0x02
	LeaseWrite  uint32 = 0x04

	LeaseFlagBreakInProgress uint32 = 0x02
	LeaseFlagParentKeySet    uint32 = 0x04

	// LeaseBreakAckRequired is the Flags bit of a lease break
	// notification [MS-SMB2 2.2.23.2].
	LeaseBreakAckRequired uint32 = 0x01
)

// LeaseContext is an SMB2_CREATE_REQUEST_LEASE (v1, 32 bytes) or
// SMB2_CREATE_REQUEST_LEASE_V2 (52 bytes) create context, and the
// response of the same shape [MS-SMB2 2.2.13.2.8, 2.2.13.2.10,
// 2.2.14.2.10, 2.2.14.2.11].
type LeaseContext struct {
	V2        bool
	Key       [16]byte
	State     uint32
	Flags     uint32
	ParentKey [16]byte
	Epoch     uint16
}

// ErrLeaseContext reports a lease context of neither size.
var ErrLeaseContext = errors.New("wire: lease context of bad size")

// ParseLeaseContext decodes an RqLs create context's data.
func ParseLeaseContext(b []byte) (*LeaseContext, error) {
	var l LeaseContext
	switch {
	case len(b) >= 52:
		l.V2 = true
		copy(l.ParentKey[:], b[32:48])
		l.Epoch = le.Uint16(b[48:])
	case len(b) >= 32:
	default:
		return nil, ErrLeaseContext
	}
	copy(l.Key[:], b[:16])
	l.State = le.Uint32(b[16:])
	l.Flags = le.Uint32(b[20:])
	return &l, nil
}

// Marshal encodes the context data (LeaseDuration is always zero).
func (l *LeaseContext) Marshal() []byte {
	n := 32
	if l.V2 {
		n = 52
	}
	b := make([]byte, n)
	copy(b, l.Key[:])
	le.PutUint32(b[16:], l.State)
	le.PutUint32(b[20:], l.Flags)
	if l.V2 {
		copy(b[32:], l.ParentKey[:])
		le.PutUint16(b[48:], l.Epoch)
	}
	return b
}

// LeaseBreak is the body of a lease break notification
// [MS-SMB2 2.2.23.2].
type LeaseBreak struct {
	NewEpoch     uint16
	Flags        uint32
	Key          [16]byte
	CurrentState uint32
	NewState     uint32
}

// LeaseBreakSize is the size of a lease break notification body.
const LeaseBreakSize = 44

// AppendLeaseBreak appends a lease break notification body.
func AppendLeaseBreak(dst []byte, l *LeaseBreak) []byte {
	var b [LeaseBreakSize]byte
	le.PutUint16(b[0:], LeaseBreakSize)
	le.PutUint16(b[2:], l.NewEpoch)
	le.PutUint32(b[4:], l.Flags)
	copy(b[8:], l.Key[:])
	le.PutUint32(b[24:], l.CurrentState)
	le.PutUint32(b[28:], l.NewState)
	return append(dst, b[:]...)
}

// ParseLeaseBreak decodes a lease break notification (client side).
func ParseLeaseBreak(msg []byte) (*LeaseBreak, error) {
	b, err := body(msg, LeaseBreakSize)
	if err != nil {
		return nil, err
	}
	l := &LeaseBreak{NewEpoch: le.Uint16(b[2:]), Flags: le.Uint32(b[4:]),
		CurrentState: le.Uint32(b[24:]), NewState: le.Uint32(b[28:])}
	copy(l.Key[:], b[8:24])
	return l, nil
}

// LeaseAckSize is the StructureSize of a lease break acknowledgment and
// its response [MS-SMB2 2.2.24.2, 2.2.25.2].
const LeaseAckSize = 36

// LeaseAck is a lease break acknowledgment or its response.
type LeaseAck struct {
	Flags uint32
	Key   [16]byte
	State uint32
}

// ParseLeaseAck decodes a lease break acknowledgment.
func ParseLeaseAck(msg []byte) (*LeaseAck, error) {
	b, err := body(msg, LeaseAckSize)
	if err != nil {
		return nil, err
	}
	a := &LeaseAck{Flags: le.Uint32(b[4:]), State: le.Uint32(b[24:])}
	copy(a.Key[:], b[8:24])
	return a, nil
}

// AppendLeaseAck appends a lease break acknowledgment (request or
// response) body.
func AppendLeaseAck(dst []byte, a *LeaseAck) []byte {
	var b [LeaseAckSize]byte
	le.PutUint16(b[0:], LeaseAckSize)
	le.PutUint32(b[4:], a.Flags)
	copy(b[8:], a.Key[:])
	le.PutUint32(b[24:], a.State)
	return append(dst, b[:]...)
}
