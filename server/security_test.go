package server

import (
	"encoding/binary"
	"testing"

	"github.com/signetsmb/signet/internal/fscc"
	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
	"github.com/signetsmb/signet/vfs"
	"github.com/signetsmb/signet/vfs/memfs"
)

// querySD reads the whole descriptor of an open.
func (tc *tester) querySD(id wire.FileID, secInfo uint32) (*fscc.SecurityDescriptor, ntstatus.Status) {
	tc.t.Helper()
	b, st := tc.queryInfo(id, wire.InfoSecurity, 0, 4096, secInfo)
	if st != ntstatus.Success {
		return nil, st
	}
	sd, err := fscc.ParseSecurityDescriptor(b)
	if err != nil {
		tc.t.Fatalf("descriptor does not parse: %v", err)
	}
	return &sd, st
}

func (tc *tester) openAccess(name string, access, disposition uint32, ctxs ...wire.CreateContext) (*wire.CreateResponse, ntstatus.Status) {
	tc.t.Helper()
	return tc.create(&wire.CreateRequest{DesiredAccess: access, ShareAccess: shareAll, CreateDisposition: disposition,
		Name: name, Contexts: ctxs})
}

// TestSecurityEnforced: a DACL set over SMB decides later CREATEs: what it
// does not grant is ACCESS_DENIED, MAXIMUM_ALLOWED and MxAc report what it
// grants (plus the owner's implicit rights and what the parent grants),
// and the parts of a descriptor need their rights.
func TestSecurityEnforced(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	cr, st := tc.openAccess("f", wire.ReadControl|wire.WriteDAC|wire.WriteOwner, wire.FileCreate)
	if st != ntstatus.Success {
		t.Fatalf("create: %v", st)
	}
	id := cr.FileID
	sd, st := tc.querySD(id, secInfoOwner|secInfoGroup|secInfoDACL)
	if st != ntstatus.Success || sd.Owner == nil || sd.DACL == nil {
		t.Fatalf("new file's descriptor: %v %+v", st, sd)
	}
	alice := *sd.Owner
	if want := newToken(tc.srv().machineSID(), "ALICE", false, false).user; alice != want {
		t.Fatalf("owner %v, want alice's SID %v", alice, want)
	}
	// Only FILE_READ_DATA for alice.
	only := sdWith(alice, allow(alice, fscc.FileReadData, 0))
	b, _ := encodeSD(only)
	if st := tc.setInfo(id, wire.InfoSecurity, 0, b, secInfoDACL); st != ntstatus.Success {
		t.Fatalf("SET_INFO DACL: %v", st)
	}
	if _, st := tc.openAccess("f", wire.FileWriteData, wire.FileOpen); st != ntstatus.AccessDenied {
		t.Errorf("open for write: %v, want ACCESS_DENIED", st)
	}
	if _, st := tc.openAccess("f", wire.FileReadData, wire.FileOpen); st != ntstatus.Success {
		t.Errorf("open for read: %v", st)
	}
	if _, st := tc.openAccess("f", wire.FileReadData, wire.FileOverwriteIf); st != ntstatus.AccessDenied {
		t.Errorf("overwrite without FILE_WRITE_DATA: %v, want ACCESS_DENIED", st)
	}
	mx, st := tc.openAccess("f", wire.MaximumAllowed, wire.FileOpen, wire.CreateContext{Name: wire.CtxNameMxAc})
	if st != ntstatus.Success {
		t.Fatalf("MAXIMUM_ALLOWED: %v", st)
	}
	// The share root (default descriptor) gives FILE_DELETE_CHILD and
	// FILE_LIST_DIRECTORY, hence DELETE and FILE_READ_ATTRIBUTES.
	want := fscc.FileReadData | fscc.ReadControl | fscc.WriteDAC | fscc.Delete | fscc.FileReadAttributes | fscc.Synchronize
	var got uint32
	for _, c := range mx.Contexts {
		if c.Name == wire.CtxNameMxAc && len(c.Data) == 8 {
			got = binary.LittleEndian.Uint32(c.Data[4:])
		}
	}
	if got != want {
		t.Errorf("MxAc %#x, want %#x", got, want)
	}
	if _, st := tc.openAccess("f", wire.MaximumAllowed|wire.FileWriteData, wire.FileOpen); st != ntstatus.AccessDenied {
		t.Errorf("MAXIMUM_ALLOWED|FILE_WRITE_DATA: %v, want ACCESS_DENIED", st)
	}
	if _, st := tc.queryInfo(id, wire.InfoSecurity, 0, 4096, secInfoSACL); st != ntstatus.AccessDenied {
		t.Errorf("SACL query: %v, want ACCESS_DENIED", st)
	}
	b, _ = encodeSD(sdWith(sidAdministrator))
	if st := tc.setInfo(id, wire.InfoSecurity, 0, b, secInfoOwner); st != statusInvalidOwner {
		t.Errorf("owner to Administrators: %v, want STATUS_INVALID_OWNER", st)
	}
	if st := tc.setInfo(id, wire.InfoSecurity, 0, []byte{1, 2, 3}, secInfoDACL); st != statusInvalidSD {
		t.Errorf("garbage descriptor: %v, want STATUS_INVALID_SECURITY_DESCR", st)
	}
	// A too small buffer says how much is needed.
	full, _ := tc.queryInfo(id, wire.InfoSecurity, 0, 4096, secInfoOwner|secInfoDACL)
	r := tc.roundTrip(tc.queryInfoReq(id, wire.InfoSecurity, 0, 16, secInfoOwner|secInfoDACL))
	if r.status != ntstatus.BufferTooSmall || len(r.body) < 12 || binary.LittleEndian.Uint32(r.body[4:]) != 4 ||
		binary.LittleEndian.Uint32(r.body[8:]) != uint32(len(full)) {
		t.Errorf("small buffer: %v % x, want BUFFER_TOO_SMALL with %d", r.status, r.body, len(full))
	}
}

