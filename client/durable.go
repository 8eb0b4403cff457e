package client

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/signetsmb/signet/internal/wire"
)

// Reconnect [MS-SMB2 3.2.4.2.3.1 (reconnect), 3.2.4.4 (reopen), 3.2.4.1.1
// (replay)]. When the connection of a session with one channel is lost
// (reset, EOF, a failed write; not a deliberate close, a bad signature or a
// protocol error), the next request (or the requests in flight) runs
// Session.reconnect: a new TCP connection, NEGOTIATE of the same dialect
// with the same ClientGuid, SESSION_SETUP with PreviousSessionId, a
// TREE_CONNECT for every mounted share, and a CREATE with DH2C (DHnC on
// 2.1), the CreateGuid, the old FileId and the lease key for every durable
// open. The reclaimed opens get new FileIds, which requests read each
// time they are sent (exchange.f). Requests that may be repeated (READ,
// WRITE, FLUSH, QUERY_INFO, CLOSE) are then sent again, on 3.x with
// SMB2_FLAGS_REPLAY_OPERATION and the raised ChannelSequence; others
// report the lost connection, and later requests use the new one.
//
// Ownership: reconnect is single-flight: s.rc is a one-slot semaphore
// taken with the caller's context; the winner builds the new channel in a
// temporary Session (not shared), then publishes it in s.chans under
// s.chmu. Trees' ids and files' ids are atomics read at send time; a
// file's reclaim state (lostErr, reclaims) is guarded by f.cmu.

// Reconnect attempts and backoff: bounded, and within the durable
// timeout the server keeps the handles for.
const (
	maxReconnectAttempts = 6
	firstReconnectDelay  = 100 * time.Millisecond
	maxReconnectDelay    = 2 * time.Second
	maxReconnectsPerCall = 3
)

// ErrHandleLost reports an open that a reconnect could not reclaim (not
// durable, or the server no longer had it).
var ErrHandleLost = errors.New("smb: open lost with the connection and not reclaimed")

// canReconnect reports whether a lost connection is replaced: the
// Dialer allows it, the session has one channel, and it is not closing.
func (s *Session) canReconnect() bool {
	return !s.cfg.NoDurable && !s.cfg.NoReconnect && s.cfg.Channels <= 1 && !s.closing.Load() && s.signer != nil
}

// Reconnects returns how many times the session replaced a lost
// connection.
func (s *Session) Reconnects() int { return int(s.reconnects.Load()) }

// sessionID returns the SessionId of the current connection.
func (s *Session) sessionID() uint64 {
	s.chmu.Lock()
	defer s.chmu.Unlock()
	if len(s.chans) == 0 {
		return s.id
	}
	return s.chans[0].sid
}

// reconnect replaces the lost channel dead. Concurrent callers wait for
// one reconnect; a caller finding dead already replaced returns at once.
func (s *Session) reconnect(ctx context.Context, dead *channel) error {
	select {
	case s.rc <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.rc }()
	s.chmu.Lock()
	replaced := len(s.chans) > 0 && s.chans[0] != dead && s.chans[0].conn.failure() == nil
	s.chmu.Unlock()
	if replaced {
		return nil
	}
	if s.closing.Load() {
		return ErrClosed
	}
	deadline := time.Now().Add(s.durableTimeout())
	delay := firstReconnectDelay
	var err error
	for attempt := range maxReconnectAttempts {
		if attempt > 0 {
			if time.Now().Add(delay).After(deadline) {
				break
			}
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("smb: reconnect: %w (last error: %v)", ctx.Err(), err)
			}
			delay = min(2*delay, maxReconnectDelay)
		}
		if err = s.reconnectAny(ctx, dead); err == nil { // failover.go
			s.reconnects.Add(1)
			return nil
		}
		if ctx.Err() != nil || errors.Is(err, ErrClosed) || errors.Is(err, ErrBadSignature) || errors.Is(err, ErrValidateNegotiate) {
			break
		}
	}
	return fmt.Errorf("smb: reconnect to %s failed: %w", s.hostport, err)
}

// reconnectOnce makes one attempt: connect, log on with PreviousSessionId,
// reconnect the trees, reclaim the durable opens, publish the channel.
func (s *Session) reconnectOnce(ctx context.Context, dead *channel, to reconnectTarget) error {
	req, err := s.bindNegotiateRequest() // same ClientGuid, dialect, algorithm, cipher
	if err != nil {
		return err
	}
	c, neg, err := s.cfg.open(ctx, to.hostport, req, to.connectTimeout)
	if err != nil {
		return err
	}
	if err := s.checkSameServer(neg, to.hostport != s.firstHostport); err != nil {
		c.close()
		return err
	}
	tmp := newSession(&s.cfg, c, neg, to.host)
	tmp.hostport = to.hostport
	tmp.previousID = dead.sid
	if err := tmp.logon(ctx); err != nil {
		c.close()
		return fmt.Errorf("logon: %w", err)
	}
	if s.Encrypted() {
		if err := tmp.startEncryption("reconnect"); err != nil {
			c.close()
			return err
		}
	}
	c.onBreak.Store(&s.breakHook)
	s.omu.Lock()
	trees := make([]*tree, 0, len(s.trees))
	for t := range s.trees {
		trees = append(trees, t)
	}
	files := make([]*File, 0, len(s.files))
	for f := range s.files {
		files = append(files, f)
	}
	s.omu.Unlock()
	for _, t := range trees {
		nt, err := tmp.treeConnect(ctx, t.name)
		if err != nil {
			c.close()
			return fmt.Errorf("tree connect %s: %w", t.name, err)
		}
		t.id.Store(nt.id.Load())
	}
	for _, f := range files {
		if err := tmp.reclaim(ctx, f); err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || tmp.conn.failure() != nil {
				c.close()
				return err
			}
			f.markLost(err)
		}
	}
	s.chmu.Lock()
	if s.closing.Load() {
		// Close ran meanwhile: it has closed (or will close) the old
		// channels only.
		s.chmu.Unlock()
		c.close()
		return ErrClosed
	}
	for _, ch := range s.chans {
		s.retire(ch) // raises the ChannelSequence of later requests
	}
	s.chans = []*channel{tmp.chans[0]}
	s.chmu.Unlock()
	return nil
}

