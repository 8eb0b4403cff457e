package server

import (
	"context"
	"encoding/binary"
	"time"

	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
)

// Leases (MS-SMB2 3.3.1.4 LeaseTable, 3.3.4.7, 3.3.5.9.8, 3.3.5.9.11,
// 3.3.5.22.2; MS-FSA 2.1.5.17). A lease is named by the client's
// ClientGuid and a 16-byte lease key, belongs to one file and is shared by
// every open the client made with that key. Its state is a combination of
// read (R), handle (H) and write (W) caching; a conflicting open, a write
// by another open, a byte-range lock, an overwrite, a rename or a delete
// breaks it down, and the holder acknowledges breaks that take H or W away
// (within oplockBreakTimeout, 35 s as Windows, after which the lease is
// lost: its state becomes none).
//
// Ownership: every lease and every open's lease pointer are guarded by
// the server's nodeTable.mu, together with the file's opens and their
// oplocks; break notifications are queued without blocking
// (conn.breaks.push) while it is held, and waits for acknowledgments
// happen with no lock held. The table is bounded by the opens: a lease
// exists only while one of its opens does (durable ones included).

const leaseRWH = wire.LeaseRead | wire.LeaseWrite | wire.LeaseHandle

// leaseID names a lease: Connection.ClientGuid and LeaseKey.
type leaseID struct {
	client [16]byte
	key    [16]byte
}

// lease is one entry of the lease table; guarded by nodeTable.mu.
type lease struct {
	id        leaseID
	v2        bool
	parentKey [16]byte
	hasParent bool
	node      *fileNode
	opens     []*open
	state     uint32
	epoch     uint16
	breaking  bool
	breakTo   uint32
	acked     chan struct{} // closed when the outstanding break ends
}

// leaseStatOpen reports an open that asks only for attributes or the
// security descriptor: it breaks no lease [MS-FSA 2.1.5.17].
func leaseStatOpen(access uint32) bool {
	return access&^(wire.Synchronize|wire.FileReadAttributes|wire.FileWriteAttributes|wire.ReadControl) == 0
}

// oplockStatOpen is the same for oplocks.
func oplockStatOpen(access uint32) bool {
	return access&^(wire.Synchronize|wire.FileReadAttributes|wire.FileWriteAttributes) == 0
}

// leaseRequest is the lease an incoming CREATE asks for, if any.
type leaseRequest struct {
	id  leaseID
	ctx *wire.LeaseContext
}

// checkLeaseFile refuses a lease key already used for another file
// [MS-SMB2 3.3.5.9.8].
func (t *nodeTable) checkLeaseFile(lr *leaseRequest, key nodeKey) error {
	if lr == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if l := t.leases[lr.id]; l != nil && l.node.key != key {
		return ntstatus.InvalidParameter
	}
	return nil
}

// grantLease grants the lease o asked for, creating it or joining (and
// perhaps upgrading) the one with the same key, and returns the lease
// response context.
func (t *nodeTable) grantLease(o *open, lr *leaseRequest) *wire.LeaseContext {
	t.mu.Lock()
	defer t.mu.Unlock()
	want := lr.ctx.State & leaseStateMask(o) // no W on a directory (dirlease.go)
	if want&wire.LeaseRead == 0 {
		want = 0 // H, W and HW alone are not granted
	}
	allowed := leaseRWH
	if o.cl != nil && o.cl.noW {
		allowed &^= wire.LeaseWrite // another node has an open (cluster_lease.go)
	}
	for _, other := range o.node.opens {
		if other == o || other.op.closed || other.lease != nil && other.lease.id == lr.id ||
			other.lease == nil && leaseStatOpen(other.access) {
			continue // a stat open without a lease shares any caching (smb2.lease.statopen3)
		}
		allowed &^= wire.LeaseWrite
		if other.lease == nil && other.op.level != wire.OplockNone {
			allowed &^= wire.LeaseHandle
		}
	}
	if t.leases == nil {
		t.leases = map[leaseID]*lease{}
	}
	l := t.leases[lr.id]
	if l == nil {
		l = &lease{id: lr.id, v2: lr.ctx.V2, node: o.node, state: want & allowed}
		if l.v2 {
			l.epoch = lr.ctx.Epoch + 1
			l.parentKey = lr.ctx.ParentKey
			l.hasParent = lr.ctx.Flags&wire.LeaseFlagParentKeySet != 0
		}
		t.leases[lr.id] = l
	} else if !l.breaking && want&l.state == l.state && want != l.state && want&^allowed == 0 {
		// An upgrade is all or nothing: the requested state must be a
		// strict superset of the lease's and compatible with the other
		// opens, or the lease stays as it is.
		l.state = want
		l.epoch++
	}
	l.opens = append(l.opens, o)
	o.lease = l
	t.trackDirLeaseLocked(l, o) // dirlease.go
	return l.responseLocked()
}

