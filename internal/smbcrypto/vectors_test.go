package smbcrypto

import (
	"encoding/json"
	"os"
	"testing"
)

// vectors mirrors testdata/vectors.json. All binary values are hex.
type vectors struct {
	CMAC []struct {
		Name, Key, Msg, Tag string
	}
	HMAC []struct {
		Name, Key, Msg, MAC string
	}
	GCM []struct {
		Name, Key, IV, AAD, Tag string
	}
	KDF []struct {
		Name, Ki, Label, Context string
		Bits                     int
		Out                      string
	}
	Preauth struct {
		Messages []string
		Hashes   []string
	}
	Derive []struct {
		Name             string
		Dialect          uint16
		SessionKey       string
		PreauthHash      string
		Signing          string
		Application      string
		ServerEncryption string
		ServerDecryption string
	}
	Signatures []struct {
		Name, Alg, Key, Msg, Sig string
		Nonce                    string // GMAC only: the nonce the message implies
	}
}

func loadVectors(t testing.TB) *vectors {
	t.Helper()
	b, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	v := new(vectors)
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
	return v
}
