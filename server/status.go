package server

import (
	"context"
	"errors"
	"io/fs"

	"github.com/signetsmb/signet/internal/fscc"
	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/vfs"
)

// statusOf maps a storage or codec error to the NTSTATUS Windows returns
// for it. It is the only place where vfs/io-fs errors become statuses; the
// order matters because the vfs sentinels refine the io/fs ones.
func statusOf(err error) ntstatus.Status {
	if err == nil {
		return ntstatus.Success
	}
	var st ntstatus.Status
	if errors.As(err, &st) {
		return st
	}
	for _, m := range statusTable {
		if errors.Is(err, m.err) {
			return m.status
		}
	}
	return ntstatus.Unsuccessful
}

var statusTable = []struct {
	err    error
	status ntstatus.Status
}{
	{vfs.ErrNameTooLong, ntstatus.ObjectNameInvalid},
	{vfs.ErrInvalidName, ntstatus.ObjectNameInvalid},
	{vfs.ErrEscapesRoot, ntstatus.AccessDenied},
	{vfs.ErrNotEmpty, ntstatus.DirectoryNotEmpty},
	{vfs.ErrIsDir, ntstatus.FileIsADirectory},
	{vfs.ErrNotDir, ntstatus.NotADirectory},
	{vfs.ErrNotSupported, ntstatus.NotSupported},
	{vfs.ErrNoSpace, ntstatus.DiskFull},
	{fscc.ErrInvalidInfoClass, ntstatus.InvalidInfoClass},
	{fscc.ErrInfoLength, ntstatus.InfoLengthMismatch},
	{fscc.ErrNoShortName, ntstatus.ObjectNameNotFound},
	{fscc.ErrInvalidParameter, ntstatus.InvalidParameter},
	{fscc.ErrInvalidName, ntstatus.ObjectNameInvalid},
	{fscc.ErrNameTooLong, ntstatus.ObjectNameInvalid},
	{fs.ErrNotExist, ntstatus.ObjectNameNotFound},
	{fs.ErrExist, ntstatus.ObjectNameCollision},
	{fs.ErrPermission, ntstatus.AccessDenied},
	{fs.ErrClosed, ntstatus.FileClosed},
	{fs.ErrInvalid, ntstatus.InvalidParameter},
	{context.Canceled, ntstatus.Cancelled},
}
