package server

import (
	"net"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/signetsmb/signet/internal/smbcrypto"
	"github.com/signetsmb/signet/internal/wire"
)

// This file is the operations view of the server: the session snapshot
// behind `signet status`, administrative session closing, signing audit
// (require_signing = "audit") and the Observer that metrics adapters
// implement.
//
// Ownership and locks. opsState lives in Server.ops; its audit log is
// guarded by auditLog.mu, a leaf of the lock order (rank 9): code holding
// it calls nothing else. sessionOps lives in session.ops and is atomics
// only. Sessions and CloseSessions take no lock while ranging over the
// server-wide session table, then one session.mu at a time.

// Audit reasons: what require_signing = true would have refused.
const (
	// AuditUnsigned: an established session sent a request without a
	// signature (a client that signs only when the server requires it,
	// or one that cannot sign). Under "required" such a request is
	// refused with STATUS_ACCESS_DENIED.
	AuditUnsigned = "unsigned"
	// AuditGuest: a guest logon, which cannot sign; refused when required.
	AuditGuest = "guest"
	// AuditAnonymous: an anonymous (null) logon; refused when required.
	AuditAnonymous = "anonymous"
	// AuditDialect: the session's dialect is below Settings.AuditMinDialect.
	AuditDialect = "dialect"
	// AuditAlgorithm: the session signs with an algorithm weaker than
	// Settings.AuditMinSigning.
	AuditAlgorithm = "signing_algorithm"
	// AuditEncryption: a session that cannot encrypt used, or was refused,
	// an encrypted share or a server that encrypts everything (Windows'
	// "Audit client does not support encryption"; encrypt.go).
	AuditEncryption = "encryption"
)

// auditReasons lists the reasons in a fixed order (bit i of
// sessionOps.audited is auditReasons[i]).
var auditReasons = []string{AuditUnsigned, AuditGuest, AuditAnonymous, AuditDialect, AuditAlgorithm, AuditEncryption}

// AuditEvent is one session that signing-required would have refused,
// recorded once per session and reason while Settings.AuditSigning is set.
type AuditEvent struct {
	Time             time.Time `json:"time"`
	SessionID        uint64    `json:"session_id"`
	Client           string    `json:"client"` // host:port of the channel the event was seen on
	User             string    `json:"user"`   // as typed by the client; "" for anonymous
	Domain           string    `json:"domain,omitempty"`
	Dialect          string    `json:"dialect"`
	SigningAlgorithm string    `json:"signing_algorithm"`
	Reason           string    `json:"reason"`
}

// AuditEntry groups the audit events of one client host, user and
// reason, for `signet audit report`.
type AuditEntry struct {
	Client           string    `json:"client"` // host only: each connection has its own port
	User             string    `json:"user"`
	Reason           string    `json:"reason"`
	Count            int64     `json:"count"` // sessions
	First            time.Time `json:"first"`
	Last             time.Time `json:"last"`
	Dialect          string    `json:"dialect"` // of the newest session
	SigningAlgorithm string    `json:"signing_algorithm"`
}

// maxAuditEvents bounds the audit log kept in memory; older events are
// dropped (their counts stay in AuditCounts).
const maxAuditEvents = 4096

// auditLog is a ring of the newest audit events and counts per reason.
type auditLog struct {
	mu     orderedMutex[rankLeaf]
	events []AuditEvent // ring, len <= maxAuditEvents
	next   int          // ring position of the next write once full
	counts [6]int64     // by auditReasons index
}

func (l *auditLog) add(ev AuditEvent, reason int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.counts[reason]++
	if len(l.events) < maxAuditEvents {
		l.events = append(l.events, ev)
		return
	}
	l.events[l.next] = ev
	l.next = (l.next + 1) % maxAuditEvents
}

