package server

import (
	"context"
	"sync/atomic"

	"github.com/signetsmb/signet/internal/wire"
)

// Where requests are decrypted, and admission in arrival order.
//
// The reader frames PDUs; for a transform it checks only the header
// (negotiated cipher, Flags, OriginalMessageSize, a session with keys:
// checkTransform). A sealed frame of at most handlerDecryptMin bytes is
// then decrypted on the reader as before (a few microseconds); a larger
// one (a WRITE's payload, a big compound) goes to a handler goroutine,
// which authenticates and decrypts it there (openSealed), so that AES-GCM
// and AES-CCM of large writes run on every core while the reader goes on
// reading the socket.
//
// The reader cannot learn a deferred frame's MessageIds or FileIds
// before it is decrypted, yet three things must happen in arrival order:
// charging the credit window [MS-SMB2 3.3.5.2.3], taking the references
// on the opens the requests name (holdOpens, so that a later CLOSE waits
// for an earlier WRITE), and running the compounds that hold reader state
// (runsOnReader: SESSION_SETUP, NEGOTIATE, CHANGE_NOTIFY first). That is
// admission, and turns order it: each frame admitted out of line (a
// deferred sealed frame, or any frame arriving while one is pending) gets
// a turn, a channel closed once it has been admitted, and waits for the
// turn of the frame before it. The reader keeps the last turn (c.turn,
// reader-owned); a frame arriving when every earlier one has been
// admitted is admitted by the reader on the spot, as before.
//
//   - A MessageId outside the window, a bad tag or a decrypted message
//     that is not SMB2 closes the connection, and the connection is
//     closed before the turn is passed on, so nothing the client sent
//     after the bad frame runs.
//   - A deferred frame that turns out to hold a runsOnReader compound
//     runs it on its handler while it holds its turn, and takes over the
//     reader's ownership of the handshake state for that time: every
//     runsOnReader compound waits for the turns before it (waitTurn, which
//     gives the ownership back to the reader), so they still run one at a
//     time, in arrival order.
//   - Memory: a deferred frame holds an in-flight slot (c.inflight,
//     Options.MaxInFlight) from the moment the reader hands it over, so
//     sealed frames waiting for decryption or for their turn count
//     against the same bound as executing requests; the reader blocks
//     when the slots are taken.

// handlerDecryptMin is the largest sealed frame decrypted on the reader;
// larger ones are decrypted on handler goroutines.
const handlerDecryptMin = 8 << 10

// decryptCounters records where transforms were decrypted; the tests
// use them to hold the rule above.
type decryptCounters struct {
	onReader, onHandler atomic.Int64
	// readerMax is the largest frame decrypted on the reader.
	readerMax atomic.Int64
}

func (d *decryptCounters) note(onReader bool, n int) {
	if !onReader {
		d.onHandler.Add(1)
		return
	}
	d.onReader.Add(1)
	for {
		m := d.readerMax.Load()
		if int64(n) <= m || d.readerMax.CompareAndSwap(m, int64(n)) {
			return
		}
	}
}

// pendingTurn returns the turn of the last frame not yet admitted, or
// nil when every frame read so far has been. Reader only.
func (c *conn) pendingTurn() chan struct{} {
	if c.turn == nil {
		return nil
	}
	select {
	case <-c.turn:
		c.turn = nil
		return nil
	default:
		return c.turn
	}
}

// nextTurn gives the frame being dispatched a turn after the pending
// one: prev (nil when none is pending) is what it waits for, mine what it
// closes once admitted. Reader only.
func (c *conn) nextTurn() (prev, mine chan struct{}) {
	prev = c.pendingTurn()
	mine = make(chan struct{})
	c.turn = mine
	return prev, mine
}

