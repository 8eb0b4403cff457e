package main

import (
	"fmt"
	"strings"

	"github.com/signetsmb/signet/client"
)

// probeCiphers fills the 3.1.1 ciphers the server accepts when offered
// alone and the one it picks from the default offer (one NEGOTIATE each).
func probeCiphers(r *probeResult, negotiate func(client.Dialer) (*client.NegotiateInfo, error)) {
	only311 := client.Dialer{MinDialect: client.Dialect311, MaxDialect: client.Dialect311}
	for _, c := range client.DefaultCiphers() {
		d := only311
		d.Ciphers = []uint16{c}
		if info, err := negotiate(d); err == nil && info.Cipher == c {
			r.Ciphers = append(r.Ciphers, client.CipherName(c))
		}
	}
	if info, err := negotiate(only311); err == nil && info.Cipher != 0 {
		name := client.CipherName(info.Cipher)
		r.PreferredCipher = &name
	}
	r.Encryption = r.Encryption || len(r.Ciphers) > 0
}

// noteCipher30 records SMB2_GLOBAL_CAP_ENCRYPTION in a 3.0/3.0.2 answer.
func noteCipher30(r *probeResult, info *client.NegotiateInfo) {
	if (info.Dialect == client.Dialect300 || info.Dialect == client.Dialect302) && info.Cipher != 0 {
		r.Encryption = true
		r.Cipher30 = client.CipherName(info.Cipher)
	}
}

// encryptionPhrase words what the probe learnt about encryption.
func encryptionPhrase(r *probeResult) string {
	if !r.Encryption {
		return "encryption not offered"
	}
	var parts []string
	if r.Cipher30 != "" {
		parts = append(parts, "3.0/3.0.2 "+r.Cipher30)
	}
	if r.PreferredCipher != nil {
		parts = append(parts, fmt.Sprintf("3.1.1 %s (accepts %s)", *r.PreferredCipher, strings.Join(r.Ciphers, ", ")))
	}
	return "encryption: " + strings.Join(parts, "; ")
}
