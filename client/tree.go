package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
)

// shareFlagEncryptData is SMB2_SHAREFLAG_ENCRYPT_DATA [MS-SMB2 2.2.10].
const shareFlagEncryptData uint32 = 0x00008000

// tree is one tree connect [MS-SMB2 3.2.1.4].
//
// id changes when a reconnect connects the tree again; it is read with
// id.Load wherever a request is built or sent.
type tree struct {
	s         *Session
	id        atomic.Uint32
	name      string
	shareType uint8
	flags     uint32 // ShareFlags of the TREE_CONNECT response

	once sync.Once // guards the TREE_DISCONNECT
	err  error
}

// treeConnect connects to share [MS-SMB2 3.2.4.2.4]. On 3.1.1 the request
// is always signed; on every other dialect the first tree connect is
// followed by VALIDATE_NEGOTIATE_INFO.
func (s *Session) treeConnect(ctx context.Context, share string) (*tree, error) {
	if share == "" || strings.ContainsAny(share, `\/`) {
		return nil, fmt.Errorf("smb: bad share name %q", share)
	}
	unc := `\\` + s.host + `\` + share
	msg := wire.AppendTreeConnectRequest(newMessage(wire.CmdTreeConnect, 8+2*len(unc)), unc)
	resp, err := s.simple(ctx, &exchange{msg: msg, forceSign: s.Dialect() == Dialect311})
	if err != nil {
		return nil, err
	}
	r, err := wire.ParseTreeConnectResponse(resp.msg)
	if err != nil {
		return nil, invalidResponse("TREE_CONNECT", err)
	}
	t := &tree{s: s, name: share, shareType: r.ShareType, flags: r.ShareFlags}
	t.id.Store(resp.hdr.TreeID)
	if r.ShareFlags&shareFlagEncryptData != 0 {
		if err := s.startEncryption("share " + share); err != nil {
			t.disconnect(ctx)
			return nil, err
		}
	}
	if s.Dialect() != Dialect311 {
		// Not only 3.0 and 3.0.2: a man in the middle who removes every
		// 3.x dialect from our NEGOTIATE gets 2.1 or 2.0.2, which only
		// this check can expose (Samba's client validates them too; a
		// server without the FSCTL answers with a signed error, which
		// validateNegotiate tolerates).
		if err := s.validateOnce(ctx, t); err != nil {
			return nil, err
		}
	}
	s.omu.Lock()
	if s.trees == nil {
		s.trees = make(map[*tree]struct{})
	}
	s.trees[t] = struct{}{}
	s.omu.Unlock()
	return t, nil
}

// disconnect sends TREE_DISCONNECT once.
func (t *tree) disconnect(ctx context.Context) error {
	t.once.Do(func() {
		t.s.omu.Lock()
		delete(t.s.trees, t)
		t.s.omu.Unlock()
		msg := wire.AppendSimple(newMessage(wire.CmdTreeDisconnect, 4))
		_, t.err = t.s.simple(ctx, &exchange{msg: msg, t: t})
	})
	return t.err
}

// validateOnce runs VALIDATE_NEGOTIATE_INFO on the first tree connect of
// the session; concurrent mounts wait for its result. A context error
// leaves the validation to the next tree connect.
func (s *Session) validateOnce(ctx context.Context, t *tree) error {
	s.vmu.Lock()
	defer s.vmu.Unlock()
	if s.validated {
		return s.validErr
	}
	err := s.validateNegotiate(ctx, t)
	if err != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return err
	}
	s.validated, s.validErr = true, err
	if err != nil {
		s.failAll(err)
	}
	return err
}

// validateNegotiate sends FSCTL_VALIDATE_NEGOTIATE_INFO, always signed,
// and checks that the server saw the NEGOTIATE we sent and that we saw the
// answer it gave [MS-SMB2 3.2.4.2.4, 3.2.5.14.12]. The response must be
// signed. A guest session has no key and cannot validate.
func (s *Session) validateNegotiate(ctx context.Context, t *tree) error {
	if s.signer == nil {
		return nil
	}
	req := &s.neg.req
	in := wire.AppendValidateNegotiateInfo(nil, &wire.ValidateNegotiateInfo{
		Capabilities: req.Capabilities, GUID: req.ClientGUID,
		SecurityMode: req.SecurityMode, Dialects: req.Dialects,
	})
	msg := wire.AppendIoctlRequest(newMessage(wire.CmdIoctl, 56+len(in)), &wire.IoctlRequest{
		CtlCode: wire.FsctlValidateNegotiateInfo, FileID: wire.AllOnes,
		Input: in, MaxOutputResponse: 24, Flags: wire.IoctlFlagIsFsctl,
	})
	resp, err := s.exec(ctx, &exchange{msg: msg, t: t, forceSign: true, mustVerify: true})
	if err != nil {
		// A server that sees a mismatch terminates the connection
		// [MS-SMB2 3.3.5.15.12]: the lost connection is its refusal.
		return fmt.Errorf("%w: %w", ErrValidateNegotiate, err)
	}
	switch st := resp.status(); st {
	case ntstatus.Success:
		return s.compareValidateResponse(resp)
	case ntstatus.NotSupported, ntstatus.FileClosed, ntstatus.InvalidDeviceRequest:
		// A server without the FSCTL; tolerated because the error
		// response itself was signed and verified, as Samba's client does.
		return nil
	default:
		return fmt.Errorf("%w: server answered %v", ErrValidateNegotiate, st)
	}
}

// compareValidateResponse checks the four fields against the NEGOTIATE
// response.
func (s *Session) compareValidateResponse(resp *response) error {
	r, err := wire.ParseIoctlResponse(resp.msg)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrValidateNegotiate, err)
	}
	v, err := wire.ParseValidateNegotiateResponse(r.Output)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrValidateNegotiate, err)
	}
	n := s.neg.resp
	if v.Capabilities != n.Capabilities || v.GUID != n.ServerGUID ||
		v.SecurityMode != n.SecurityMode || v.Dialect != n.Dialect {
		return fmt.Errorf("%w: server reports dialect 0x%04X, security mode 0x%x, capabilities 0x%x; NEGOTIATE said 0x%04X, 0x%x, 0x%x",
			ErrValidateNegotiate, v.Dialect, v.SecurityMode, v.Capabilities, n.Dialect, n.SecurityMode, n.Capabilities)
	}
	return nil
}
