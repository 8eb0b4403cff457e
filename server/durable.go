package server

import (
	"context"
	"encoding/binary"
	"strings"
	"sync/atomic"
	"time"

	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/state"
	"github.com/signetsmb/signet/internal/wire"
)

// Durable handles (MS-SMB2 3.3.5.9.6, 3.3.5.9.7, 3.3.5.9.10, 3.3.5.9.12,
// 3.3.7.1). An open granted a durable handle (v1 DHnQ, v2 DH2Q) survives
// the loss of its connection: when the session ends because its last
// channel was lost (or because the client's reconnect named it as its
// PreviousSessionId), the open is not closed but parked in
// Server.durables, out of the open table, still on its file node with its
// share modes, byte-range locks and lease or oplock. The same user (and,
// for v2, the same client and CreateGuid) reclaims it with DHnC/DH2C
// within its timeout and gets it back under a new FileId; otherwise the
// scavenger closes it when the timeout ends. A conflicting open that needs
// a break from a parked open (whose holder cannot acknowledge) closes it
// instead, as Windows does for handles that are not persistent. LOGOFF,
// TREE_DISCONNECT and revocation close durable opens like any other.
//
// Ownership: an open's durable fields are guarded by nodeTable.mu; a
// parked open belongs to the Durables table, and whoever Takes it from
// there (reconnect, scavenger, purge) owns it from then on. The
// scavenger is one goroutine of the Server, started with the first Serve
// and stopped by Shutdown, which closes what is still parked.

const (
	// defaultDurableTimeout is the timeout of v1 handles and of v2
	// handles that ask for none (Windows: 60 s).
	defaultDurableTimeout = 60 * time.Second
	// maxDurableTimeout caps what a v2 request may ask for (5 min).
	maxDurableTimeout = 5 * time.Minute
)

// durableState is an open's durable handle; guarded by nodeTable.mu.
type durableState struct {
	v1, v2       bool
	createGuid   [16]byte
	clientGUID   [16]byte
	owner        string // account that may reclaim it
	timeout      time.Duration
	disconnected bool
	// parked is made when disconnected is set and closed once the open is
	// in Server.durables. Between the two, a CREATE that must purge it
	// (startBreaks) finds nothing to Take; it waits on parked instead of
	// retrying (purgeParked).
	parked     chan struct{}
	action     uint32       // the CREATE's CreateAction, for a replay
	replayable bool         // made with a DH2Q: createGuid names it for a replay
	app        *appInstance // SMB2_CREATE_APP_INSTANCE_ID (appinstance.go)
}

func (d *durableState) on() bool { return d.v1 || d.v2 }

// durableRequest is what a CREATE asks for: a new durable handle (DHnQ or
// DH2Q) or the reconnect of one (DHnC or DH2C).
type durableRequest struct {
	v2         bool
	reconnect  bool
	fileID     wire.FileID
	createGuid [16]byte
	timeout    time.Duration
}

// parseDurable reads the durable handle contexts of a CREATE
// [MS-SMB2 2.2.13.2.3-2.2.13.2.12, 3.3.5.9].
func (cc *createCall) parseDurable() error {
	d := cc.dialect()
	v3 := d >= wire.Dialect300 && d != wire.DialectWildcard
	dhnq, hasQ := cc.ctxs[wire.CtxNameDHnQ]
	dhnc, hasC := cc.ctxs[wire.CtxNameDHnC]
	dh2q, has2Q := cc.ctxs[wire.CtxNameDH2Q]
	dh2c, has2C := cc.ctxs[wire.CtxNameDH2C]
	if !v3 {
		has2Q, has2C = false, false // 2.x ignores the v2 contexts
	}
	switch {
	case has2C && (hasQ || hasC || has2Q), has2Q && (hasQ || hasC):
		return ntstatus.InvalidParameter
	case has2C:
		if len(dh2c) < 36 {
			return ntstatus.InvalidParameter
		}
		d := &durableRequest{v2: true, reconnect: true, fileID: wire.GetFileID(dh2c)}
		copy(d.createGuid[:], dh2c[16:32])
		cc.durable = d
	case hasC:
		if len(dhnc) < 16 {
			return ntstatus.InvalidParameter
		}
		cc.durable = &durableRequest{reconnect: true, fileID: wire.GetFileID(dhnc)}
	case has2Q:
		if len(dh2q) < 32 {
			return ntstatus.InvalidParameter
		}
		d := &durableRequest{v2: true, timeout: time.Duration(binary.LittleEndian.Uint32(dh2q)) * time.Millisecond}
		copy(d.createGuid[:], dh2q[16:32])
		if d.timeout == 0 {
			d.timeout = defaultDurableTimeout
		}
		d.timeout = min(d.timeout, maxDurableTimeout)
		cc.durable = d
	case hasQ:
		if len(dhnq) < 16 {
			return ntstatus.InvalidParameter
		}
		cc.durable = &durableRequest{timeout: defaultDurableTimeout}
	}
	return nil
}

