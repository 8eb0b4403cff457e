package server

import (
	"slices"

	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
)

// ioctl handles IOCTL [MS-SMB2 3.3.5.15].
func (r *request) ioctl(w *response) error {
	req, err := wire.ParseIoctlRequest(r.msg)
	if err != nil {
		return ntstatus.InvalidParameter
	}
	if req.Flags != wire.IoctlFlagIsFsctl {
		return ntstatus.NotSupported
	}
	if uint32(len(req.Input)) > r.c.maxIO || req.MaxOutputResponse > r.c.maxIO {
		return ntstatus.InvalidParameter
	}
	if h, ok := ioctlHandlers[req.CtlCode]; ok {
		return h(r, req, w)
	}
	if r.tree.ipc {
		return ntstatus.NotSupported
	}
	if _, err := r.needOpen(); err != nil {
		return err // an FSCTL on a handle that is not open: FILE_CLOSED
	}
	// Anything else on a file: Windows answers INVALID_DEVICE_REQUEST for
	// FSCTLs the file system does not implement.
	return ntstatus.InvalidDeviceRequest
}

type ioctlHandler func(r *request, req *wire.IoctlRequest, w *response) error

// ioctlHandlers maps FSCTL codes to handlers; the file service adds more.
var ioctlHandlers = map[uint32]ioctlHandler{
	wire.FsctlValidateNegotiateInfo: (*request).validateNegotiate,
}

// validateNegotiate answers FSCTL_VALIDATE_NEGOTIATE_INFO
// [MS-SMB2 3.3.5.15.12]: every mismatch terminates the connection, so a
// man in the middle cannot downgrade the dialect or the security mode.
func (r *request) validateNegotiate(req *wire.IoctlRequest, w *response) error {
	c := r.c
	if c.dialect == wire.Dialect311 {
		return fatal("validate_negotiate_311", "VALIDATE_NEGOTIATE_INFO on a 3.1.1 connection")
	}
	if c.settings.MaxDialect <= wire.Dialect202 {
		// A server limited to 2.0.2 answers as one that lacks the FSCTL
		// (Samba). Any other server validates 2.x connections too: a man
		// in the middle who strips every 3.x dialect from the NEGOTIATE
		// must be caught here, and a client tolerates FILE_CLOSED.
		return ntstatus.FileClosed
	}
	if req.MaxOutputResponse < 24 {
		return fatal("validate_negotiate", "MaxOutputResponse %d < 24", req.MaxOutputResponse)
	}
	v, err := wire.ParseValidateNegotiateInfo(req.Input)
	if err != nil {
		return fatal("validate_negotiate", "malformed input: %v", err)
	}
	switch {
	case !slices.Equal(v.Dialects, c.clientDialects):
		return fatal("validate_negotiate_mismatch", "dialect list differs from NEGOTIATE")
	case pickDialect(v.Dialects, c.settings) != c.dialect:
		return fatal("validate_negotiate_mismatch", "dialect differs")
	case v.GUID != c.clientGUID:
		return fatal("validate_negotiate_mismatch", "client GUID differs")
	case v.SecurityMode != c.clientSecMode:
		return fatal("validate_negotiate_mismatch", "security mode differs")
	case v.Capabilities != c.clientCaps:
		return fatal("validate_negotiate_mismatch", "capabilities differ")
	}
	out := (&wire.ValidateNegotiateResponse{
		Capabilities: c.serverCaps,
		GUID:         c.srv.guid,
		SecurityMode: c.serverSecMode,
		Dialect:      c.dialect,
	}).Append(nil)
	w.buf = wire.AppendIoctlResponse(w.buf, req.CtlCode, req.FileID, out)
	return nil
}
