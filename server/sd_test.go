package server

import (
	"testing"

	"github.com/signetsmb/signet/internal/fscc"
)

var testMachine = mustSID("S-1-5-21-1-2-3")

func allow(sid fscc.SID, mask uint32, flags uint8) fscc.ACE {
	return fscc.ACE{Type: fscc.ACETypeAccessAllowed, Flags: flags, Mask: mask, SID: sid}
}

func deny(sid fscc.SID, mask uint32, flags uint8) fscc.ACE {
	return fscc.ACE{Type: fscc.ACETypeAccessDenied, Flags: flags, Mask: mask, SID: sid}
}

func sdWith(owner fscc.SID, aces ...fscc.ACE) *fscc.SecurityDescriptor {
	g := sidSystem
	return &fscc.SecurityDescriptor{Control: fscc.SESelfRelative | fscc.SEDACLPresent, Owner: &owner, Group: &g,
		DACL: &fscc.ACL{ACEs: aces}}
}

// TestUserSIDs: a user's SID is the machine SID plus a RID derived from
// the account ID alone, so it is the same after a restart and for every
// spelling of the name; two accounts get different SIDs.
func TestUserSIDs(t *testing.T) {
	a := newToken(testMachine, "ALICE", false, false)
	b := newToken(testMachine, "BOB", false, false)
	if a.user == b.user {
		t.Fatalf("alice and bob share %v", a.user)
	}
	if again := newToken(testMachine, "ALICE", false, false); again.user != a.user {
		t.Fatalf("alice's SID changed: %v then %v", a.user, again.user)
	}
	subs := a.user.SubAuthorities()
	if len(subs) != 5 || subs[0] != 21 || subs[3] != 3 || subs[4] < ridFirstUser {
		t.Fatalf("alice's SID %v", a.user)
	}
	if !a.has(sidEveryone) || !a.has(fscc.AuthenticatedUsersSID()) || a.has(sidAdministrator) {
		t.Fatalf("alice's groups %v", a.groups)
	}
	anon := newToken(testMachine, "", false, true)
	if anon.user != sidAnonymous || anon.has(fscc.AuthenticatedUsersSID()) {
		t.Fatalf("anonymous token %+v", anon)
	}
	guest := newToken(testMachine, "", true, false)
	if guest.user != domainSID(testMachine, ridGuest) || !guest.has(sidGuests) {
		t.Fatalf("guest token %+v", guest)
	}
}

// TestAccessCheck: the first ACE naming a right decides it (deny ACEs
// first in canonical order win), inherit-only ACEs do not apply, generic
// rights in ACEs are mapped, the owner gets READ_CONTROL and WRITE_DAC
// unless an OWNER RIGHTS ACE says otherwise, NULL and empty DACLs.
func TestAccessCheck(t *testing.T) {
	alice := newToken(testMachine, "ALICE", false, false)
	bob := newToken(testMachine, "BOB", false, false)
	read := fscc.FileGenericRead
	cases := []struct {
		name string
		sd   *fscc.SecurityDescriptor
		tok  *token
		want uint32
	}{
		{"no descriptor", nil, bob, fscc.FileAllAccess},
		{"NULL DACL", &fscc.SecurityDescriptor{Control: fscc.SEDACLPresent, Owner: &alice.user}, bob, fscc.FileAllAccess},
		{"empty DACL, not owner", sdWith(alice.user), bob, 0},
		{"empty DACL, owner", sdWith(alice.user), alice, fscc.ReadControl | fscc.WriteDAC},
		{"everyone read", sdWith(alice.user, allow(sidEveryone, read, 0)), bob, read},
		{"deny first", sdWith(alice.user, deny(bob.user, fscc.FileReadData, 0), allow(sidEveryone, read, 0)), bob,
			read &^ fscc.FileReadData},
		{"allow first", sdWith(alice.user, allow(sidEveryone, read, 0), deny(bob.user, fscc.FileReadData, 0)), bob, read},
		{"inherit-only skipped", sdWith(alice.user, allow(sidEveryone, read, fscc.InheritOnlyACE)), bob, 0},
		{"generic mapped", sdWith(alice.user, allow(bob.user, fscc.GenericRead, 0)), bob, read},
		{"other users' ACEs", sdWith(alice.user, allow(alice.user, fscc.FileAllAccess, 0)), bob, 0},
		{"owner rights replace the implicit", sdWith(alice.user, allow(sidOwnerRights, fscc.FileReadData, 0)), alice,
			fscc.FileReadData},
		{"owner denied WRITE_DAC", sdWith(alice.user, deny(alice.user, fscc.WriteDAC, 0)), alice, fscc.ReadControl},
	}
	for _, c := range cases {
		if got := accessCheck(c.sd, c.tok); got != c.want {
			t.Errorf("%s: %#x, want %#x", c.name, got, c.want)
		}
	}
}

