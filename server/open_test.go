package server

import (
	"io/fs"
	"testing"

	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
)

func TestRenameTargetConflict(t *testing.T) {
	const (
		r, w, d = wire.FileShareRead, wire.FileShareWrite, wire.FileShareDelete
		dirRW   = wire.FileReadData | wire.FileWriteData | wire.FileAppendData | wire.FileExecute
	)
	tests := []struct {
		name          string
		access, share uint32
		want          bool
	}{
		{"delete access, all shared", dirRW | wire.Delete, r | w | d, true},
		{"delete access, nothing shared", dirRW | wire.Delete, 0, true},
		{"no delete access, all shared", dirRW, r | w | d, false},
		{"no delete access, nothing shared", dirRW, 0, true},
		{"list only, write not shared", wire.FileReadData, r | d, true},
		{"list only, read and write shared", wire.FileReadData, r | w, false},
		{"attributes only, nothing shared", wire.FileReadAttributes | wire.Synchronize, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var nt nodeTable
			o := &open{access: tc.access, share: tc.share}
			if err := nt.attach(o, nodeKey{id: 7}); err != nil {
				t.Fatal(err)
			}
			for _, moveDir := range []bool{false, true} {
				if got := nt.renameTargetConflict(nil, 7, moveDir); got != tc.want {
					t.Errorf("moveDir=%v: conflict %v, want %v", moveDir, got, tc.want)
				}
			}
			if nt.renameTargetConflict(nil, 8, false) {
				t.Error("conflict reported for a directory without opens")
			}
		})
	}
}

func TestReadOnlyPerm(t *testing.T) {
	tests := []struct {
		perm fs.FileMode
		ro   bool
		want fs.FileMode
	}{
		{0o644, true, 0o444},
		{0o666, true, 0o444},
		{0o444, false, 0o644},
		{0o640, false, 0o640},
		{0o400, false, 0o600},
	}
	for _, tc := range tests {
		if got := readOnlyPerm(tc.perm, tc.ro); got != tc.want {
			t.Errorf("readOnlyPerm(%o, %v) = %o, want %o", tc.perm, tc.ro, got, tc.want)
		}
	}
}

func TestCreateValidateContextsAndOptions(t *testing.T) {
	base := wire.CreateRequest{
		ImpersonationLevel: 2,
		DesiredAccess:      wire.FileReadData,
		ShareAccess:        wire.FileShareValid,
		CreateDisposition:  wire.FileOpenIf,
	}
	tests := []struct {
		name string
		edit func(q *wire.CreateRequest)
		want error
	}{
		{"plain", func(*wire.CreateRequest) {}, nil},
		{"unknown 4-byte tag ignored", func(q *wire.CreateRequest) {
			q.Contexts = []wire.CreateContext{{Name: "FooO"}}
		}, nil},
		{"tag shorter than 4 bytes", func(q *wire.CreateRequest) {
			q.Contexts = []wire.CreateContext{{Name: "xxx"}}
		}, ntstatus.InvalidParameter},
		{"short allocation size", func(q *wire.CreateRequest) {
			q.Contexts = []wire.CreateContext{{Name: wire.CtxNameAlSi, Data: make([]byte, 4)}}
		}, ntstatus.InvalidParameter},
		{"timewarp", func(q *wire.CreateRequest) {
			q.Contexts = []wire.CreateContext{{Name: wire.CtxNameTWrp, Data: make([]byte, 8)}}
		}, ntstatus.ObjectNameNotFound},
		{"short timewarp", func(q *wire.CreateRequest) {
			q.Contexts = []wire.CreateContext{{Name: wire.CtxNameTWrp, Data: make([]byte, 2)}}
		}, ntstatus.InvalidParameter},
		{"tree connection", func(q *wire.CreateRequest) { q.CreateOptions = 0x80 }, ntstatus.NotSupported},
		{"reserve opfilter", func(q *wire.CreateRequest) { q.CreateOptions = 0x00100000 }, ntstatus.NotSupported},
		{"open by file id", func(q *wire.CreateRequest) { q.CreateOptions = wire.FileOpenByFileID }, ntstatus.NotSupported},
		{"reserved option bits", func(q *wire.CreateRequest) { q.CreateOptions = 0x01000000 }, ntstatus.InvalidParameter},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := base
			tc.edit(&q)
			cc := &createCall{req: &q, r: &request{c: &conn{dialect: wire.Dialect311}}}
			if got := cc.validate(); got != tc.want {
				t.Errorf("validate() = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestCreateSystemSecurityNeedsPrivilege: ACCESS_SYSTEM_SECURITY (the SACL)
// needs SeSecurityPrivilege, which no Signet user holds.
func TestCreateSystemSecurityNeedsPrivilege(t *testing.T) {
	q := wire.CreateRequest{
		ImpersonationLevel: 2,
		DesiredAccess:      wire.FileReadData | wire.AccessSystemSecurity,
		ShareAccess:        wire.FileShareValid,
		CreateDisposition:  wire.FileOpen,
	}
	cc := &createCall{req: &q}
	if err := cc.validate(); err != nil {
		t.Fatalf("validate() = %v", err)
	}
	if got := cc.checkAccess(); got != ntstatus.PrivilegeNotHeld {
		t.Fatalf("checkAccess() = %v, want STATUS_PRIVILEGE_NOT_HELD", got)
	}
}

// TestMapGeneric: the GENERIC_* bits map to the file rights of
// MS-SMB2 2.2.13.1.1 and are cleared.
func TestMapGeneric(t *testing.T) {
	tests := []struct{ in, want uint32 }{
		{wire.GenericRead, 0x00120089},
		{wire.GenericWrite, 0x00120116},
		{wire.GenericExecute, 0x001200A0},
		{wire.GenericAll, 0x001F01FF},
		{wire.GenericRead | wire.Delete, 0x00130089},
		{wire.FileReadData, wire.FileReadData},
	}
	for _, tc := range tests {
		if got := mapGeneric(tc.in); got != tc.want {
			t.Errorf("mapGeneric(%#x) = %#x, want %#x", tc.in, got, tc.want)
		}
	}
}
