package fscc

import "io/fs"

// Security descriptor control bits [MS-DTYP 2.4.6].
const (
	SEOwnerDefaulted     uint16 = 0x0001
	SEGroupDefaulted     uint16 = 0x0002
	SEDACLPresent        uint16 = 0x0004
	SEDACLDefaulted      uint16 = 0x0008
	SESACLPresent        uint16 = 0x0010
	SESACLDefaulted      uint16 = 0x0020
	SEDACLTrusted        uint16 = 0x0040
	SEServerSecurity     uint16 = 0x0080
	SEDACLAutoInheritReq uint16 = 0x0100
	SESACLAutoInheritReq uint16 = 0x0200
	SEDACLAutoInherited  uint16 = 0x0400
	SESACLAutoInherited  uint16 = 0x0800
	SEDACLProtected      uint16 = 0x1000
	SESACLProtected      uint16 = 0x2000
	SERMControlValid     uint16 = 0x4000
	SESelfRelative       uint16 = 0x8000
)

// Sizes and revisions of the binary forms.
const (
	presentBits     = SEDACLPresent | SESACLPresent
	sdHeaderSize    = 20
	aclHeaderSize   = 8
	aceHeaderSize   = 4
	sidACEFixedSize = 8 // ACE header and mask, before the SID
	aclRevision     = 2 // ACL_REVISION
	aclRevisionDS   = 4 // ACL_REVISION_DS (object ACEs)
	sdRevision      = 1
	maxACLSize      = 0xFFFF

	defaultACEFlagsForDirectories = ObjectInheritACE | ContainerInheritACE | InheritOnlyACE
)

// ACE types [MS-DTYP 2.4.4.1].
const (
	ACETypeAccessAllowed        uint8 = 0x00
	ACETypeAccessDenied         uint8 = 0x01
	ACETypeSystemAudit          uint8 = 0x02
	ACETypeSystemAlarm          uint8 = 0x03
	ACETypeSystemMandatoryLabel uint8 = 0x11
)

// ACE flags [MS-DTYP 2.4.4.1].
const (
	ObjectInheritACE        uint8 = 0x01
	ContainerInheritACE     uint8 = 0x02
	NoPropagateInheritACE   uint8 = 0x04
	InheritOnlyACE          uint8 = 0x08
	InheritedACE            uint8 = 0x10
	SuccessfulAccessACEFlag uint8 = 0x40
	FailedAccessACEFlag     uint8 = 0x80
)

// ACE is an access control entry [MS-DTYP 2.4.4]. For the ACE types laid
// out as header, mask, SID (allowed, denied, audit, alarm, mandatory label)
// Mask and SID hold the entry and Data is nil. Other types (object and
// callback ACEs) are kept verbatim: Data holds everything after the 4-byte
// header, Mask and SID are zero, and encoding writes Data back unchanged.
type ACE struct {
	Type  uint8
	Flags uint8
	Mask  uint32
	SID   SID
	Data  []byte
}

// size returns the encoded size of the ACE.
func (a *ACE) size() int {
	if a.Data != nil {
		return aceHeaderSize + len(a.Data)
	}
	return sidACEFixedSize + a.SID.Len()
}

func (a *ACE) append(dst []byte) []byte {
	dst = append(dst, a.Type, a.Flags)
	dst = appendU16(dst, uint16(a.size()))
	if a.Data != nil {
		return append(dst, a.Data...)
	}
	dst = appendU32(dst, a.Mask)
	return a.SID.Append(dst)
}

// hasSIDLayout reports whether ACEs of type t are header, mask, SID.
func hasSIDLayout(t uint8) bool {
	switch t {
	case ACETypeAccessAllowed, ACETypeAccessDenied, ACETypeSystemAudit,
		ACETypeSystemAlarm, ACETypeSystemMandatoryLabel:
		return true
	}
	return false
}

// ACL is an access control list [MS-DTYP 2.4.5]. Revision 0 encodes as
// ACL_REVISION (2).
type ACL struct {
	Revision uint8
	ACEs     []ACE
}