func (l *lease) responseLocked() *wire.LeaseContext {
	r := &wire.LeaseContext{V2: l.v2, Key: l.id.key, State: l.state}
	if l.breaking {
		r.Flags |= wire.LeaseFlagBreakInProgress
	}
	if l.v2 {
		r.Epoch = l.epoch
		if l.hasParent {
			r.Flags |= wire.LeaseFlagParentKeySet
			r.ParentKey = l.parentKey
		}
	}
	return r
}

// startBreakLocked sends a break of l to state to; the break needs an
// acknowledgment when it takes H or W away, else it takes effect now.
// t.mu held.
func (l *lease) startBreakLocked(to uint32) {
	from := l.state
	ack := from&(wire.LeaseWrite|wire.LeaseHandle) != 0
	if l.v2 {
		l.epoch++
	}
	if ack {
		l.breaking, l.breakTo = true, to
		l.acked = make(chan struct{})
	} else {
		l.state = to
	}
	l.sendBreak(from, to, ack)
}

// allDisconnectedLocked reports a lease whose opens are all parked
// durable opens. t.mu held.
func (l *lease) allDisconnectedLocked() bool {
	for _, o := range l.opens {
		if !o.dur.disconnected {
			return false
		}
	}
	return len(l.opens) > 0
}

// finishBreakLocked ends an outstanding break at state s. t.mu held.
func (l *lease) finishBreakLocked(s uint32) {
	l.state, l.breaking = s, false
	if l.acked != nil {
		close(l.acked)
		l.acked = nil
	}
}

// sendBreak queues a lease break notification on a live channel of the
// session of one of the lease's opens [MS-SMB2 3.3.4.7]: MessageId
// all-ones, SessionId and TreeId zero, never signed. It never blocks.
func (l *lease) sendBreak(from, to uint32, ack bool) {
	var c *conn
	for _, o := range l.opens {
		if c = o.breakChannel(); c != nil {
			break
		}
	}
	if c == nil {
		return
	}
	frame := getBuf(4 + wire.HeaderSize + wire.LeaseBreakSize)
	h := wire.Header{
		Command:   wire.CmdOplockBreak,
		Flags:     wire.FlagServerToRedir,
		MessageID: wire.MessageIDUnsolicited,
	}
	h.Put(frame[4:])
	lb := &wire.LeaseBreak{Key: l.id.key, CurrentState: from, NewState: to}
	if l.v2 {
		lb.NewEpoch = l.epoch
	}
	if ack {
		lb.Flags = wire.LeaseBreakAckRequired
	}
	wire.AppendLeaseBreak(frame[4+wire.HeaderSize:4+wire.HeaderSize], lb)
	binary.BigEndian.PutUint32(frame, uint32(len(frame)-4))
	queueBreak(c, frame)
}

// leaseTarget is the state a new open leaves a lease and whether the
// open must wait for the holder: when the break takes W away (the holder
// has data to flush) or takes H away because the open would otherwise be a
// sharing violation (the holder may close its cached handles).
type leaseTarget struct {
	to   uint32
	wait bool
}

// leaseTargetsLocked computes, for every lease other than the
// requester's on node n, what a new open requester (with lease request
// lr, disposition overwrite or not) does to it [MS-FSA 2.1.5.17]: W goes
// unless the open is a stat open, H goes when the open would be a sharing
// violation, R and W go when the open overwrites the file. t.mu held.
func leaseTargetsLocked(n *fileNode, requester *open, lr *leaseRequest, overwrite bool) map[*lease]leaseTarget {
	// An open that would be a sharing violation only takes H away from
	// the leases of the opens it conflicts with (their holders may close
	// their cached handles); it does not get far enough to take W or R
	// (smb2.lease.break_twice: RWH is broken to RW).
	violation := false
	for _, h := range n.opens {
		if h != requester && shareConflict(h.access, h.share, requester.access, requester.share) {
			violation = true
			break
		}
	}
	var out map[*lease]leaseTarget
	for _, h := range n.opens {
		l := h.lease
		if h == requester || l == nil || lr != nil && l.id == lr.id {
			continue
		}
		cur := l.state
		if l.breaking {
			cur = l.breakTo
		}
		lt, seen := out[l]
		if !seen {
			lt.to = cur
		}
		if violation {
			if shareConflict(h.access, h.share, requester.access, requester.share) {
				lt.to &^= wire.LeaseHandle
				lt.wait = lt.wait || l.state&wire.LeaseHandle != 0
			}
			if out == nil {
				out = map[*lease]leaseTarget{}
			}
			out[l] = lt
			continue
		}
		if !leaseStatOpen(requester.access) || overwrite {
			lt.to &^= wire.LeaseWrite
			lt.wait = lt.wait || l.state&wire.LeaseWrite != 0
		}
		if shareConflict(h.access, h.share, requester.access, requester.share) ||
			requester.options&wire.FileDeleteOnClose != 0 {
			lt.to &^= wire.LeaseHandle
			lt.wait = lt.wait || l.state&wire.LeaseHandle != 0
		}
		if overwrite {
			lt.to &^= wire.LeaseRead | wire.LeaseWrite
		}
		if lt.to&wire.LeaseRead == 0 {
			lt.to = 0
		}
		if out == nil {
			out = map[*lease]leaseTarget{}
		}
		out[l] = lt
	}
	return out
}