// waitTurn waits until every frame read so far has been admitted, then
// takes back the reader's ownership of the handshake state (a deferred
// SESSION_SETUP may have held it). Reader only.
func (c *conn) waitTurn() error {
	if t := c.pendingTurn(); t != nil {
		select {
		case <-t:
			c.turn = nil
		case <-c.ctx.Done():
			return context.Cause(c.ctx)
		}
	}
	if c.ctx.Err() != nil {
		return context.Cause(c.ctx) // an earlier frame ended the connection
	}
	c.reader.claim()
	return nil
}

// admit charges the credit window for a compound's requests, in arrival
// order (the reader, or a handler holding its turn).
func (c *conn) admit(reqs []*request) error {
	if !c.negotiated && reqs[0].hdr.Command != wire.CmdNegotiate {
		return fatal("not_negotiated", "%v before NEGOTIATE", reqs[0].hdr.Command)
	}
	for _, r := range reqs {
		if r.hdr.Command == wire.CmdCancel {
			continue // CANCEL takes no credit and no sequence number
		}
		if err := c.credits.consume(r.hdr.MessageID, r.charge(c)); err != nil {
			return fatal("bad_message_id", "%v: %v", r.hdr.Command, err)
		}
	}
	return nil
}

// splitRequests parses a compound into requests.
func (c *conn) splitRequests(msg []byte, sealedBy *sessionCipher) ([]*request, error) {
	elems, err := wire.SplitCompound(msg, maxCompound)
	if err != nil {
		return nil, fatal("bad_compound", "%v", err)
	}
	reqs := make([]*request, len(elems))
	for i, e := range elems {
		h, err := wire.ParseHeader(e)
		if err != nil {
			return nil, fatal("bad_header", "%v", err)
		}
		if h.IsResponse() {
			return nil, fatal("response_from_client", "%v", h.Command)
		}
		reqs[i] = &request{c: c, msg: e, hdr: h, last: i == len(elems)-1, cipher: sealedBy}
	}
	return reqs, nil
}

// startHandler runs a compound on a handler goroutine that holds an
// in-flight slot. With sc set, buf is a sealed frame the handler decrypts
// first; with prev or mine set, the handler admits the compound in its
// turn (see above); otherwise reqs were admitted and their opens held by
// the reader. The handler owns buf.
func (c *conn) startHandler(buf []byte, sc *sessionCipher, reqs []*request, prev, mine chan struct{}) error {
	select {
	case c.inflight <- struct{}{}:
	case <-c.ctx.Done():
		if mine == nil {
			releaseOpens(reqs)
		} else {
			close(mine)
		}
		putBuf(buf)
		return context.Cause(c.ctx)
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer func() { <-c.inflight }()
		defer putBuf(buf)
		defer func() { releaseOpens(reqs) }()
		if mine != nil {
			// Runs after recoverPanic: a panicking handler has closed the
			// connection before the frames after it are let through.
			defer func() {
				if mine != nil {
					close(mine)
				}
			}()
		}
		defer c.recoverPanic("handler")
		if sc != nil {
			var err error
			if reqs, err = c.openDeferred(buf, sc); err != nil {
				c.close(err)
				return
			}
		}
		if mine != nil {
			if prev != nil {
				select {
				case <-prev:
				case <-c.ctx.Done():
					return
				}
			}
			if c.ctx.Err() != nil {
				return // an earlier frame ended the connection
			}
			if err := c.admit(reqs); err != nil {
				c.close(err)
				return
			}
			if runsOnReader(reqs) {
				// Handshake state: run it in this turn, owning it.
				c.reader.claim()
				if err := c.runChain(reqs); err != nil {
					c.close(err)
				}
				return
			}
			c.holdOpens(reqs)
			close(mine)
			mine = nil
		}
		if err := c.runChain(reqs); err != nil {
			c.close(err)
		}
	}()
	return nil
}

// openDeferred decrypts a sealed frame the reader handed over and splits
// it into requests. Handler goroutine.
func (c *conn) openDeferred(buf []byte, sc *sessionCipher) ([]*request, error) {
	msg, err := c.openSealed(buf, sc, false)
	if err != nil {
		return nil, err
	}
	return c.splitRequests(msg, sc)
}
