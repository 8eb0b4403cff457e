package client

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"os"
	"time"

	"github.com/signetsmb/signet/internal/wire"
)

// Lease states a File can hold [MS-SMB2 2.2.13.2.8].
const (
	LeaseRead   = wire.LeaseRead
	LeaseHandle = wire.LeaseHandle
	LeaseWrite  = wire.LeaseWrite
)

// defaultWriteCache bounds the write cache when Dialer.WriteCache is
// zero.
const defaultWriteCache = 1 << 20

// defaultDurableTimeout is the DH2Q timeout asked for when
// Dialer.DurableTimeout is zero (Windows' default).
const defaultDurableTimeout = 60 * time.Second

// maxQueuedBreaks bounds the break notifications waiting for the breaker
// goroutine; the server sends at most one per lease or oplock at a time,
// so only a misbehaving server reaches it (the excess is dropped, and the
// server then times the break out).
const maxQueuedBreaks = 1024

// LeaseInfo is what a File holds from the server (File.Lease).
type LeaseInfo struct {
	// State is the current lease state, a combination of LeaseRead,
	// LeaseHandle and LeaseWrite; zero when the open has no lease or the
	// lease was broken to none.
	State uint32
	// Leased reports whether the server granted a lease on the open.
	Leased bool
	// Key is the lease key the client chose.
	Key [16]byte
	// Durable reports a durable handle (v2 on 3.x, v1 on 2.1), which the
	// client reclaims after a lost connection.
	Durable bool
	// Reclaimed counts the reconnects that reclaimed the handle.
	Reclaimed int
}

// Lease returns the file's lease and durable-handle state.
func (f *File) Lease() LeaseInfo {
	f.cmu.Lock()
	defer f.cmu.Unlock()
	return LeaseInfo{State: f.lstate, Leased: f.leased, Key: f.lkey, Durable: f.durable, Reclaimed: f.reclaims}
}

// wantsLeases reports whether CREATE asks for leases: not turned off,
// 2.1 or later, and the server offers SMB2_GLOBAL_CAP_LEASING.
func (s *Session) wantsLeases() bool {
	return !s.cfg.NoLeases && s.Dialect() >= Dialect210 && s.neg.info.Capabilities&wire.CapLeasing != 0
}

// wantsDurable reports whether CREATE asks for a durable handle (which the
// server grants only with a handle-caching lease).
func (s *Session) wantsDurable() bool { return !s.cfg.NoDurable && s.wantsLeases() }

// durableTimeout is the DH2Q timeout asked for.
func (s *Session) durableTimeout() time.Duration {
	if s.cfg.DurableTimeout > 0 {
		return s.cfg.DurableTimeout
	}
	return defaultDurableTimeout
}

// writeCacheLimit is the write-behind bound; 0 means no caching.
// minWriteCacheCap is the first capacity of a file's write cache.
const minWriteCacheCap = 16 << 10

func (s *Session) writeCacheLimit() int {
	switch {
	case s.cfg.WriteCache < 0:
		return 0
	case s.cfg.WriteCache == 0:
		return min(defaultWriteCache, s.writeSize)
	}
	return min(s.cfg.WriteCache, s.writeSize)
}

// leaseRequest fills in the lease and durable-handle contexts of a new
// open of a file [MS-SMB2 3.2.4.3.8, 3.2.4.3.4, 3.2.4.3.5]: a lease (v2
// on 3.x, v1 on 2.1) asking for read and handle caching, and write
// caching when the open may write; a durable v2 handle with a random
// CreateGuid on 3.x, v1 on 2.1.
func (s *Session) leaseRequest(o *openSpec, f *File) error {
	if !s.wantsLeases() || o.options&wire.FileDirectoryFile != 0 {
		return nil
	}
	if _, err := rand.Read(f.lkey[:]); err != nil {
		return err
	}
	state := LeaseRead | LeaseHandle
	if o.access&wire.FileWriteData != 0 {
		state |= LeaseWrite
	}
	f.v2 = s.Dialect() >= Dialect300
	o.oplock = wire.OplockLease
	o.contexts = append(o.contexts, f.leaseContext(state))
	if !s.wantsDurable() {
		return nil
	}
	if !f.v2 {
		o.contexts = append(o.contexts, wire.CreateContext{Name: wire.CtxNameDHnQ, Data: make([]byte, 16)})
		return nil
	}
	if _, err := rand.Read(f.createGuid[:]); err != nil {
		return err
	}
	b := make([]byte, 32) // Timeout, Flags (not persistent), Reserved, CreateGuid
	binary.LittleEndian.PutUint32(b, uint32(s.durableTimeout()/time.Millisecond))
	copy(b[16:], f.createGuid[:])
	o.contexts = append(o.contexts, wire.CreateContext{Name: wire.CtxNameDH2Q, Data: b})
	return nil
}

// leaseContext is the RqLs context asking for state with the file's key.
func (f *File) leaseContext(state uint32) wire.CreateContext {
	l := &wire.LeaseContext{V2: f.v2, Key: f.lkey, State: state}
	return wire.CreateContext{Name: wire.CtxNameRqLs, Data: l.Marshal()}
}

