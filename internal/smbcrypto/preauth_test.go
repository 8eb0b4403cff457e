package smbcrypto

import (
	"bytes"
	"encoding/hex"
	"testing"
)

// TestPreauthChain replays the Microsoft 3.1.1 example: NEGOTIATE request
// and response, two SESSION_SETUP requests and the MORE_PROCESSING response,
// then derives the published signing key from H5.
func TestPreauthChain(t *testing.T) {
	v := loadVectors(t)
	var h PreauthHash
	if len(v.Preauth.Messages) != 5 {
		t.Fatalf("want 5 messages, got %d", len(v.Preauth.Messages))
	}
	for i, m := range v.Preauth.Messages {
		msg := mustHex(t, m)
		orig := bytes.Clone(msg)
		prev := h
		h = h.Update(msg)
		if got := hex.EncodeToString(h[:]); got != v.Preauth.Hashes[i] {
			t.Fatalf("H%d = %s, want %s", i+1, got, v.Preauth.Hashes[i])
		}
		if !bytes.Equal(msg, orig) {
			t.Fatalf("Update modified message %d", i+1)
		}
		if prev.Update(msg) != h {
			t.Fatalf("Update changed its receiver")
		}
	}
	keys := DeriveKeys(0x0311, mustHex(t, "270e1ba896585eeb7af3472d3b4c75a7"), h[:])
	if got := hex.EncodeToString(keys.Signing[:]); got != "73fe7a9a77bef0bde49c650d8ccb5f76" {
		t.Errorf("SigningKey = %s, want 73fe7a9a77bef0bde49c650d8ccb5f76 (published)", got)
	}
}

func TestPreauthZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops objects under -race")
	}
	msg := make([]byte, 600)
	var h PreauthHash
	if a := testing.AllocsPerRun(100, func() { h = h.Update(msg) }); a != 0 {
		t.Errorf("Update allocates %v times", a)
	}
}
