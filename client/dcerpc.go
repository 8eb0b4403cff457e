package client

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Connection-oriented DCE/RPC 5.0 PDUs [C706 12.6, MS-RPCE 2.2.2], the
// client side only: bind, request, and the answers to them.

// PDU types.
const (
	rpcRequest  = 0
	rpcResponse = 2
	rpcFault    = 3
	rpcBind     = 11
	rpcBindAck  = 12
	rpcBindNak  = 13
)

// PDU flags and sizes.
const (
	pfcFirstFrag  = 0x01
	pfcLastFrag   = 0x02
	rpcHeaderSize = 16
	rpcMaxFrag    = 4280 // what Windows offers as max_xmit/recv_frag
	rpcMaxMessage = 4 << 20
)

// Presentation syntaxes: interface UUID in wire order and version.
var (
	// NDR 8a885d04-1ceb-11c9-9fe8-08002b104860 v2.0 [C706 14].
	syntaxNDR20 = syntaxID([4]byte{0x04, 0x5d, 0x88, 0x8a}, 0x1ceb, 0x11c9,
		[8]byte{0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48, 0x60}, 2, 0)
	// srvsvc 4b324fc8-1670-01d3-1278-5a47bf6ee188 v3.0 [MS-SRVS 1.9].
	syntaxSRVSVC = syntaxID([4]byte{0xc8, 0x4f, 0x32, 0x4b}, 0x1670, 0x01d3,
		[8]byte{0x12, 0x78, 0x5a, 0x47, 0xbf, 0x6e, 0xe1, 0x88}, 3, 0)
)

// syntaxID encodes a p_syntax_id_t: the UUID (first three fields
// little-endian) and major/minor version.
func syntaxID(d1 [4]byte, d2, d3 uint16, d4 [8]byte, major, minor uint16) []byte {
	b := append([]byte{}, d1[:]...)
	b = binary.LittleEndian.AppendUint16(b, d2)
	b = binary.LittleEndian.AppendUint16(b, d3)
	b = append(b, d4[:]...)
	b = binary.LittleEndian.AppendUint16(b, major)
	return binary.LittleEndian.AppendUint16(b, minor)
}

// rpcHeader is the 16-byte common header.
type rpcHeader struct {
	ptype   uint8
	flags   uint8
	fragLen uint16
	authLen uint16
	callID  uint32
}

// appendRPCHeader appends a common header; fragLen is patched by
// finishPDU.
func appendRPCHeader(dst []byte, ptype uint8, callID uint32) []byte {
	dst = append(dst, 5, 0, ptype, pfcFirstFrag|pfcLastFrag, 0x10, 0, 0, 0) // version 5.0, little-endian ASCII IEEE
	dst = binary.LittleEndian.AppendUint16(dst, 0)                          // frag_length
	dst = binary.LittleEndian.AppendUint16(dst, 0)                          // auth_length
	return binary.LittleEndian.AppendUint32(dst, callID)
}

// finishPDU writes frag_length.
func finishPDU(pdu []byte) []byte {
	binary.LittleEndian.PutUint16(pdu[8:], uint16(len(pdu)))
	return pdu
}

// bindPDU proposes abstract with NDR20 as context 0.
func bindPDU(callID uint32, abstract []byte) []byte {
	b := appendRPCHeader(nil, rpcBind, callID)
	b = binary.LittleEndian.AppendUint16(b, rpcMaxFrag) // max_xmit_frag
	b = binary.LittleEndian.AppendUint16(b, rpcMaxFrag) // max_recv_frag
	b = binary.LittleEndian.AppendUint32(b, 0)          // assoc_group_id
	b = append(b, 1, 0, 0, 0)                           // one context element
	b = binary.LittleEndian.AppendUint16(b, 0)          // p_cont_id
	b = append(b, 1, 0)                                 // one transfer syntax
	b = append(b, abstract...)
	b = append(b, syntaxNDR20...)
	return finishPDU(b)
}

