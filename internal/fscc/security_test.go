package fscc

import (
	"errors"
	"io/fs"
	"reflect"
	"testing"
)

func TestSIDBinaryGolden(t *testing.T) {
	tests := []struct {
		sid  SID
		str  string
		want string
	}{
		{AdministratorsSID(), "S-1-5-32-544", "01 02 000000000005 20000000 20020000"},
		{EveryoneSID(), "S-1-1-0", "01 01 000000000001 00000000"},
		{UnixUserSID(1000), "S-1-22-1-1000", "01 02 000000000016 01000000 e8030000"},
		{UnixGroupSID(100), "S-1-22-2-100", "01 02 000000000016 02000000 64000000"},
		{CreatorOwnerSID(), "S-1-3-0", "01 01 000000000003 00000000"},
		{CreatorGroupSID(), "S-1-3-1", "01 01 000000000003 01000000"},
		{LocalSystemSID(), "S-1-5-18", "01 01 000000000005 12000000"},
		{AuthenticatedUsersSID(), "S-1-5-11", "01 01 000000000005 0b000000"},
		{UsersSID(), "S-1-5-32-545", "01 02 000000000005 20000000 21020000"},
		{SID{}, "S-1-0", "01 00 000000000000"},
	}
	for _, tt := range tests {
		if got := tt.sid.String(); got != tt.str {
			t.Errorf("String = %q, want %q", got, tt.str)
		}
		want := unhex(t, tt.want)
		checkBytes(t, tt.str, tt.sid.Append(nil), want)
		if tt.sid.Len() != len(want) {
			t.Errorf("%s: Len %d", tt.str, tt.sid.Len())
		}
		dec, n, err := DecodeSID(append(want, 0xFF))
		if err != nil || n != len(want) || dec != tt.sid {
			t.Errorf("DecodeSID(%s) = %v, %d, %v", tt.str, dec, n, err)
		}
		parsed, err := ParseSID(tt.str)
		if err != nil || parsed != tt.sid {
			t.Errorf("ParseSID(%q) = %v, %v", tt.str, parsed, err)
		}
	}
}

func TestParseSID(t *testing.T) {
	good := map[string]string{
		"S-1-5-21-1-2-3-500":   "S-1-5-21-1-2-3-500",
		"s-1-5-18":             "S-1-5-18",
		"S-1-5":                "S-1-5",
		"S-1-0x123456789ABC-1": "S-1-0x123456789ABC-1",
		"S-1-0x5-32":           "S-1-5-32",
		"S-1-4294967296-7":     "S-1-0x000100000000-7",
		"S-1-1-4294967295":     "S-1-1-4294967295",
		"S-1-05-007":           "S-1-5-7",
		"S-1-1-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15": "S-1-1-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15",
	}
	for in, want := range good {
		s, err := ParseSID(in)
		if err != nil || s.String() != want {
			t.Errorf("ParseSID(%q) = %v, %v; want %s", in, s, err, want)
		}
	}
	bad := []string{
		"", "S", "S-1", "S-2-5-32", "X-1-5", "S-1-5-", "S-1--5", "S-1-5-x", "S-1-+5",
		"S-1-281474976710656", "S-1-0x1000000000000", "S-1-5-4294967296", "S-1-5--1",
		"S-1-1-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16", "S-1-5 ", "S-1-0x",
	}
	for _, in := range bad {
		if s, err := ParseSID(in); !errors.Is(err, ErrInvalidSecurityDescriptor) {
			t.Errorf("ParseSID(%q) = %v, %v; want error", in, s, err)
		}
	}
}