// grantDurable makes o durable when it holds what a durable handle needs
// (a batch oplock, or a lease with handle caching) and returns the
// response context, or nil.
func (cc *createCall) grantDurable(o *open, level uint8) *wire.CreateContext {
	cc.recordAppInstance(o)
	d := cc.durable
	if d == nil || d.reconnect || o.isDir {
		return nil
	}
	owner := cc.r.sess.account() // session.mu ranks before nodeTable.mu
	t := &cc.r.c.srv.nodes
	t.mu.Lock()
	ok := level == wire.OplockBatch || o.lease != nil && o.lease.state&wire.LeaseHandle != 0
	// The CreateGuid identifies the open for a replay even when no
	// durable handle was granted [MS-SMB2 3.3.5.9.10].
	o.dur = durableState{createGuid: d.createGuid, clientGUID: cc.r.c.clientGUID, owner: owner,
		action: cc.action, replayable: d.v2, app: o.dur.app}
	if ok {
		o.dur.v1, o.dur.v2, o.dur.timeout = !d.v2, d.v2, d.timeout
	}
	t.mu.Unlock()
	if !ok || !cc.r.c.srv.clusterDurableGranted(o) { // cluster_durable.go
		return nil
	}
	if !d.v2 {
		return &wire.CreateContext{Name: wire.CtxNameDHnQ, Data: make([]byte, 8)}
	}
	b := make([]byte, 8) // Timeout, Flags (not persistent)
	binary.LittleEndian.PutUint32(b, uint32(d.timeout/time.Millisecond))
	return &wire.CreateContext{Name: wire.CtxNameDH2Q, Data: b}
}

// reconnectDurable reclaims a parked durable open [MS-SMB2 3.3.5.9.7,
// 3.3.5.9.12]: same user, same kind of handle, for v2 the same client and
// CreateGuid, and the same lease key when the open has a lease.
func (cc *createCall) reconnectDurable(w *response) error {
	r := cc.r
	srv := r.c.srv
	d := cc.durable
	id := state.FileID(d.fileID)
	o, ok := srv.durables.Peek(id)
	if !ok {
		// Parked meanwhile, or just now (after the first look and
		// before awaitParking's): look again either way.
		srv.awaitParking(r.ctx(), d.fileID, r.sess.account(), r.c)
		o, ok = srv.durables.Peek(id)
	}
	if !ok {
		return cc.clusterReclaim(w) // cluster_durable.go; not found unless clustered
	}
	opath, account := o.pathNow(), r.sess.account()
	t := &srv.nodes
	t.mu.Lock()
	match := o.dur.disconnected && o.dur.owner != "" && o.dur.owner == account &&
		o.tree.share == r.tree.share
	if d.v2 {
		// A DH2C names the CreateGuid; a v1 handle has a zero one, so a
		// DH2C naming none reclaims it, as Samba does. A DHnC reclaims
		// either kind.
		match = match && o.dur.createGuid == d.createGuid
	}
	switch {
	case o.lease != nil:
		// The lease (client and key) must match, and so must the name
		// (a wrong name with the right lease is an invalid request).
		match = match && cc.lease != nil && cc.lease.id == o.lease.id
		if match && !samePath(cc.req.Name, opath) {
			t.mu.Unlock()
			return ntstatus.InvalidParameter
		}
	case cc.lease != nil:
		match = false
	}
	t.mu.Unlock()
	if !match {
		return ntstatus.ObjectNameNotFound
	}
	if _, ok := srv.durables.Take(id); !ok {
		return ntstatus.ObjectNameNotFound // scavenged or reclaimed meanwhile
	}
	// The open moves to this session: it counts against its allowance.
	old := o.sess
	t.mu.Lock()
	o.refsMu.Lock() // requests of the lost connection may still resolve it
	o.conn, o.sess, o.tree = r.c, r.sess, r.tree
	o.refsMu.Unlock()
	o.dur.disconnected = false
	o.dur.clientGUID = r.c.clientGUID

	_, err := srv.files.Insert(func(nid state.FileID) *open {
		o.id = wire.FileID(nid)
		return o
	})
	t.mu.Unlock()
	if o.counted {
		old.opens.Add(-1)
		r.sess.opens.Add(1)
	}
	if err != nil {
		o.release()
		return ntstatus.InsufficientResources
	}
	if err := srv.clusterDurableUnpark(o); err != nil { // cluster_durable.go
		srv.forgetOpen(o)
		o.release()
		return err
	}
	if !r.tree.addOpen(o) {
		srv.forgetOpen(o)
		o.release()
		return ntstatus.NetworkNameDeleted
	}
	r.fileID = o.id
	return cc.respondReconnect(o, w)
}

