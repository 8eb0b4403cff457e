package server

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/smbcrypto"
	"github.com/signetsmb/signet/internal/wire"
)

// recordingObserver counts what the server reports.
type recordingObserver struct {
	mu        sync.Mutex
	requests  map[string]int
	signed    int
	est, end  int
	refused   map[string]int
	sigRefuse map[string]int
	audits    []AuditEvent
	bad       []RequestEvent
}

func newRecordingObserver() *recordingObserver {
	return &recordingObserver{requests: map[string]int{}, refused: map[string]int{}, sigRefuse: map[string]int{}}
}

func (o *recordingObserver) Request(ev RequestEvent) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.requests[ev.Command]++
	if ev.Signed {
		o.signed++
	}
	if ev.BytesIn < wire.HeaderSize || ev.BytesOut < wire.HeaderSize || ev.Duration < 0 {
		o.bad = append(o.bad, ev)
	}
}
func (o *recordingObserver) SessionEstablished(SessionInfo) { o.mu.Lock(); o.est++; o.mu.Unlock() }
func (o *recordingObserver) SessionEnded(SessionInfo)       { o.mu.Lock(); o.end++; o.mu.Unlock() }
func (o *recordingObserver) SessionRefused(r string)        { o.mu.Lock(); o.refused[r]++; o.mu.Unlock() }
func (o *recordingObserver) SignatureRefused(r string)      { o.mu.Lock(); o.sigRefuse[r]++; o.mu.Unlock() }
func (o *recordingObserver) Audit(ev AuditEvent) {
	o.mu.Lock()
	o.audits = append(o.audits, ev)
	o.mu.Unlock()
}

// opsServer starts a server whose policy the test swaps (as signet serve
// does on reload), with an observer.
func opsServer(t *testing.T, edit func(*Settings)) (*testServer, *atomic.Pointer[Settings], *recordingObserver) {
	var cur atomic.Pointer[Settings]
	obs := newRecordingObserver()
	ts := startTestServer(t, &testerConfig{NoSigning: true, Settings: func(st *Settings) {
		st.AllowAnonymous = true
		st.Limits.AuthFailureDelay = -1
		if edit != nil {
			edit(st)
		}
	}, Options: func(o *Options) {
		st := o.Settings()
		cur.Store(st)
		o.Settings = cur.Load
		o.Observer = obs
	}})
	return ts, &cur, obs
}

func setAudit(cur *atomic.Pointer[Settings], audit, require bool) {
	st := *cur.Load()
	st.AuditSigning, st.RequireSigning = audit, require
	cur.Store(&st)
}

// Audit mode records, once per session, a session that sends unsigned
// requests and a guest or anonymous logon; a session that signs is not
// recorded; nothing is recorded while the policy does not audit.
func TestAuditSigning(t *testing.T) {
	ts, cur, obs := opsServer(t, nil)
	unsigned := ts.dial()
	// 3.1.1 requires a signed TREE_CONNECT whatever the policy.
	unsigned.negotiate(wire.Dialect302)
	unsigned.mustSessionSetup("alice", "pw")
	unsigned.signAll = false
	unsigned.mustTreeConnect("share")
	if n := len(ts.srv.AuditEvents()); n != 0 {
		t.Fatalf("%d audit events while not auditing", n)
	}
	setAudit(cur, true, false)
	for range 3 {
		if st := unsigned.echo(); st != ntstatus.Success {
			t.Fatalf("echo under audit: %v", st)
		}
	}
	unsigned.mustTreeConnect("share")
	signed := ts.dial()
	signed.negotiate(wire.Dialect311)
	signed.mustSessionSetup("alice", "pw")
	signed.mustTreeConnect("share")
	anon := ts.dial()
	anon.negotiate(wire.Dialect210)
	if st := anon.sessionSetup("", ""); st != ntstatus.Success {
		t.Fatalf("anonymous under audit: %v", st)
	}
	evs := ts.srv.AuditEvents()
	if len(evs) != 2 {
		t.Fatalf("audit events %+v, want 2", evs)
	}
	if evs[0].Reason != AuditAnonymous || evs[0].Dialect != "2.1" || evs[0].SigningAlgorithm != "" {
		t.Errorf("newest event %+v", evs[0])
	}
	if evs[1].Reason != AuditUnsigned || evs[1].User != "alice" || evs[1].Dialect != "3.0.2" ||
		evs[1].SigningAlgorithm != "AES-128-CMAC" || evs[1].Client == "" {
		t.Errorf("unsigned event %+v", evs[1])
	}
	if c := ts.srv.AuditCounts(); c[AuditUnsigned] != 1 || c[AuditAnonymous] != 1 || c[AuditGuest] != 0 || c[AuditDialect] != 0 {
		t.Errorf("counts %v", c)
	}
	rep := ts.srv.AuditReport()
	if len(rep) != 2 || rep[0].Reason != AuditAnonymous || rep[1].Count != 1 || rep[1].User != "alice" {
		t.Errorf("report %+v", rep)
	}
	if !strings.Contains(ts.log.String(), "audit: require_signing = true would refuse this session") {
		t.Error("no audit log line")
	}
	obs.mu.Lock()
	if len(obs.bad) != 0 {
		t.Errorf("bad request events %+v", obs.bad)
	}
	if len(obs.audits) != 2 || obs.est != 3 || obs.requests["ECHO"] != 3 || obs.signed == 0 {
		t.Errorf("observer: audits %d established %d echo %d signed %d", len(obs.audits), obs.est, obs.requests["ECHO"], obs.signed)
	}
	obs.mu.Unlock()

	// Status agrees with what is connected.
	infos := ts.srv.Sessions()
	if len(infos) != 3 {
		t.Fatalf("sessions %+v", infos)
	}
	byDialect := map[string]SessionInfo{}
	for _, in := range infos {
		byDialect[in.Dialect] = in
	}
	u, s, a := byDialect["3.0.2"], byDialect["3.1.1"], byDialect["2.1"]
	if u.Signed || u.UnsignedRequests < 4 || u.User != "alice" || !slices.Equal(u.Trees, []string{"share", "share"}) || len(u.Clients) != 1 {
		t.Errorf("unsigned session %+v", u)
	}
	if !s.Signed || s.UnsignedRequests != 0 || s.SigningAlgorithm != "AES-128-GMAC" || s.SigningRequired {
		t.Errorf("signed session %+v", s)
	}
	if a.Signed || !a.Anonymous || a.SigningAlgorithm != "" {
		t.Errorf("anonymous session %+v", a)
	}
	if cs := ts.srv.Connections(); len(cs) != 3 || len(cs[0].Sessions) != 1 {
		t.Errorf("connections %+v", cs)
	}

	// Require signing, then evict the sessions that do not sign.
	setAudit(cur, false, true)
	closed := ts.srv.CloseSessions(Unsigned)
	if len(closed) != 2 {
		t.Fatalf("closed %+v", closed)
	}
	if _, st := unsigned.treeConnect("share"); st != ntstatus.UserSessionDeleted {
		t.Errorf("closed session: %v", st)
	}
	if st := signed.echo(); st != ntstatus.Success {
		t.Errorf("signed session after close --unsigned: %v", st)
	}
	if n := len(ts.srv.Sessions()); n != 1 {
		t.Errorf("%d sessions left", n)
	}
	if n := strings.Count(ts.log.String(), "msg=\"session ended\""); n != 2 {
		t.Errorf("%d session-ended lines, want 2", n)
	}
	if !strings.Contains(ts.log.String(), "signed=false") {
		t.Error("session lines do not say signed")
	}
	obs.mu.Lock()
	if obs.end != 2 {
		t.Errorf("observer ended %d", obs.end)
	}
	obs.mu.Unlock()
}

