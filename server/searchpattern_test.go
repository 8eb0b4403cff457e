package server

import (
	"strings"
	"testing"

	"github.com/signetsmb/signet/internal/fscc"
	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
	"github.com/signetsmb/signet/vfs/memfs"
)

// TestSearchPatternLimit: a QUERY_DIRECTORY pattern longer than
// MaxSearchPattern UTF-16 units fails with STATUS_OBJECT_NAME_INVALID; one
// of that length is searched.
func TestSearchPatternLimit(t *testing.T) {
	for _, tc := range []struct {
		lim  Limits
		max  int
		unit string
	}{
		{Limits{MaxSearchPattern: 8}, 8, "*"},
		{Limits{}, DefaultLimits().MaxSearchPattern, "*"},
		{Limits{MaxSearchPattern: 8}, 8, "\U0001F600"[:4]}, // two units each
	} {
		c := newTestConn(t, tc.lim)
		s := &session{id: 1}
		tree := &treeConnect{srv: c.srv, share: &Share{Name: "share", FS: memfs.New(memfs.Options{})}}
		dir := openFile(t, c, s, tree, &wire.CreateRequest{ImpersonationLevel: 2, DesiredAccess: wire.FileReadData,
			ShareAccess: wire.FileShareValid, CreateDisposition: wire.FileOpen, CreateOptions: wire.FileDirectoryFile})
		query := func(pattern string) error {
			_, err := call(c, s, tree, dir, wire.AppendQueryDirectoryRequest(header(), &wire.QueryDirectoryRequest{
				InfoClass: uint8(fscc.FileNamesInformation), Flags: wire.QueryDirRestartScans, FileID: dir.id,
				Pattern: pattern, OutputBufferLength: 64 << 10}), (*request).queryDirectory)
			return err
		}
		n := tc.max / fscc.UTF16Len(tc.unit)
		if err := query(strings.Repeat(tc.unit, n+1)); err != ntstatus.ObjectNameInvalid {
			t.Errorf("limit %d: pattern of %d units: %v, want STATUS_OBJECT_NAME_INVALID", tc.max, (n+1)*fscc.UTF16Len(tc.unit), err)
		}
		if err := query(strings.Repeat(tc.unit, n)); err != nil && err != ntstatus.NoSuchFile {
			t.Errorf("limit %d: pattern of %d units: %v", tc.max, n*fscc.UTF16Len(tc.unit), err)
		}
	}
}
