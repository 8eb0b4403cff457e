package server

import (
	"context"

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
	mu    orderedMutex[rankLeaf]
	next  uint64
	ops   map[uint64]*asyncOp
	early []earlyCancel
}

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
	if exceeds(len(t.ops), c.lim.MaxAsyncPerConn) {
		t.mu.Unlock()
		c.log.Warn("request refused: limit reached", "limit", "max_async_per_conn", "command", r.hdr.Command.String())
		return ntstatus.InsufficientResources
	}
	t.next++
	ctx, cancel := context.WithCancelCause(c.ctx)
	op := &asyncOp{id: t.next, messageID: r.hdr.MessageID, sessionID: r.hdr.SessionID, open: o, cancel: cancel}
	if t.ops == nil {
		t.ops = map[uint64]*asyncOp{}
	}
	t.ops[op.id] = op
	if t.takeEarlyCancelLocked(op.messageID, op.sessionID) {
		cancel(errCancelled)
	}
	t.mu.Unlock()
	w.status = ntstatus.Pending
	w.asyncID = op.id
	// An asynchronous request no longer holds up a CLOSE of its handle
	// (CLOSE cancels it instead).
	r.releaseHeld()
	final := *r // the final response reuses the request's identity
	final.afterSend = nil
	r.csnOpen = nil // counted until the final response (replay.go)
	// The final response must not overtake the interim one: it waits for
	// the pipeline to have signed the interim and handed it to the writer.
	interim := make(chan struct{})
	prev := r.afterSend
	r.afterSend = func(elem []byte) {
		if prev != nil {
			prev(elem)
		}
		close(interim)
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer cancel(nil)
		defer c.recoverPanic("async " + r.hdr.Command.String())
		fw := newResponse()
		err := run(ctx, &fw)
		final.channelSequenceDone()
		t.mu.Lock()
		delete(t.ops, op.id)
		t.mu.Unlock()
		select {
		case <-interim:
		case <-c.ctx.Done():
			putBuf(fw.raw)
			return
		}
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
	c.emit([]*request{r}, []response{*w}, 0)
}

// count returns the number of pending asynchronous requests.
func (t *asyncTable) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.ops)
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
	found := false
	for _, op := range t.ops {
		if op.messageID == h.MessageID && op.sessionID == h.SessionID {
			op.cancel(errCancelled)
			found = true
		}
	}
	if !found {
		// Requests run concurrently, so a CANCEL can overtake the request
		// it names; remember it for when that request goes async.
		t.early = append(t.early, earlyCancel{h.MessageID, h.SessionID})
		if len(t.early) > maxEarlyCancels {
			t.early = t.early[1:]
		}
	}
}

// earlyCancel is a CANCEL that arrived before its request went async.
type earlyCancel struct{ messageID, sessionID uint64 }

// maxEarlyCancels bounds the remembered early cancels (those naming
// requests that completed synchronously are never claimed).
const maxEarlyCancels = 32

// takeEarlyCancelLocked reports and forgets an early CANCEL. t.mu held.
func (t *asyncTable) takeEarlyCancelLocked(messageID, sessionID uint64) bool {
	for i, e := range t.early {
		if e.messageID == messageID && e.sessionID == sessionID {
			t.early = append(t.early[:i], t.early[i+1:]...)
			return true
		}
	}
	return false
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

var (
	errCancelled  = ntstatus.Cancelled
	errOpenClosed = ntstatus.NotifyCleanup
)
