package server

import (
	"hash/fnv"

	"github.com/signetsmb/signet/internal/fscc"
	"github.com/signetsmb/signet/internal/ntstatus"
)

// Security descriptors: the pure part (tokens, access checks, inheritance,
// merging a SET_INFO into a stored descriptor). server/security.go wires it
// to CREATE, QUERY_INFO and SET_INFO; nothing here touches a connection or
// a lock.

// Statuses only security code answers [MS-ERREF 2.3.1].
const (
	statusInvalidOwner  = ntstatus.Status(0xC000005A) // STATUS_INVALID_OWNER
	statusInvalidACL    = ntstatus.Status(0xC0000077) // STATUS_INVALID_ACL
	statusInvalidSD     = ntstatus.Status(0xC0000079) // STATUS_INVALID_SECURITY_DESCR
	statusNoSecurityObj = ntstatus.Status(0xC00000D7) // STATUS_NO_SECURITY_ON_OBJECT
)

// Well-known SIDs [MS-DTYP 2.4.2.4] beyond those fscc names.
var (
	sidOwnerRights   = mustSID("S-1-3-4")
	sidAnonymous     = mustSID("S-1-5-7")
	sidNetwork       = mustSID("S-1-5-2")
	sidGuests        = mustSID("S-1-5-32-546")
	sidCreatorOwner  = fscc.CreatorOwnerSID()
	sidCreatorGroup  = fscc.CreatorGroupSID()
	sidEveryone      = fscc.EveryoneSID()
	sidAdministrator = fscc.AdministratorsSID()
	sidSystem        = fscc.LocalSystemSID()
)

func mustSID(s string) fscc.SID {
	sid, err := fscc.ParseSID(s)
	if err != nil {
		panic(err)
	}
	return sid
}

// Domain-relative RIDs [MS-DTYP 2.4.2.4].
const (
	ridGuest      = 501
	ridNone       = 513 // "None" / Domain Users: every local user's primary group
	ridGuestGroup = 514
	ridFirstUser  = 1000
)

// userRID is the RID of an account: stable, derived from the account ID
// (FNV-1a), so that it needs no storage and is the same on every server
// that shares the users file and machine SID. Two accounts could collide
// (about 1 in 2^30 per pair); the two accounts would then share their
// descriptors' entries (docs/security.md says so).
func userRID(accountID string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(accountID))
	return ridFirstUser + h.Sum32()&0x3FFFFFFF
}

// domainSID appends rid to the machine SID.
func domainSID(machine fscc.SID, rid uint32) fscc.SID {
	s, err := fscc.NewSID(machine.Authority(), append(machine.SubAuthorities(), rid)...)
	if err != nil {
		return machine // a machine SID with 15 sub-authorities; validated at start
	}
	return s
}

// token is the security context of a session: the user's SID, its primary
// group and the groups it is a member of [MS-DTYP 2.5.2]. Immutable.
type token struct {
	user   fscc.SID
	group  fscc.SID // primary group
	groups []fscc.SID
}

// newToken builds the token of an account (accountID "" with guest or
// anonymous for those logons).
func newToken(machine fscc.SID, accountID string, guest, anonymous bool) *token {
	switch {
	case anonymous:
		return &token{user: sidAnonymous, group: sidAnonymous, groups: []fscc.SID{sidEveryone, sidNetwork}}
	case guest || accountID == "":
		return &token{user: domainSID(machine, ridGuest), group: domainSID(machine, ridGuestGroup),
			groups: []fscc.SID{sidEveryone, sidGuests, sidNetwork}}
	}
	return &token{
		user:  domainSID(machine, userRID(accountID)),
		group: domainSID(machine, ridNone),
		groups: []fscc.SID{sidEveryone, fscc.AuthenticatedUsersSID(), fscc.UsersSID(), sidNetwork,
			domainSID(machine, ridNone)},
	}
}

// has reports whether sid is the token's user or one of its groups.
func (t *token) has(sid fscc.SID) bool {
	if sid == t.user || sid == t.group {
		return true
	}
	for _, g := range t.groups {
		if g == sid {
			return true
		}
	}
	return false
}

// mayOwn reports whether the token may make sid an owner without
// SeRestorePrivilege: its user or one of its groups, as Samba allows
// (Windows asks groups for SE_GROUP_OWNER, which Administrators have).
func (t *token) mayOwn(sid fscc.SID) bool {
	return t.has(sid)
}

