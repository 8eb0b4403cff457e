package smbcrypto

import (
	"errors"
	"fmt"
	"strings"
)

// Algorithm identifies an SMB2 signing algorithm by its wire id in the
// SMB2_SIGNING_CAPABILITIES negotiate context [MS-SMB2 2.2.3.1.7].
type Algorithm uint16

// Signing algorithms [MS-SMB2 2.2.3.1.7, 3.1.4.1].
const (
	// HMACSHA256 is HMAC-SHA256 truncated to 16 bytes: the 2.0.2 and 2.1
	// algorithm, and a 3.1.1 option.
	HMACSHA256 Algorithm = 0
	// AESCMAC is AES-128-CMAC: the 3.0 and 3.0.2 algorithm and the 3.1.1
	// default when no signing context is negotiated.
	AESCMAC Algorithm = 1
	// AESGMAC is AES-128-GMAC (GCM with an empty plaintext), 3.1.1 only.
	AESGMAC Algorithm = 2
)

// ErrUnknownAlgorithm is returned (wrapped) for an unknown algorithm id or
// name.
var ErrUnknownAlgorithm = errors.New("smbcrypto: unknown signing algorithm")

// String returns the algorithm's conventional name, for example
// "AES-128-CMAC".
func (a Algorithm) String() string {
	switch a {
	case HMACSHA256:
		return "HMAC-SHA256"
	case AESCMAC:
		return "AES-128-CMAC"
	case AESGMAC:
		return "AES-128-GMAC"
	}
	return fmt.Sprintf("Algorithm(0x%04X)", uint16(a))
}

// ParseAlgorithm maps a configuration name to an Algorithm. Matching is
// case-insensitive; accepted names are the String forms "HMAC-SHA256",
// "AES-128-CMAC" and "AES-128-GMAC" and the short forms "aes-cmac", "cmac",
// "aes-gmac" and "gmac".
func ParseAlgorithm(name string) (Algorithm, error) {
	switch strings.ToLower(name) {
	case "hmac-sha256":
		return HMACSHA256, nil
	case "aes-128-cmac", "aes-cmac", "cmac":
		return AESCMAC, nil
	case "aes-128-gmac", "aes-gmac", "gmac":
		return AESGMAC, nil
	}
	return 0, fmt.Errorf("%w %q", ErrUnknownAlgorithm, name)
}
