package server

import (
	"context"
	"encoding/binary"
	"time"

	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
)

// Oplocks (MS-SMB2 3.3.4.6, 3.3.5.22; MS-FSA 2.1.5.17); leases are in
// lease.go and share the file's node and break machinery. Exclusive and batch
// oplocks are granted to the only open of a file and broken to level II
// when another open arrives; level II oplocks are broken to none, without
// acknowledgment, when the file is written.

// oplockBreakTimeout is how long a new open waits for the holder to
// acknowledge an oplock or lease break (Windows uses 35 s). A variable
// only so that tests can shorten it.
var oplockBreakTimeout = 35 * time.Second

// oplockState is the oplock of one open; guarded by nodeTable.mu.
type oplockState struct {
	level    uint8         // granted level
	breaking bool          // a break notification is outstanding
	breakTo  uint8         // level the break asked for
	acked    chan struct{} // closed when the break is acknowledged or the open closes
	// closed: the open is being closed (its oplock and lease released);
	// it no longer limits what a new open is granted, though it stays on
	// its node until detached (replay.go: smb2.replay.dhv2-pending1o).
	closed bool
}

// grantOplock decides the level for a new open o of its node, after any
// break: the requested level when o is alone, at most level II otherwise.
func (t *nodeTable) grantOplock(o *open, requested uint8) uint8 {
	if o.isDir || requested == wire.OplockNone || requested == wire.OplockLease {
		return wire.OplockNone
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	level := requested
	for _, other := range o.node.opens {
		if other == o || other.op.closed {
			continue
		}
		if other.op.level == wire.OplockExclusive || other.op.level == wire.OplockBatch || other.op.breaking ||
			other.lease != nil && other.lease.state&(wire.LeaseHandle|wire.LeaseWrite) != 0 {
			level = wire.OplockNone
			break
		}
		level = wire.OplockLevelII
	}
	if o.cl != nil && o.cl.noW && (level == wire.OplockBatch || level == wire.OplockExclusive) {
		level = wire.OplockLevelII // another node has an open (cluster_lease.go)
	}
	o.op.level = level
	return level
}

// breakOplocks breaks the exclusive and batch oplocks and the leases
// other opens hold on the file before a new open proceeds, and waits for
// the acknowledgments (or the holders' close) [MS-SMB2 3.3.4.6, 3.3.4.7].
// lr is the lease the new open asks for (nil for none); overwrite is set
// for the dispositions that truncate the file. A lease still breaking
// when another reduction is due is broken again after its
// acknowledgment.
func (s *Server) breakOplocks(ctx context.Context, key nodeKey, requester *open, lr *leaseRequest, overwrite bool) {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		waits, purge := s.startBreaks(key, requester, lr, overwrite)
		if len(purge) > 0 {
			if s.purgeParked(ctx, purge) != nil {
				return
			}
			continue
		}
		if len(waits) == 0 {
			return
		}
		if timer == nil {
			timer = time.NewTimer(oplockBreakTimeout)
		}
		for _, w := range waits {
			select {
			case <-w:
			case <-ctx.Done():
				return
			case <-timer.C:
				s.expireBreaks(key)
				return
			}
		}
	}
}

// startBreaks sends the breaks a new open needs and returns what to wait
// for, or the disconnected durable opens to close first because they
// would need a break (their holders cannot acknowledge it).
func (s *Server) startBreaks(key nodeKey, requester *open, lr *leaseRequest, overwrite bool) (waits []chan struct{}, purge []parkedOpen) {
	t := &s.nodes
	t.mu.Lock()
	defer t.mu.Unlock()
	n := t.nodes[key]
	if n == nil {
		return nil, nil
	}
	for _, h := range n.opens {
		if h == requester || h.lease != nil {
			continue
		}
		if h.dur.disconnected && (h.op.breaking ||
			(h.op.level == wire.OplockExclusive || h.op.level == wire.OplockBatch) && !oplockStatOpen(requester.access)) {
			purge = append(purge, parkedOpen{h.id, h.dur.parked})
			continue
		}
		if h.op.breaking {
			waits = append(waits, h.op.acked)
			continue
		}
		if (h.op.level == wire.OplockExclusive || h.op.level == wire.OplockBatch) && (!oplockStatOpen(requester.access) || overwrite) {
			// An exclusive oplock is not broken for an open that will be
			// a sharing violation anyway (a batch one is: its holder may
			// close the handle it keeps); an overwrite breaks to none
			// [MS-FSA 2.1.5.17.2].
			if h.op.level == wire.OplockExclusive && shareConflict(h.access, h.share, requester.access, requester.share) {
				continue
			}
			to := wire.OplockLevelII
			if overwrite {
				to = wire.OplockNone
			}
			h.op.breaking, h.op.breakTo = true, to
			h.op.acked = make(chan struct{})
			waits = append(waits, h.op.acked)
			h.sendBreak(to)
		}
	}
	for l, lt := range leaseTargetsLocked(n, requester, lr, overwrite) {
		if (l.breaking || lt.to != l.state) && l.allDisconnectedLocked() {
			for _, o := range l.opens {
				purge = append(purge, parkedOpen{o.id, o.dur.parked})
			}
			continue
		}
		if !l.breaking && lt.to != l.state {
			l.startBreakLocked(lt.to)
		}
		if l.breaking && lt.wait {
			waits = append(waits, l.acked)
		}
	}
	return waits, purge
}

