package client

import "github.com/signetsmb/signet/internal/ntstatus"

// Status is an NTSTATUS code as carried in StatusError.Status; its String
// method gives the name ("STATUS_BAD_NETWORK_NAME").
type Status = ntstatus.Status

// Statuses callers commonly match (errors.As into *StatusError, then
// compare Status, or errors.Is(err, StatusX)).
const (
	StatusAccessDenied        Status = ntstatus.AccessDenied
	StatusObjectNameNotFound  Status = ntstatus.ObjectNameNotFound
	StatusObjectPathNotFound  Status = ntstatus.ObjectPathNotFound
	StatusObjectNameCollision Status = ntstatus.ObjectNameCollision
	StatusSharingViolation    Status = ntstatus.SharingViolation
	StatusLogonFailure        Status = ntstatus.LogonFailure
	StatusAccountDisabled     Status = ntstatus.AccountDisabled
	StatusBadNetworkName      Status = ntstatus.BadNetworkName
	StatusDirectoryNotEmpty   Status = ntstatus.DirectoryNotEmpty
	StatusNotADirectory       Status = ntstatus.NotADirectory
	StatusFileIsADirectory    Status = ntstatus.FileIsADirectory
	StatusDiskFull            Status = ntstatus.DiskFull
	StatusUserSessionDeleted  Status = ntstatus.UserSessionDeleted
)