// TestSecurityCreateContext: a descriptor sent with the CREATE is stored
// (owner defaulting to the creator); a SACL in it needs a privilege.
func TestSecurityCreateContext(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	given := sdWith(sidEveryone, allow(sidEveryone, fscc.GenericRead, 0))
	given.Owner = nil
	b, _ := encodeSD(given)
	cr, st := tc.openAccess("g", wire.ReadControl, wire.FileCreate, wire.CreateContext{Name: wire.CtxNameSecD, Data: b})
	if st != ntstatus.Success {
		t.Fatalf("create with SecD: %v", st)
	}
	sd, _ := tc.querySD(cr.FileID, secInfoOwner|secInfoDACL)
	if sd.DACL == nil || len(sd.DACL.ACEs) != 1 || sd.DACL.ACEs[0].Mask != fscc.FileGenericRead || sd.Owner == nil ||
		*sd.Owner != newToken(tc.srv().machineSID(), "ALICE", false, false).user {
		t.Errorf("stored descriptor %+v", sd)
	}
	withSACL := *given
	withSACL.Control |= fscc.SESACLPresent
	withSACL.SACL = &fscc.ACL{}
	b, _ = withSACL.Append(nil, secInfoOwner|secInfoGroup|secInfoDACL|secInfoSACL)
	if _, st := tc.openAccess("h", wire.ReadControl, wire.FileCreate, wire.CreateContext{Name: wire.CtxNameSecD, Data: b}); st != ntstatus.PrivilegeNotHeld {
		t.Errorf("SecD with a SACL: %v, want PRIVILEGE_NOT_HELD", st)
	}
	if _, st := tc.openAccess("h", wire.ReadControl, wire.FileCreate, wire.CreateContext{Name: wire.CtxNameSecD, Data: []byte{9}}); st != ntstatus.InvalidParameter {
		t.Errorf("malformed SecD: %v, want INVALID_PARAMETER", st)
	}
}

// noSDFS hides every optional capability of the FS it wraps: a backend
// without descriptors.
type noSDFS struct{ vfs.FS }

// TestSecurityWithoutBackendSupport: a backend that keeps no descriptors
// is a file system without ACLs: the descriptor is synthesised from the
// mode, a set is accepted and dropped, access follows the share.
func TestSecurityWithoutBackendSupport(t *testing.T) {
	tc := newSessionTester(t, &testerConfig{FS: noSDFS{memfs.New(memfs.Options{})}}, wire.Dialect311)
	cr, st := tc.openAccess("f", wire.ReadControl|wire.WriteDAC, wire.FileCreate)
	if st != ntstatus.Success {
		t.Fatalf("create: %v", st)
	}
	before, _ := tc.queryInfo(cr.FileID, wire.InfoSecurity, 0, 4096, secInfoOwner|secInfoDACL)
	b, _ := encodeSD(sdWith(sidEveryone))
	if st := tc.setInfo(cr.FileID, wire.InfoSecurity, 0, b, secInfoDACL); st != ntstatus.Success {
		t.Fatalf("SET_INFO: %v", st)
	}
	after, _ := tc.queryInfo(cr.FileID, wire.InfoSecurity, 0, 4096, secInfoOwner|secInfoDACL)
	if string(before) != string(after) || len(before) == 0 {
		t.Errorf("descriptor changed on a file system without ACLs")
	}
	if _, st := tc.openAccess("f", wire.FileWriteData, wire.FileOpen); st != ntstatus.Success {
		t.Errorf("write open after an empty DACL was dropped: %v", st)
	}
}