func TestSIDHelpers(t *testing.T) {
	if uid, ok := UnixUserSID(42).UnixUser(); !ok || uid != 42 {
		t.Error("UnixUser")
	}
	if _, ok := UnixGroupSID(42).UnixUser(); ok {
		t.Error("group SID reported as user")
	}
	if gid, ok := UnixGroupSID(7).UnixGroup(); !ok || gid != 7 {
		t.Error("UnixGroup")
	}
	if _, ok := AdministratorsSID().UnixGroup(); ok {
		t.Error("Administrators reported as Unix group")
	}
	s, err := NewSID(5, 21, 1, 2)
	if err != nil || s.String() != "S-1-5-21-1-2" || s.Authority() != 5 || !reflect.DeepEqual(s.SubAuthorities(), []uint32{21, 1, 2}) {
		t.Errorf("NewSID: %v %v", s, err)
	}
	if _, err := NewSID(1<<48, 1); err == nil {
		t.Error("NewSID accepted 49-bit authority")
	}
	if _, err := NewSID(5, make([]uint32, 16)...); err == nil {
		t.Error("NewSID accepted 16 sub-authorities")
	}
	subs := s.SubAuthorities()
	subs[0] = 99
	if s.SubAuthorities()[0] != 21 {
		t.Error("SubAuthorities aliases the SID")
	}
}

func TestDecodeSIDErrors(t *testing.T) {
	for _, b := range []string{"", "01", "01 01 000000000001", "02 00 000000000000", "01 10 000000000000", "01 02 000000000005 20000000"} {
		if _, _, err := DecodeSID(unhex(t, b)); !errors.Is(err, ErrInvalidSecurityDescriptor) {
			t.Errorf("DecodeSID(%s): %v", b, err)
		}
	}
}

func TestSelfRelativeSDGolden(t *testing.T) {
	owner, group := UnixUserSID(1000), UnixGroupSID(100)
	dacl := []ACE{{Type: ACETypeAccessAllowed, Mask: FileGenericRead, SID: EveryoneSID()}}
	const (
		ownerHex = "01 02 000000000016 01000000 e8030000"
		groupHex = "01 02 000000000016 02000000 64000000"
		daclHex  = "02 00 1c00 0100 0000" + "00 00 1400 89001200 01 01 000000000001 00000000"
	)
	tests := []struct {
		secInfo uint32
		want    string
	}{
		{7, "01 00 0480 14000000 24000000 00000000 34000000" + ownerHex + groupHex + daclHex},
		{OwnerSecurityInformation, "01 00 0080 14000000 00000000 00000000 00000000" + ownerHex},
		{GroupSecurityInformation, "01 00 0080 00000000 14000000 00000000 00000000" + groupHex},
		{DACLSecurityInformation, "01 00 0480 00000000 00000000 00000000 14000000" + daclHex},
		{0, "01 00 0080 00000000 00000000 00000000 00000000"},
		{SACLSecurityInformation | OwnerSecurityInformation, "01 00 0080 14000000 00000000 00000000 00000000" + ownerHex},
	}
	for _, tt := range tests {
		checkBytes(t, "secInfo", SelfRelativeSD(owner, group, dacl, tt.secInfo), unhex(t, tt.want))
	}
	// An empty DACL is present and denies everyone.
	checkBytes(t, "empty DACL", SelfRelativeSD(owner, group, nil, DACLSecurityInformation),
		unhex(t, "01 00 0480 00000000 00000000 00000000 14000000 02 00 0800 0000 0000"))
}

func TestSelfRelativeSDTooManyACEs(t *testing.T) {
	aces := make([]ACE, 5000) // 5000 * 20 bytes > 64 KiB
	for i := range aces {
		aces[i] = ACE{SID: EveryoneSID(), Mask: 1}
	}
	b := SelfRelativeSD(EveryoneSID(), EveryoneSID(), aces, DACLSecurityInformation)
	sd, err := ParseSecurityDescriptor(b)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(sd.DACL.ACEs); n != (maxACLSize-aclHeaderSize)/20 {
		t.Errorf("kept %d ACEs", n)
	}
}

func aceHex(flags uint8, mask uint32, sid SID) ACE {
	return ACE{Type: ACETypeAccessAllowed, Flags: flags, Mask: mask, SID: sid}
}