// requestPDU carries stub in one fragment.
func requestPDU(callID uint32, opnum uint16, stub []byte) []byte {
	b := appendRPCHeader(nil, rpcRequest, callID)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(stub))) // alloc_hint
	b = binary.LittleEndian.AppendUint16(b, 0)                 // p_cont_id
	b = binary.LittleEndian.AppendUint16(b, opnum)
	b = append(b, stub...)
	return finishPDU(b)
}

var errRPC = errors.New("dcerpc")

// parseRPCHeader validates the common header of pdu, which must hold the
// whole fragment.
func parseRPCHeader(pdu []byte) (rpcHeader, error) {
	if len(pdu) < rpcHeaderSize {
		return rpcHeader{}, fmt.Errorf("%w: short PDU", errRPC)
	}
	h := rpcHeader{
		ptype:   pdu[2],
		flags:   pdu[3],
		fragLen: binary.LittleEndian.Uint16(pdu[8:]),
		authLen: binary.LittleEndian.Uint16(pdu[10:]),
		callID:  binary.LittleEndian.Uint32(pdu[12:]),
	}
	if pdu[0] != 5 || pdu[1] != 0 || pdu[4]&0xF0 != 0x10 {
		return h, fmt.Errorf("%w: unsupported version or data representation", errRPC)
	}
	if int(h.fragLen) < rpcHeaderSize || int(h.fragLen) > len(pdu) {
		return h, fmt.Errorf("%w: bad frag_length %d", errRPC, h.fragLen)
	}
	return h, nil
}

// checkBindAck accepts a bind_ack whose first result accepts context 0.
func checkBindAck(pdu []byte, callID uint32) error {
	h, err := parseRPCHeader(pdu)
	if err != nil {
		return err
	}
	switch {
	case h.ptype == rpcBindNak:
		return fmt.Errorf("%w: bind rejected", errRPC)
	case h.ptype != rpcBindAck || h.callID != callID:
		return fmt.Errorf("%w: unexpected PDU type %d to bind", errRPC, h.ptype)
	}
	b := pdu[rpcHeaderSize:h.fragLen]
	if len(b) < 10 {
		return fmt.Errorf("%w: short bind_ack", errRPC)
	}
	// Secondary address, then the result list aligned to 4 (the header
	// is 16 bytes, so body and PDU alignment agree).
	off := (10 + int(binary.LittleEndian.Uint16(b[8:])) + 3) &^ 3
	if off+8 > len(b) || b[off] == 0 {
		return fmt.Errorf("%w: bind_ack without results", errRPC)
	}
	if result := binary.LittleEndian.Uint16(b[off+4:]); result != 0 {
		return fmt.Errorf("%w: presentation context rejected (result %d, reason %d)",
			errRPC, result, binary.LittleEndian.Uint16(b[off+6:]))
	}
	return nil
}

// responseStub returns the stub data of a response fragment and whether
// it is the last fragment; a fault becomes an error.
func responseStub(pdu []byte, callID uint32) ([]byte, bool, error) {
	h, err := parseRPCHeader(pdu)
	if err != nil {
		return nil, false, err
	}
	if h.callID != callID {
		return nil, false, fmt.Errorf("%w: response to call %d, expected %d", errRPC, h.callID, callID)
	}
	body := pdu[rpcHeaderSize:h.fragLen]
	if int(h.authLen) > 0 {
		return nil, false, fmt.Errorf("%w: authenticated response", errRPC)
	}
	switch {
	case h.ptype == rpcFault && len(body) >= 12:
		return nil, false, fmt.Errorf("%w: fault status 0x%08x", errRPC, binary.LittleEndian.Uint32(body[8:]))
	case h.ptype != rpcResponse || len(body) < 8:
		return nil, false, fmt.Errorf("%w: unexpected PDU type %d", errRPC, h.ptype)
	}
	return body[8:], h.flags&pfcLastFrag != 0, nil
}
