// Package ntstatus holds the NTSTATUS codes Signet sends and understands.
//
// A Status implements error, so handlers can return it directly; the one
// mapping from storage errors to statuses lives in the server package.
package ntstatus

import "fmt"

// Status is an NTSTATUS value as carried in the SMB2 header [MS-ERREF 2.3].
type Status uint32

// Error implements error.
func (s Status) Error() string { return s.String() }

// String returns the symbolic name, or the hex value when unknown.
func (s Status) String() string {
	if n, ok := names[s]; ok {
		return n
	}
	return fmt.Sprintf("NTSTATUS(0x%08X)", uint32(s))
}

// IsError reports whether the severity bits mark an error (0xC...).
func (s Status) IsError() bool { return uint32(s)>>30 == 3 }

// IsWarning reports whether the severity bits mark a warning (0x8...).
func (s Status) IsWarning() bool { return uint32(s)>>30 == 2 }

// Status codes [MS-ERREF 2.3.1].
const (
	Success                       Status = 0x00000000
	Pending                       Status = 0x00000103
	NotifyCleanup                 Status = 0x0000010B
	NotifyEnumDir                 Status = 0x0000010C
	BufferOverflow                Status = 0x80000005
	NoMoreFiles                   Status = 0x80000006
	StoppedOnSymlink              Status = 0x8000002D
	Unsuccessful                  Status = 0xC0000001
	NotImplemented                Status = 0xC0000002
	InvalidInfoClass              Status = 0xC0000003
	InfoLengthMismatch            Status = 0xC0000004
	InvalidHandle                 Status = 0xC0000008
	InvalidParameter              Status = 0xC000000D
	NoSuchFile                    Status = 0xC000000F
	InvalidDeviceRequest          Status = 0xC0000010
	EndOfFile                     Status = 0xC0000011
	MoreProcessingRequired        Status = 0xC0000016
	NoMemory                      Status = 0xC0000017
	AccessDenied                  Status = 0xC0000022
	BufferTooSmall                Status = 0xC0000023
	ObjectTypeMismatch            Status = 0xC0000024
	ObjectNameInvalid             Status = 0xC0000033
	ObjectNameNotFound            Status = 0xC0000034
	ObjectNameCollision           Status = 0xC0000035
	ObjectPathInvalid             Status = 0xC0000039
	ObjectPathNotFound            Status = 0xC000003A
	ObjectPathSyntaxBad           Status = 0xC000003B
	SharingViolation              Status = 0xC0000043
	EaTooLarge                    Status = 0xC0000050
	NonexistentEaEntry            Status = 0xC0000051
	NoEasOnFile                   Status = 0xC0000052
	DeletePending                 Status = 0xC0000056
	PrivilegeNotHeld              Status = 0xC0000061
	LogonFailure                  Status = 0xC000006D
	AccountRestriction            Status = 0xC000006E
	AccountDisabled               Status = 0xC0000072
	DiskFull                      Status = 0xC000007F
	InsufficientResources         Status = 0xC000009A
	FileIsADirectory              Status = 0xC00000BA
	NotSupported                  Status = 0xC00000BB
	NetworkNameDeleted            Status = 0xC00000C9
	NetworkAccessDenied           Status = 0xC00000CA
	BadNetworkName                Status = 0xC00000CC
	InvalidNetworkResponse        Status = 0xC00000C3
	RequestNotAccepted            Status = 0xC00000D0
	PipeNotAvailable              Status = 0xC00000AC
	InvalidPipeState              Status = 0xC00000AD
	PipeBusy                      Status = 0xC00000AE
	PipeDisconnected              Status = 0xC00000B0
	PipeClosing                   Status = 0xC00000B1
	PipeEmpty                     Status = 0xC00000D9
	InternalError                 Status = 0xC00000E5
	DirectoryNotEmpty             Status = 0xC0000101
	NotADirectory                 Status = 0xC0000103
	Cancelled                     Status = 0xC0000120
	CannotDelete                  Status = 0xC0000121
	FileClosed                    Status = 0xC0000128
	FileRenamed                   Status = 0xC00000D5
	NameTooLong                   Status = 0xC0000106
	TooManyOpenedFiles            Status = 0xC000011F
	InvalidLevel                  Status = 0xC0000148
	RangeNotLocked                Status = 0xC000007E
	LockNotGranted                Status = 0xC0000055
	FileLockConflict              Status = 0xC0000054
	NoUserSessionKey              Status = 0xC0000202
	UserSessionDeleted            Status = 0xC0000203
	NotFound                      Status = 0xC0000225
	NetworkSessionExpired         Status = 0xC000035C
	RequestOutOfSequence          Status = 0xC000042A
	FSDriverRequired              Status = 0xC000019C
	InvalidSignature              Status = 0xC000A000
	NoPreauthIntegrityHashOverlap Status = 0xC05D0000
	DuplicateObjectID             Status = 0xC000022A
	ObjectIDNotFound              Status = 0xC00002F0
	NotAReparsePoint              Status = 0xC0000275
	MediaWriteProtected           Status = 0xC00000A2
	TooManySessions               Status = 0xC00000CE
	IOTimeout                     Status = 0xC00000B5
	FileForcedClosed              Status = 0xC00000B6
	InvalidDeviceState            Status = 0xC0000184
	FileNotAvailable              Status = 0xC0000467
	BadImpersonationLevel         Status = 0xC00000A5
	InvalidLockRange              Status = 0xC00001A1
	InvalidViewSize               Status = 0xC000001F
	InvalidOplockProtocol         Status = 0xC00000E3
)

