package wire

import (
	"bytes"
	"fmt"
)

// Dialect revisions [MS-SMB2 2.2.3].
const (
	Dialect202      uint16 = 0x0202
	Dialect210      uint16 = 0x0210
	Dialect300      uint16 = 0x0300
	Dialect302      uint16 = 0x0302
	Dialect311      uint16 = 0x0311
	DialectWildcard uint16 = 0x02FF // "SMB 2.???" answer to an SMB1 negotiate
)

// DialectName formats a dialect as "3.1.1".
func DialectName(d uint16) string {
	switch d {
	case Dialect202:
		return "2.0.2"
	case Dialect210:
		return "2.1"
	case Dialect300:
		return "3.0"
	case Dialect302:
		return "3.0.2"
	case Dialect311:
		return "3.1.1"
	case DialectWildcard:
		return "2.???"
	}
	return fmt.Sprintf("0x%04X", d)
}

// SecurityMode bits [MS-SMB2 2.2.3, 2.2.4].
const (
	SigningEnabled  uint16 = 0x0001
	SigningRequired uint16 = 0x0002
)

// Global capabilities [MS-SMB2 2.2.4].
const (
	CapDFS               uint32 = 0x01
	CapLeasing           uint32 = 0x02
	CapLargeMTU          uint32 = 0x04
	CapMultiChannel      uint32 = 0x08
	CapPersistentHandles uint32 = 0x10
	CapDirectoryLeasing  uint32 = 0x20
	CapEncryption        uint32 = 0x40
)

// Negotiate context types [MS-SMB2 2.2.3.1].
const (
	CtxPreauthIntegrity uint16 = 0x0001
	CtxEncryption       uint16 = 0x0002
	CtxCompression      uint16 = 0x0003
	CtxNetname          uint16 = 0x0005
	CtxTransport        uint16 = 0x0006
	CtxRDMATransform    uint16 = 0x0007
	CtxSigning          uint16 = 0x0008
)

// HashSHA512 is the only preauth integrity hash algorithm [MS-SMB2 2.2.3.1.1].
const HashSHA512 uint16 = 0x0001

// MaxDialects is the most dialects a NEGOTIATE may list (Windows rejects
// more than 64 <8>).
const MaxDialects = 64

// NegContext is one negotiate context: type and data (header stripped).
type NegContext struct {
	Type uint16
	Data []byte
}

// NegotiateRequest is a validated SMB2 NEGOTIATE request [MS-SMB2 2.2.3].
type NegotiateRequest struct {
	SecurityMode uint16
	Reserved     uint16
	Capabilities uint32
	ClientGUID   [16]byte
	Dialects     []uint16
	Contexts     []NegContext // only when 0x0311 is offered
}

// Offers reports whether d is in the client's dialect list.
func (r *NegotiateRequest) Offers(d uint16) bool {
	for _, x := range r.Dialects {
		if x == d {
			return true
		}
	}
	return false
}

