package policy

import (
	"fmt"
	"strings"
)

// Role is the server role that selects Windows' effective default for
// "Microsoft network server: Digitally sign communications (always)".
type Role string

// Server roles accepted in server.role.
const (
	RoleStandalone       Role = "standalone"
	RoleMember           Role = "member"
	RoleDomainController Role = "domain-controller"
)

// roleDefault is one row of the role default table.
type roleDefault struct {
	role           Role
	requireSigning bool
	// windowsRow names the row of Microsoft's "Default values" table for
	// the policy that this entry reproduces.
	windowsRow string
}

// roleDefaults is the effective default of RequireSecuritySignature per
// server role, as published for "Microsoft network server: Digitally sign
// communications (always)":
//
//	DC Effective Default Settings             Enabled
//	Member Server Effective Default Settings  Disabled
//	Stand-Alone Server Default Settings       Disabled
func roleDefaults() []roleDefault {
	return []roleDefault{
		{RoleStandalone, false, "Stand-Alone Server Default Settings"},
		{RoleMember, false, "Member Server Effective Default Settings"},
		{RoleDomainController, true, "DC Effective Default Settings"},
	}
}

// Roles lists the valid server roles.
func Roles() []Role {
	var out []Role
	for _, d := range roleDefaults() {
		out = append(out, d.role)
	}
	return out
}

// ParseRole parses a server.role value.
func ParseRole(s string) (Role, error) {
	for _, d := range roleDefaults() {
		if string(d.role) == s {
			return d.role, nil
		}
	}
	return "", fmt.Errorf("unknown role %q (want %s)", s, joinQuoted(Roles()))
}

// DefaultRequireSigning reports whether signing is required by default for
// a server in role r when the configuration does not say. Unknown roles
// report true, the safe choice.
func (r Role) DefaultRequireSigning() bool {
	for _, d := range roleDefaults() {
		if d.role == r {
			return d.requireSigning
		}
	}
	return true
}

// Dialect is an SMB2/3 dialect revision in its wire form [MS-SMB2 2.2.3].
type Dialect uint16

// Dialects Signet can be configured to offer.
const (
	Dialect202 Dialect = 0x0202
	Dialect210 Dialect = 0x0210
	Dialect300 Dialect = 0x0300
	Dialect302 Dialect = 0x0302
	Dialect311 Dialect = 0x0311
)

type dialectName struct {
	d    Dialect
	name string
}

func dialectNames() []dialectName {
	return []dialectName{
		{Dialect202, "2.0.2"},
		{Dialect210, "2.1"},
		{Dialect300, "3.0"},
		{Dialect302, "3.0.2"},
		{Dialect311, "3.1.1"},
	}
}

// Dialects lists the known dialects in ascending order.
func Dialects() []Dialect {
	var out []Dialect
	for _, n := range dialectNames() {
		out = append(out, n.d)
	}
	return out
}

// ParseDialect parses a dialect name such as "3.1.1".
func ParseDialect(s string) (Dialect, error) {
	var names []string
	for _, n := range dialectNames() {
		if n.name == s {
			return n.d, nil
		}
		names = append(names, n.name)
	}
	return 0, fmt.Errorf("unknown dialect %q (want %s)", s, joinQuoted(names))
}

// String formats d as "3.1.1", or as hex for unknown values.
func (d Dialect) String() string {
	for _, n := range dialectNames() {
		if n.d == d {
			return n.name
		}
	}
	return fmt.Sprintf("0x%04x", uint16(d))
}

// SigningAlgorithm is an SMB 3.1.1 signing algorithm id as carried in the
// SIGNING_CAPABILITIES negotiate context [MS-SMB2 2.2.3.1.7].
type SigningAlgorithm uint16

// Signing algorithm ids.
const (
	SigningHMACSHA256 SigningAlgorithm = 0
	SigningAESCMAC    SigningAlgorithm = 1
	SigningAESGMAC    SigningAlgorithm = 2
)

type algorithmName struct {
	a     SigningAlgorithm
	name  string // canonical, used in output
	short string // accepted alias
}

func algorithmNames() []algorithmName {
	return []algorithmName{
		{SigningAESGMAC, "AES-128-GMAC", "gmac"},
		{SigningAESCMAC, "AES-128-CMAC", "cmac"},
		{SigningHMACSHA256, "HMAC-SHA256", "hmac-sha256"},
	}
}

// DefaultSigningAlgorithms is the built-in 3.1.1 preference order, most
// preferred first. It returns a new slice on every call.
func DefaultSigningAlgorithms() []SigningAlgorithm {
	return []SigningAlgorithm{SigningAESGMAC, SigningAESCMAC, SigningHMACSHA256}
}

// ParseSigningAlgorithm parses an algorithm name. Canonical names
// ("AES-128-GMAC", "AES-128-CMAC", "HMAC-SHA256") and short names ("gmac",
// "cmac", "hmac-sha256") are accepted in any letter case.
func ParseSigningAlgorithm(s string) (SigningAlgorithm, error) {
	var names []string
	for _, n := range algorithmNames() {
		if strings.EqualFold(s, n.name) || strings.EqualFold(s, n.short) {
			return n.a, nil
		}
		names = append(names, n.name)
	}
	return 0, fmt.Errorf("unknown signing algorithm %q (want %s, or gmac, cmac, hmac-sha256)", s, joinQuoted(names))
}

// String returns the canonical name, or the id for unknown values.
func (a SigningAlgorithm) String() string {
	for _, n := range algorithmNames() {
		if n.a == a {
			return n.name
		}
	}
	return fmt.Sprintf("SigningAlgorithm(%d)", uint16(a))
}

// joinQuoted renders values as `"a", "b" or "c"`.
func joinQuoted[T ~string](vals []T) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = fmt.Sprintf("%q", string(v))
	}
	if len(q) <= 1 {
		return strings.Join(q, "")
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}