// adoptGrant records what the CREATE response granted: a lease (when
// the oplock level says so and the RqLs context echoes our key) and a
// durable handle.
func (f *File) adoptGrant(r *wire.CreateResponse) error {
	f.cmu.Lock()
	defer f.cmu.Unlock()
	for _, c := range r.Contexts {
		switch c.Name {
		case wire.CtxNameRqLs:
			if r.OplockLevel != wire.OplockLease {
				continue
			}
			l, err := wire.ParseLeaseContext(c.Data)
			if err != nil {
				return invalidResponse("CREATE", err)
			}
			if l.Key != f.lkey {
				return invalidResponse("CREATE", fmt.Errorf("lease granted for another key"))
			}
			f.leased, f.lstate, f.epoch = true, l.State&(LeaseRead|LeaseHandle|LeaseWrite), l.Epoch
			f.sh.t.s.startBreaker()
		case wire.CtxNameDH2Q, wire.CtxNameDHnQ:
			f.durable = true
		}
	}
	return nil
}

// breakMsg is a break notification waiting for the breaker goroutine.
type breakMsg []byte

// enqueueBreak is the connection's hook for unsolicited OPLOCK_BREAK
// messages; it runs in the connection's reader and never blocks.
func (s *Session) enqueueBreak(m []byte) {
	s.bmu.Lock()
	if len(s.bq) < maxQueuedBreaks {
		s.bq = append(s.bq, breakMsg(m))
	}
	s.bmu.Unlock()
	select {
	case s.bsig <- struct{}{}:
	default:
	}
}

// startBreaker starts the session's breaker goroutine, once, when the
// first open gets a lease (or an oplock). It is owned by the session:
// Close stops it (quit) and waits for it (bdone); after Close it is never
// started. It handles one break at a time, in arrival order: it flushes
// the writes a broken lease may no longer cache, then acknowledges.
func (s *Session) startBreaker() {
	s.breakerOnce.Do(s.runBreaker)
}

func (s *Session) runBreaker() {
	s.quit, s.bdone = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(s.bdone)
		for {
			select {
			case <-s.quit:
				return
			case <-s.bsig:
			}
			for {
				s.bmu.Lock()
				if len(s.bq) == 0 {
					s.bmu.Unlock()
					break
				}
				m := s.bq[0]
				s.bq = s.bq[1:]
				s.bmu.Unlock()
				s.handleBreak(m)
			}
		}
	}()
}

// stopBreaker ends the breaker goroutine and waits for it.
func (s *Session) stopBreaker() {
	s.breakerOnce.Do(func() {}) // never started after this
	if s.quit == nil {
		return
	}
	close(s.quit)
	<-s.bdone
}

// breakTimeout bounds the flush and acknowledgment of one break (the
// server waits 35 s before it gives the lease up).
const breakTimeout = 30 * time.Second

// handleBreak processes one lease break notification or oplock break
// [MS-SMB2 3.2.5.19.1, 3.2.5.19.2]. Cached writes are sent before the
// acknowledgment when the new state has no write caching; a flush error
// is kept on the file and reported by its next call.
func (s *Session) handleBreak(m []byte) {
	ctx, cancel := context.WithTimeout(context.Background(), breakTimeout)
	defer cancel()
	if len(m) < wire.HeaderSize+24 {
		return
	}
	switch binary.LittleEndian.Uint16(m[wire.HeaderSize:]) { // StructureSize
	case wire.LeaseBreakSize:
		if lb, err := wire.ParseLeaseBreak(m); err == nil {
			s.leaseBreak(ctx, lb)
		}
	case 24:
		s.oplockBreak(ctx, m[wire.HeaderSize+2], wire.GetFileID(m[wire.HeaderSize+8:]))
	}
}

func (s *Session) leaseBreak(ctx context.Context, lb *wire.LeaseBreak) {
	f := s.fileByLease(lb.Key)
	if f == nil {
		return // not ours (any more): the server times the break out
	}
	newState := lb.NewState & (LeaseRead | LeaseHandle | LeaseWrite)
	f.cmu.Lock()
	f.lstate &= newState
	f.breaks++
	if newState&LeaseRead == 0 {
		// Purge the cached data before acknowledging [MS-SMB2 3.2.5.19.2].
		f.dropReadCacheLocked()
	}
	if newState&LeaseWrite == 0 {
		if err := f.flushLocked(ctx); err != nil {
			f.cacheErr = err
		}
	}
	f.cmu.Unlock()
	if lb.Flags&wire.LeaseBreakAckRequired == 0 {
		return
	}
	msg := wire.AppendLeaseAck(newMessage(wire.CmdOplockBreak, wire.LeaseAckSize), &wire.LeaseAck{Key: lb.Key, State: newState})
	s.simple(ctx, &exchange{msg: msg, t: f.sh.t}) // a refusal only means the lease is gone
}