// Generic mapping for files and directories [MS-SMB2 2.2.13.1.1].
func mapGenericMask(m uint32) uint32 {
	return mapGeneric(m)
}

// accessCheck returns the access sd grants tok, after MS-DTYP 2.5.3.2 in
// its MAXIMUM_ALLOWED form: for each right, the first ACE naming it (in
// DACL order, inherit-only ACEs skipped) decides. A missing descriptor or
// a NULL DACL grants everything; an empty DACL nothing. The owner has
// READ_CONTROL and WRITE_DAC implicitly, unless the DACL has an OWNER
// RIGHTS (S-1-3-4) entry, which then says what the owner gets.
func accessCheck(sd *fscc.SecurityDescriptor, tok *token) uint32 {
	if sd == nil || sd.DACL == nil {
		return fscc.FileAllAccess
	}
	isOwner := sd.Owner != nil && tok.has(*sd.Owner)
	var granted, denied uint32
	ownerRights := false
	for i := range sd.DACL.ACEs {
		a := &sd.DACL.ACEs[i]
		if a.Data != nil || a.Flags&fscc.InheritOnlyACE != 0 {
			continue
		}
		match := tok.has(a.SID)
		if a.SID == sidOwnerRights {
			ownerRights = true
			match = isOwner
		}
		if !match {
			continue
		}
		mask := mapGenericMask(a.Mask)
		switch a.Type {
		case fscc.ACETypeAccessAllowed:
			granted |= mask &^ denied
		case fscc.ACETypeAccessDenied:
			denied |= mask &^ granted
		}
	}
	if isOwner && !ownerRights {
		granted |= (fscc.ReadControl | fscc.WriteDAC) &^ denied
	}
	return granted
}

// inheritSD builds the descriptor of a new file or directory created by
// tok under a directory with descriptor parent, after MS-DTYP 2.5.3.4
// (CreateSecurityDescriptor) as NTFS applies it:
//
//   - owner and group are the creator's (or given's, if the CREATE carried
//     a descriptor that names them);
//   - a given DACL is used as it is (generic rights mapped); otherwise the
//     parent's inheritable ACEs are inherited: OBJECT_INHERIT ones by files,
//     CONTAINER_INHERIT ones by directories (OBJECT_INHERIT only ones by
//     directories as inherit-only, to pass them on), NO_PROPAGATE_INHERIT
//     stops after one level, and inherited ACEs carry INHERITED_ACE when
//     the parent's DACL is auto-inherited (SE_DACL_AUTO_INHERITED);
//   - CREATOR OWNER and CREATOR GROUP become the creator's SIDs, and
//     generic rights are mapped; on a directory an ACE that must stay
//     inheritable is split into an effective copy and the original,
//     inherit-only;
//   - nothing inheritable: the creator and SYSTEM get full control.
func inheritSD(parent, given *fscc.SecurityDescriptor, tok *token, isDir bool) *fscc.SecurityDescriptor {
	sd := &fscc.SecurityDescriptor{Control: fscc.SESelfRelative}
	owner, group := tok.user, tok.group
	if given != nil && given.Owner != nil {
		owner = *given.Owner
	}
	if given != nil && given.Group != nil {
		group = *given.Group
	}
	sd.Owner, sd.Group = &owner, &group
	if given != nil && given.Control&fscc.SEDACLPresent != 0 {
		sd.Control |= fscc.SEDACLPresent | given.Control&(fscc.SEDACLProtected|fscc.SEDACLAutoInherited|fscc.SEDACLDefaulted)
		if given.DACL != nil {
			sd.DACL = &fscc.ACL{ACEs: mapACEs(given.DACL.ACEs)}
		}
		return sd
	}
	sd.Control |= fscc.SEDACLPresent
	var aces []fscc.ACE
	if parent != nil && parent.DACL != nil {
		auto := parent.Control&fscc.SEDACLAutoInherited != 0
		aces = inheritACEs(parent.DACL.ACEs, owner, group, isDir, auto)
		if auto {
			sd.Control |= fscc.SEDACLAutoInherited
		}
	}
	if parent != nil && parent.Control&fscc.SEDACLPresent != 0 && parent.DACL == nil {
		// A NULL DACL has nothing to inherit: the default applies.
	}
	if aces == nil {
		aces = []fscc.ACE{
			{Type: fscc.ACETypeAccessAllowed, Mask: fscc.FileAllAccess, SID: owner},
			{Type: fscc.ACETypeAccessAllowed, Mask: fscc.FileAllAccess, SID: sidSystem},
		}
		sd.Control &^= fscc.SEDACLAutoInherited
	}
	sd.DACL = &fscc.ACL{ACEs: aces}
	return sd
}

