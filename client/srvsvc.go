package client

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/signetsmb/signet/internal/fscc"
	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
)

// Share types (STYPE_*) of NetrShareEnum [MS-SRVS 2.2.2.4].
const (
	ShareTypeDisk       uint32 = 0x00000000
	ShareTypePrintQueue uint32 = 0x00000001
	ShareTypeDevice     uint32 = 0x00000002
	ShareTypeIPC        uint32 = 0x00000003
	ShareTypeTemporary  uint32 = 0x40000000
	ShareTypeSpecial    uint32 = 0x80000000 // administrative share (C$, IPC$)
)

// ShareInfo is one share of NetrShareEnum level 1 (SHARE_INFO_1).
type ShareInfo struct {
	Name    string
	Type    uint32 // ShareTypeDisk etc., possibly with ShareTypeSpecial
	Comment string
}

// TypeName returns "Disk", "Printer", "Device" or "IPC".
func (si ShareInfo) TypeName() string {
	switch si.Type &^ (ShareTypeSpecial | ShareTypeTemporary) {
	case ShareTypeDisk:
		return "Disk"
	case ShareTypePrintQueue:
		return "Printer"
	case ShareTypeDevice:
		return "Device"
	case ShareTypeIPC:
		return "IPC"
	}
	return fmt.Sprintf("Type(0x%x)", si.Type)
}

// srvsvc constants.
const (
	opNetrShareEnum = 15
	werrMoreData    = 234 // ERROR_MORE_DATA
	maxEnumRounds   = 64
	maxShares       = 1 << 16
	pipeAccess      = fscc.FileReadData | fscc.FileWriteData | fscc.FileAppendData |
		fscc.FileReadEA | fscc.FileWriteEA | fscc.FileReadAttributes | fscc.FileWriteAttributes |
		fscc.ReadControl | fscc.Synchronize
)

// Shares lists the server's shares: srvsvc NetrShareEnum level 1 over
// the named pipe \PIPE\srvsvc on IPC$ [MS-SRVS 3.1.4.8].
func (s *Session) Shares(ctx context.Context) ([]ShareInfo, error) {
	t, err := s.treeConnect(ctx, "IPC$")
	if err != nil {
		return nil, fmt.Errorf("smb: shares: %w", err)
	}
	defer t.disconnect(ctx)
	p, err := openPipe(ctx, t, "srvsvc")
	if err != nil {
		return nil, fmt.Errorf("smb: shares: %w", err)
	}
	defer p.close(ctx)
	shares, err := p.shareEnum(ctx, s.host)
	if err != nil {
		return nil, fmt.Errorf("smb: shares: %w", err)
	}
	return shares, nil
}

// rpcPipe is an open named pipe carrying one DCE/RPC association.
type rpcPipe struct {
	t      *tree
	sh     *Share
	id     wire.FileID
	callID uint32
	buf    []byte // bytes read from the pipe, not yet consumed
}

// openPipe opens a named pipe of the IPC$ tree t.
func openPipe(ctx context.Context, t *tree, name string) (*rpcPipe, error) {
	sh := &Share{t: t, ctx: ctx}
	r, err := sh.create(ctx, "open", name, name, openSpec{access: pipeAccess, disposition: wire.FileOpen})
	if err != nil {
		return nil, err
	}
	return &rpcPipe{t: t, sh: sh, id: r.FileID}, nil
}

func (p *rpcPipe) close(ctx context.Context) { p.sh.closeHandle(ctx, p.id) }

// call sends one PDU with FSCTL_PIPE_TRANSCEIVE and returns the first
// PDU of the answer.
func (p *rpcPipe) call(ctx context.Context, pdu []byte) ([]byte, error) {
	size := transactSize(&p.t.s.neg.info)
	msg := wire.AppendIoctlRequest(newMessage(wire.CmdIoctl, 56+len(pdu)), &wire.IoctlRequest{
		CtlCode: wire.FsctlPipeTransceive, FileID: p.id, Input: pdu,
		MaxOutputResponse: uint32(size), Flags: wire.IoctlFlagIsFsctl,
	})
	resp, err := p.t.s.exec(ctx, &exchange{msg: msg, t: p.t, payload: max(size, len(pdu))})
	if err != nil {
		return nil, err
	}
	if st := resp.status(); st != ntstatus.Success && st != ntstatus.BufferOverflow {
		return nil, statusError("IOCTL", st)
	}
	r, err := wire.ParseIoctlResponse(resp.msg)
	if err != nil {
		return nil, invalidResponse("IOCTL", err)
	}
	p.buf = append(p.buf[:0], r.Output...)
	return p.nextPDU(ctx)
}

// nextPDU returns the next whole PDU, reading from the pipe as needed.
func (p *rpcPipe) nextPDU(ctx context.Context) ([]byte, error) {
	for {
		if len(p.buf) >= rpcHeaderSize {
			n := int(binary.LittleEndian.Uint16(p.buf[8:]))
			if n < rpcHeaderSize {
				return nil, fmt.Errorf("%w: bad frag_length %d", errRPC, n)
			}
			if len(p.buf) >= n {
				pdu := p.buf[:n:n]
				p.buf = p.buf[n:]
				return pdu, nil
			}
		}
		if err := p.read(ctx); err != nil {
			return nil, err
		}
	}
}