// TestInherit: Windows' inheritance on create [MS-DTYP 2.5.3.4].
func TestInherit(t *testing.T) {
	alice := newToken(testMachine, "ALICE", false, false)
	const oi, ci, np, io, inh = fscc.ObjectInheritACE, fscc.ContainerInheritACE, fscc.NoPropagateInheritACE,
		fscc.InheritOnlyACE, fscc.InheritedACE
	parent := sdWith(sidAdministrator,
		allow(sidEveryone, fscc.FileGenericRead, oi|ci),      // both, plain
		allow(sidCreatorOwner, fscc.GenericAll, oi|ci|io),    // creator owner, generic
		allow(sidGuests, fscc.FileReadData, ci),              // directories only
		allow(fscc.UsersSID(), fscc.FileReadData, oi),        // files only
		allow(sidSystem, fscc.FileAllAccess, oi|ci|np),       // one level
		allow(sidAdministrator, fscc.FileAllAccess, 0),       // not inheritable
		deny(sidAnonymous, fscc.FileWriteData, oi|ci|io|inh), // already inherited
	)
	parent.Control |= fscc.SEDACLAutoInherited
	plain := *parent
	plain.Control &^= fscc.SEDACLAutoInherited
	if got := inheritSD(&plain, nil, alice, false); got.DACL.ACEs[0].Flags != 0 || got.Control&fscc.SEDACLAutoInherited != 0 {
		t.Errorf("without auto-inheritance: %+v", got)
	}
	file := inheritSD(parent, nil, alice, false)
	wantFile := []fscc.ACE{
		allow(sidEveryone, fscc.FileGenericRead, inh),
		allow(alice.user, fscc.FileAllAccess, inh),
		allow(fscc.UsersSID(), fscc.FileReadData, inh),
		allow(sidSystem, fscc.FileAllAccess, inh),
		deny(sidAnonymous, fscc.FileWriteData, inh),
	}
	checkACEs(t, "file", file, wantFile)
	if *file.Owner != alice.user || *file.Group != alice.group {
		t.Errorf("file owner %v group %v", file.Owner, file.Group)
	}
	dir := inheritSD(parent, nil, alice, true)
	wantDir := []fscc.ACE{
		allow(sidEveryone, fscc.FileGenericRead, oi|ci|inh),
		allow(alice.user, fscc.FileAllAccess, inh),
		allow(sidCreatorOwner, fscc.GenericAll, oi|ci|io|inh),
		allow(sidGuests, fscc.FileReadData, ci|inh),
		allow(fscc.UsersSID(), fscc.FileReadData, oi|io|inh),
		allow(sidSystem, fscc.FileAllAccess, inh),
		deny(sidAnonymous, fscc.FileWriteData, oi|ci|inh),
	}
	checkACEs(t, "directory", dir, wantDir)

	// Nothing inheritable: the creator and SYSTEM get full control.
	bare := inheritSD(sdWith(sidAdministrator, allow(sidEveryone, fscc.FileAllAccess, 0)), nil, alice, false)
	checkACEs(t, "default", bare, []fscc.ACE{allow(alice.user, fscc.FileAllAccess, 0), allow(sidSystem, fscc.FileAllAccess, 0)})

	// A descriptor given with the CREATE is used, generic rights mapped.
	given := sdWith(sidAdministrator, allow(sidEveryone, fscc.GenericRead, 0))
	given.Owner = nil
	got := inheritSD(parent, given, alice, false)
	checkACEs(t, "given", got, []fscc.ACE{allow(sidEveryone, fscc.FileGenericRead, 0)})
	if *got.Owner != alice.user {
		t.Errorf("given without owner: owner %v", got.Owner)
	}
}

