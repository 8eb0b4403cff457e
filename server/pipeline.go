package server

import (
	"context"
	"encoding/binary"
	"errors"
	"time"

	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/smbcrypto"
	"github.com/signetsmb/signet/internal/wire"
)

// request is one compound element being processed. The pipeline resolves
// session and tree before the handler runs.
type request struct {
	c    *conn
	msg  []byte // the element: header..next header, padding included
	hdr  wire.Header
	sess *session
	tree *treeConnect
	// signed reports that the request arrived signed and verified (or
	// encrypted under its session's key).
	signed bool
	// cipher is the session cipher that decrypted the request, nil when
	// it arrived in the clear (encrypt.go).
	cipher *sessionCipher
	// sealed reports that the response goes out encrypted, so it is not
	// signed (set by emit).
	sealed bool
	// fileID is the resolved FileID for related compound elements.
	fileID wire.FileID
	// open is the open the request's FileId names, resolved by the
	// pipeline for commands whose table entry has fileIDAt.
	open *open
	// signResponse forces signing the response (final SESSION_SETUP).
	signResponse bool
	// signKey, when set, signs the response instead of the channel's key:
	// Session.SigningKey for a binding exchange's interim responses and
	// refusals, the new channel's key for its final response.
	signKey smbcrypto.Signer
	// bindSess is the session a binding SESSION_SETUP names, found in
	// the server-wide table (verified only when signed is set).
	bindSess *session
	// noResponse suppresses the response (CANCEL).
	noResponse bool
	// createErr is the status of a failed CREATE earlier in this related
	// chain, which the following related elements inherit.
	createErr ntstatus.Status
	// chainInvalid reports that the compound's first element has the
	// RELATED flag, which makes it and the related elements after it fail
	// with STATUS_INVALID_PARAMETER [MS-SMB2 3.3.5.2.7.2]; signatures are
	// still checked and responses signed.
	chainInvalid bool
	// noSession reports that the element's session could not be found,
	// so related elements after it fail.
	noSession bool
	// last reports that the element is the last of its compound (only
	// the last element may go asynchronous).
	last bool
	// held is the open this request holds a reference on, taken in
	// arrival order by the reader so that a later CLOSE waits for it.
	held *open
	// csnOpen is the open whose outstanding request counts include this
	// request (replay.go: checkChannelSequence).
	csnOpen *open
	// respSessionID, when set, is the SessionId of the response (a new
	// session's first SESSION_SETUP response).
	respSessionID uint64
	// afterSend runs on the final (signed) response bytes, e.g. to extend
	// the 3.1.1 preauth integrity hash.
	afterSend func(elem []byte)
	// readBytes is the connection's READ budget this request's response
	// holds until the writer has put it on the wire.
	readBytes int64
	// chainHoldsBudget reports that an earlier element of the compound
	// holds READ budget, so this one must not wait for more (the chain
	// would wait for itself).
	chainHoldsBudget bool
}

// command describes one SMB2 command for the pipeline (Samba's
// smbd_smb2_table, ksmbd's size tables).
type command struct {
	structSize  uint16
	needSession bool
	needTree    bool
	// fileIDAt is the body offset of the request's FileId, or 0. The
	// pipeline resolves it to request.open before the handler runs and
	// answers STATUS_FILE_CLOSED when it names no open of this session
	// and tree, unless openOptional is set (IOCTL: some FSCTLs take no
	// handle), as Samba's dispatcher does with its fileid_ofs.
	fileIDAt     int
	openOptional bool
	run          func(r *request, w *response) error
}

var commands [wire.NumCommands]command

func init() {
	commands = [wire.NumCommands]command{
		wire.CmdNegotiate:      {structSize: 36, run: (*request).negotiate},
		wire.CmdSessionSetup:   {structSize: 25, run: (*request).sessionSetup},
		wire.CmdLogoff:         {structSize: 4, needSession: true, run: (*request).logoff},
		wire.CmdTreeConnect:    {structSize: 9, needSession: true, run: (*request).treeConnect},
		wire.CmdTreeDisconnect: {structSize: 4, needSession: true, needTree: true, run: (*request).treeDisconnect},
		wire.CmdEcho:           {structSize: 4, run: (*request).echo},
		wire.CmdCancel:         {structSize: 4, run: (*request).cancel},
		wire.CmdIoctl:          {structSize: 57, needSession: true, needTree: true, fileIDAt: 8, openOptional: true, run: (*request).ioctl},
	}
	registerFileCommands()
}

