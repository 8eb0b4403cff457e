package policy

import (
	"fmt"
	"strconv"
	"strings"
)

// Cipher is an SMB 3.x encryption algorithm id as carried in the
// ENCRYPTION_CAPABILITIES negotiate context [MS-SMB2 2.2.3.1.2].
type Cipher uint16

// Cipher ids.
const (
	CipherAES128CCM Cipher = 1
	CipherAES128GCM Cipher = 2
	CipherAES256CCM Cipher = 3
	CipherAES256GCM Cipher = 4
)

func cipherNames() []struct {
	c    Cipher
	name string
} {
	return []struct {
		c    Cipher
		name string
	}{
		{CipherAES128GCM, "AES-128-GCM"}, {CipherAES128CCM, "AES-128-CCM"},
		{CipherAES256GCM, "AES-256-GCM"}, {CipherAES256CCM, "AES-256-CCM"},
	}
}

// DefaultCiphers is the built-in preference order, most preferred first:
// GCM before CCM, 128-bit before 256-bit. It returns a new slice.
func DefaultCiphers() []Cipher {
	return []Cipher{CipherAES128GCM, CipherAES128CCM, CipherAES256GCM, CipherAES256CCM}
}

// ParseCipher parses a cipher name such as "AES-128-GCM" (any letter
// case; the dashes may be left out).
func ParseCipher(s string) (Cipher, error) {
	norm := func(x string) string { return strings.ReplaceAll(strings.ToLower(x), "-", "") }
	var names []string
	for _, n := range cipherNames() {
		if norm(s) == norm(n.name) {
			return n.c, nil
		}
		names = append(names, n.name)
	}
	return 0, fmt.Errorf("unknown cipher %q (want %s)", s, joinQuoted(names))
}

// String returns the canonical name, or the id for unknown values.
func (c Cipher) String() string {
	for _, n := range cipherNames() {
		if n.c == c {
			return n.name
		}
	}
	return fmt.Sprintf("Cipher(%d)", uint16(c))
}

func joinCiphers(cs []Cipher) string {
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.String()
	}
	return strings.Join(names, ",")
}

// encryption reads server.encrypt_data, server.reject_unencrypted_access
// (default true, as Windows' RejectUnencryptedAccess) and server.ciphers.
func (p *parser) encryption(s rawServer) {
	p.cfg.EncryptData = s.EncryptData
	p.cfg.RejectUnencryptedAccess = true
	if p.set("server.reject_unencrypted_access") {
		p.cfg.RejectUnencryptedAccess = s.RejectUnencryptedAccess
	}
	const key = "server.ciphers"
	if !p.set(key) {
		p.cfg.Ciphers = DefaultCiphers()
		return
	}
	if len(s.Ciphers) == 0 {
		p.fail(key, "must list at least one cipher")
		return
	}
	seen := map[Cipher]bool{}
	for i, n := range s.Ciphers {
		c, err := ParseCipher(n)
		if err != nil {
			p.fail(fmt.Sprintf("%s[%d]", key, i), "%v", err)
			continue
		}
		if seen[c] {
			p.fail(fmt.Sprintf("%s[%d]", key, i), "%s listed twice", c)
			continue
		}
		seen[c] = true
		p.cfg.Ciphers = append(p.cfg.Ciphers, c)
	}
	if p.cfg.EncryptData && !seen[CipherAES128CCM] && p.cfg.MinDialect < Dialect311 {
		p.warn(key, "AES-128-CCM is not listed: 3.0 and 3.0.2 clients cannot encrypt")
	}
}

// encryptionSettings are the encryption rows of Show.
func (c *Config) encryptionSettings() []Setting {
	note := "SMB2_SESSION_FLAG_ENCRYPT_DATA for every session"
	if !c.EncryptData {
		note = "per share (share.<name>.encrypt_data) or on the client's request"
	}
	return []Setting{
		c.scalar("server.encrypt_data", strconv.FormatBool(c.EncryptData), note),
		c.scalar("server.reject_unencrypted_access", strconv.FormatBool(c.RejectUnencryptedAccess),
			"clients that cannot encrypt get ACCESS_DENIED on encrypted shares"),
		c.scalar("server.ciphers", joinCiphers(c.Ciphers), "SMB 3.1.1 preference order; 3.0/3.0.2 use AES-128-CCM"),
	}
}