// belongsTo reports whether o is an open of tree t in session s. It reads
// the owner under refsMu because a durable reconnect moves the open while
// requests of the lost connection may still be resolving its FileId.
func (o *open) belongsTo(t *treeConnect, s *session) bool {
	o.refsMu.Lock()
	defer o.refsMu.Unlock()
	return o.tree == t && o.sess == s
}

// respondReconnect answers a reconnect with the open's current state.
func (cc *createCall) respondReconnect(o *open, w *response) error {
	fi, err := o.file.Stat()
	if err != nil {
		return statusOf(err)
	}
	info := fileInfoOf(&fi, o)
	t := &cc.r.c.srv.nodes
	t.mu.Lock()
	level := o.op.level
	var lease *wire.LeaseContext
	if o.lease != nil {
		level = wire.OplockLease
		lease = o.lease.responseLocked()
	}
	t.mu.Unlock()
	resp := newCreateResponse(level, wire.FileOpened, &info, o.id)
	if lease != nil {
		resp.Contexts = append(resp.Contexts, wire.CreateContext{Name: wire.CtxNameRqLs, Data: lease.Marshal()})
	}
	// A reconnect answers no durable handle context (the handle stays
	// what it was), as Windows and Samba do.
	w.buf = wire.AppendCreateResponse(w.buf, resp)
	return nil
}

// parkDurable keeps a durable open of a session lost with its connection
// for its timeout; false when o is not durable (the caller closes it).
func (s *Server) parkDurable(o *open) bool {
	if s.isClosed() {
		// Shutting down: nothing here will reclaim it; in a cluster the
		// other nodes may (cluster_durable.go).
		s.clusterHandOver(o)
		return false
	}
	t := &s.nodes
	t.mu.Lock()
	// An open with a break outstanding is closed, not kept: its holder
	// can no longer acknowledge, and the open waiting for it proceeds
	// (smb2.durable-open.oplock when the connection loss is noticed
	// after the break was sent).
	ok := o.dur.on() && !o.dur.disconnected && !o.op.breaking && (o.lease == nil || !o.lease.breaking)
	var inTable chan struct{}
	if ok {
		inTable = make(chan struct{})
		o.dur.disconnected, o.dur.parked = true, inTable
	}
	timeout := o.dur.timeout
	t.mu.Unlock()
	if !ok {
		return false
	}
	defer close(inTable)
	if h := parkingHook.Load(); h != nil {
		(*h)()
	}
	s.forgetOpen(o)
	cancelOpenEverywhere(o)
	parked := s.clusterDurableParking(o) // cluster_durable.go
	s.durables.Park(state.FileID(o.id), o, s.opts.Now().Add(timeout))
	parked()
	s.kickScavenger()
	return true
}

// reconnectGrace is how long a durable reconnect waits for the server to
// finish with the connection the client lost (awaitParking).
const reconnectGrace = time.Second