// checkSameServer refuses a reconnect that reached another server or
// negotiated other parameters; failover (another address of the
// Dialer's Failover list) allows another ServerGuid.
func (s *Session) checkSameServer(neg *negotiation, failover bool) error {
	first, now := &s.neg.info, &neg.info
	switch {
	case now.Dialect != first.Dialect:
		return invalidResponse("NEGOTIATE", fmt.Errorf("dialect %s on reconnect, session had %s", DialectName(now.Dialect), DialectName(first.Dialect)))
	case now.ServerGUID != first.ServerGUID && !failover:
		return invalidResponse("NEGOTIATE", errors.New("another ServerGuid on reconnect"))
	case now.SigningAlgorithm != first.SigningAlgorithm || now.Cipher != first.Cipher:
		return invalidResponse("NEGOTIATE", errors.New("another signing algorithm or cipher on reconnect"))
	}
	return nil
}

// reclaim reopens f's durable handle on the temporary session tmp
// [MS-SMB2 3.2.4.4]: DH2C with the FileId, CreateGuid and lease key (v2),
// DHnC with the FileId (v1), and the lease context with the current state.
// A file without a durable handle is lost.
func (tmp *Session) reclaim(ctx context.Context, f *File) error {
	f.cmu.Lock()
	durable, leased, state := f.durable, f.leased, f.lstate
	f.cmu.Unlock()
	if err := f.lost(); err != nil {
		return err
	}
	if !durable {
		return ErrHandleLost
	}
	wname, err := wirePath("open", f.name)
	if err != nil {
		return err
	}
	old := f.fileID()
	o := f.spec
	o.disposition = wire.FileOpen
	o.contexts = nil
	if f.v2 {
		b := make([]byte, 36) // FileId, CreateGuid, Flags (not persistent)
		wire.PutFileID(b, old)
		copy(b[16:], f.createGuid[:])
		o.contexts = append(o.contexts, wire.CreateContext{Name: wire.CtxNameDH2C, Data: b})
	} else {
		b := make([]byte, 16)
		wire.PutFileID(b, old)
		o.contexts = append(o.contexts, wire.CreateContext{Name: wire.CtxNameDHnC, Data: b})
	}
	if leased {
		o.oplock = wire.OplockLease
		o.contexts = append(o.contexts, f.leaseContext(state|LeaseRead|LeaseHandle))
	}
	sh := &Share{t: f.sh.t, ctx: ctx}
	r, err := sh.createOn(ctx, tmp, "reopen", f.name, wname, o)
	if err != nil {
		return err
	}
	f.cmu.Lock()
	defer f.cmu.Unlock()
	f.id.Store(&r.FileID)
	f.reclaims++
	f.dropReadCacheLocked() // the lease is kept, but the data is read again

	for _, c := range r.Contexts {
		if c.Name == wire.CtxNameRqLs && r.OplockLevel == wire.OplockLease {
			if l, err := wire.ParseLeaseContext(c.Data); err == nil && l.Key == f.lkey {
				f.lstate = l.State & (LeaseRead | LeaseHandle | LeaseWrite)
			}
		}
	}
	if leased && r.OplockLevel != wire.OplockLease {
		f.lstate = 0
	}
	return nil
}

// markLost records that f could not be reclaimed: its later calls fail
// with ErrHandleLost (and the reason), and its cached writes are gone.
func (f *File) markLost(why error) {
	f.cmu.Lock()
	defer f.cmu.Unlock()
	if f.lostp.Load() != nil {
		return
	}
	err := why
	if !errors.Is(why, ErrHandleLost) {
		err = fmt.Errorf("%w: %w", ErrHandleLost, why)
	}
	f.lstate = 0
	f.dropReadCacheLocked()
	if len(f.cache) > 0 {
		err = fmt.Errorf("%w (%d cached bytes not written)", err, len(f.cache))
		f.cache = f.cache[:0]
	}
	f.lostp.Store(&err)
}

// lost returns the reason f's handle is gone, or nil. It takes no lock:
// requests check it while a break holds f.cmu to flush.
func (f *File) lost() error {
	if p := f.lostp.Load(); p != nil {
		return *p
	}
	return nil
}

// fileID returns the file's current FileId.
func (f *File) fileID() wire.FileID { return *f.id.Load() }

// markReplay sets SMB2_FLAGS_REPLAY_OPERATION on a 3.x request sent
// again after its connection was lost [MS-SMB2 3.2.4.1.1].
func (s *Session) markReplay(msg []byte) {
	if s.Dialect() < Dialect300 {
		return
	}
	flags := binary.LittleEndian.Uint32(msg[16:])
	binary.LittleEndian.PutUint32(msg[16:], flags|wire.FlagReplayOperation)
}

// replayable reports whether x may be sent again after a reconnect.
func (x *exchange) replayable() bool { return x.reissue || x.replay }

// pathLost wraps a lost handle's error as the file's.
func (f *File) pathLost(op string) error {
	if err := f.lost(); err != nil {
		return &fs.PathError{Op: op, Path: f.name, Err: err}
	}
	return nil
}
