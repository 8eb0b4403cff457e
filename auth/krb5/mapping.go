package krb5

import (
	"fmt"
	"strings"
)

// Unmapped rules for principals that neither the explicit map nor the
// service realm rule maps.
const (
	UnmappedRefuse = "refuse" // the default
	UnmappedStrip  = "strip"  // name@ANY.REALM → name (trusts every realm the KDC trusts)
)

// Mapping turns a Kerberos client principal into a Signet user name:
//
//  1. an explicit entry "name@REALM" → user wins (realm compared without
//     case, name exactly);
//  2. a single-component principal of Realm maps to its name
//     (alice@EXAMPLE.COM → alice);
//  3. anything else (another realm, alice/admin@REALM) is refused, unless
//     Unmapped is UnmappedStrip, which takes the first component.
//
// The user must then exist (and be enabled) in the users database.
type Mapping struct {
	Realm    string
	Map      map[string]string
	Unmapped string
}

// User returns the user name for principal name (components joined with
// '/') of realm, or an error saying why it is refused.
func (m *Mapping) User(name, realm string) (string, error) {
	for k, v := range m.Map {
		kn, kr, ok := strings.Cut(k, "@")
		if ok && kn == name && strings.EqualFold(kr, realm) && v != "" {
			return v, nil
		}
	}
	first, _, multi := strings.Cut(name, "/")
	switch {
	case name == "":
		return "", fmt.Errorf("krb5: empty client principal")
	case !multi && m.Realm != "" && strings.EqualFold(realm, m.Realm):
		return name, nil
	case m.Unmapped == UnmappedStrip:
		return first, nil
	}
	return "", fmt.Errorf("krb5: principal %s@%s is not mapped to a user (add it to [kerberos.map], or set unmapped = \"strip\")", name, realm)
}

// Validate checks the rule names.
func (m *Mapping) Validate() error {
	switch m.Unmapped {
	case "", UnmappedRefuse, UnmappedStrip:
	default:
		return fmt.Errorf("krb5: unmapped = %q: want %q or %q", m.Unmapped, UnmappedRefuse, UnmappedStrip)
	}
	for k, v := range m.Map {
		if n, r, ok := strings.Cut(k, "@"); !ok || n == "" || r == "" || v == "" {
			return fmt.Errorf("krb5: map entry %q = %q: want \"name@REALM\" = \"user\"", k, v)
		}
	}
	return nil
}