// awaitParking lets a durable reconnect that arrives before the server has
// noticed the loss of the old connection, or before that connection's
// teardown has parked the open, find it parked: while id names a live
// durable open of the same account made on another connection, it waits
// (at most reconnectGrace) until the teardown has parked it. A client reconnects a durable handle only after losing
// its connection, and the server sees the loss a moment later
// (smbtorture's durable-open tests reconnect at once); an open whose
// connection really is alive is still refused after the wait, as MS-SMB2
// 3.3.5.9.7 says. An open closed instead of parked ends the wait.
func (s *Server) awaitParking(ctx context.Context, id wire.FileID, account string, requester *conn) {
	o := s.lookupOpen(id)
	if o == nil {
		return
	}
	o.refsMu.Lock()
	same := o.conn == requester
	o.refsMu.Unlock()
	if same {
		return
	}
	deadline := time.NewTimer(reconnectGrace)
	defer deadline.Stop()
	t := &s.nodes
	for {
		t.mu.Lock()
		mine := o.dur.on() && o.dur.owner != "" && o.dur.owner == account
		closed := o.op.closed
		var parked chan struct{}
		if o.dur.disconnected {
			parked = o.dur.parked // closed once it is in Server.durables
		}
		t.mu.Unlock()
		if !mine || closed {
			return
		}
		var poll <-chan time.Time
		if parked == nil {
			poll = time.After(10 * time.Millisecond) // the teardown has not reached it yet
		}
		select {
		case <-parked:
			return
		case <-poll:
		case <-deadline.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

// parkingHook, when set (tests only), runs in parkDurable after the open
// is marked disconnected and before it is in Server.durables: the window
// a conflicting CREATE must wait out (TestPurgeWhileParking).
var parkingHook atomic.Pointer[func()]

// parkedOpen is a disconnected durable open that a CREATE must close
// (startBreaks): its FileId and the channel closed once it is parked.
type parkedOpen struct {
	id     wire.FileID
	parked <-chan struct{}
}

// purgeParked closes the parked opens of purge, each once it is in
// Server.durables (its connection's teardown may still be parking it);
// an open reclaimed or closed meanwhile is left alone. It returns
// ctx's cause if ctx ends first.
func (s *Server) purgeParked(ctx context.Context, purge []parkedOpen) error {
	for _, p := range purge {
		if p.parked != nil {
			select {
			case <-p.parked:
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		}
		s.purgeDurable(p.id)
	}
	return nil
}

// purgeDurable closes a parked open now (a conflicting open needs a break
// its holder cannot acknowledge), if nobody took it first.
func (s *Server) purgeDurable(id wire.FileID) {
	if o, ok := s.durables.Take(state.FileID(id)); ok {
		o.release()
	}
}

// kickScavenger wakes the scavenger to look at the next expiry.
func (s *Server) kickScavenger() {
	select {
	case s.scavKick <- struct{}{}:
	default:
	}
}

// startScavengerLocked starts the scavenger of parked durable opens.
// s.mu held.
func (s *Server) startScavengerLocked() {
	if s.scavStop != nil || s.closed {
		return
	}
	s.scavStop = make(chan struct{})
	stop := s.scavStop
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.scavengeLoop(stop)
	}()
}

// scavengeLoop closes parked durable opens when their timeout ends, until
// stop is closed; then it closes every open still parked.
func (s *Server) scavengeLoop(stop <-chan struct{}) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		next := s.durables.NextExpiry()
		wait := time.Hour
		if !next.IsZero() {
			wait = max(next.Sub(s.opts.Now()), time.Millisecond)
		}
		timer.Reset(wait)
		select {
		case <-stop:
			s.durables.Range(func(id state.FileID, _ *open) bool {
				if o, ok := s.durables.Take(id); ok {
					s.clusterHandOver(o) // cluster_durable.go
					o.release()
				}
				return true
			})
			return
		case <-s.scavKick:
		case <-timer.C:
		}
		for _, id := range s.durables.Expired(s.opts.Now()) {
			if o, ok := s.durables.Take(id); ok {
				s.log.Info("durable handle expired", "path", o.pathNow())
				o.release()
			}
		}
	}
}

// samePath reports whether the SMB name of a reconnect names the open's
// file (share-relative path, compared as Windows does, ignoring case).
func samePath(name, p string) bool {
	parts, err := smbToPath(name)
	if err != nil {
		return false
	}
	return strings.EqualFold(strings.Join(parts, "/"), p)
}