func TestModeDACL(t *testing.T) {
	u, g, w := UnixUserSID(1000), UnixGroupSID(100), EveryoneSID()
	const inh = ObjectInheritACE | ContainerInheritACE | InheritOnlyACE
	tests := []struct {
		mode  fs.FileMode
		isDir bool
		want  []ACE
	}{
		{0o644, false, []ACE{aceHex(0, 0x12019F, u), aceHex(0, 0x120089, g), aceHex(0, 0x120089, w)}},
		{0o750, false, []ACE{aceHex(0, 0x1E01FF, u), aceHex(0, 0x1200A9, g)}},
		{0o755 | fs.ModeDir, true, []ACE{
			aceHex(0, 0x1F01FF, u), aceHex(0, 0x1200A9, g), aceHex(0, 0x1200A9, w),
			aceHex(inh, 0x1F01FF, CreatorOwnerSID()), aceHex(inh, 0x1200A9, CreatorGroupSID()), aceHex(inh, 0x1200A9, w),
		}},
		{0o220, true, []ACE{
			aceHex(0, 0x120156, u), aceHex(0, 0x120156, g),
			aceHex(inh, 0x120156, CreatorOwnerSID()), aceHex(inh, 0x120156, CreatorGroupSID()),
		}},
		{0o111 | fs.ModeSetuid | fs.ModeSticky, false, []ACE{aceHex(0, 0x1200A0, u), aceHex(0, 0x1200A0, g), aceHex(0, 0x1200A0, w)}},
		{0, false, nil},
	}
	for _, tt := range tests {
		if got := ModeDACL(1000, 100, tt.mode, tt.isDir); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ModeDACL(%v, dir=%v):\n got %+v\nwant %+v", tt.mode, tt.isDir, got, tt.want)
		}
	}
}

func TestSDFromModeGolden(t *testing.T) {
	got := SDFromMode(1000, 100, 0o640, false, OwnerSecurityInformation|GroupSecurityInformation|DACLSecurityInformation)
	want := unhex(t, "01 00 0480 14000000 24000000 00000000 34000000"+
		"01 02 000000000016 01000000 e8030000"+
		"01 02 000000000016 02000000 64000000"+
		"02 00 3800 0200 0000"+ // 8 + 2*24 = 56 bytes, 2 ACEs
		"00 00 1800 9f011200 01 02 000000000016 01000000 e8030000"+
		"00 00 1800 89001200 01 02 000000000016 02000000 64000000")
	checkBytes(t, "SDFromMode(0640)", got, want)
}

func TestParseSecurityDescriptorRoundTrip(t *testing.T) {
	owner, group := AdministratorsSID(), LocalSystemSID()
	sd := SecurityDescriptor{
		Control: SEDACLProtected | SEDACLAutoInherited,
		Owner:   &owner,
		Group:   &group,
		SACL: &ACL{Revision: 2, ACEs: []ACE{
			{Type: ACETypeSystemAudit, Flags: FailedAccessACEFlag, Mask: Delete, SID: EveryoneSID()},
		}},
		DACL: &ACL{Revision: 4, ACEs: []ACE{
			{Type: ACETypeAccessDenied, Flags: ObjectInheritACE, Mask: FileWriteData, SID: UnixUserSID(5)},
			{Type: 0x05, Flags: 0, Data: []byte{1, 0, 0, 0, 0, 0, 0, 0}}, // opaque object ACE
			{Type: ACETypeAccessAllowed, Mask: FileAllAccess, SID: owner},
		}},
	}
	b, err := sd.Append([]byte{0xAB}, 0xF)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseSecurityDescriptor(b[1:])
	if err != nil {
		t.Fatal(err)
	}
	sd.Control |= SESelfRelative | SEDACLPresent | SESACLPresent
	if !reflect.DeepEqual(got, sd) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, sd)
	}

	// A NULL DACL: present bit, no offset.
	null := SecurityDescriptor{Control: SEDACLPresent}
	b, _ = null.Append(nil, DACLSecurityInformation)
	checkBytes(t, "NULL DACL", b, unhex(t, "01 00 0480 00000000 00000000 00000000 00000000"))
	got, err = ParseSecurityDescriptor(b)
	if err != nil || got.DACL != nil || got.Control&SEDACLPresent == 0 {
		t.Errorf("NULL DACL parsed as %+v, %v", got, err)
	}
}

