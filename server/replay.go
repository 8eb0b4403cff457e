package server

import (
	"context"
	"encoding/binary"
	"errors"
	"sync"
	"time"

	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/state"
	"github.com/signetsmb/signet/internal/wire"
)

// Replay of CREATE (MS-SMB2 3.3.5.9.10): a client that lost the response
// to a CREATE carrying a durable v2 request resends it with
// SMB2_FLAGS_REPLAY_OPERATION and the same CreateGuid; the server answers
// with the open the first one made (same FileId, same create action, its
// current lease) instead of opening the file again. The reply carries the
// oplock level the replay asked for when it is below the open's (the open
// itself keeps what it has) and a durable handle context when that level
// would have allowed one. A replay asking for a lease on an open that has
// an oplock, or for a different lease, is refused with
// STATUS_ACCESS_DENIED. A replay that names no existing open is an
// ordinary CREATE.
//
// The CreateGuid names its open only until the client shows it got the
// response: once a request uses the open's FileId, a replay with that
// CreateGuid is an ordinary CREATE again (smb2.replay.replay6, as Samba).
// Until then a CREATE with the CreateGuid but without the replay flag is
// STATUS_DUPLICATE_OBJECTID. While the first CREATE is still pending
// (waiting for a break), any CREATE with its CreateGuid gets
// STATUS_FILE_NOT_AVAILABLE, which makes the client retry later.

// findReplayed returns the live open of this session's client made with
// the CreateGuid and whose FileId no request used yet, if any.
func (s *Server) findReplayed(sess *session, client, guid [16]byte) *open {
	var found *open
	t := &s.nodes
	s.files.Range(func(_ state.FileID, o *open) bool {
		if _, owner := o.owner(); owner != sess {
			return true
		}
		t.mu.Lock()
		ok := o.dur.replayable && !o.dur.disconnected && o.dur.createGuid == guid && o.dur.clientGUID == client
		t.mu.Unlock()
		if ok && !o.fileIDUsed() {
			found = o
			return false
		}
		return true
	})
	return found
}

// checkReplay applies the CreateGuid of a durable v2 CREATE before it
// opens anything: handled is true when the CREATE is answered here (a
// replay of a pending or existing open, or a duplicate CreateGuid).
func (cc *createCall) checkReplay(w *response) (handled bool, err error) {
	r := cc.r
	d := cc.durable
	if d == nil || d.reconnect || !d.v2 {
		return false, nil
	}
	if r.c.srv.replays.pending(r.c.clientGUID, d.createGuid) {
		return true, ntstatus.FileNotAvailable
	}
	o := r.c.srv.findReplayed(r.sess, r.c.clientGUID, d.createGuid)
	switch {
	case o == nil:
		return false, nil
	case r.hdr.Flags&wire.FlagReplayOperation == 0:
		return true, ntstatus.DuplicateObjectID
	}
	return true, cc.replayCreate(o, w)
}

// replayCreate answers a replayed CREATE from the open it names.
func (cc *createCall) replayCreate(o *open, w *response) error {
	r := cc.r
	t := &r.c.srv.nodes
	t.mu.Lock()
	var lease *wire.LeaseContext
	level := o.op.level
	switch {
	case o.lease != nil && (cc.lease == nil || cc.lease.id != o.lease.id),
		o.lease == nil && cc.lease != nil:
		t.mu.Unlock()
		return ntstatus.AccessDenied
	case o.lease != nil:
		level = wire.OplockLease
		lease = o.lease.responseLocked()
	case cc.req.RequestedOplockLevel < level:
		level = cc.req.RequestedOplockLevel
	}
	durable := level == wire.OplockBatch || lease != nil && lease.State&wire.LeaseHandle != 0
	action, timeout := o.dur.action, o.dur.timeout
	t.mu.Unlock()
	fi, err := o.file.Stat()
	if err != nil {
		return statusOf(err)
	}
	info := fileInfoOf(&fi, o)
	resp := newCreateResponse(level, action, &info, o.id)
	if lease != nil {
		resp.Contexts = append(resp.Contexts, wire.CreateContext{Name: wire.CtxNameRqLs, Data: lease.Marshal()})
	}
	if durable {
		b := make([]byte, 8)
		binary.LittleEndian.PutUint32(b, uint32(timeout/time.Millisecond))
		resp.Contexts = append(resp.Contexts, wire.CreateContext{Name: wire.CtxNameDH2Q, Data: b})
	}
	r.fileID = o.id
	w.buf = wire.AppendCreateResponse(w.buf, resp)
	return nil
}

// fileIDUsed reports that a request named the open by its FileId.
func (o *open) fileIDUsed() bool {
	o.refsMu.Lock()
	defer o.refsMu.Unlock()
	return o.idUsed
}

