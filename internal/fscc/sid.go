package fscc

import (
	"strconv"
	"strings"
)

// MaxSubAuthorities is the largest number of sub-authorities a SID holds
// [MS-DTYP 2.4.2].
const MaxSubAuthorities = 15

// sidRevision is the only defined SID revision.
const sidRevision = 1

// maxAuthority is the largest 48-bit IdentifierAuthority.
const maxAuthority = 1<<48 - 1

// SID is a security identifier [MS-DTYP 2.4.2]. It is a comparable value:
// use == to compare SIDs. The zero SID is S-1-0 (null authority, no
// sub-authorities).
type SID struct {
	authority uint64
	count     uint8
	sub       [MaxSubAuthorities]uint32
}

// NewSID returns the SID with the given 48-bit identifier authority and
// sub-authorities. More than MaxSubAuthorities sub-authorities or an
// authority over 48 bits is ErrInvalidSecurityDescriptor.
func NewSID(authority uint64, subs ...uint32) (SID, error) {
	if authority > maxAuthority || len(subs) > MaxSubAuthorities {
		return SID{}, ErrInvalidSecurityDescriptor
	}
	return mkSID(authority, subs...), nil
}

// mkSID builds a SID from arguments known to be in range.
func mkSID(authority uint64, subs ...uint32) SID {
	s := SID{authority: authority, count: uint8(len(subs))}
	copy(s.sub[:], subs)
	return s
}

// Well-known SIDs [MS-DTYP 2.4.2.4] and Samba's Unix mappings.

// EveryoneSID returns S-1-1-0 (Everyone, the world).
func EveryoneSID() SID { return mkSID(1, 0) }

// CreatorOwnerSID returns S-1-3-0, the placeholder inheritable ACEs use
// for the creator of a new object.
func CreatorOwnerSID() SID { return mkSID(3, 0) }

// CreatorGroupSID returns S-1-3-1, the placeholder for the creator's
// primary group.
func CreatorGroupSID() SID { return mkSID(3, 1) }

// AuthenticatedUsersSID returns S-1-5-11.
func AuthenticatedUsersSID() SID { return mkSID(5, 11) }

// LocalSystemSID returns S-1-5-18 (NT AUTHORITY\SYSTEM).
func LocalSystemSID() SID { return mkSID(5, 18) }

// AdministratorsSID returns S-1-5-32-544 (BUILTIN\Administrators).
func AdministratorsSID() SID { return mkSID(5, 32, 544) }

// UsersSID returns S-1-5-32-545 (BUILTIN\Users).
func UsersSID() SID { return mkSID(5, 32, 545) }

// UnixUserSID returns S-1-22-1-uid, Samba's SID for a Unix user without a
// domain mapping.
func UnixUserSID(uid uint32) SID { return mkSID(22, 1, uid) }

// UnixGroupSID returns S-1-22-2-gid, Samba's SID for a Unix group.
func UnixGroupSID(gid uint32) SID { return mkSID(22, 2, gid) }

// UnixUser returns N for S-1-22-1-N.
func (s SID) UnixUser() (uint32, bool) { return s.unixID(1) }

// UnixGroup returns N for S-1-22-2-N.
func (s SID) UnixGroup() (uint32, bool) { return s.unixID(2) }

func (s SID) unixID(kind uint32) (uint32, bool) {
	if s.authority != 22 || s.count != 2 || s.sub[0] != kind {
		return 0, false
	}
	return s.sub[1], true
}

// Authority returns the 48-bit identifier authority.
func (s SID) Authority() uint64 { return s.authority }

// SubAuthorities returns a copy of the sub-authorities.
func (s SID) SubAuthorities() []uint32 {
	return append([]uint32(nil), s.sub[:s.count]...)
}

// Len returns the size of the binary SID: 8 + 4 per sub-authority.
func (s SID) Len() int { return 8 + 4*int(s.count) }

// Append appends the binary SID [MS-DTYP 2.4.2.2]: Revision, sub-authority
// count, the big-endian 6-byte authority, then little-endian
// sub-authorities.
func (s SID) Append(dst []byte) []byte {
	dst = append(dst, sidRevision, s.count)
	for shift := 40; shift >= 0; shift -= 8 {
		dst = append(dst, byte(s.authority>>shift))
	}
	for _, v := range s.sub[:s.count] {
		dst = appendU32(dst, v)
	}
	return dst
}

// DecodeSID decodes a binary SID at the start of b and returns it with its
// length. Bad revision, too many sub-authorities or a short buffer are
// ErrInvalidSecurityDescriptor.
func DecodeSID(b []byte) (SID, int, error) {
	if len(b) < 8 || b[0] != sidRevision || b[1] > MaxSubAuthorities {
		return SID{}, 0, ErrInvalidSecurityDescriptor
	}
	s := SID{count: b[1]}
	n := s.Len()
	if len(b) < n {
		return SID{}, 0, ErrInvalidSecurityDescriptor
	}
	for _, c := range b[2:8] {
		s.authority = s.authority<<8 | uint64(c)
	}
	for i := range int(s.count) {
		s.sub[i] = le32(b[8+4*i:])
	}
	return s, n, nil
}

// String returns the S-1-... form [MS-DTYP 2.4.2.1]: the authority in
// decimal below 2^32, else as 0x followed by 12 hex digits.
func (s SID) String() string {
	var b strings.Builder
	b.WriteString("S-1-")
	if s.authority < 1<<32 {
		b.WriteString(strconv.FormatUint(s.authority, 10))
	} else {
		h := strconv.FormatUint(s.authority, 16)
		b.WriteString("0x" + strings.Repeat("0", 12-len(h)) + strings.ToUpper(h))
	}
	for _, v := range s.sub[:s.count] {
		b.WriteByte('-')
		b.WriteString(strconv.FormatUint(uint64(v), 10))
	}
	return b.String()
}

// ParseSID parses the S-1-... form produced by String (the authority may be
// decimal or 0x-prefixed hex). Anything else is
// ErrInvalidSecurityDescriptor.
func ParseSID(str string) (SID, error) {
	parts := strings.Split(str, "-")
	if len(parts) < 3 || (parts[0] != "S" && parts[0] != "s") || parts[1] != "1" {
		return SID{}, ErrInvalidSecurityDescriptor
	}
	auth, err := parseAuthority(parts[2])
	if err != nil {
		return SID{}, err
	}
	subs := parts[3:]
	if len(subs) > MaxSubAuthorities {
		return SID{}, ErrInvalidSecurityDescriptor
	}
	s := SID{authority: auth, count: uint8(len(subs))}
	for i, p := range subs {
		v, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return SID{}, ErrInvalidSecurityDescriptor
		}
		s.sub[i] = uint32(v)
	}
	return s, nil
}

func parseAuthority(p string) (uint64, error) {
	var v uint64
	var err error
	if h, ok := strings.CutPrefix(p, "0x"); ok {
		v, err = strconv.ParseUint(h, 16, 64)
	} else if h, ok := strings.CutPrefix(p, "0X"); ok {
		v, err = strconv.ParseUint(h, 16, 64)
	} else {
		v, err = strconv.ParseUint(p, 10, 64)
	}
	if err != nil || v > maxAuthority {
		return 0, ErrInvalidSecurityDescriptor
	}
	return v, nil
}