// ParseNegotiateRequest validates and decodes msg (header included).
func ParseNegotiateRequest(msg []byte) (*NegotiateRequest, error) {
	b, err := body(msg, 36)
	if err != nil {
		return nil, err
	}
	r := &NegotiateRequest{
		SecurityMode: le.Uint16(b[4:]),
		Reserved:     le.Uint16(b[6:]),
		Capabilities: le.Uint32(b[8:]),
	}
	copy(r.ClientGUID[:], b[12:28])
	n := int(le.Uint16(b[2:]))
	if n == 0 || n > MaxDialects {
		return nil, fmt.Errorf("wire: negotiate with %d dialects: %w", n, ErrOffset)
	}
	if len(b) < 36+2*n {
		return nil, ErrShort
	}
	r.Dialects = make([]uint16, n)
	for i := range r.Dialects {
		r.Dialects[i] = le.Uint16(b[36+2*i:])
	}
	if r.Offers(Dialect311) {
		off, cnt := le.Uint32(b[28:]), le.Uint16(b[32:])
		if r.Contexts, err = parseNegContexts(msg, off, int(cnt), HeaderSize+36+2*n); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// parseNegContexts decodes count contexts starting at off; each context
// after the first starts at the next 8-byte boundary [MS-SMB2 2.2.3.1].
func parseNegContexts(msg []byte, off uint32, count, minOff int) ([]NegContext, error) {
	if count == 0 {
		return nil, nil
	}
	if int(off) < minOff || off%8 != 0 || int(off) > len(msg) || count > 64 {
		return nil, ErrOffset
	}
	out := make([]NegContext, 0, count)
	p := int(off)
	for i := 0; i < count; i++ {
		p = Pad8(p)
		if p+8 > len(msg) {
			return nil, ErrShort
		}
		typ, dlen := le.Uint16(msg[p:]), int(le.Uint16(msg[p+2:]))
		if p+8+dlen > len(msg) {
			return nil, ErrShort
		}
		out = append(out, NegContext{Type: typ, Data: msg[p+8 : p+8+dlen]})
		p += 8 + dlen
	}
	return out, nil
}

// PreauthContext is a decoded PREAUTH_INTEGRITY_CAPABILITIES context.
type PreauthContext struct {
	HashAlgorithms []uint16
	Salt           []byte
}

// ParsePreauthContext decodes a PREAUTH_INTEGRITY_CAPABILITIES body.
func ParsePreauthContext(d []byte) (PreauthContext, error) {
	var c PreauthContext
	if len(d) < 4 {
		return c, ErrShort
	}
	n, slen := int(le.Uint16(d)), int(le.Uint16(d[2:]))
	if n == 0 || len(d) < 4+2*n+slen {
		return c, ErrShort
	}
	for i := 0; i < n; i++ {
		c.HashAlgorithms = append(c.HashAlgorithms, le.Uint16(d[4+2*i:]))
	}
	c.Salt = d[4+2*n : 4+2*n+slen]
	return c, nil
}

// ParseIDList decodes the "Count u16, [pad], ids u16[]" shape shared by the
// ENCRYPTION and SIGNING contexts. skip is the number of bytes between the
// count and the list.
func ParseIDList(d []byte, skip int) ([]uint16, error) {
	if len(d) < 2+skip {
		return nil, ErrShort
	}
	n := int(le.Uint16(d))
	if n == 0 || len(d) < 2+skip+2*n {
		return nil, ErrShort
	}
	ids := make([]uint16, n)
	for i := range ids {
		ids[i] = le.Uint16(d[2+skip+2*i:])
	}
	return ids, nil
}

// NegotiateResponse is the server's NEGOTIATE response [MS-SMB2 2.2.4].
type NegotiateResponse struct {
	SecurityMode    uint16
	Dialect         uint16
	ServerGUID      [16]byte
	Capabilities    uint32
	MaxTransactSize uint32
	MaxReadSize     uint32
	MaxWriteSize    uint32
	SystemTime      uint64
	ServerStartTime uint64
	SecurityBuffer  []byte
	Contexts        []NegContext
}

// AppendNegotiateResponse appends the body of r to dst (which already holds
// the 64-byte header at its start, so offsets are relative to dst[0]).
func AppendNegotiateResponse(dst []byte, r *NegotiateResponse) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, 64)...)
	b := dst[start:]
	le.PutUint16(b[0:], 65)
	le.PutUint16(b[2:], r.SecurityMode)
	le.PutUint16(b[4:], r.Dialect)
	le.PutUint16(b[6:], uint16(len(r.Contexts)))
	copy(b[8:24], r.ServerGUID[:])
	le.PutUint32(b[24:], r.Capabilities)
	le.PutUint32(b[28:], r.MaxTransactSize)
	le.PutUint32(b[32:], r.MaxReadSize)
	le.PutUint32(b[36:], r.MaxWriteSize)
	le.PutUint64(b[40:], r.SystemTime)
	le.PutUint64(b[48:], r.ServerStartTime)
	le.PutUint16(b[56:], uint16(start+64))
	le.PutUint16(b[58:], uint16(len(r.SecurityBuffer)))
	dst = append(dst, r.SecurityBuffer...)
	if len(r.SecurityBuffer) == 0 {
		dst = append(dst, 0) // the variable part is never empty on the wire
	}
	if len(r.Contexts) > 0 {
		dst = padTo8(dst)
		le.PutUint32(dst[start+60:], uint32(len(dst)))
		dst = AppendNegContexts(dst, r.Contexts)
	}
	return dst
}

// AppendNegContexts appends contexts, each 8-byte aligned relative to dst[0].
func AppendNegContexts(dst []byte, ctxs []NegContext) []byte {
	for i, c := range ctxs {
		if i > 0 {
			dst = padTo8(dst)
		}
		var h [8]byte
		le.PutUint16(h[0:], c.Type)
		le.PutUint16(h[2:], uint16(len(c.Data)))
		dst = append(dst, h[:]...)
		dst = append(dst, c.Data...)
	}
	return dst
}

func padTo8(b []byte) []byte {
	for len(b)%8 != 0 {
		b = append(b, 0)
	}
	return b
}

