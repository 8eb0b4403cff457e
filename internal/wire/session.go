package wire

// SESSION_SETUP flags and session flags [MS-SMB2 2.2.5, 2.2.6].
const (
	SessionFlagBinding uint8 = 0x01

	SessionIsGuest     uint16 = 0x0001
	SessionIsNull      uint16 = 0x0002
	SessionEncryptData uint16 = 0x0004
)

// SessionSetupRequest is a validated SESSION_SETUP request [MS-SMB2 2.2.5].
type SessionSetupRequest struct {
	Flags             uint8
	SecurityMode      uint8
	Capabilities      uint32
	Channel           uint32
	PreviousSessionID uint64
	SecurityBuffer    []byte
}

// ParseSessionSetupRequest validates and decodes msg.
func ParseSessionSetupRequest(msg []byte) (*SessionSetupRequest, error) {
	b, err := body(msg, 25)
	if err != nil {
		return nil, err
	}
	r := &SessionSetupRequest{
		Flags:             b[2],
		SecurityMode:      b[3],
		Capabilities:      le.Uint32(b[4:]),
		Channel:           le.Uint32(b[8:]),
		PreviousSessionID: le.Uint64(b[16:]),
	}
	r.SecurityBuffer, err = buffer(msg, uint32(le.Uint16(b[12:])), uint32(le.Uint16(b[14:])), HeaderSize+24)
	return r, err
}

// AppendSessionSetupRequest appends a request body (client side).
func AppendSessionSetupRequest(dst []byte, r *SessionSetupRequest) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, 24)...)
	b := dst[start:]
	le.PutUint16(b[0:], 25)
	b[2] = r.Flags
	b[3] = r.SecurityMode
	le.PutUint32(b[4:], r.Capabilities)
	le.PutUint32(b[8:], r.Channel)
	le.PutUint16(b[12:], uint16(start+24))
	le.PutUint16(b[14:], uint16(len(r.SecurityBuffer)))
	le.PutUint64(b[16:], r.PreviousSessionID)
	return append(dst, r.SecurityBuffer...)
}

// SessionSetupResponse is a SESSION_SETUP response [MS-SMB2 2.2.6].
type SessionSetupResponse struct {
	SessionFlags   uint16
	SecurityBuffer []byte
}

// AppendSessionSetupResponse appends the body; dst[0] is the header start.
func AppendSessionSetupResponse(dst []byte, r *SessionSetupResponse) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, 8)...)
	b := dst[start:]
	le.PutUint16(b[0:], 9)
	le.PutUint16(b[2:], r.SessionFlags)
	le.PutUint16(b[4:], uint16(start+8))
	le.PutUint16(b[6:], uint16(len(r.SecurityBuffer)))
	dst = append(dst, r.SecurityBuffer...)
	if len(r.SecurityBuffer) == 0 {
		dst = append(dst, 0)
	}
	return dst
}

// ParseSessionSetupResponse decodes a response (client side).
func ParseSessionSetupResponse(msg []byte) (*SessionSetupResponse, error) {
	b, err := body(msg, 9)
	if err != nil {
		return nil, err
	}
	r := &SessionSetupResponse{SessionFlags: le.Uint16(b[2:])}
	r.SecurityBuffer, err = buffer(msg, uint32(le.Uint16(b[4:])), uint32(le.Uint16(b[6:])), HeaderSize+8)
	return r, err
}
