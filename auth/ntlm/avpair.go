package ntlm

import "encoding/binary"

// AvId values [MS-NLMP 2.2.2.1].
const (
	avEOL             uint16 = 0
	avNbComputerName  uint16 = 1
	avNbDomainName    uint16 = 2
	avDNSComputerName uint16 = 3
	avDNSDomainName   uint16 = 4
	avFlags           uint16 = 6
	avTimestamp       uint16 = 7
	avTargetName      uint16 = 9
	avChannelBindings uint16 = 10
)

// avFlagMIC is the MsvAvFlags bit saying the AUTHENTICATE_MESSAGE carries a
// MIC [MS-NLMP 2.2.2.1].
const avFlagMIC uint32 = 0x00000002

// avPair is one AV_PAIR [MS-NLMP 2.2.2.1]; value aliases the parsed buffer.
type avPair struct {
	id    uint16
	value []byte
}

// parseAVPairs parses an AV_PAIR list that must end with MsvAvEOL. Bytes
// after the terminator (the NTLMv2 response's trailing padding) are ignored.
// An empty input is an empty list.
func parseAVPairs(b []byte) ([]avPair, error) {
	var pairs []avPair
	for len(b) > 0 {
		if len(b) < 4 {
			return nil, errInvalid("truncated AV_PAIR")
		}
		id := binary.LittleEndian.Uint16(b)
		n := int(binary.LittleEndian.Uint16(b[2:]))
		if id == avEOL {
			return pairs, nil
		}
		if len(b)-4 < n {
			return nil, errInvalid("AV_PAIR value out of bounds")
		}
		pairs = append(pairs, avPair{id: id, value: b[4 : 4+n]})
		b = b[4+n:]
	}
	if pairs != nil {
		return nil, errInvalid("AV_PAIR list without MsvAvEOL")
	}
	return nil, nil
}

// appendAVPairs appends pairs and the MsvAvEOL terminator.
func appendAVPairs(dst []byte, pairs []avPair) []byte {
	for _, p := range pairs {
		dst = binary.LittleEndian.AppendUint16(dst, p.id)
		dst = binary.LittleEndian.AppendUint16(dst, uint16(len(p.value)))
		dst = append(dst, p.value...)
	}
	return append(dst, 0, 0, 0, 0)
}

// findAV returns the value of the first pair with the given id.
func findAV(pairs []avPair, id uint16) ([]byte, bool) {
	for _, p := range pairs {
		if p.id == id {
			return p.value, true
		}
	}
	return nil, false
}

// msvAvFlags returns the MsvAvFlags value of pairs, 0 if absent or malformed.
func msvAvFlags(pairs []avPair) uint32 {
	v, ok := findAV(pairs, avFlags)
	if !ok || len(v) != 4 {
		return 0
	}
	return binary.LittleEndian.Uint32(v)
}