// breakHandleLeases breaks H away from every lease on o's file other
// than o's own, before a rename or delete of the file, and waits for the
// acknowledgments [MS-FSA 2.1.5.14.2, 2.1.5.15.1].
func (s *Server) breakHandleLeases(ctx context.Context, o *open) {
	if o.node == nil {
		return
	}
	defer s.clusterBreakHandle(ctx, o) // after the local breaks (cluster_lease.go); nothing unless clustered
	t := &s.nodes
	timer := time.NewTimer(oplockBreakTimeout)
	defer timer.Stop()
	for {
		var waits []chan struct{}
		t.mu.Lock()
		seen := map[*lease]bool{}
		for _, h := range o.node.opens {
			l := h.lease
			if h == o || l == nil || o.lease == l || seen[l] {
				continue
			}
			seen[l] = true
			if l.breaking {
				if l.breakTo&wire.LeaseHandle != 0 {
					waits = append(waits, l.acked)
				}
				continue
			}
			if l.state&wire.LeaseHandle != 0 {
				l.startBreakLocked(l.state &^ wire.LeaseHandle)
				if l.breaking {
					waits = append(waits, l.acked)
				}
			}
		}
		t.mu.Unlock()
		if len(waits) == 0 {
			return
		}
		for _, w := range waits {
			select {
			case <-w:
			case <-ctx.Done():
				return
			case <-timer.C:
				s.expireBreaks(o.node.key)
				return
			}
		}
	}
}

// breakReadLeasesLocked breaks the leases of other lease keys than
// writer's to none when writer changes the file (a write, a size change,
// a byte-range lock) [MS-FSA 2.1.4.12]; the holders do not hold the
// writer up. t.mu held.
func breakReadLeasesLocked(writer *open) {
	seen := map[*lease]bool{}
	for _, h := range writer.node.opens {
		l := h.lease
		if h == writer || l == nil || l == writer.lease || seen[l] {
			continue
		}
		seen[l] = true
		if !l.breaking && l.state&wire.LeaseRead != 0 {
			l.startBreakLocked(0)
		}
	}
}

// releaseLeaseLocked removes o from its lease; the lease goes with its
// last open. t.mu held.
func (t *nodeTable) releaseLeaseLocked(o *open) {
	l := o.lease
	if l == nil {
		return
	}
	o.lease = nil
	for i, x := range l.opens {
		if x == o {
			l.opens = append(l.opens[:i], l.opens[i+1:]...)
			break
		}
	}
	if len(l.opens) == 0 {
		if l.breaking {
			l.finishBreakLocked(0)
		}
		if t.leases[l.id] == l {
			delete(t.leases, l.id)
		}
		t.untrackDirLeaseLocked(l) // dirlease.go
	}
}

// leaseBreakAck handles a lease break acknowledgment
// [MS-SMB2 3.3.5.22.2].
func (r *request) leaseBreakAck(w *response) error {
	ack, err := wire.ParseLeaseAck(r.msg)
	if err != nil {
		return ntstatus.InvalidParameter
	}
	t := &r.c.srv.nodes
	t.mu.Lock()
	l := t.leases[leaseID{client: r.c.clientGUID, key: ack.Key}]
	switch {
	case l == nil:
		t.mu.Unlock()
		return ntstatus.ObjectNameNotFound
	case !l.breaking:
		t.mu.Unlock()
		return ntstatus.Unsuccessful
	case ack.State&^l.breakTo != 0:
		t.mu.Unlock()
		return ntstatus.RequestNotAccepted
	}
	l.finishBreakLocked(ack.State)
	state := l.state
	t.mu.Unlock()
	w.buf = wire.AppendLeaseAck(w.buf, &wire.LeaseAck{Key: ack.Key, State: state})
	return nil
}