// registerFileCommands is replaced by the file-service commands; until they
// exist those commands answer STATUS_NOT_SUPPORTED.
var registerFileCommands = func() {}

// response accumulates one element's response: buf holds the 64-byte
// header and the body; raw, when set, is the pooled buffer buf lives in,
// frameRoom bytes in (room for the transport and transform headers).
type response struct {
	raw    []byte
	buf    []byte
	status ntstatus.Status
	// errData is the ErrorData of a failed request's ERROR body
	// [MS-SMB2 2.2.2] (BUFFER_TOO_SMALL's needed size).
	errData []byte
	// async, when set, sends the response with the async header form.
	asyncID uint64
}

// charge is the credit charge of the request (1 for 2.0.2 / no LARGE_MTU).
func (r *request) charge(c *conn) uint16 {
	if c.dialect == wire.Dialect202 || c.dialect == 0 || c.dialect == wire.DialectWildcard {
		return 1
	}
	return max(r.hdr.CreditCharge, 1)
}

// runChain processes the elements of one compound in order and sends the
// responses in one frame. Each response element is padded to 8 bytes,
// linked by NextCommand and then signed on its own [MS-SMB2 3.3.4.1.3].
// A lone response is sent from the buffer it was built in, so READ data is
// never copied on its way to the socket.
func (c *conn) runChain(reqs []*request) error {
	var prev *request
	var prevStatus ntstatus.Status
	var done []*request
	var resps []response
	var budget int64 // READ budget held by the responses, handed to the writer
	defer func() {
		for _, w := range resps {
			if w.raw != nil {
				putBuf(w.raw)
			}
		}
		c.readBudget.release(budget)
	}()
	if reqs[0].hdr.Flags&wire.FlagRelated != 0 {
		// [MS-SMB2 3.3.5.2.7.2] <269>: the first element cannot be
		// related; it and the related elements that follow it fail
		// (smb2.compound.invalid1, related9). An unrelated element after
		// them runs normally.
		for _, r := range reqs {
			if r.hdr.Flags&wire.FlagRelated == 0 {
				break
			}
			r.chainInvalid = true
		}
	}
	for _, r := range reqs {
		r.chainHoldsBudget = budget > 0
		w, st, err := c.execute(r, prev, prevStatus)
		budget += r.readBytes
		r.readBytes = 0
		r.releaseHeld() // a later element of this chain may CLOSE the handle
		if err != nil {
			if w.raw != nil {
				putBuf(w.raw)
			}
			return err
		}
		prev, prevStatus = r, st
		if st.IsError() && st != ntstatus.MoreProcessingRequired {
			c.log.Debug("request failed", "command", r.hdr.Command.String(), "message_id", r.hdr.MessageID, "status", st.String())
		}
		if r.noResponse {
			if w.raw != nil {
				putBuf(w.raw)
			}
			continue
		}
		c.finishHeader(r, &w, st)
		done = append(done, r)
		resps = append(resps, w)
	}
	c.emit(done, resps, budget)
	resps, budget = nil, 0 // emit owns them now
	return nil
}

// finish signs one response element and runs its after-send hook.
func (c *conn) finish(r *request, elem []byte) {
	c.signIfNeeded(r, elem)
	if r.afterSend != nil {
		r.afterSend(elem)
	}
}

// frame returns the transport frame holding w: w.raw itself when w.buf
// still lives in it, else a copy.
func (w *response) frame() []byte {
	if w.raw != nil && len(w.buf) > 0 && cap(w.raw) >= frameRoom+len(w.buf)+tagRoom && &w.raw[frameRoom] == &w.buf[0] {
		f := w.raw[:frameRoom+len(w.buf)]
		w.raw = nil
		return f
	}
	f := getBuf(frameRoom + len(w.buf) + tagRoom)[:frameRoom+len(w.buf)]
	copy(f[frameRoom:], w.buf)
	if w.raw != nil {
		putBuf(w.raw)
		w.raw = nil
	}
	return f
}

// newResponse returns a response whose buffer has room for the transport
// and transform headers in front.
func newResponse() response {
	raw := getBuf(1 << 10)
	return response{raw: raw, buf: raw[frameRoom : frameRoom+wire.HeaderSize]}
}