// newest returns the events, newest first.
func (l *auditLog) newest() []AuditEvent {
	l.mu.Lock()
	out := make([]AuditEvent, 0, len(l.events))
	out = append(out, l.events[l.next:]...)
	out = append(out, l.events[:l.next]...)
	l.mu.Unlock()
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// opsState is the server's part of this file (Server.ops).
type opsState struct {
	audit auditLog
}

// sessionOps is a session's part of this file (session.ops): request
// counts and the audit reasons already recorded. Atomics only.
type sessionOps struct {
	established  atomic.Int64 // unix nanoseconds; 0 until established
	signedReqs   atomic.Int64
	unsignedReqs atomic.Int64
	audited      atomic.Uint32 // bit per auditReasons index
	guestOrAnon  atomic.Uint32 // 1 guest, 2 anonymous
	noEncryption atomic.Bool   // cannot encrypt on a server that encrypts (encrypt.go)
	ended        atomic.Bool
}

// Observer receives the server's events, for metrics. Methods are called
// from many goroutines at once, with no server lock held, and must not
// block. A nil Options.Observer observes nothing.
type Observer interface {
	// Request follows every request the pipeline processed.
	Request(RequestEvent)
	// SessionEstablished and SessionEnded bracket every established
	// session (a session that ends during authentication has neither).
	SessionEstablished(SessionInfo)
	SessionEnded(SessionInfo)
	// SessionRefused follows every refused logon, by reason
	// ("logon_failure", "anonymous_signing_required", "anonymous_not_allowed",
	// "max_sessions").
	SessionRefused(reason string)
	// SignatureRefused follows every refused request: "bad_signature" or
	// "unsigned" (an unsigned request on a session that must sign).
	SignatureRefused(reason string)
	// Audit follows every audit event.
	Audit(AuditEvent)
}

// RequestEvent is one processed request.
type RequestEvent struct {
	Command  string        // "READ", "CREATE", ...
	Signed   bool          // arrived signed and verified
	Status   uint32        // NTSTATUS of the response
	Duration time.Duration // from processing start to the response built
	// BytesIn and BytesOut are the request and response message sizes
	// (SMB2 header included): READ's out and WRITE's in carry the file data.
	BytesIn, BytesOut int
}

// SessionInfo describes one session, for `signet status` (what smbstatus
// and Get-SmbSession show).
type SessionInfo struct {
	ID      uint64   `json:"session_id"`
	User    string   `json:"user"`
	Domain  string   `json:"domain,omitempty"`
	Clients []string `json:"clients"` // host:port of each channel
	Dialect string   `json:"dialect"`
	// SigningAlgorithm is the algorithm the session signs with
	// ("AES-128-GMAC", "AES-128-CMAC", "HMAC-SHA256"); "" for guest and
	// anonymous sessions, which have no key.
	SigningAlgorithm string `json:"signing_algorithm"`
	// SigningRequired is Session.SigningRequired: every request must be
	// signed (the server or the client required it).
	SigningRequired bool `json:"signing_required"`
	// Signed reports that the session's requests are signed: signing is
	// required, or every request since logon arrived signed (and there
	// was at least one).
	Signed           bool  `json:"signed"`
	SignedRequests   int64 `json:"signed_requests"`
	UnsignedRequests int64 `json:"unsigned_requests"`
	Guest            bool  `json:"guest,omitempty"`
	Anonymous        bool  `json:"anonymous,omitempty"`
	// Encryption is the session's cipher ("AES-128-GCM"; with
	// "/required" when every message must be encrypted), "none" when the
	// session has no encryption keys.
	Encryption  string    `json:"encryption"`
	Trees       []string  `json:"trees"` // share names, IPC$ included
	Opens       int64     `json:"open_files"`
	Established time.Time `json:"established"`
}

// ConnInfo describes one connection (Get-SmbConnection).
type ConnInfo struct {
	Client   string   `json:"client"`
	Dialect  string   `json:"dialect"` // "" before NEGOTIATE
	Sessions []uint64 `json:"sessions"`
}

// Sessions returns every established session, oldest first.
func (s *Server) Sessions() []SessionInfo {
	var out []SessionInfo
	s.sessions.Range(func(_ uint64, sess *session) bool {
		if info, ok := sess.info(); ok {
			out = append(out, info)
		}
		return true
	})
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Established.Equal(out[j].Established) {
			return out[i].Established.Before(out[j].Established)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// Connections returns every open connection.
func (s *Server) Connections() []ConnInfo {
	s.mu.Lock()
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	out := make([]ConnInfo, 0, len(conns))
	for _, c := range conns {
		c.mu.Lock()
		ci := ConnInfo{Client: c.remote, Sessions: []uint64{}}
		if d := uint16(c.shownDialect.Load()); d != 0 && d != wire.DialectWildcard {
			ci.Dialect = wire.DialectName(d)
		}
		for id := range c.sessions {
			ci.Sessions = append(ci.Sessions, id)
		}
		c.mu.Unlock()
		sort.Slice(ci.Sessions, func(i, j int) bool { return ci.Sessions[i] < ci.Sessions[j] })
		out = append(out, ci)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Client < out[j].Client })
	return out
}

// CloseSessions ends every established session for which match returns
// true, as LOGOFF would (its opens close, its pending requests end; the
// client's next request gets STATUS_USER_SESSION_DELETED), and returns
// the sessions it ended. `signet sessions close --unsigned` passes
// Unsigned.
func (s *Server) CloseSessions(match func(SessionInfo) bool) []SessionInfo {
	var closed []SessionInfo
	for _, info := range s.Sessions() {
		if !match(info) {
			continue
		}
		sess, ok := s.sessions.Get(info.ID)
		if !ok {
			continue
		}
		if sess.endSession() {
			s.log.Info("session closed by the administrator", "session_id", info.ID, "user", info.User,
				"clients", strings.Join(info.Clients, ","), "signed", info.Signed)
			closed = append(closed, info)
		}
	}
	return closed
}

// Unsigned matches the sessions that do not sign: guest and anonymous
// sessions and sessions that sent an unsigned request (CloseSessions).
func Unsigned(info SessionInfo) bool { return !info.Signed }

// AuditEvents returns the audit events kept in memory (the newest 4096),
// newest first.
func (s *Server) AuditEvents() []AuditEvent { return s.ops.audit.newest() }

// AuditCounts returns the number of audit events by reason since start.
func (s *Server) AuditCounts() map[string]int64 {
	l := &s.ops.audit
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]int64{}
	for i, r := range auditReasons {
		out[r] = l.counts[i]
	}
	return out
}

// AuditReport groups the audit events by client host, user and reason,
// the most recently seen first: the clients that would break if signing
// were required.
func (s *Server) AuditReport() []AuditEntry {
	type key struct{ host, user, reason string }
	idx := map[key]int{}
	var out []AuditEntry
	for _, ev := range s.AuditEvents() { // newest first
		host := ev.Client
		if h, _, err := net.SplitHostPort(ev.Client); err == nil {
			host = h
		}
		k := key{host, ev.User, ev.Reason}
		i, ok := idx[k]
		if !ok {
			idx[k] = len(out)
			out = append(out, AuditEntry{Client: host, User: ev.User, Reason: ev.Reason, Last: ev.Time,
				Dialect: ev.Dialect, SigningAlgorithm: ev.SigningAlgorithm})
			i = len(out) - 1
		}
		out[i].Count++
		out[i].First = ev.Time
	}
	return out
}

// info snapshots an established session; ok is false for sessions being
// set up or already ended. It takes s.mu.
func (s *session) info() (SessionInfo, bool) {
	s.mu.Lock()
	if s.state != sessValid {
		s.mu.Unlock()
		return SessionInfo{}, false
	}
	info := s.infoLocked()
	s.mu.Unlock()
	return info, true
}

// infoLocked builds the snapshot. s.mu held.
func (s *session) infoLocked() SessionInfo {
	info := SessionInfo{
		ID:               s.id,
		User:             s.identity.User,
		Domain:           s.identity.Domain,
		Dialect:          wire.DialectName(s.dialect),
		SigningRequired:  s.signRequired && s.sign != nil,
		Guest:            s.identity.Guest,
		Anonymous:        s.identity.Anonymous,
		SignedRequests:   s.ops.signedReqs.Load(),
		UnsignedRequests: s.ops.unsignedReqs.Load(),
		Opens:            s.opens.Load(),
		Clients:          []string{},
		Trees:            []string{},
		Encryption:       s.encryptionName(),
	}
	if s.sign != nil {
		info.SigningAlgorithm = s.signingAlg.String()
	}
	info.Signed = s.sign != nil && (info.SigningRequired || info.UnsignedRequests == 0 && info.SignedRequests > 0)
	if ns := s.ops.established.Load(); ns != 0 {
		info.Established = time.Unix(0, ns)
	}
	for c := range s.channels {
		info.Clients = append(info.Clients, c.remote)
	}
	sort.Strings(info.Clients)
	for _, t := range s.trees {
		if t.ipc || t.share == nil {
			info.Trees = append(info.Trees, "IPC$")
		} else {
			info.Trees = append(info.Trees, t.share.Name)
		}
	}
	sort.Strings(info.Trees)
	return info
}

// established runs once a session is valid (authDone): it records the
// time, audits guest and anonymous logons, and tells the observer.
func (s *session) opsEstablished(c *conn) {
	s.ops.established.Store(c.srv.opts.Now().UnixNano())
	s.mu.Lock()
	switch {
	case s.identity.Anonymous:
		s.ops.guestOrAnon.Store(2)
	case s.identity.Guest:
		s.ops.guestOrAnon.Store(1)
	}
	info := s.infoLocked()
	s.mu.Unlock()
	s.auditKind(c)
	s.auditFloors(c)
	if o := c.srv.opts.Observer; o != nil {
		o.SessionEstablished(info)
	}
}

// auditFloors records a session below the configured dialect or signing
// algorithm floor (guest and anonymous sessions have no algorithm).
func (s *session) auditFloors(c *conn) {
	st := c.srv.settings()
	if !st.AuditSigning {
		return
	}
	s.auditEncryption(c)
	if st.AuditMinDialect != 0 && s.dialect < st.AuditMinDialect {
		s.audit(c, 3)
	}
	if s.ops.guestOrAnon.Load() == 0 && algorithmRank(s.signingAlg) < algorithmRank(st.AuditMinSigning) {
		s.audit(c, 4)
	}
}

// algorithmRank orders signing algorithms by strength.
func algorithmRank(a smbcrypto.Algorithm) int {
	switch a {
	case smbcrypto.AESGMAC:
		return 2
	case smbcrypto.AESCMAC:
		return 1
	}
	return 0
}

// auditKind records a guest or anonymous session under audit.
func (s *session) auditKind(c *conn) {
	switch s.ops.guestOrAnon.Load() {
	case 1:
		s.audit(c, 1)
	case 2:
		s.audit(c, 2)
	}
}

// noteRequest counts a request on an established session, signed or not,
// and records the audit event for an unsigned one when the current
// policy audits signing. It runs on every request that resolved a
// session and passed signature checks.
func (r *request) noteRequest() {
	s := r.sess
	if s == nil || r.hdr.Command == wire.CmdSessionSetup || r.hdr.Command == wire.CmdCancel ||
		s.ops.established.Load() == 0 {
		return
	}
	if r.signed {
		s.ops.signedReqs.Add(1)
		s.auditFloors(r.c) // the policy may have changed to audit after logon
		return
	}
	s.ops.unsignedReqs.Add(1)
	if s.ops.audited.Load() == 1<<len(auditReasons)-1 {
		return
	}
	if !r.c.srv.settings().AuditSigning {
		return
	}
	if s.ops.guestOrAnon.Load() != 0 {
		s.auditKind(r.c) // the policy changed to audit after logon
	} else {
		s.audit(r.c, 0)
	}
	s.auditFloors(r.c)
}

// audit records reason (an auditReasons index) once per session, when
// the current policy audits signing.
func (s *session) audit(c *conn, reason int) {
	if !c.srv.settings().AuditSigning {
		return
	}
	bit := uint32(1) << reason
	for {
		old := s.ops.audited.Load()
		if old&bit != 0 {
			return
		}
		if s.ops.audited.CompareAndSwap(old, old|bit) {
			break
		}
	}
	s.mu.Lock()
	ev := AuditEvent{Time: c.srv.opts.Now(), SessionID: s.id, Client: c.remote, User: s.identity.User,
		Domain: s.identity.Domain, Dialect: wire.DialectName(s.dialect), Reason: auditReasons[reason]}
	if s.sign != nil {
		ev.SigningAlgorithm = s.signingAlg.String()
	}
	s.mu.Unlock()
	c.srv.ops.audit.add(ev, reason)
	what := "audit: require_signing = true would refuse this session"
	if reason == auditEncryptionIndex {
		what = "audit: client does not support encryption"
	}
	c.log.Warn(what, "reason", ev.Reason, "user", ev.User,
		"dialect", ev.Dialect, "signing", ev.SigningAlgorithm, "session_id", s.id)
	if o := c.srv.opts.Observer; o != nil {
		o.Audit(ev)
	}
}

// opsEnded logs the end of an established session and tells the
// observer. It runs once, from endSession, holding no lock.
func (s *session) opsEnded(counted bool) {
	if !counted || s.ops.ended.Swap(true) {
		return
	}
	s.mu.Lock()
	info := s.infoLocked()
	s.mu.Unlock()
	var dur time.Duration
	if !info.Established.IsZero() {
		dur = s.srv.opts.Now().Sub(info.Established).Round(time.Millisecond)
	}
	s.srv.log.Info("session ended", "session_id", info.ID, "user", info.User, "dialect", info.Dialect,
		"signed", info.Signed, "signed_requests", info.SignedRequests, "unsigned_requests", info.UnsignedRequests,
		"duration", dur)
	if o := s.srv.opts.Observer; o != nil {
		o.SessionEnded(info)
	}
}

// observeRequest reports a processed request to the observer.
func (c *conn) observeRequest(r *request, st uint32, start time.Time, out int) {
	o := c.srv.opts.Observer
	if o == nil {
		return
	}
	o.Request(RequestEvent{Command: r.hdr.Command.String(), Signed: r.signed, Status: st,
		Duration: time.Since(start), BytesIn: len(r.msg), BytesOut: out})
}

// refused reports a refused logon to the observer.
func (s *Server) refused(reason string) {
	if o := s.opts.Observer; o != nil {
		o.SessionRefused(reason)
	}
}
