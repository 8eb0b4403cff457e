package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// creditUnit is the payload one credit pays for with LARGE_MTU
// [MS-SMB2 3.1.5.2].
const creditUnit = 64 << 10

// creditTarget is the credit balance the client asks the server to keep
// granted: enough for 8 requests of 8 MiB in flight, with headroom.
const creditTarget = 1024

// errNoCredits means a request needs more credits than the server has
// granted and nothing is in flight that could bring more.
var errNoCredits = errors.New("smb: server granted too few credits")

// creditCharge returns the CreditCharge of a request moving payload bytes
// in its largest direction: ceil(payload / 64 KiB), at least 1
// [MS-SMB2 3.2.4.1.5].
func creditCharge(payload int) uint16 {
	if payload <= creditUnit {
		return 1
	}
	return uint16((payload + creditUnit - 1) / creditUnit)
}

// creditPool hands out MessageIds within the window the server granted
// [MS-SMB2 3.2.4.1.6, 3.2.5.1.4]. A request charging n credits consumes
// the n consecutive MessageIds starting at next; every response adds its
// CreditResponse. It is a counting semaphore whose waiters are woken by
// closing the current wake channel.
type creditPool struct {
	mu       sync.Mutex
	avail    int    // granted credits not yet consumed
	next     uint64 // next unused MessageId
	inflight int    // requests sent whose final response has not arrived
	charged  int    // credits consumed by those requests
	wake     chan struct{}
	err      error // set when the connection dies; wakes everyone
}

func newCreditPool() *creditPool {
	// Before NEGOTIATE the client holds one credit: MessageId 0.
	return &creditPool{avail: 1, wake: make(chan struct{})}
}

// acquire reserves n credits and returns the first MessageId and the
// CreditRequest to put in the header. It blocks until the credits are
// granted, ctx is done or the pool is closed.
func (p *creditPool) acquire(ctx context.Context, n uint16) (id uint64, ask uint16, err error) {
	for {
		p.mu.Lock()
		if p.err != nil {
			p.mu.Unlock()
			return 0, 0, p.err
		}
		if p.avail >= int(n) {
			id, ask = p.take(int(n))
			p.mu.Unlock()
			return id, ask, nil
		}
		if p.inflight == 0 {
			avail := p.avail
			p.mu.Unlock()
			return 0, 0, fmt.Errorf("%w: request needs %d, %d available", errNoCredits, n, avail)
		}
		wake := p.wake
		p.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return 0, 0, ctx.Err()
		}
	}
}

// take consumes n credits; p.mu is held.
func (p *creditPool) take(n int) (id uint64, ask uint16) {
	id = p.next
	p.next += uint64(n)
	p.avail -= n
	p.inflight++
	p.charged += n
	want := n
	if held := p.avail + p.charged; held < creditTarget {
		want += min(creditTarget-held, 256)
	}
	return id, uint16(min(want, 0xFFFF))
}

// grant records a response: credits granted and, for a final response,
// the end of a request charging n credits.
func (p *creditPool) grant(credits uint16, final bool, n uint16) {
	p.mu.Lock()
	p.avail += int(credits)
	if final {
		p.inflight--
		p.charged -= int(n)
	}
	close(p.wake)
	p.wake = make(chan struct{})
	p.mu.Unlock()
}

// release returns the credits of a request that was never sent.
func (p *creditPool) release(n uint16) {
	p.grant(n, true, n)
}

// close fails all current and future acquires with err.
func (p *creditPool) close(err error) {
	p.mu.Lock()
	if p.err == nil {
		p.err = err
		close(p.wake)
		p.wake = make(chan struct{})
	}
	p.mu.Unlock()
}