// inheritACEs returns the ACEs a child inherits from a parent DACL; nil
// when none.
func inheritACEs(parent []fscc.ACE, owner, group fscc.SID, isDir, auto bool) []fscc.ACE {
	const inheritFlags = fscc.ObjectInheritACE | fscc.ContainerInheritACE | fscc.NoPropagateInheritACE | fscc.InheritOnlyACE
	var out []fscc.ACE
	defer func() {
		if !auto { // INHERITED_ACE marks auto-inheritance only [MS-DTYP 2.5.3.4.2]
			for i := range out {
				out[i].Flags &^= fscc.InheritedACE
			}
		}
	}()
	for _, a := range parent {
		if a.Data != nil { // object and callback ACEs: not inherited
			continue
		}
		oi, ci, np := a.Flags&fscc.ObjectInheritACE != 0, a.Flags&fscc.ContainerInheritACE != 0, a.Flags&fscc.NoPropagateInheritACE != 0
		sid, creator := a.SID, false
		switch a.SID {
		case sidCreatorOwner:
			sid, creator = owner, true
		case sidCreatorGroup:
			sid, creator = group, true
		}
		effective := fscc.ACE{Type: a.Type, Flags: a.Flags&^inheritFlags | fscc.InheritedACE, Mask: mapGenericMask(a.Mask), SID: sid}
		switch {
		case !isDir && oi:
			out = append(out, effective)
		case isDir && ci && np:
			out = append(out, effective)
		case isDir && ci:
			if creator || a.Mask != effective.Mask {
				// The effective entry for this directory, and the original
				// kept inheritable for its children.
				out = append(out, effective)
				orig := a
				orig.Flags = a.Flags&^fscc.InheritOnlyACE | fscc.InheritOnlyACE | fscc.InheritedACE
				out = append(out, orig)
				continue
			}
			a.Flags = a.Flags&^fscc.InheritOnlyACE | fscc.InheritedACE
			out = append(out, a)
		case isDir && oi && !np:
			a.Flags |= fscc.InheritOnlyACE | fscc.InheritedACE
			out = append(out, a)
		}
	}
	return out
}

// mapACEs maps the generic rights of ACEs that apply to the object itself
// (inherit-only ones keep theirs for their future children), as Windows
// does when a descriptor is set.
func mapACEs(aces []fscc.ACE) []fscc.ACE {
	out := make([]fscc.ACE, len(aces))
	copy(out, aces)
	for i := range out {
		if out[i].Data == nil && out[i].Flags&fscc.InheritOnlyACE == 0 {
			out[i].Mask = mapGenericMask(out[i].Mask)
		}
	}
	return out
}

// Security information bits of QUERY_INFO and SET_INFO [MS-DTYP 2.4.7].
const (
	secInfoOwner = fscc.OwnerSecurityInformation
	secInfoGroup = fscc.GroupSecurityInformation
	secInfoDACL  = fscc.DACLSecurityInformation
	secInfoSACL  = fscc.SACLSecurityInformation
	secInfoLabel = fscc.LabelSecurityInformation
)

// secInfoAccess is the access a handle needs to query (write false) or set
// the parts secInfo selects [MS-FSA 2.1.5.13, 2.1.5.16].
func secInfoAccess(secInfo uint32, write bool) uint32 {
	var need uint32
	if !write {
		if secInfo&(secInfoOwner|secInfoGroup|secInfoDACL|secInfoLabel) != 0 {
			need |= fscc.ReadControl
		}
	} else {
		if secInfo&(secInfoOwner|secInfoGroup|secInfoLabel) != 0 {
			need |= fscc.WriteOwner
		}
		if secInfo&secInfoDACL != 0 {
			need |= fscc.WriteDAC
		}
	}
	if secInfo&secInfoSACL != 0 {
		need |= fscc.AccessSystemSecurity
	}
	return need
}

