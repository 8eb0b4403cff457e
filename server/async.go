package server

import (
	"context"
	"encoding/binary"
	"sync"

	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
)

// asyncOp is a request answered asynchronously (MS-SMB2 3.3.4.2): the
// client got an interim STATUS_PENDING with AsyncId and waits for the final
// response, or cancels it.
type asyncOp struct {
	id        uint64
	messageID uint64
	sessionID uint64
	open      *open
	cancel    context.CancelCauseFunc
}

// asyncTable tracks the pending asynchronous requests of a connection.
type asyncTable struct {
	mu   sync.Mutex
	next uint64
	ops  map[uint64]*asyncOp
}

// maxAsyncPerConn bounds pending asynchronous requests per connection.
const maxAsyncPerConn = 512

// goAsync turns the current request asynchronous: the interim response is
// sent by the pipeline (w.status = STATUS_PENDING), and run executes on its
// own goroutine with a context that CANCEL, CLOSE of the open, LOGOFF or
// the connection's end cancels. run fills the final body into fw.
func (r *request) goAsync(w *response, o *open, run func(ctx context.Context, fw *response) error) error {
	c := r.c
	if !r.last {
		// Windows fails a request that would go asynchronous in the middle
		// of a compound <162>.
		return ntstatus.InternalError
	}
	t := &c.async
	t.mu.Lock()
	if len(t.ops) >= maxAsyncPerConn {
		t.mu.Unlock()
		return ntstatus.InsufficientResources
	}
	t.next++
	ctx, cancel := context.WithCancelCause(c.ctx)
	op := &asyncOp{id: t.next, messageID: r.hdr.MessageID, sessionID: r.hdr.SessionID, open: o, cancel: cancel}
	if t.ops == nil {
		t.ops = map[uint64]*asyncOp{}
	}
	t.ops[op.id] = op
	t.mu.Unlock()
	w.status = ntstatus.Pending
	w.asyncID = op.id
	// An asynchronous request no longer holds up a CLOSE of its handle
	// (CLOSE cancels it instead).
	r.releaseHeld()
	final := *r // the final response reuses the request's identity
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer cancel(nil)
		fw := newResponse()
		err := run(ctx, &fw)
		t.mu.Lock()
		delete(t.ops, op.id)
		t.mu.Unlock()
		c.sendFinal(&final, &fw, op.id, err)
	}()
	return nil
}

// sendFinal sends the final response of an asynchronous request.
func (c *conn) sendFinal(r *request, w *response, asyncID uint64, err error) {
	st := w.status
	if err != nil {
		st = statusOf(err)
	}
	if err != nil || len(w.buf) == wire.HeaderSize {
		w.buf = wire.AppendErrorResponse(w.buf[:wire.HeaderSize], nil)
	}
	h := wire.Header{
		Status:    uint32(st),
		Command:   r.hdr.Command,
		Flags:     wire.FlagServerToRedir | wire.FlagAsyncCommand,
		MessageID: r.hdr.MessageID,
		AsyncID:   asyncID,
		SessionID: r.hdr.SessionID,
	}
	if c.dialect != wire.Dialect202 {
		h.CreditCharge = r.hdr.CreditCharge
	}
	h.Put(w.buf)
	frame := w.frame()
	c.signIfNeeded(r, frame[4:])
	binary.BigEndian.PutUint32(frame[0:4], uint32(len(frame)-4))
	c.send(frame)
}

// cancelRequest cancels a pending asynchronous request named by a CANCEL
// header: by AsyncId in the async form, else by MessageId
// [MS-SMB2 3.3.5.16].
func (c *conn) cancelRequest(h *wire.Header) {
	t := &c.async
	t.mu.Lock()
	defer t.mu.Unlock()
	if h.IsAsync() {
		if op := t.ops[h.AsyncID]; op != nil && op.sessionID == h.SessionID {
			op.cancel(errCancelled)
		}
		return
	}
	for _, op := range t.ops {
		if op.messageID == h.MessageID && op.sessionID == h.SessionID {
			op.cancel(errCancelled)
		}
	}
}

// cancelOpen cancels the pending requests of an open being closed
// (CHANGE_NOTIFY completes with STATUS_NOTIFY_CLEANUP).
func (c *conn) cancelOpen(o *open) {
	t := &c.async
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, op := range t.ops {
		if op.open == o {
			op.cancel(errOpenClosed)
		}
	}
}

// cancelSession cancels the pending requests of a session (LOGOFF).
func (c *conn) cancelSession(id uint64) {
	t := &c.async
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, op := range t.ops {
		if op.sessionID == id {
			op.cancel(errCancelled)
		}
	}
}

var (
	errCancelled  = ntstatus.Cancelled
	errOpenClosed = ntstatus.NotifyCleanup
)