func (l *ACL) size() int {
	n := aclHeaderSize
	for i := range l.ACEs {
		n += l.ACEs[i].size()
	}
	return n
}

func (l *ACL) append(dst []byte) ([]byte, error) {
	size := l.size()
	if size > maxACLSize || len(l.ACEs) > maxACLSize {
		return dst, ErrInvalidSecurityDescriptor
	}
	for i := range l.ACEs {
		if n := l.ACEs[i].size(); n > maxACLSize || n%4 != 0 {
			return dst, ErrInvalidSecurityDescriptor
		}
	}
	rev := l.Revision
	if rev == 0 {
		rev = aclRevision
	}
	dst = append(dst, rev, 0)
	dst = appendU16(dst, uint16(size))
	dst = appendU16(dst, uint16(len(l.ACEs)))
	dst = appendU16(dst, 0)
	for i := range l.ACEs {
		dst = l.ACEs[i].append(dst)
	}
	return dst, nil
}

// SecurityDescriptor is a security descriptor [MS-DTYP 2.4.6]. A nil
// Owner, Group, DACL or SACL is absent. A nil DACL with SEDACLPresent in
// Control is a NULL DACL (no protection); an empty non-nil DACL denies
// everyone.
type SecurityDescriptor struct {
	Control uint16
	Owner   *SID
	Group   *SID
	SACL    *ACL
	DACL    *ACL
}

// Append appends sd in self-relative form, keeping only the parts secInfo
// selects (OwnerSecurityInformation, GroupSecurityInformation,
// DACLSecurityInformation, SACLSecurityInformation); the others are
// written as absent. SESelfRelative is always set, and SEDACLPresent /
// SESACLPresent follow the ACLs written. Parts appear in the order owner,
// group, SACL, DACL, as Windows and Samba write them. An ACL over 64 KiB is
// ErrInvalidSecurityDescriptor.
func (sd *SecurityDescriptor) Append(dst []byte, secInfo uint32) ([]byte, error) {
	start := len(dst)
	control := sd.Control&^presentBits | SESelfRelative
	dst = append(dst, sdRevision, 0)
	dst = appendZeros(dst, sdHeaderSize-2) // control and offsets, set below
	var offs [4]uint32                     // owner, group, sacl, dacl
	if sd.Owner != nil && secInfo&OwnerSecurityInformation != 0 {
		offs[0] = uint32(len(dst) - start)
		dst = sd.Owner.Append(dst)
	}
	if sd.Group != nil && secInfo&GroupSecurityInformation != 0 {
		offs[1] = uint32(len(dst) - start)
		dst = sd.Group.Append(dst)
	}
	var err error
	if secInfo&SACLSecurityInformation != 0 {
		control, offs[2], dst, err = appendPresentACL(dst, start, sd.SACL, sd.Control, SESACLPresent, control)
		if err != nil {
			return dst[:start], err
		}
	}
	if secInfo&DACLSecurityInformation != 0 {
		control, offs[3], dst, err = appendPresentACL(dst, start, sd.DACL, sd.Control, SEDACLPresent, control)
		if err != nil {
			return dst[:start], err
		}
	}
	h := dst[start:]
	h[2], h[3] = byte(control), byte(control>>8)
	for i, o := range offs {
		putU32(h[4+4*i:], o)
	}
	return dst, nil
}

// appendPresentACL writes acl (if any) and returns the updated control,
// the ACL's offset from start (0 for a NULL ACL) and the buffer.
func appendPresentACL(dst []byte, start int, acl *ACL, inControl, bit, control uint16) (uint16, uint32, []byte, error) {
	if acl == nil {
		return control | inControl&bit, 0, dst, nil // NULL ACL if the bit was set
	}
	off := uint32(len(dst) - start)
	dst, err := acl.append(dst)
	return control | bit, off, dst, err
}

func putU32(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}