// ParseNegotiateResponse decodes a NEGOTIATE response (client side).
func ParseNegotiateResponse(msg []byte) (*NegotiateResponse, error) {
	b, err := body(msg, 65)
	if err != nil {
		return nil, err
	}
	r := &NegotiateResponse{
		SecurityMode:    le.Uint16(b[2:]),
		Dialect:         le.Uint16(b[4:]),
		Capabilities:    le.Uint32(b[24:]),
		MaxTransactSize: le.Uint32(b[28:]),
		MaxReadSize:     le.Uint32(b[32:]),
		MaxWriteSize:    le.Uint32(b[36:]),
		SystemTime:      le.Uint64(b[40:]),
		ServerStartTime: le.Uint64(b[48:]),
	}
	copy(r.ServerGUID[:], b[8:24])
	if r.SecurityBuffer, err = buffer(msg, uint32(le.Uint16(b[56:])), uint32(le.Uint16(b[58:])), HeaderSize+64); err != nil {
		return nil, err
	}
	if r.Dialect == Dialect311 {
		if r.Contexts, err = parseNegContexts(msg, le.Uint32(b[60:]), int(le.Uint16(b[6:])), HeaderSize+64); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// SMB1 multi-protocol negotiate [MS-SMB2 3.3.5.3.1; MS-CIFS 2.2.4.52].

// SMB1 dialect strings that select SMB2.
const (
	SMB1DialectSMB2Wildcard = "SMB 2.???"
	SMB1DialectSMB2002      = "SMB 2.002"
)

// ParseSMB1Negotiate returns the dialect strings of an SMB1 SMB_COM_NEGOTIATE.
func ParseSMB1Negotiate(msg []byte) ([]string, error) {
	if len(msg) < 35 || [4]byte(msg[0:4]) != ProtocolSMB1 {
		return nil, ErrProtocol
	}
	if msg[4] != 0x72 {
		return nil, fmt.Errorf("wire: SMB1 command 0x%02x is not NEGOTIATE", msg[4])
	}
	if msg[32] != 0 { // WordCount
		return nil, ErrStructure
	}
	n := int(le.Uint16(msg[33:]))
	if 35+n > len(msg) {
		return nil, ErrShort
	}
	var out []string
	for d := msg[35 : 35+n]; len(d) > 0; {
		if d[0] != 0x02 {
			return nil, fmt.Errorf("wire: SMB1 dialect buffer format 0x%02x", d[0])
		}
		end := bytes.IndexByte(d[1:], 0)
		if end < 0 {
			return nil, ErrShort
		}
		out = append(out, string(d[1:1+end]))
		d = d[2+end:]
		if len(out) > 64 {
			return nil, ErrOffset
		}
	}
	return out, nil
}

// AppendNegotiateRequest appends a NEGOTIATE request body (client side) to
// dst, whose first byte is the start of the SMB2 header. The contexts, sent
// only when 3.1.1 is offered, start at the next 8-byte boundary after the
// dialects, as Samba requires [MS-SMB2 2.2.3].
func AppendNegotiateRequest(dst []byte, r *NegotiateRequest) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, 36)...)
	b := dst[start:]
	le.PutUint16(b[0:], 36)
	le.PutUint16(b[2:], uint16(len(r.Dialects)))
	le.PutUint16(b[4:], r.SecurityMode)
	le.PutUint32(b[8:], r.Capabilities)
	copy(b[12:28], r.ClientGUID[:])
	for _, d := range r.Dialects {
		dst = le.AppendUint16(dst, d)
	}
	if !r.Offers(Dialect311) || len(r.Contexts) == 0 {
		return dst
	}
	dst = padTo8(dst)
	le.PutUint32(dst[start+28:], uint32(len(dst)))
	le.PutUint16(dst[start+32:], uint16(len(r.Contexts)))
	return AppendNegContexts(dst, r.Contexts)
}

// PreauthNegContext returns a PREAUTH_INTEGRITY_CAPABILITIES context
// offering SHA-512 with salt [MS-SMB2 2.2.3.1.1].
func PreauthNegContext(salt []byte) NegContext {
	d := le.AppendUint16(nil, 1) // HashAlgorithmCount
	d = le.AppendUint16(d, uint16(len(salt)))
	d = le.AppendUint16(d, HashSHA512)
	return NegContext{Type: CtxPreauthIntegrity, Data: append(d, salt...)}
}

// IDListNegContext returns a context of the "Count u16, ids u16[]" shape:
// SIGNING_CAPABILITIES or ENCRYPTION_CAPABILITIES [MS-SMB2 2.2.3.1.2,
// 2.2.3.1.7].
func IDListNegContext(typ uint16, ids []uint16) NegContext {
	d := le.AppendUint16(nil, uint16(len(ids)))
	for _, id := range ids {
		d = le.AppendUint16(d, id)
	}
	return NegContext{Type: typ, Data: d}
}