// read appends one READ of the pipe to p.buf.
func (p *rpcPipe) read(ctx context.Context) error {
	size := transactSize(&p.t.s.neg.info)
	msg := wire.AppendReadRequest(newMessage(wire.CmdRead, 49), &wire.ReadRequest{Length: uint32(size), FileID: p.id})
	resp, err := p.t.s.exec(ctx, &exchange{msg: msg, t: p.t, payload: size})
	if err != nil {
		return err
	}
	if st := resp.status(); st != ntstatus.Success && st != ntstatus.BufferOverflow {
		return statusError("READ", st)
	}
	data, err := wire.ParseReadResponse(resp.msg)
	if err != nil {
		return invalidResponse("READ", err)
	}
	if len(data) == 0 || len(p.buf)+len(data) > rpcMaxMessage {
		return fmt.Errorf("%w: pipe read returned %d bytes", errRPC, len(data))
	}
	p.buf = append(p.buf, data...)
	return nil
}

// bind binds the association to abstract.
func (p *rpcPipe) bind(ctx context.Context, abstract []byte) error {
	p.callID++
	pdu, err := p.call(ctx, bindPDU(p.callID, abstract))
	if err != nil {
		return err
	}
	return checkBindAck(pdu, p.callID)
}

// request runs one RPC and returns the reassembled stub.
func (p *rpcPipe) request(ctx context.Context, opnum uint16, stub []byte) ([]byte, error) {
	p.callID++
	pdu, err := p.call(ctx, requestPDU(p.callID, opnum, stub))
	var out []byte
	for err == nil {
		frag, last, ferr := responseStub(pdu, p.callID)
		if ferr != nil {
			return nil, ferr
		}
		if out = append(out, frag...); len(out) > rpcMaxMessage {
			return nil, fmt.Errorf("%w: response larger than %d bytes", errRPC, rpcMaxMessage)
		}
		if last {
			return out, nil
		}
		pdu, err = p.nextPDU(ctx)
	}
	return nil, err
}

// shareEnum binds srvsvc and runs NetrShareEnum level 1 until the server
// has returned every share.
func (p *rpcPipe) shareEnum(ctx context.Context, host string) ([]ShareInfo, error) {
	if err := p.bind(ctx, syntaxSRVSVC); err != nil {
		return nil, err
	}
	var all []ShareInfo
	resume := uint32(0)
	for range maxEnumRounds {
		out, err := p.request(ctx, opNetrShareEnum, netrShareEnumRequest(host, resume))
		if err != nil {
			return nil, err
		}
		res, err := parseNetrShareEnumResponse(out)
		if err != nil {
			return nil, err
		}
		all = append(all, res.shares...)
		switch {
		case res.status == 0:
			return all, nil
		case res.status != werrMoreData || len(res.shares) == 0 || len(all) > maxShares:
			return nil, fmt.Errorf("%w: NetrShareEnum returned WERROR %d", errRPC, res.status)
		}
		resume = res.resume
	}
	return nil, fmt.Errorf("%w: NetrShareEnum did not finish", errRPC)
}

// netrShareEnumRequest encodes NetrShareEnum's [in] parameters for level
// 1 [MS-SRVS 3.1.4.8]: ServerName, InfoStruct {Level 1, empty
// container}, PreferedMaximumLength, ResumeHandle.
func netrShareEnumRequest(host string, resume uint32) []byte {
	var w ndrWriter
	w.pointer(true)
	w.wstring(`\\` + host)
	w.uint32(1)          // Level
	w.uint32(1)          // union discriminant
	w.pointer(true)      // SHARE_INFO_1_CONTAINER*
	w.uint32(0)          // EntriesRead
	w.pointer(false)     // Buffer
	w.uint32(^uint32(0)) // PreferedMaximumLength: everything
	w.pointer(true)
	w.uint32(resume)
	return w.buf
}

// enumResult is NetrShareEnum's [out] parameters.
type enumResult struct {
	shares []ShareInfo
	resume uint32
	status uint32 // WERROR
}

// parseNetrShareEnumResponse decodes the [out] parameters: InfoStruct,
// TotalEntries, ResumeHandle and the return value.
func parseNetrShareEnumResponse(b []byte) (*enumResult, error) {
	r := &ndrReader{buf: b}
	res := &enumResult{}
	if level, tag := r.uint32(), r.uint32(); r.err == nil && (level != 1 || tag != 1) {
		return nil, fmt.Errorf("%w: NetrShareEnum answered level %d", errRPC, level)
	}
	if r.uint32() != 0 { // container pointer
		res.shares = parseShareInfo1Container(r)
	}
	r.uint32() // TotalEntries
	if r.uint32() != 0 {
		res.resume = r.uint32()
	}
	res.status = r.uint32()
	if r.err != nil {
		return nil, fmt.Errorf("%w: NetrShareEnum response: %v", errRPC, r.err)
	}
	return res, nil
}

// parseShareInfo1Container decodes SHARE_INFO_1_CONTAINER: the count, the
// array of SHARE_INFO_1 and then the deferred strings of each element.
func parseShareInfo1Container(r *ndrReader) []ShareInfo {
	count := r.uint32()
	if r.uint32() == 0 || count == 0 { // Buffer pointer
		return nil
	}
	if maxCount := r.uint32(); maxCount < count || int(count) > r.remaining()/12 {
		r.fail("bad share array (count %d, max %d)", count, maxCount)
		return nil
	}
	refs := make([][2]uint32, count)
	shares := make([]ShareInfo, count)
	for i := range shares {
		refs[i][0] = r.uint32()
		shares[i].Type = r.uint32()
		refs[i][1] = r.uint32()
	}
	for i := range shares {
		shares[i].Name = r.optionalWString(refs[i][0])
		shares[i].Comment = r.optionalWString(refs[i][1])
	}
	return shares
}