// checkChannelSequence verifies the channel sequence of a request naming
// an open on 3.x [MS-SMB2 3.3.5.2.10]. Open.ChannelSequence moves forward
// with the requests (sequences compare modulo 2^16); the requests counted
// under the current sequence are Open.OutstandingRequestCount, those
// still running under an earlier one Open.OutstandingPreRequestCount. A
// WRITE, SET_INFO or IOCTL with an older sequence (sent before a channel
// failover the client has since moved past) fails with
// STATUS_FILE_NOT_AVAILABLE, and so does a replayed one while requests of
// an earlier sequence are still running; other commands proceed. A
// counted request is uncounted by channelSequenceDone when it completes.
// It also records that the open's FileId was used (checkReplay).
func (r *request) checkChannelSequence() error {
	o := r.open
	if o == nil || r.c.dialect < wire.Dialect300 || r.c.dialect == wire.DialectWildcard {
		return nil
	}
	modify := false
	switch r.hdr.Command {
	case wire.CmdWrite, wire.CmdSetInfo, wire.CmdIoctl:
		modify = true
	}
	named := false
	if at := commands[r.hdr.Command].fileIDAt; at != 0 && len(r.msg) >= wire.HeaderSize+at+16 {
		named = wire.GetFileID(r.msg[wire.HeaderSize+at:]) != wire.AllOnes
	}
	seq := uint16(r.hdr.Status)
	replay := r.hdr.Flags&wire.FlagReplayOperation != 0
	o.refsMu.Lock()
	defer o.refsMu.Unlock()
	if named {
		o.idUsed = true
	}
	d := int16(seq - o.csn)
	switch {
	case d == 0 && (!replay || o.csnPre == 0):
		o.csnCount++
	case d > 0 && (!replay || o.csnPre == 0):
		o.csnPre += o.csnCount
		o.csnCount = 1
		o.csn = seq
	case modify:
		return ntstatus.FileNotAvailable
	default:
		return nil // not counted
	}
	r.csnOpen = o
	return nil
}

// channelSequenceDone uncounts a request checkChannelSequence counted,
// once it completed (for an asynchronous request, when its final response
// is built).
func (r *request) channelSequenceDone() {
	o := r.csnOpen
	if o == nil {
		return
	}
	r.csnOpen = nil
	o.refsMu.Lock()
	defer o.refsMu.Unlock()
	if uint16(r.hdr.Status) == o.csn && o.csnCount > 0 {
		o.csnCount--
	} else if o.csnPre > 0 {
		o.csnPre--
	}
}

// pendingCreates holds the (ClientGuid, CreateGuid) of the durable v2
// CREATEs waiting asynchronously for a break, so that a replay of one of
// them is answered STATUS_FILE_NOT_AVAILABLE instead of opening the file a
// second time (MS-SMB2 3.3.5.9.10; smb2.replay.dhv2-pending*). A leaf of
// the lock order; bounded by the asynchronous requests (max_async_per_conn).
type pendingCreates struct {
	mu orderedMutex[rankLeaf]
	m  map[[32]byte]int
}

func replayKey(client, guid [16]byte) (k [32]byte) {
	copy(k[:16], client[:])
	copy(k[16:], guid[:])
	return k
}

// markPending records the CREATE as pending; the returned function
// forgets it (idempotent).
func (cc *createCall) markPending() func() {
	d := cc.durable
	if d == nil || d.reconnect || !d.v2 {
		return func() {}
	}
	p := &cc.r.c.srv.replays
	k := replayKey(cc.r.c.clientGUID, d.createGuid)
	p.mu.Lock()
	if p.m == nil {
		p.m = map[[32]byte]int{}
	}
	p.m[k]++
	p.mu.Unlock()
	done := false
	return func() {
		if done {
			return
		}
		done = true
		p.mu.Lock()
		if p.m[k]--; p.m[k] <= 0 {
			delete(p.m, k)
		}
		p.mu.Unlock()
	}
}

// pending reports a CREATE of the client with the CreateGuid still
// pending.
func (p *pendingCreates) pending(client, guid [16]byte) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.m[replayKey(client, guid)] > 0
}

// waitContext is the context a pending CREATE waits for its breaks with.
// For a durable v2 CREATE on a session with several channels, the loss of
// the connection it came on does not end the wait while another channel
// of the session lives: the client replays the CREATE there, and gets
// STATUS_FILE_NOT_AVAILABLE until the first one completes, then its open
// (smb2.replay.dhv2-pending2*, MS-SMB2 3.3.5.9.10). A CANCEL, the close
// of the open, the loss of every other channel and the server's shutdown
// still end it. stop releases the watches (call it once the wait is
// over).
func (cc *createCall) waitContext(ctx context.Context) (wctx context.Context, stop func()) {
	d := cc.durable
	c := cc.r.c
	if d == nil || d.reconnect || !d.v2 || cc.r.sess == nil {
		return ctx, func() {}
	}
	wctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	w := &channelWatch{c: c, sess: cc.r.sess, cancel: cancel}
	stopFirst := context.AfterFunc(ctx, func() {
		cause := context.Cause(ctx)
		if c.ctx.Err() == nil || errors.Is(cause, errCancelled) || errors.Is(cause, errOpenClosed) {
			cancel(cause) // not (only) the connection's loss
			return
		}
		w.check()
	})
	return wctx, func() {
		stopFirst()
		w.stop()
		cancel(nil)
	}
}

// channelWatch ends a CREATE's wait (cancel) once no channel of its
// session other than c is alive, or the server shuts down. Its mutex is a
// leaf, taken with no other lock held; the watch functions it registers
// only call check.
type channelWatch struct {
	c      *conn
	sess   *session
	cancel context.CancelCauseFunc

	mu      sync.Mutex
	done    bool
	watched map[*conn]func() bool // channel -> stop of its watch
}

// check looks at the session's channels, watching each live one.
func (w *channelWatch) check() {
	closing := w.c.srv.isClosed()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return
	}
	alive := false
	for _, oc := range w.sess.channelConns(nil) {
		if oc == w.c || oc.ctx.Err() != nil {
			continue
		}
		alive = true
		if _, ok := w.watched[oc]; !ok {
			if w.watched == nil {
				w.watched = map[*conn]func() bool{}
			}
			w.watched[oc] = context.AfterFunc(oc.ctx, w.check)
		}
	}
	if !alive || closing {
		w.done = true
		w.cancel(errors.New("connection lost"))
	}
}

// stop ends the watch.
func (w *channelWatch) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.done = true
	for _, s := range w.watched {
		s()
	}
	clear(w.watched)
}
