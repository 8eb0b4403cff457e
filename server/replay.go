package server

import (
	"encoding/binary"
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

// findReplayed returns the live open of this session's client made with
// the CreateGuid, if any.
func (s *Server) findReplayed(sess *session, client, guid [16]byte) *open {
	var found *open
	t := &s.nodes
	s.files.Range(func(_ state.FileID, o *open) bool {
		if o.sess != sess {
			return true
		}
		t.mu.Lock()
		ok := o.dur.replayable && !o.dur.disconnected && o.dur.createGuid == guid && o.dur.clientGUID == client
		t.mu.Unlock()
		if ok {
			found = o
			return false
		}
		return true
	})
	return found
}

// replayCreate answers a replayed CREATE from the open it names; handled
// is false when there is none (the CREATE proceeds as a new one).
func (cc *createCall) replayCreate(w *response) (handled bool, err error) {
	r := cc.r
	d := cc.durable
	if d == nil || d.reconnect || !d.v2 || r.hdr.Flags&wire.FlagReplayOperation == 0 {
		return false, nil
	}
	o := r.c.srv.findReplayed(r.sess, r.c.clientGUID, d.createGuid)
	if o == nil {
		return false, nil
	}
	t := &r.c.srv.nodes
	t.mu.Lock()
	var lease *wire.LeaseContext
	level := o.op.level
	switch {
	case o.lease != nil && (cc.lease == nil || cc.lease.id != o.lease.id),
		o.lease == nil && cc.lease != nil:
		t.mu.Unlock()
		return true, ntstatus.AccessDenied
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
		return true, statusOf(err)
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
	return true, nil
}

// checkChannelSequence applies Open.ChannelSequence on 3.x
// [MS-SMB2 3.3.5.2.10]: a WRITE, SET_INFO or IOCTL whose ChannelSequence
// is older than the open's (a request from before a channel failover that
// the client has since replayed or abandoned) fails with
// STATUS_FILE_NOT_AVAILABLE; a newer one becomes the open's. Sequences
// compare modulo 2^16.
func (r *request) checkChannelSequence() error {
	o := r.open
	if o == nil || r.c.dialect < wire.Dialect300 || r.c.dialect == wire.DialectWildcard {
		return nil
	}
	switch r.hdr.Command {
	case wire.CmdWrite, wire.CmdSetInfo, wire.CmdIoctl:
	default:
		return nil
	}
	seq := uint16(r.hdr.Status)
	o.refsMu.Lock()
	defer o.refsMu.Unlock()
	if int16(seq-o.csn) < 0 {
		return ntstatus.FileNotAvailable
	}
	o.csn = seq
	return nil
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

// replayOfPending reports a replayed CREATE whose original is still
// pending.
func (cc *createCall) replayOfPending() bool {
	d := cc.durable
	if d == nil || d.reconnect || !d.v2 || cc.r.hdr.Flags&wire.FlagReplayOperation == 0 {
		return false
	}
	p := &cc.r.c.srv.replays
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.m[replayKey(cc.r.c.clientGUID, d.createGuid)] > 0
}
