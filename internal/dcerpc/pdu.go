package dcerpc

import (
	"encoding/binary"
	"fmt"
)

// Connection-oriented PDU types (C706 12.6.4, MS-RPCE 2.2.2.x).
const (
	ptypeRequest          = 0
	ptypeResponse         = 2
	ptypeFault            = 3
	ptypeBind             = 11
	ptypeBindAck          = 12
	ptypeBindNak          = 13
	ptypeAlterContext     = 14
	ptypeAlterContextResp = 15
	ptypeAuth3            = 16
	ptypeShutdown         = 17
	ptypeCoCancel         = 18
	ptypeOrphaned         = 19
)

// pfc_flags.
const (
	pfcFirstFrag    = 0x01
	pfcLastFrag     = 0x02
	pfcDidNotExec   = 0x20
	pfcObjectUUID   = 0x80
	pfcFirstAndLast = pfcFirstFrag | pfcLastFrag
)

// Fixed sizes.
const (
	commonHeaderLen   = 16 // common part of every CO PDU
	requestHeaderLen  = 24 // common + alloc_hint, p_cont_id, opnum
	responseHeaderLen = 24 // common + alloc_hint, p_cont_id, cancel_count, reserved
	faultPDULen       = 32 // response header + status + reserved
	syntaxLen         = 20 // p_syntax_id_t: 16-octet UUID + uint32 version
	objectUUIDLen     = 16
)

// drep[0] value for little-endian integers and ASCII characters, the only
// data representation accepted (every Windows, Samba and impacket client
// uses it). drep[1] (floating point format) is irrelevant here.
const drepLittleEndianASCII = 0x10

// Fault status codes (C706 appendix E, MS-RPCE 2.2.2.11 / 3.1.1.5.5).
const (
	faultAccessDenied = 0x00000005 // rpc_s_access_denied
	faultBadStubData  = 0x000006f7 // rpc_x_bad_stub_data
	faultOpRangeError = 0x1c010002 // nca_s_op_rng_error
	faultUnknownIf    = 0x1c010003 // nca_s_unk_if
	faultProtoError   = 0x1c01000b // nca_s_proto_error
)

// bind_nak reject reasons (C706 12.6.3.1, MS-RPCE 2.2.2.5).
const (
	nakReasonNotSpecified          = 0
	nakProtocolVersionNotSupported = 4
	nakAuthTypeNotRecognized       = 8
)

// Presentation context results and provider reasons (C706 12.6.3.1,
// MS-RPCE 3.3.1.5.3).
const (
	ctxAcceptance        = 0
	ctxProviderRejection = 2
	ctxNegotiateAck      = 3

	reasonNotSpecified                = 0
	reasonAbstractSyntaxUnsupported   = 1
	reasonTransferSyntaxesUnsupported = 2
	reasonLocalLimitExceeded          = 3
)

// Syntax identifiers in wire form: UUID (first three fields little-endian)
// followed by the version, major in the low 16 bits, minor in the high 16.
// They are strings so they can be constants; pdu_test.go checks them
// against the textual UUIDs.
const (
	// 8a885d04-1ceb-11c9-9fe8-08002b104860 v2.0
	syntaxNDR20 = "\x04\x5d\x88\x8a\xeb\x1c\xc9\x11\x9f\xe8\x08\x00\x2b\x10\x48\x60\x02\x00\x00\x00"
	// 71710533-beba-4937-8319-b5dbef9ccc36 v1.0
	syntaxNDR64 = "\x33\x05\x71\x71\xba\xbe\x37\x49\x83\x19\xb5\xdb\xef\x9c\xcc\x36\x01\x00\x00\x00"
	// 4b324fc8-1670-01d3-1278-5a47bf6ee188 v3.0
	syntaxSrvsvc = "\xc8\x4f\x32\x4b\x70\x16\xd3\x01\x12\x78\x5a\x47\xbf\x6e\xe1\x88\x03\x00\x00\x00"
	// 6bffd098-a112-3610-9833-46c3f87e345a v1.0
	syntaxWkssvc = "\x98\xd0\xff\x6b\x12\xa1\x10\x36\x98\x33\x46\xc3\xf8\x7e\x34\x5a\x01\x00\x00\x00"
	// Bind time feature negotiation: 6cb71c2c-9812-4540-xxxx-xxxxxxxxxxxx
	// v1.0; the eight octets after the prefix are the feature bitmask.
	btfnPrefix  = "\x2c\x1c\xb7\x6c\x12\x98\x40\x45"
	btfnVersion = "\x01\x00\x00\x00"
	// The null syntax sent back with rejected and negotiate_ack results.
	syntaxNull = "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
)

// Bind time feature bits (MS-RPCE 2.2.2.14).
const (
	featureSecurityContextMultiplexing = 0x01
	featureKeepConnectionOnOrphan      = 0x02
)

// header is the common part of a connection-oriented PDU.
type header struct {
	ptype   uint8
	flags   uint8
	fragLen uint16
	authLen uint16
	callID  uint32
}