// SelfRelativeSD returns a self-relative security descriptor with owner,
// group and a DACL of the given ACEs, keeping the parts secInfo selects
// (OwnerSecurityInformation 1, GroupSecurityInformation 2,
// DACLSecurityInformation 4; a SACL is never included). ACEs that would
// push the DACL past its 64 KiB limit are dropped.
func SelfRelativeSD(owner, group SID, dacl []ACE, secInfo uint32) []byte {
	sd := SecurityDescriptor{
		Owner: &owner,
		Group: &group,
		DACL:  &ACL{ACEs: fitACEs(dacl)},
	}
	b, _ := sd.Append(nil, secInfo&^SACLSecurityInformation) // cannot fail: ACL fits
	return b
}

// fitACEs returns the longest prefix of aces whose ACL fits in 64 KiB.
func fitACEs(aces []ACE) []ACE {
	size := aclHeaderSize
	for i := range aces {
		size += aces[i].size()
		if size > maxACLSize || i >= maxACLSize {
			return aces[:i]
		}
	}
	return aces
}

// ParseSecurityDescriptor decodes a self-relative security descriptor, as
// a SET_INFO with SMB2_0_INFO_SECURITY carries. Every offset and length is
// checked against b; anything malformed is ErrInvalidSecurityDescriptor.
func ParseSecurityDescriptor(b []byte) (SecurityDescriptor, error) {
	if len(b) < sdHeaderSize || b[0] != sdRevision {
		return SecurityDescriptor{}, ErrInvalidSecurityDescriptor
	}
	sd := SecurityDescriptor{Control: le16(b[2:])}
	if sd.Control&SESelfRelative == 0 {
		return SecurityDescriptor{}, ErrInvalidSecurityDescriptor
	}
	var err error
	if sd.Owner, err = parseSIDAt(b, le32(b[4:])); err != nil {
		return SecurityDescriptor{}, err
	}
	if sd.Group, err = parseSIDAt(b, le32(b[8:])); err != nil {
		return SecurityDescriptor{}, err
	}
	if sd.SACL, err = parseACLAt(b, le32(b[12:]), sd.Control&SESACLPresent != 0); err != nil {
		return SecurityDescriptor{}, err
	}
	if sd.DACL, err = parseACLAt(b, le32(b[16:]), sd.Control&SEDACLPresent != 0); err != nil {
		return SecurityDescriptor{}, err
	}
	return sd, nil
}

// partAt returns b[off:] for a part offset inside the descriptor body.
func partAt(b []byte, off uint32) ([]byte, error) {
	if off < sdHeaderSize || uint64(off) >= uint64(len(b)) {
		return nil, ErrInvalidSecurityDescriptor
	}
	return b[off:], nil
}

func parseSIDAt(b []byte, off uint32) (*SID, error) {
	if off == 0 {
		return nil, nil
	}
	p, err := partAt(b, off)
	if err != nil {
		return nil, err
	}
	s, _, err := DecodeSID(p)
	if err != nil {
		return nil, err
	}
	return &s, nil
}

func parseACLAt(b []byte, off uint32, present bool) (*ACL, error) {
	if !present || off == 0 {
		return nil, nil
	}
	p, err := partAt(b, off)
	if err != nil {
		return nil, err
	}
	return parseACL(p)
}

// parseACL decodes an ACL at the start of b.
func parseACL(b []byte) (*ACL, error) {
	if len(b) < aclHeaderSize {
		return nil, ErrInvalidSecurityDescriptor
	}
	rev, size, count := b[0], int(le16(b[2:])), int(le16(b[4:]))
	if (rev != aclRevision && rev != aclRevisionDS) || size < aclHeaderSize || size > len(b) {
		return nil, ErrInvalidSecurityDescriptor
	}
	body := b[aclHeaderSize:size]
	if count > len(body)/aceHeaderSize {
		return nil, ErrInvalidSecurityDescriptor
	}
	acl := &ACL{Revision: rev, ACEs: make([]ACE, 0, count)}
	for range count {
		ace, n, err := parseACE(body)
		if err != nil {
			return nil, err
		}
		acl.ACEs = append(acl.ACEs, ace)
		body = body[n:]
	}
	return acl, nil
}