// expireBreaks drops the oplocks and leases whose holders never
// acknowledged a break.
func (s *Server) expireBreaks(key nodeKey) {
	t := &s.nodes
	t.mu.Lock()
	defer t.mu.Unlock()
	if n := t.nodes[key]; n != nil {
		for _, h := range n.opens {
			if h.op.breaking {
				h.op.finishBreakLocked(wire.OplockNone)
			}
			if l := h.lease; l != nil && l.breaking {
				l.finishBreakLocked(0) // an unacknowledged lease is lost (smb2.lease.timeout)
			}
		}
	}
}

func (op *oplockState) finishBreakLocked(level uint8) {
	op.level, op.breaking = level, false
	if op.acked != nil {
		close(op.acked)
		op.acked = nil
	}
}

// breakLevelII breaks every level II oplock on the file (the writer's too) to
// none; no acknowledgment is expected [MS-SMB2 3.3.4.6].
func (s *Server) breakLevelII(writer *open) {
	if writer.node == nil {
		return
	}
	s.clusterBreakRead(writer) // cluster_lease.go; nothing unless clustered
	t := &s.nodes
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, h := range writer.node.opens {
		// The writer's own level II oplock breaks too (smb2.oplock.batch1),
		// unlike its own lease.
		if h.lease == nil && h.op.level == wire.OplockLevelII && !h.op.breaking {
			h.op.level = wire.OplockNone
			h.sendBreak(wire.OplockNone)
		}
	}
	breakReadLeasesLocked(writer)
}

// releaseOplock ends any pending break when an open closes.
func (t *nodeTable) releaseOplock(o *open) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if o.op.breaking {
		o.op.finishBreakLocked(wire.OplockNone)
	}
	o.op.level = wire.OplockNone
	o.op.closed = true
	t.releaseLeaseLocked(o)
}

// sendBreak sends an unsolicited OPLOCK_BREAK notification to a live
// channel of the holder's session, the one the open was made on when it
// still is: MessageId all-ones, never signed [MS-SMB2 2.2.23.1].
func (o *open) sendBreak(level uint8) {
	c := o.breakChannel()
	if c == nil {
		return
	}
	var msg [wire.HeaderSize + 24]byte
	h := wire.Header{
		Command:   wire.CmdOplockBreak,
		Flags:     wire.FlagServerToRedir,
		MessageID: wire.MessageIDUnsolicited,
		SessionID: o.sess.id,
		TreeID:    o.tree.id,
	}
	h.Put(msg[:])
	b := msg[wire.HeaderSize:]
	binary.LittleEndian.PutUint16(b, 24)
	b[2] = level
	wire.PutFileID(b[8:], o.id)
	if frame := o.breakFrame(msg[:]); frame != nil {
		queueBreak(c, frame)
	}
}

// queueBreak hands an unsolicited break notification (oplock or lease) to
// c's writer; it never blocks the caller holding the node lock.
func queueBreak(c *conn, frame []byte) { c.breaks.push(frame) }

// breakChannel picks the connection a break for o goes to: the one that
// made the open while it is still one of the session's channels and not
// closing, else another live channel; nil when none is left.
func (o *open) breakChannel() *conn {
	if o.sess == nil {
		return o.conn
	}
	for _, c := range o.sess.channelConns(o.conn) {
		if c.ctx.Err() == nil {
			return c
		}
	}
	return nil
}

// oplockBreak handles the client's OPLOCK_BREAK acknowledgment
// [MS-SMB2 3.3.5.22.1].
func (r *request) oplockBreak(w *response) error {
	if isLeaseAck(r.msg) {
		return r.leaseBreakAck(w)
	}
	ack, err := wire.ParseOplockBreakAck(r.msg)
	if err != nil {
		return ntstatus.InvalidParameter
	}
	o := r.open
	t := &r.c.srv.nodes
	t.mu.Lock()
	switch {
	case !o.op.breaking:
		t.mu.Unlock()
		return ntstatus.InvalidOplockProtocol
	case ack.OplockLevel != wire.OplockNone && ack.OplockLevel != wire.OplockLevelII,
		ack.OplockLevel > o.op.breakTo:
		o.op.finishBreakLocked(wire.OplockNone)
		t.mu.Unlock()
		return ntstatus.InvalidOplockProtocol
	}
	o.op.finishBreakLocked(ack.OplockLevel)
	level := o.op.level
	t.mu.Unlock()
	b := make([]byte, 24)
	binary.LittleEndian.PutUint16(b, 24)
	b[2] = level
	wire.PutFileID(b[8:], o.id)
	w.buf = append(w.buf, b...)
	return nil
}

// isLeaseAck reports an OPLOCK_BREAK request in the lease form
// (StructureSize 36), which names a lease key rather than a FileId.
func isLeaseAck(msg []byte) bool {
	return len(msg) >= wire.HeaderSize+2 && binary.LittleEndian.Uint16(msg[wire.HeaderSize:]) == wire.LeaseAckSize
}