var names = map[Status]string{
	Success:                       "STATUS_SUCCESS",
	Pending:                       "STATUS_PENDING",
	NotifyCleanup:                 "STATUS_NOTIFY_CLEANUP",
	NotifyEnumDir:                 "STATUS_NOTIFY_ENUM_DIR",
	BufferOverflow:                "STATUS_BUFFER_OVERFLOW",
	NoMoreFiles:                   "STATUS_NO_MORE_FILES",
	StoppedOnSymlink:              "STATUS_STOPPED_ON_SYMLINK",
	Unsuccessful:                  "STATUS_UNSUCCESSFUL",
	NotImplemented:                "STATUS_NOT_IMPLEMENTED",
	InvalidInfoClass:              "STATUS_INVALID_INFO_CLASS",
	InfoLengthMismatch:            "STATUS_INFO_LENGTH_MISMATCH",
	InvalidHandle:                 "STATUS_INVALID_HANDLE",
	InvalidParameter:              "STATUS_INVALID_PARAMETER",
	NoSuchFile:                    "STATUS_NO_SUCH_FILE",
	InvalidDeviceRequest:          "STATUS_INVALID_DEVICE_REQUEST",
	EndOfFile:                     "STATUS_END_OF_FILE",
	MoreProcessingRequired:        "STATUS_MORE_PROCESSING_REQUIRED",
	NoMemory:                      "STATUS_NO_MEMORY",
	AccessDenied:                  "STATUS_ACCESS_DENIED",
	BufferTooSmall:                "STATUS_BUFFER_TOO_SMALL",
	ObjectTypeMismatch:            "STATUS_OBJECT_TYPE_MISMATCH",
	ObjectNameInvalid:             "STATUS_OBJECT_NAME_INVALID",
	ObjectNameNotFound:            "STATUS_OBJECT_NAME_NOT_FOUND",
	ObjectNameCollision:           "STATUS_OBJECT_NAME_COLLISION",
	ObjectPathInvalid:             "STATUS_OBJECT_PATH_INVALID",
	ObjectPathNotFound:            "STATUS_OBJECT_PATH_NOT_FOUND",
	ObjectPathSyntaxBad:           "STATUS_OBJECT_PATH_SYNTAX_BAD",
	SharingViolation:              "STATUS_SHARING_VIOLATION",
	EaTooLarge:                    "STATUS_EA_TOO_LARGE",
	NonexistentEaEntry:            "STATUS_NONEXISTENT_EA_ENTRY",
	NoEasOnFile:                   "STATUS_NO_EAS_ON_FILE",
	DeletePending:                 "STATUS_DELETE_PENDING",
	PrivilegeNotHeld:              "STATUS_PRIVILEGE_NOT_HELD",
	LogonFailure:                  "STATUS_LOGON_FAILURE",
	AccountDisabled:               "STATUS_ACCOUNT_DISABLED",
	AccountRestriction:            "STATUS_ACCOUNT_RESTRICTION",
	DiskFull:                      "STATUS_DISK_FULL",
	InsufficientResources:         "STATUS_INSUFFICIENT_RESOURCES",
	FileIsADirectory:              "STATUS_FILE_IS_A_DIRECTORY",
	NotSupported:                  "STATUS_NOT_SUPPORTED",
	NetworkNameDeleted:            "STATUS_NETWORK_NAME_DELETED",
	NetworkAccessDenied:           "STATUS_NETWORK_ACCESS_DENIED",
	BadNetworkName:                "STATUS_BAD_NETWORK_NAME",
	InvalidNetworkResponse:        "STATUS_INVALID_NETWORK_RESPONSE",
	RequestNotAccepted:            "STATUS_REQUEST_NOT_ACCEPTED",
	PipeNotAvailable:              "STATUS_PIPE_NOT_AVAILABLE",
	InvalidPipeState:              "STATUS_INVALID_PIPE_STATE",
	PipeBusy:                      "STATUS_PIPE_BUSY",
	PipeDisconnected:              "STATUS_PIPE_DISCONNECTED",
	PipeClosing:                   "STATUS_PIPE_CLOSING",
	PipeEmpty:                     "STATUS_PIPE_EMPTY",
	InternalError:                 "STATUS_INTERNAL_ERROR",
	DirectoryNotEmpty:             "STATUS_DIRECTORY_NOT_EMPTY",
	NotADirectory:                 "STATUS_NOT_A_DIRECTORY",
	Cancelled:                     "STATUS_CANCELLED",
	CannotDelete:                  "STATUS_CANNOT_DELETE",
	FileClosed:                    "STATUS_FILE_CLOSED",
	FileRenamed:                   "STATUS_FILE_RENAMED",
	NameTooLong:                   "STATUS_NAME_TOO_LONG",
	TooManyOpenedFiles:            "STATUS_TOO_MANY_OPENED_FILES",
	InvalidLevel:                  "STATUS_INVALID_LEVEL",
	RangeNotLocked:                "STATUS_RANGE_NOT_LOCKED",
	LockNotGranted:                "STATUS_LOCK_NOT_GRANTED",
	FileLockConflict:              "STATUS_FILE_LOCK_CONFLICT",
	NoUserSessionKey:              "STATUS_NO_USER_SESSION_KEY",
	UserSessionDeleted:            "STATUS_USER_SESSION_DELETED",
	NotFound:                      "STATUS_NOT_FOUND",
	NetworkSessionExpired:         "STATUS_NETWORK_SESSION_EXPIRED",
	RequestOutOfSequence:          "STATUS_REQUEST_OUT_OF_SEQUENCE",
	FSDriverRequired:              "STATUS_FS_DRIVER_REQUIRED",
	InvalidSignature:              "STATUS_INVALID_SIGNATURE",
	NoPreauthIntegrityHashOverlap: "STATUS_SMB_NO_PREAUTH_INTEGRITY_HASH_OVERLAP",
	DuplicateObjectID:             "STATUS_DUPLICATE_OBJECTID",
	ObjectIDNotFound:              "STATUS_OBJECTID_NOT_FOUND",
	NotAReparsePoint:              "STATUS_NOT_A_REPARSE_POINT",
	MediaWriteProtected:           "STATUS_MEDIA_WRITE_PROTECTED",
	TooManySessions:               "STATUS_TOO_MANY_SESSIONS",
	IOTimeout:                     "STATUS_IO_TIMEOUT",
	FileForcedClosed:              "STATUS_FILE_FORCED_CLOSED",
	InvalidDeviceState:            "STATUS_INVALID_DEVICE_STATE",
	FileNotAvailable:              "STATUS_FILE_NOT_AVAILABLE",
	BadImpersonationLevel:         "STATUS_BAD_IMPERSONATION_LEVEL",
	InvalidLockRange:              "STATUS_INVALID_LOCK_RANGE",
	InvalidViewSize:               "STATUS_INVALID_VIEW_SIZE",
	InvalidOplockProtocol:         "STATUS_INVALID_OPLOCK_PROTOCOL",
}
