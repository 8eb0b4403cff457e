package client

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/signetsmb/signet/internal/ntstatus"
)

// Sentinel errors. Errors returned by this package wrap them, so test with
// errors.Is.
var (
	// ErrBadSignature means a response that had to be signed was not, or
	// its signature did not verify [MS-SMB2 3.2.5.1.3]. The response is
	// discarded and the connection is closed: every later request on the
	// session fails with an error wrapping ErrBadSignature too.
	ErrBadSignature = errors.New("smb: response signature missing or invalid")

	// ErrSigningRequired means signing is required (by the Dialer or by
	// the server) but the session could not be signed: a guest or
	// anonymous logon, or a server whose final SESSION_SETUP response was
	// unsigned.
	ErrSigningRequired = errors.New("smb: signing required but the session cannot be signed")

	// ErrValidateNegotiate means FSCTL_VALIDATE_NEGOTIATE_INFO (every
	// dialect but 3.1.1) showed that the NEGOTIATE exchange was tampered
	// with, or the server refused it, which it does by closing the
	// connection [MS-SMB2 3.2.5.14.12, 3.3.5.15.12]. The session is
	// closed.
	ErrValidateNegotiate = errors.New("smb: secure dialect negotiation failed")

	// ErrEncryptionRequired means the server demands encryption for the
	// session or share and this session cannot encrypt (no cipher was
	// negotiated, or it is a guest or anonymous session).
	ErrEncryptionRequired = errors.New("smb: server requires encryption, which this session cannot provide")

	// ErrInvalidResponse means a response could not be decoded or broke
	// the protocol (wrong command, out-of-range offsets, ...).
	ErrInvalidResponse = errors.New("smb: invalid response")

	// ErrClosed means the session, share or connection was closed.
	ErrClosed = errors.New("smb: use of closed session")
)

// StatusError is a request the server failed with an NTSTATUS. It unwraps
// to the ntstatus.Status (errors.As) and, for the common cases, to the
// io/fs sentinel callers test for:
//
//	STATUS_OBJECT_NAME_NOT_FOUND, STATUS_OBJECT_PATH_NOT_FOUND,
//	STATUS_NO_SUCH_FILE, STATUS_BAD_NETWORK_NAME     fs.ErrNotExist
//	STATUS_ACCESS_DENIED, STATUS_NETWORK_ACCESS_DENIED fs.ErrPermission
//	STATUS_OBJECT_NAME_COLLISION                      fs.ErrExist
//	STATUS_OBJECT_NAME_INVALID                        fs.ErrInvalid
//	STATUS_FILE_CLOSED                                fs.ErrClosed
type StatusError struct {
	Command string          // SMB2 command that failed, e.g. "CREATE"
	Status  ntstatus.Status // the server's answer
}

func (e *StatusError) Error() string {
	if fsErr := fsErrorOf(e.Status); fsErr != nil {
		return fmt.Sprintf("smb: %s: %v (%v)", e.Command, e.Status, fsErr)
	}
	return fmt.Sprintf("smb: %s: %v", e.Command, e.Status)
}

// Code returns the NTSTATUS as a number, for callers outside this module.
func (e *StatusError) Code() uint32 { return uint32(e.Status) }

// Unwrap exposes the status and its io/fs equivalent, if any.
func (e *StatusError) Unwrap() []error {
	if fsErr := fsErrorOf(e.Status); fsErr != nil {
		return []error{e.Status, fsErr}
	}
	return []error{e.Status}
}

// fsErrorOf is the one mapping from NTSTATUS to io/fs sentinels.
func fsErrorOf(s ntstatus.Status) error {
	switch s {
	case ntstatus.ObjectNameNotFound, ntstatus.ObjectPathNotFound,
		ntstatus.NoSuchFile, ntstatus.BadNetworkName:
		return fs.ErrNotExist
	case ntstatus.AccessDenied, ntstatus.NetworkAccessDenied:
		return fs.ErrPermission
	case ntstatus.ObjectNameCollision:
		return fs.ErrExist
	case ntstatus.ObjectNameInvalid:
		return fs.ErrInvalid
	case ntstatus.FileClosed:
		return fs.ErrClosed
	}
	return nil
}

// statusError returns the error for a failed response.
func statusError(cmd string, s ntstatus.Status) error {
	return &StatusError{Command: cmd, Status: s}
}

// invalidResponse returns an error wrapping ErrInvalidResponse.
func invalidResponse(cmd string, err error) error {
	if err == nil {
		return fmt.Errorf("%w: %s", ErrInvalidResponse, cmd)
	}
	return fmt.Errorf("%w: %s: %v", ErrInvalidResponse, cmd, err)
}