// parseHeader validates the 16-octet common header at the start of b.
// Errors wrap ErrProtocol: after one the stream cannot be resynchronised.
func parseHeader(b []byte) (header, error) {
	if len(b) < commonHeaderLen {
		return header{}, fmt.Errorf("%w: %d-octet PDU header", ErrProtocol, len(b))
	}
	if b[0] != 5 || b[1] > 1 {
		return header{}, fmt.Errorf("%w: RPC version %d.%d, want 5.0", ErrProtocol, b[0], b[1])
	}
	if b[4] != drepLittleEndianASCII {
		return header{}, fmt.Errorf("%w: unsupported data representation %#02x", ErrProtocol, b[4])
	}
	h := header{
		ptype:   b[2],
		flags:   b[3],
		fragLen: binary.LittleEndian.Uint16(b[8:]),
		authLen: binary.LittleEndian.Uint16(b[10:]),
		callID:  binary.LittleEndian.Uint32(b[12:]),
	}
	if int(h.fragLen) < commonHeaderLen {
		return header{}, fmt.Errorf("%w: frag_length %d shorter than the header", ErrProtocol, h.fragLen)
	}
	if int(h.authLen) > int(h.fragLen)-commonHeaderLen {
		return header{}, fmt.Errorf("%w: auth_length %d exceeds frag_length %d", ErrProtocol, h.authLen, h.fragLen)
	}
	return h, nil
}

// appendHeader appends a common header with the given frag_length.
func appendHeader(dst []byte, ptype, flags uint8, fragLen int, callID uint32) []byte {
	dst = append(dst, 5, 0, ptype, flags, drepLittleEndianASCII, 0, 0, 0)
	dst = binary.LittleEndian.AppendUint16(dst, uint16(fragLen))
	dst = binary.LittleEndian.AppendUint16(dst, 0) // auth_length
	return binary.LittleEndian.AppendUint32(dst, callID)
}

// buildFault builds a fault PDU (C706 12.6.4.7).
func buildFault(callID uint32, ctxID uint16, status uint32, flags uint8) []byte {
	b := make([]byte, 0, faultPDULen)
	b = appendHeader(b, ptypeFault, pfcFirstAndLast|flags, faultPDULen, callID)
	b = binary.LittleEndian.AppendUint32(b, faultPDULen-requestHeaderLen) // alloc_hint, as Samba
	b = binary.LittleEndian.AppendUint16(b, ctxID)
	b = append(b, 0, 0) // cancel_count, reserved
	b = binary.LittleEndian.AppendUint32(b, status)
	return append(b, 0, 0, 0, 0) // reserved
}

// buildBindNak builds a bind_nak PDU (C706 12.6.4.6) listing 5.0 as the
// only supported protocol version.
func buildBindNak(callID uint32, reason uint16) []byte {
	const n = commonHeaderLen + 2 + 1 + 2 + 3 // reason, n_protocols, 5.0, pad
	b := make([]byte, 0, n)
	b = appendHeader(b, ptypeBindNak, pfcFirstAndLast, n, callID)
	b = binary.LittleEndian.AppendUint16(b, reason)
	return append(b, 1, 5, 0, 0, 0, 0)
}

// ctxResult is one p_result_t of a bind_ack or alter_context_resp.
type ctxResult struct {
	result   uint16
	reason   uint16
	transfer string // syntaxLen octets
}

// buildBindAck builds a bind_ack or alter_context_resp PDU (C706 12.6.4.4).
// secAddr is the secondary address without its terminating NUL; an empty
// one is sent with length 0, as Windows and Samba do in alter_context_resp.
func buildBindAck(ptype uint8, callID uint32, maxXmit, maxRecv uint16, assoc uint32, secAddr string, results []ctxResult) []byte {
	b := make([]byte, 0, 64+len(secAddr)+len(results)*(4+syntaxLen))
	b = appendHeader(b, ptype, pfcFirstAndLast, 0, callID)
	b = binary.LittleEndian.AppendUint16(b, maxXmit)
	b = binary.LittleEndian.AppendUint16(b, maxRecv)
	b = binary.LittleEndian.AppendUint32(b, assoc)
	if secAddr == "" {
		b = binary.LittleEndian.AppendUint16(b, 0)
	} else {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(secAddr)+1))
		b = append(b, secAddr...)
		b = append(b, 0)
	}
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	b = append(b, uint8(len(results)), 0, 0, 0)
	for _, r := range results {
		b = binary.LittleEndian.AppendUint16(b, r.result)
		b = binary.LittleEndian.AppendUint16(b, r.reason)
		b = append(b, r.transfer...)
	}
	binary.LittleEndian.PutUint16(b[8:], uint16(len(b)))
	return b
}

// buildResponses splits stub into response PDUs (C706 12.6.4.10) of at
// most maxXmit octets. Every fragment but the last carries a multiple of 8
// stub octets; alloc_hint is the stub remaining from that fragment on.
func buildResponses(callID uint32, ctxID uint16, stub []byte, maxXmit int) [][]byte {
	chunk := (maxXmit - responseHeaderLen) &^ 7
	if chunk <= 0 {
		chunk = 8
	}
	pdus := make([][]byte, 0, len(stub)/chunk+1)
	for off := 0; ; {
		n := min(chunk, len(stub)-off)
		var flags uint8
		if off == 0 {
			flags |= pfcFirstFrag
		}
		if off+n == len(stub) {
			flags |= pfcLastFrag
		}
		b := make([]byte, 0, responseHeaderLen+n)
		b = appendHeader(b, ptypeResponse, flags, responseHeaderLen+n, callID)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(stub)-off))
		b = binary.LittleEndian.AppendUint16(b, ctxID)
		b = append(b, 0, 0) // cancel_count, reserved
		b = append(b, stub[off:off+n]...)
		pdus = append(pdus, b)
		off += n
		if off >= len(stub) {
			return pdus
		}
	}
}
