package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/signetsmb/signet/server"
)

func TestMetrics(t *testing.T) {
	m := New()
	m.TrackSessions(func() []server.SessionInfo {
		return []server.SessionInfo{
			{Dialect: "3.1.1", SigningAlgorithm: "AES-128-GMAC", Signed: true},
			{Dialect: "3.1.1", SigningAlgorithm: "AES-128-GMAC", Signed: true},
			{Dialect: "2.1", Anonymous: true},
		}
	})
	m.Request(server.RequestEvent{Command: "READ", Signed: true, Duration: time.Millisecond, BytesIn: 113, BytesOut: 4176})
	m.Request(server.RequestEvent{Command: "READ", Signed: false, Duration: time.Millisecond, BytesIn: 113, BytesOut: 80})
	m.SessionEstablished(server.SessionInfo{Dialect: "2.1"})
	m.SessionRefused("logon_failure")
	m.SignatureRefused("bad_signature")
	m.Audit(server.AuditEvent{Reason: server.AuditGuest})
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`signet_sessions{dialect="3.1.1",signed="true",signing_algorithm="AES-128-GMAC"} 2`,
		`signet_sessions{dialect="2.1",signed="false",signing_algorithm="none"} 1`,
		`signet_requests_total{command="READ",signed="true"} 1`,
		`signet_requests_total{command="READ",signed="false"} 1`,
		`signet_sent_bytes_total{command="READ"} 4256`,
		`signet_received_bytes_total{command="READ"} 226`,
		`signet_request_duration_seconds_count{command="READ"} 2`,
		`signet_sessions_established_total{dialect="2.1",signing_algorithm="none"} 1`,
		`signet_sessions_refused_total{reason="logon_failure"} 1`,
		`signet_sessions_refused_total{reason="max_sessions"} 0`,
		`signet_signature_failures_total{reason="bad_signature"} 1`,
		`signet_audit_events_total{reason="guest"} 1`,
		`signet_audit_events_total{reason="unsigned"} 0`,
		`go_goroutines`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("missing %s", want)
		}
	}
	if t.Failed() {
		t.Log(string(body))
	}
}
