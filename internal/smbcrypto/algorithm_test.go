package smbcrypto

import (
	"errors"
	"testing"
)

func TestAlgorithmString(t *testing.T) {
	for a, want := range map[Algorithm]string{
		HMACSHA256: "HMAC-SHA256",
		AESCMAC:    "AES-128-CMAC",
		AESGMAC:    "AES-128-GMAC",
		3:          "Algorithm(0x0003)",
	} {
		if got := a.String(); got != want {
			t.Errorf("Algorithm(%d).String() = %q, want %q", uint16(a), got, want)
		}
	}
	if HMACSHA256 != 0 || AESCMAC != 1 || AESGMAC != 2 {
		t.Error("wire ids must be 0, 1, 2 [MS-SMB2 2.2.3.1.7]")
	}
}

func TestParseAlgorithm(t *testing.T) {
	for name, want := range map[string]Algorithm{
		"HMAC-SHA256": HMACSHA256, "hmac-sha256": HMACSHA256, "Hmac-Sha256": HMACSHA256,
		"AES-128-CMAC": AESCMAC, "aes-128-cmac": AESCMAC, "aes-cmac": AESCMAC, "CMAC": AESCMAC, "cmac": AESCMAC,
		"AES-128-GMAC": AESGMAC, "aes-gmac": AESGMAC, "AES-GMAC": AESGMAC, "gmac": AESGMAC,
	} {
		got, err := ParseAlgorithm(name)
		if err != nil || got != want {
			t.Errorf("ParseAlgorithm(%q) = %v, %v; want %v", name, got, err, want)
		}
	}
	for _, a := range []Algorithm{HMACSHA256, AESCMAC, AESGMAC} {
		if got, err := ParseAlgorithm(a.String()); err != nil || got != a {
			t.Errorf("round trip of %v: %v, %v", a, got, err)
		}
	}
	for _, bad := range []string{"", "hmac", "sha256", "aes-ccm", " cmac", "gmac ", "AES-256-GMAC"} {
		if _, err := ParseAlgorithm(bad); !errors.Is(err, ErrUnknownAlgorithm) {
			t.Errorf("ParseAlgorithm(%q) error = %v, want ErrUnknownAlgorithm", bad, err)
		}
	}
}