// The audit log keeps the newest maxAuditEvents events; counts go on.
func TestAuditLogBounded(t *testing.T) {
	var l auditLog
	for i := range maxAuditEvents + 10 {
		l.add(AuditEvent{SessionID: uint64(i)}, 0)
	}
	evs := l.newest()
	if len(evs) != maxAuditEvents || evs[0].SessionID != maxAuditEvents+9 || evs[len(evs)-1].SessionID != 10 {
		t.Fatalf("len %d first %d last %d", len(evs), evs[0].SessionID, evs[len(evs)-1].SessionID)
	}
	if l.counts[0] != maxAuditEvents+10 {
		t.Errorf("count %d", l.counts[0])
	}
}

// Refusals reach the observer by reason.
func TestObserverRefusals(t *testing.T) {
	ts, cur, obs := opsServer(t, nil)
	setAudit(cur, false, true)
	tc := ts.dial()
	tc.negotiate(wire.Dialect311)
	if st := tc.sessionSetup("alice", "wrong"); st != ntstatus.LogonFailure {
		t.Fatalf("wrong password: %v", st)
	}
	tc = ts.dial()
	tc.negotiate(wire.Dialect311)
	tc.mustSessionSetup("alice", "pw")
	r := tc.simpleReq(wire.CmdEcho)
	r.noSign = true
	if st := tc.roundTrip(r).status; st != ntstatus.AccessDenied {
		t.Fatalf("unsigned echo: %v", st)
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if obs.refused["logon_failure"] != 1 || obs.sigRefuse["unsigned"] != 1 {
		t.Errorf("refused %v signature %v", obs.refused, obs.sigRefuse)
	}
}

// Under audit, sessions below the configured dialect and signing
// algorithm floors are recorded once each; signed sessions above them are
// not.
func TestAuditFloors(t *testing.T) {
	ts, _, _ := opsServer(t, func(st *Settings) {
		st.AuditSigning = true
		st.AuditMinDialect = wire.Dialect300
		st.AuditMinSigning = smbcrypto.AESGMAC
	})
	for _, d := range []uint16{wire.Dialect210, wire.Dialect302, wire.Dialect311} {
		tc := ts.dial()
		tc.negotiate(d)
		tc.mustSessionSetup("alice", "pw")
		tc.mustTreeConnect("share")
		tc.mustTreeConnect("share")
	}
	got := map[string][]string{}
	for _, ev := range ts.srv.AuditEvents() {
		got[ev.Reason] = append(got[ev.Reason], ev.Dialect)
	}
	if !slices.Equal(got[AuditDialect], []string{"2.1"}) || !slices.Equal(got[AuditAlgorithm], []string{"3.0.2", "2.1"}) ||
		len(got[AuditUnsigned]) != 0 {
		t.Errorf("events by reason %v", got)
	}
}
