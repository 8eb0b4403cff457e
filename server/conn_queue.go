package server

import (
	"context"
)

// byteBudget is a counting semaphore of bytes (the READ responses a
// connection may have built and not yet written). A negative capacity
// means no limit.
type byteBudget struct {
	mu      orderedMutex[rankLeaf]
	cap     int64
	avail   int64
	changed chan struct{} // closed (and replaced) whenever bytes return
}

func (b *byteBudget) init(capacity int64) { b.cap, b.avail = capacity, capacity }

// acquire takes n bytes, waiting until they are available or ctx ends. A
// request larger than the whole budget takes all of it. It returns the
// amount taken, to be given back with release.
func (b *byteBudget) acquire(ctx context.Context, n int64) (int64, error) {
	if b.cap < 0 || n <= 0 {
		return 0, nil
	}
	n = min(n, b.cap)
	for {
		b.mu.Lock()
		if b.avail >= n {
			b.avail -= n
			b.mu.Unlock()
			return n, nil
		}
		if b.changed == nil {
			b.changed = make(chan struct{})
		}
		ch := b.changed
		b.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return 0, context.Cause(ctx)
		}
	}
}

// tryAcquire takes n bytes without waiting; it returns the amount taken,
// or -1 when they are not available.
func (b *byteBudget) tryAcquire(n int64) int64 {
	if b.cap < 0 || n <= 0 {
		return 0
	}
	n = min(n, b.cap)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.avail < n {
		return -1
	}
	b.avail -= n
	return n
}

// release returns n bytes.
func (b *byteBudget) release(n int64) {
	if n <= 0 {
		return
	}
	b.mu.Lock()
	b.avail += n
	if b.changed != nil {
		close(b.changed)
		b.changed = nil
	}
	b.mu.Unlock()
}

// breakQueue holds unsolicited frames (oplock breaks) for the writer.
// Pushing never blocks, so a break can be sent while the sender holds the
// node table's lock; the queue is bounded by the connection's opens (at
// most one outstanding break each) and emptied when the connection ends.
type breakQueue struct {
	mu     orderedMutex[rankLeaf]
	frames [][]byte
	closed bool
	ready  chan struct{} // one token when frames is non-empty
}

func (q *breakQueue) init() { q.ready = make(chan struct{}, 1) }

// push queues a frame; after take(true) it is dropped.
func (q *breakQueue) push(frame []byte) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		putBuf(frame)
		return
	}
	q.frames = append(q.frames, frame)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// take returns the queued frames; the caller owns them.
func (q *breakQueue) take() [][]byte {
	q.mu.Lock()
	defer q.mu.Unlock()
	f := q.frames
	q.frames = nil
	return f
}

// shut drops queued frames and refuses later ones (connection ended).
func (q *breakQueue) shut() {
	q.mu.Lock()
	f := q.frames
	q.frames, q.closed = nil, true
	q.mu.Unlock()
	for _, b := range f {
		putBuf(b)
	}
}