// execute processes one element and returns its response body.
func (c *conn) execute(r *request, prev *request, prevStatus ntstatus.Status) (response, ntstatus.Status, error) {
	related := r.hdr.Flags&wire.FlagRelated != 0
	w := newResponse()
	var start time.Time
	if c.srv.opts.Observer != nil {
		start = time.Now()
	}
	var st ntstatus.Status
	var err error
	switch {
	case r.chainInvalid:
		err = r.process(&w)
	case related && prev.noSession:
		// A related element cannot inherit a session the previous element
		// did not have (Samba answers INVALID_PARAMETER). When its own
		// header names a live session and it is signed, the signature is
		// still checked and the error signed [MS-SMB2 3.3.4.1.1].
		st = ntstatus.InvalidParameter
		r.noSession = true
		if r.hdr.Flags&wire.FlagSigned != 0 {
			if err := r.resolveSession(); errors.Is(err, errIgnore) {
				r.noResponse = true
			} else if err != nil && !r.signResponse {
				r.sess = nil
			}
		}
	case related && prev.createErr != 0:
		// A failed CREATE fails every related element that follows it in
		// the chain with the same status (Samba's compound_create_err).
		st = prev.createErr
		r.inherit(prev)
		r.createErr = prev.createErr
	default:
		if related {
			r.inherit(prev)
		}
		err = r.process(&w)
	}
	failed := st != 0
	if err != nil {
		var s ntstatus.Status
		if !errors.As(err, &s) {
			return w, 0, err // connection-fatal
		}
		st, failed = s, true
	} else if st == 0 {
		st = w.status
	}
	if r.hdr.Command == wire.CmdCreate && failed {
		r.createErr = st
	}
	if st == ntstatus.UserSessionDeleted && r.sess == nil {
		r.noSession = true
	}
	// A failed request gets an ERROR body, whatever the severity of its
	// status (STATUS_NO_MORE_FILES is a warning); a handler that set a
	// status on a body it built (BUFFER_OVERFLOW) keeps that body.
	if (failed || len(w.buf) == wire.HeaderSize) && !keepsBody(r.hdr.Command, st) {
		w.buf = wire.AppendErrorResponse(w.buf[:wire.HeaderSize], w.errData)
	}
	c.observeRequest(r, uint32(st), start, len(w.buf)) // ops.go
	return w, st, nil
}

// keepsBody lists the error-class statuses whose responses still carry the
// command's own body: SESSION_SETUP's MORE_PROCESSING_REQUIRED (the next
// security token) [MS-SMB2 3.3.4.4]. Warnings such as BUFFER_OVERFLOW keep
// their body anyway since they are not error-class.
func keepsBody(cmd wire.Command, st ntstatus.Status) bool {
	return cmd == wire.CmdSessionSetup && st == ntstatus.MoreProcessingRequired
}

// inherit copies SessionId, TreeId and FileId from the previous element of
// a related chain [MS-SMB2 3.3.5.2.7.2].
func (r *request) inherit(prev *request) {
	r.hdr.SessionID = prev.hdr.SessionID
	r.sess = prev.sess
	if r.hdr.Command != wire.CmdTreeConnect {
		r.hdr.TreeID = prev.hdr.TreeID
		r.tree = prev.tree
	}
	r.fileID = prev.fileID
}

// process runs the pipeline for one element: session and signature
// first (so that a signed request failing a later check gets a signed
// error, and a forged one is refused as forged), then the structure
// checks, tree, open and handler.
func (r *request) process(w *response) error {
	c := r.c
	cmd := r.hdr.Command
	if cmd == wire.CmdNegotiate {
		if err := r.checkStructure(); err != nil {
			return err
		}
		return commands[cmd].run(r, w)
	}
	if !c.negotiated {
		return fatal("not_negotiated", "%v before NEGOTIATE", cmd)
	}
	err := r.resolveSession()
	if errors.Is(err, errIgnore) {
		r.noResponse = true
		return nil
	}
	if r.chainInvalid && (err == nil || errors.Is(err, ntstatus.UserSessionDeleted)) {
		return ntstatus.InvalidParameter
	}
	if err != nil {
		return err
	}
	if err := r.checkStructure(); err != nil {
		return err
	}
	def := commands[cmd]
	if r.sess == nil && def.needSession {
		return ntstatus.UserSessionDeleted
	}
	if r.sess != nil && def.needSession && !r.sess.valid() {
		return ntstatus.UserSessionDeleted
	}
	if cmd == wire.CmdOplockBreak && isLeaseAck(r.msg) {
		return r.leaseBreakAck(w) // names a lease, not a tree or an open
	}
	if def.needTree {
		if err := r.resolveTree(); err != nil {
			return err
		}
	}
	if def.fileIDAt != 0 {
		if err := r.resolveFileID(def); err != nil {
			return err
		}
		if err := r.checkChannelSequence(); err != nil {
			return err
		}
		defer r.channelSequenceDone() // replay.go
	}
	return def.run(r, w)
}