// mergeSD applies a SET_INFO descriptor in to the stored one (cur), for
// the parts secInfo selects, and returns the new descriptor. The owner
// must be one tok may own (else STATUS_INVALID_OWNER); generic rights in
// the new DACL are mapped; the DACL control bits (protected,
// auto-inherited) come with the DACL.
func mergeSD(cur *fscc.SecurityDescriptor, in *fscc.SecurityDescriptor, secInfo uint32, tok *token) (*fscc.SecurityDescriptor, error) {
	out := *cur
	out.Control |= fscc.SESelfRelative
	if secInfo&secInfoOwner != 0 {
		if in.Owner == nil {
			return nil, statusInvalidOwner
		}
		if cur.Owner == nil || *in.Owner != *cur.Owner {
			if !tok.mayOwn(*in.Owner) {
				return nil, statusInvalidOwner
			}
		}
		o := *in.Owner
		out.Owner = &o
	}
	if secInfo&secInfoGroup != 0 && in.Group != nil {
		g := *in.Group
		out.Group = &g
	}
	if secInfo&secInfoDACL != 0 {
		// PROTECTED is kept as given; AUTO_INHERITED only with
		// AUTO_INHERIT_REQ, and the request bit itself is never stored
		// (smb2.acls.INHERITFLAGS, as Windows).
		const daclBits = fscc.SEDACLPresent | fscc.SEDACLProtected | fscc.SEDACLAutoInherited | fscc.SEDACLDefaulted | fscc.SEDACLAutoInheritReq
		const auto = fscc.SEDACLAutoInherited | fscc.SEDACLAutoInheritReq
		out.Control = out.Control&^daclBits | in.Control&(fscc.SEDACLPresent|fscc.SEDACLProtected|fscc.SEDACLDefaulted)
		if in.Control&auto == auto {
			out.Control |= fscc.SEDACLAutoInherited
		}
		out.DACL = nil
		if in.Control&fscc.SEDACLPresent == 0 {
			// No DACL given with DACL selected: Windows stores a NULL DACL.
			out.Control |= fscc.SEDACLPresent
		} else if in.DACL != nil {
			out.DACL = &fscc.ACL{Revision: in.DACL.Revision, ACEs: mapACEs(in.DACL.ACEs)}
		}
	}
	return &out, nil
}

// defaultSD is the descriptor of a file that has none stored: the share's
// policy expressed as a DACL, so that files made outside Signet keep the
// rights they had before descriptors were stored. BUILTIN\Administrators
// owns it; Everyone gets the share's maximal access (inheritable), CREATOR
// OWNER full control (inherit-only), so that a new file's creator can
// always change its descriptor; Administrators and SYSTEM full control.
func defaultSD(shareAccess uint32, isDir bool) *fscc.SecurityDescriptor {
	owner, group := sidAdministrator, sidSystem
	var inherit uint8
	if isDir {
		inherit = fscc.ObjectInheritACE | fscc.ContainerInheritACE
	}
	aces := []fscc.ACE{
		{Type: fscc.ACETypeAccessAllowed, Flags: inherit, Mask: shareAccess, SID: sidEveryone},
		{Type: fscc.ACETypeAccessAllowed, Flags: inherit, Mask: fscc.FileAllAccess, SID: sidAdministrator},
		{Type: fscc.ACETypeAccessAllowed, Flags: inherit, Mask: fscc.FileAllAccess, SID: sidSystem},
	}
	if isDir {
		aces = append(aces, fscc.ACE{Type: fscc.ACETypeAccessAllowed, Flags: inherit | fscc.InheritOnlyACE,
			Mask: fscc.GenericAll, SID: sidCreatorOwner})
	}
	// Auto-inherited, as a Windows volume root: children's inherited ACEs
	// are marked INHERITED_ACE, so Explorer shows where they come from.
	return &fscc.SecurityDescriptor{Control: fscc.SESelfRelative | fscc.SEDACLPresent | fscc.SEDACLAutoInherited, Owner: &owner, Group: &group,
		DACL: &fscc.ACL{ACEs: aces}}
}

// encodeSD encodes a descriptor in full for storage.
func encodeSD(sd *fscc.SecurityDescriptor) ([]byte, error) {
	return sd.Append(nil, secInfoOwner|secInfoGroup|secInfoDACL|secInfoSACL)
}