func TestSecurityDescriptorAppendErrors(t *testing.T) {
	sd := SecurityDescriptor{DACL: &ACL{ACEs: []ACE{{Type: 9, Data: []byte{1, 2, 3}}}}}
	if b, err := sd.Append([]byte{7}, DACLSecurityInformation); !errors.Is(err, ErrInvalidSecurityDescriptor) || len(b) != 1 {
		t.Errorf("misaligned ACE: %x, %v", b, err)
	}
	sd = SecurityDescriptor{DACL: &ACL{ACEs: make([]ACE, 5000)}} // 5000*16 > 64 KiB
	if _, err := sd.Append(nil, DACLSecurityInformation); !errors.Is(err, ErrInvalidSecurityDescriptor) {
		t.Errorf("oversized ACL: %v", err)
	}
}

func TestParseSecurityDescriptorErrors(t *testing.T) {
	valid := SelfRelativeSD(UnixUserSID(1), UnixGroupSID(2), ModeDACL(1, 2, 0o644, false), 7)
	mutate := func(f func(b []byte)) []byte {
		b := append([]byte(nil), valid...)
		f(b)
		return b
	}
	tests := map[string][]byte{
		"short":            valid[:19],
		"revision":         mutate(func(b []byte) { b[0] = 2 }),
		"not self-rel":     mutate(func(b []byte) { b[3] = 0 }),
		"owner offset":     mutate(func(b []byte) { putU32(b[4:], uint32(len(valid))) }),
		"owner in header":  mutate(func(b []byte) { putU32(b[4:], 4) }),
		"group truncated":  valid[:0x24+4],
		"dacl offset":      mutate(func(b []byte) { putU32(b[16:], 0xFFFFFFFF) }),
		"acl revision":     mutate(func(b []byte) { b[0x34] = 3 }),
		"acl size big":     mutate(func(b []byte) { b[0x36] = 0xFF }),
		"acl size small":   mutate(func(b []byte) { b[0x36] = 4 }),
		"ace count":        mutate(func(b []byte) { b[0x38] = 200 }),
		"ace size zero":    mutate(func(b []byte) { b[0x3E], b[0x3F] = 0, 0 }),
		"ace size odd":     mutate(func(b []byte) { b[0x3E] = 0x17 }),
		"ace sid mismatch": mutate(func(b []byte) { b[0x3E] = 0x1C }),
		"ace sid count":    mutate(func(b []byte) { b[0x45] = 5 }),
	}
	for name, b := range tests {
		if _, err := ParseSecurityDescriptor(b); !errors.Is(err, ErrInvalidSecurityDescriptor) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := ParseSecurityDescriptor(valid); err != nil {
		t.Fatalf("valid descriptor rejected: %v", err)
	}
}

func FuzzParseSecurityDescriptor(f *testing.F) {
	f.Add(SelfRelativeSD(UnixUserSID(1), UnixGroupSID(2), ModeDACL(1, 2, 0o755, true), 7))
	f.Add(unhex(f, "01 00 0480 00000000 00000000 00000000 00000000"))
	f.Add(unhex(f, "01 00 1480 00000000 00000000 14000000 00000000 04 00 1000 0100 0000 05 00 0800 01000000"))
	f.Fuzz(func(t *testing.T, b []byte) {
		sd, err := ParseSecurityDescriptor(b)
		if err != nil {
			if !errors.Is(err, ErrInvalidSecurityDescriptor) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		enc, err := sd.Append(nil, 0xF)
		if err != nil {
			t.Fatalf("re-encoding a parsed descriptor: %v", err)
		}
		again, err := ParseSecurityDescriptor(enc)
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if !reflect.DeepEqual(again, sd) {
			t.Fatalf("not stable:\n%+v\n%+v", sd, again)
		}
	})
}

func FuzzSID(f *testing.F) {
	f.Add("S-1-5-21-1-2-3", []byte{1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0})
	f.Fuzz(func(t *testing.T, s string, b []byte) {
		if sid, err := ParseSID(s); err == nil {
			again, err := ParseSID(sid.String())
			if err != nil || again != sid {
				t.Fatalf("%q -> %s -> %v, %v", s, sid, again, err)
			}
		}
		if sid, n, err := DecodeSID(b); err == nil {
			checkBytes(t, "re-encoded SID", sid.Append(nil), b[:n])
		}
	})
}