func (s *Session) oplockBreak(ctx context.Context, level uint8, id wire.FileID) {
	f := s.fileByID(id)
	if f == nil {
		return
	}
	f.cmu.Lock()
	f.breaks++
	if level == wire.OplockNone {
		f.dropReadCacheLocked()
	}
	if err := f.flushLocked(ctx); err != nil {
		f.cacheErr = err
	}
	f.cmu.Unlock()
	msg := wire.AppendOplockBreak(newMessage(wire.CmdOplockBreak, 24), level, id)
	s.simple(ctx, &exchange{msg: msg, t: f.sh.t, f: f, fidAt: wire.HeaderSize + 8})
}

// fileByLease returns the open file holding key.
func (s *Session) fileByLease(key [16]byte) *File {
	s.omu.Lock()
	defer s.omu.Unlock()
	for f := range s.files {
		if f.leased && f.lkey == key {
			return f
		}
	}
	return nil
}

// fileByID returns the open file with id.
func (s *Session) fileByID(id wire.FileID) *File {
	s.omu.Lock()
	defer s.omu.Unlock()
	for f := range s.files {
		if f.fileID() == id {
			return f
		}
	}
	return nil
}

// track and untrack maintain the session's table of open files, which
// breaks and reconnects consult.
func (s *Session) track(f *File) {
	s.omu.Lock()
	if s.files == nil {
		s.files = make(map[*File]struct{})
	}
	s.files[f] = struct{}{}
	s.omu.Unlock()
}

func (s *Session) untrack(f *File) {
	s.omu.Lock()
	delete(s.files, f)
	s.omu.Unlock()
}

// Write caching. Under a lease with write caching, File.Write keeps
// sequential small writes in f.cache (at most writeCacheLimit bytes,
// contiguous from cacheOff) and sends them later: when the cache is full
// or a write is not contiguous, before any other operation on the file
// (reads, stats, sync, truncate, close), and before acknowledging a break
// that takes write caching away [MS-SMB2 3.2.5.19.2].

// cacheWrite tries to keep p (to be written at off) in the cache; it
// reports whether it did. f.mu is held.
func (f *File) cacheWrite(p []byte, off int64) (bool, error) {
	limit := f.sh.t.s.writeCacheLimit()
	if limit == 0 || len(p) > limit || f.flag&(os.O_APPEND|os.O_SYNC) != 0 {
		return false, f.flushCache()
	}
	f.cmu.Lock()
	defer f.cmu.Unlock()
	f.dropReadCacheLocked() // data this client writes is not kept for reading
	if err := f.takeCacheErr(); err != nil {
		return false, err
	}
	if f.lstate&LeaseWrite == 0 {
		return false, f.flushLocked(f.sh.ctx)
	}
	if len(f.cache) > 0 && (f.cacheOff+int64(len(f.cache)) != off || len(f.cache)+len(p) > limit) {
		if err := f.flushLocked(f.sh.ctx); err != nil {
			return false, err
		}
	}
	if len(f.cache) == 0 {
		f.cacheOff = off
	}
	if need := len(f.cache) + len(p); need > cap(f.cache) {
		// Grow by doubling up to the limit rather than taking the whole
		// limit at the first write: most files written are small, and a
		// 1 MiB buffer per file made the garbage collector the cost of
		// small-file work.
		grown := make([]byte, len(f.cache), min(max(2*cap(f.cache), need, minWriteCacheCap), limit))
		copy(grown, f.cache)
		f.cache = grown
	}
	f.cache = append(f.cache, p...)
	return true, nil
}

// takeCacheErr returns and clears the error of a flush made by a break;
// f.cmu is held.
func (f *File) takeCacheErr() error {
	err := f.cacheErr
	f.cacheErr = nil
	return err
}

// flushCache sends the cached writes.
func (f *File) flushCache() error {
	f.cmu.Lock()
	defer f.cmu.Unlock()
	if err := f.takeCacheErr(); err != nil {
		return err
	}
	return f.flushLocked(f.sh.ctx)
}

// flushLocked sends the cached writes; f.cmu is held. What was written is
// dropped from the cache even on error.
func (f *File) flushLocked(ctx context.Context) error {
	for len(f.cache) > 0 {
		n, err := f.writeChunk(ctx, f.cache, f.cacheOff)
		f.cacheOff += int64(n)
		f.cache = f.cache[:copy(f.cache, f.cache[n:])]
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("smb: server accepted no bytes of a cached write")
		}
	}
	return nil
}

// flushFiles sends the writes cached in the open files of tree t (all
// trees when t is nil), before the tree or the session goes away; errors
// stay on the files.
func (s *Session) flushFiles(t *tree) {
	s.omu.Lock()
	var files []*File
	for f := range s.files {
		if t == nil || f.sh.t == t {
			files = append(files, f)
		}
	}
	s.omu.Unlock()
	for _, f := range files {
		f.cmu.Lock()
		if err := f.flushLocked(f.sh.ctx); err != nil && f.cacheErr == nil {
			f.cacheErr = err
		}
		f.cmu.Unlock()
	}
}

// Cached returns the number of written bytes the file still holds back
// under its write-caching lease.
func (f *File) Cached() int {
	f.cmu.Lock()
	defer f.cmu.Unlock()
	return len(f.cache)
}