// checkStructure refuses unknown commands, invalid flags, the async form
// on anything but CANCEL and a wrong StructureSize with
// STATUS_INVALID_PARAMETER (answered, not fatal, as Samba does)
// [MS-SMB2 3.3.5.2].
func (r *request) checkStructure() error {
	cmd := r.hdr.Command
	if int(cmd) >= len(commands) || commands[cmd].run == nil {
		return ntstatus.InvalidParameter
	}
	if r.hdr.Flags&^wire.FlagsValidRequest != 0 {
		return ntstatus.InvalidParameter
	}
	if r.hdr.IsAsync() && cmd != wire.CmdCancel {
		return ntstatus.InvalidParameter
	}
	if len(r.msg) < wire.HeaderSize+2 || binary.LittleEndian.Uint16(r.msg[wire.HeaderSize:]) != commands[cmd].structSize &&
		!(cmd == wire.CmdOplockBreak && isLeaseAck(r.msg)) {
		return ntstatus.InvalidParameter
	}
	return nil
}

// errIgnore drops a request without a response: a CANCEL that is not
// properly signed on a session that signs is ignored, never honoured
// (as Samba does) [MS-SMB2 3.3.5.2.4].
var errIgnore = errors.New("request ignored")

// resolveSession finds the session and checks the request's signature
// [MS-SMB2 3.3.5.2.4, 3.3.5.2.9].
func (r *request) resolveSession() error {
	c := r.c
	if r.hdr.Command == wire.CmdSessionSetup && len(r.msg) > wire.HeaderSize+2 &&
		r.msg[wire.HeaderSize+2]&wire.SessionFlagBinding != 0 {
		return r.resolveBinding()
	}
	if r.sess == nil && r.hdr.SessionID != 0 {
		r.sess = c.lookupSession(r.hdr.SessionID)
	}
	signed := r.hdr.Flags&wire.FlagSigned != 0
	cmd := r.hdr.Command
	switch {
	case r.cipher != nil:
		// Encrypted, hence not signed: decryption authenticated it.
		if err := r.checkSealed(); err != nil {
			return err
		}
	case signed:
		if r.sess == nil {
			if cmd == wire.CmdCancel {
				return errIgnore
			}
			return ntstatus.UserSessionDeleted
		}
		sg := r.sess.signerFor(c)
		if sg == nil {
			if cmd == wire.CmdSessionSetup {
				return nil // still authenticating: no key yet (as Samba)
			}
			return ntstatus.NotSupported
		}
		if !sg.Verify(r.msg) {
			return r.badSignature("bad signature")
		}
		r.signed = true
	case r.sess != nil && r.sess.mustSign():
		return r.badSignature("unsigned request on a session that requires signing")
	}
	if err := r.refuseUnencrypted(); err != nil {
		return err
	}
	r.noteRequest() // ops.go: signed/unsigned counts, signing audit
	return nil
}

// resolveBinding finds the session a binding SESSION_SETUP names in the
// server-wide table and verifies the request with Session.SigningKey
// (whatever this connection negotiated: a binding from another dialect is
// signed with the session's algorithm) [MS-SMB2 3.3.5.2.4]. A verified
// binding's response, refusals included, is signed with that key, so the
// client can trust the status; an unsigned one is refused by the handler.
func (r *request) resolveBinding() error {
	s, _ := r.c.srv.sessions.Get(r.hdr.SessionID)
	r.bindSess = s
	if r.hdr.Flags&wire.FlagSigned == 0 {
		return nil
	}
	if s == nil {
		return ntstatus.UserSessionDeleted
	}
	if err := r.c.bindSigningAlgorithm(s); err != nil {
		return err
	}
	sg := s.sessionSigner()
	if ch := s.signerFor(r.c); ch != nil {
		// This connection is already a channel of the session: its
		// requests, a repeated binding included, are verified with the
		// channel's key (as Samba does; the handler then refuses the
		// binding).
		sg = ch
	}
	if sg == nil {
		return nil // no key (authenticating, guest): the handler refuses it
	}
	r.sess = s
	r.signKey = sg
	if !sg.Verify(r.msg) {
		return r.badSignature("bad signature")
	}
	r.signed = true
	return nil
}