func checkACEs(t *testing.T, what string, sd *fscc.SecurityDescriptor, want []fscc.ACE) {
	t.Helper()
	if sd.DACL == nil || len(sd.DACL.ACEs) != len(want) {
		t.Fatalf("%s: DACL %+v, want %+v", what, sd.DACL, want)
	}
	for i := range want {
		g := sd.DACL.ACEs[i]
		if g.Type != want[i].Type || g.Flags != want[i].Flags || g.Mask != want[i].Mask || g.SID != want[i].SID {
			t.Errorf("%s: ACE %d = %+v, want %+v", what, i, g, want[i])
		}
	}
}

// TestMergeSD: SET_INFO replaces only the selected parts; the owner must
// be the caller; a DACL's generic rights are mapped; DACL selected without
// a DACL stores a NULL DACL.
func TestMergeSD(t *testing.T) {
	alice := newToken(testMachine, "ALICE", false, false)
	bob := newToken(testMachine, "BOB", false, false)
	cur := sdWith(alice.user, allow(sidEveryone, fscc.FileAllAccess, 0))
	in := sdWith(bob.user, allow(bob.user, fscc.GenericRead, 0))
	got, err := mergeSD(cur, in, secInfoDACL, alice)
	if err != nil {
		t.Fatal(err)
	}
	if *got.Owner != alice.user {
		t.Errorf("owner changed without OWNER selected: %v", got.Owner)
	}
	checkACEs(t, "merged", got, []fscc.ACE{allow(bob.user, fscc.FileGenericRead, 0)})
	if len(cur.DACL.ACEs) != 1 || cur.DACL.ACEs[0].SID != sidEveryone {
		t.Errorf("the stored descriptor was modified: %+v", cur.DACL)
	}
	if _, err := mergeSD(cur, in, secInfoOwner, alice); err != statusInvalidOwner {
		t.Errorf("giving the file to bob: %v, want STATUS_INVALID_OWNER", err)
	}
	if got, err := mergeSD(cur, sdWith(alice.user), secInfoOwner, alice); err != nil || *got.Owner != alice.user {
		t.Errorf("owner to oneself: %v %v", got, err)
	}
	null := &fscc.SecurityDescriptor{Control: fscc.SESelfRelative}
	got, err = mergeSD(cur, null, secInfoDACL, alice)
	if err != nil || got.DACL != nil || got.Control&fscc.SEDACLPresent == 0 {
		t.Errorf("NULL DACL: %+v %v", got, err)
	}
	if accessCheck(got, bob) != fscc.FileAllAccess {
		t.Errorf("NULL DACL does not grant everything")
	}
}

// TestSecInfoAccess: the access each part needs [MS-FSA 2.1.5.13, 2.1.5.16].
func TestSecInfoAccess(t *testing.T) {
	cases := []struct {
		secInfo uint32
		write   bool
		want    uint32
	}{
		{secInfoOwner | secInfoGroup | secInfoDACL, false, fscc.ReadControl},
		{secInfoSACL, false, fscc.AccessSystemSecurity},
		{secInfoDACL, true, fscc.WriteDAC},
		{secInfoOwner, true, fscc.WriteOwner},
		{secInfoOwner | secInfoDACL | secInfoSACL, true, fscc.WriteOwner | fscc.WriteDAC | fscc.AccessSystemSecurity},
		{0, false, 0},
	}
	for _, c := range cases {
		if got := secInfoAccess(c.secInfo, c.write); got != c.want {
			t.Errorf("secInfo %#x write %v: %#x, want %#x", c.secInfo, c.write, got, c.want)
		}
	}
}