// parseACE decodes one ACE at the start of b and returns it with its size.
func parseACE(b []byte) (ACE, int, error) {
	if len(b) < aceHeaderSize {
		return ACE{}, 0, ErrInvalidSecurityDescriptor
	}
	a := ACE{Type: b[0], Flags: b[1]}
	size := int(le16(b[2:]))
	if size < aceHeaderSize || size > len(b) || size%4 != 0 {
		return ACE{}, 0, ErrInvalidSecurityDescriptor
	}
	if !hasSIDLayout(a.Type) {
		a.Data = append([]byte{}, b[aceHeaderSize:size]...)
		return a, size, nil
	}
	if size < sidACEFixedSize {
		return ACE{}, 0, ErrInvalidSecurityDescriptor
	}
	a.Mask = le32(b[4:])
	sid, n, err := DecodeSID(b[sidACEFixedSize:size])
	if err != nil || sidACEFixedSize+n != size {
		return ACE{}, 0, ErrInvalidSecurityDescriptor
	}
	a.SID = sid
	return a, size, nil
}

// SDFromMode synthesises a self-relative security descriptor from Unix
// ownership and permission bits, as Samba does for a file without an NT
// ACL: owner S-1-22-1-uid, group S-1-22-2-gid and the DACL of ModeDACL.
// secInfo selects the parts as for SelfRelativeSD.
func SDFromMode(uid, gid uint32, mode fs.FileMode, isDir bool, secInfo uint32) []byte {
	return SelfRelativeSD(UnixUserSID(uid), UnixGroupSID(gid), ModeDACL(uid, gid, mode, isDir), secInfo)
}

// ModeDACL maps Unix permission bits to ACCESS_ALLOWED ACEs the way
// Samba's posix_acls.c does with its defaults ("acl map full control = yes",
// "dos filemode = no"):
//
//   - owner (S-1-22-1-uid), group (S-1-22-2-gid) and other (Everyone)
//     each get one ACE, in that order; a class with no permission bits gets
//     none;
//   - rwx maps to full control: FileAllAccess for a directory, FileAllAccess
//     without Delete for a file;
//   - otherwise r adds FileGenericRead, w FileGenericWrite (plus
//     FileDeleteChild on a directory), x FileGenericExecute.
//
// For a directory the same three masks are repeated as inherit-only ACEs
// (object and container inherit) for CREATOR OWNER, CREATOR GROUP and
// Everyone, so new children start with the equivalent of the directory's
// mode. Set-id and sticky bits are ignored.
func ModeDACL(uid, gid uint32, mode fs.FileMode, isDir bool) []ACE {
	perm := uint32(mode.Perm())
	classes := [3]struct {
		sid, inherit SID
		bits         uint32
	}{
		{UnixUserSID(uid), CreatorOwnerSID(), perm >> 6 & 7},
		{UnixGroupSID(gid), CreatorGroupSID(), perm >> 3 & 7},
		{EveryoneSID(), EveryoneSID(), perm & 7},
	}
	var aces []ACE
	for _, c := range classes {
		if m := permToMask(c.bits, isDir); m != 0 {
			aces = append(aces, ACE{Type: ACETypeAccessAllowed, Mask: m, SID: c.sid})
		}
	}
	if !isDir {
		return aces
	}
	for _, c := range classes {
		if m := permToMask(c.bits, isDir); m != 0 {
			aces = append(aces, ACE{Type: ACETypeAccessAllowed, Flags: defaultACEFlagsForDirectories, Mask: m, SID: c.inherit})
		}
	}
	return aces
}

// permToMask maps one rwx triple (bit 4 r, 2 w, 1 x) to an access mask.
func permToMask(bits uint32, isDir bool) uint32 {
	if bits == 7 {
		if isDir {
			return FileAllAccess
		}
		return FileAllAccess &^ Delete
	}
	var m uint32
	if bits&4 != 0 {
		m |= FileGenericRead
	}
	if bits&2 != 0 {
		m |= FileGenericWrite
		if isDir {
			m |= FileDeleteChild
		}
	}
	if bits&1 != 0 {
		m |= FileGenericExecute
	}
	return m
}