// badSignature refuses a request that failed verification: counted,
// logged, STATUS_ACCESS_DENIED (a CANCEL is ignored), and the connection
// is dropped after badSignatureLimit failures.
func (r *request) badSignature(why string) error {
	c := r.c
	var total int64
	if why[0] == 'u' {
		total = c.srv.stats.unsignedRejected.Add(1)
	} else {
		total = c.srv.stats.badSignatures.Add(1)
	}
	if o := c.srv.opts.Observer; o != nil {
		reason := "bad_signature"
		if why[0] == 'u' {
			reason = "unsigned"
		}
		o.SignatureRefused(reason)
	}
	n := atomicAdd(&c.badSigs)
	c.log.Warn("request refused: "+why, "command", r.hdr.Command.String(), "message_id", r.hdr.MessageID,
		"session_id", r.hdr.SessionID, "failures_on_connection", n, "refused_total", total)
	if n >= badSignatureLimit {
		return fatal("too_many_bad_signatures", "%d signature failures", n)
	}
	if r.hdr.Command == wire.CmdCancel {
		return errIgnore
	}
	// The refusal itself is signed with the session key (Samba), so that
	// the genuine client can trust it.
	r.signResponse = true
	return ntstatus.AccessDenied
}

// resolveTree finds the tree connect named by TreeId.
func (r *request) resolveTree() error {
	if r.tree != nil {
		return nil
	}
	if r.sess == nil {
		return ntstatus.UserSessionDeleted
	}
	t := r.sess.tree(r.hdr.TreeID)
	if t == nil {
		return ntstatus.NetworkNameDeleted
	}
	r.tree = t
	return r.refuseUnencryptedTree(t)
}

// finishHeader fills the response header of r into w.buf[0:64].
func (c *conn) finishHeader(r *request, w *response, st ntstatus.Status) {
	h := wire.Header{
		Status:    uint32(st),
		Command:   r.hdr.Command,
		Flags:     wire.FlagServerToRedir | r.hdr.Flags&(wire.FlagRelated|wire.FlagPriorityMask),
		MessageID: r.hdr.MessageID,
		ProcessID: r.hdr.ProcessID,
		TreeID:    r.hdr.TreeID,
		SessionID: r.hdr.SessionID,
	}
	if r.respSessionID != 0 {
		h.SessionID = r.respSessionID
	}
	if c.dialect != wire.Dialect202 {
		h.CreditCharge = r.hdr.CreditCharge
	}
	h.Credits = c.credits.grant(r.hdr.Credits, r.charge(c))
	if r.sess == nil && r.hdr.SessionID != 0 && r.hdr.Flags&wire.FlagSigned != 0 {
		// The session is gone (USER_SESSION_DELETED, or a related element
		// after one), so there is no key to sign with, but the SIGNED flag
		// stays so that a client that signed the request accepts the
		// status (as Samba and ksmbd answer) [MS-SMB2 3.3.4.1.1].
		h.Flags |= wire.FlagSigned
	}
	if w.asyncID != 0 {
		h.Flags |= wire.FlagAsyncCommand
		h.AsyncID = w.asyncID
	}
	h.Put(w.buf)
}

// signIfNeeded signs one response element in place when MS-SMB2 3.3.4.1.1
// (and this server's policy) requires it.
func (c *conn) signIfNeeded(r *request, elem []byte) {
	s := r.sess
	if s == nil || r.sealed || binary.LittleEndian.Uint64(elem[40:]) == 0 {
		return
	}
	st := ntstatus.Status(binary.LittleEndian.Uint32(elem[8:]))
	if st == ntstatus.Pending {
		return
	}
	sg := r.signKey
	if sg == nil {
		sg = s.signerFor(c)
	}
	if sg == nil {
		return
	}
	if r.signed || r.signResponse || s.mustSign() {
		sg.Sign(elem)
		c.srv.stats.signedResponses.Add(1)
	}
}

// ctx returns the connection context for handlers.
func (r *request) ctx() context.Context { return r.c.ctx }