// FuzzSecurityDescriptor: any SET_INFO buffer either fails to parse or
// goes through merge, inheritance and access checks to a stored form that
// parses back.
func FuzzSecurityDescriptor(f *testing.F) {
	alice := newToken(testMachine, "ALICE", false, false)
	seed, _ := encodeSD(sdWith(alice.user, allow(sidCreatorOwner, fscc.GenericAll, fscc.ObjectInheritACE|fscc.ContainerInheritACE),
		deny(sidEveryone, fscc.FileWriteData, 0)))
	f.Add(seed, uint32(secInfoOwner|secInfoDACL), true)
	def, _ := encodeSD(defaultSD(accessFull, true))
	f.Add(def, uint32(secInfoDACL), false)
	f.Fuzz(func(t *testing.T, b []byte, secInfo uint32, isDir bool) {
		in, err := fscc.ParseSecurityDescriptor(b)
		if err != nil {
			return
		}
		accessCheck(&in, alice)
		child := inheritSD(&in, nil, alice, isDir)
		if _, err := encodeSD(child); err != nil && len(b) < 0xFFFF {
			t.Fatalf("inherited descriptor does not encode: %v", err)
		}
		merged, err := mergeSD(defaultSD(accessFull, isDir), &in, secInfo&^secInfoSACL, alice)
		if err != nil {
			return
		}
		enc, err := encodeSD(merged)
		if err != nil {
			return // an ACL over 64 KiB: refused with STATUS_INVALID_ACL
		}
		back, err := fscc.ParseSecurityDescriptor(enc)
		if err != nil {
			t.Fatalf("stored descriptor does not parse: %v", err)
		}
		if accessCheck(&back, alice) != accessCheck(merged, alice) {
			t.Fatalf("access differs after a round trip")
		}
	})
}

// TestCompactRecord: a file created under the share default stores only
// its owner, and what that record decodes to is what full inheritance
// gives, one and two levels down (so a tree of such files never needs a
// full descriptor).
func TestCompactRecord(t *testing.T) {
	alice := newToken(testMachine, "ALICE", false, false)
	bob := newToken(testMachine, "BOB", false, false)
	root := defaultSD(accessFull, true)
	for _, isDir := range []bool{false, true} {
		rec := compactRecord(alice.user)
		if len(rec) > 30 {
			t.Fatalf("compact record of %d octets", len(rec))
		}
		got, derived := decodeStored(rec, isDir, accessFull)
		want := inheritSD(root, nil, alice, isDir)
		if !derived || !sameSD(got, want) {
			t.Errorf("dir %v: compact %+v, full %+v", isDir, got, want)
		}
		// One level down, under a directory that has a compact record.
		parent, _ := decodeStored(compactRecord(alice.user), true, accessFull)
		if !sameSD(inheritSD(parent, nil, bob, isDir), derivedSD(bob.user, isDir, accessFull)) {
			t.Errorf("dir %v: inheriting from a derived directory differs from the derived form", isDir)
		}
	}
	if _, derived := decodeStored(nil, false, accessFull); !derived {
		t.Error("nothing stored is not the share default")
	}
	full, _ := encodeSD(sdWith(alice.user, allow(sidEveryone, fscc.FileReadData, 0)))
	if sd, derived := decodeStored(full, false, accessFull); derived || len(sd.DACL.ACEs) != 1 {
		t.Errorf("full descriptor decoded as %+v (derived %v)", sd, derived)
	}
	if sd, derived := decodeStored([]byte{compactTag, 1, 2}, false, accessFull); !derived || *sd.Owner != sidAdministrator {
		t.Errorf("truncated compact record: %+v", sd)
	}
}

func sameSD(a, b *fscc.SecurityDescriptor) bool {
	x, err1 := encodeSD(a)
	y, err2 := encodeSD(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}
