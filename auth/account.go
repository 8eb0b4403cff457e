package auth

import (
	"errors"
	"strings"
	"unicode"
	"unicode/utf16"
)

// Account is a user account as the users database holds it. Authorization
// (share user lists, PreviousSessionId, re-authentication, revocation)
// uses ID only, never the name the client typed.
type Account struct {
	// ID is the canonical identity: FoldName of the account name. Two
	// names are the same account exactly when their IDs are equal.
	ID string
	// Name is the account name as stored, for logs and listings.
	Name string
	// NTHash is NTOWFv1 of the password (MD4 of its UTF-16LE form).
	NTHash [16]byte
	// Disabled accounts cannot log on, and their sessions end.
	Disabled bool
}

// FoldName returns the canonical form of an account name: every character
// of the Basic Multilingual Plane replaced by its simple upper-case mapping
// (UpperRune), nothing else changed. It is the comparison Windows applies
// to account names (per UTF-16 code unit through its upcase table) and the
// Uppercase(User) of NTOWFv2 [MS-NLMP 3.3.2].
//
// It is deliberately not Unicode case folding and not strings.EqualFold:
// those put U+212A KELVIN SIGN in the orbit of 'k' (and U+2126 OHM SIGN
// with 'ω', U+212B ANGSTROM SIGN with 'å'), so "\u212Aate" would equal
// "kate"; under FoldName they stay two different accounts. FoldName is
// idempotent: FoldName(FoldName(s)) == FoldName(s).
func FoldName(name string) string {
	return strings.Map(UpperRune, name)
}

// UpperRune is the simple upper-case mapping of one character as Windows'
// upcase table applies it: characters outside the Basic Multilingual
// Plane, and mappings that would leave it, are left unchanged.
func UpperRune(r rune) rune {
	if r > 0xFFFF || utf16.IsSurrogate(r) {
		return r
	}
	if up := unicode.ToUpper(r); up <= 0xFFFF && !utf16.IsSurrogate(up) {
		return up
	}
	return r
}

// ErrAccountDisabled means the credentials were right but the account is
// disabled (STATUS_ACCOUNT_DISABLED on the wire). It is reported only
// after the password was verified, so that it reveals nothing to a client
// that does not know the password (as Windows and Samba).
var ErrAccountDisabled = errors.New("auth: account disabled")
