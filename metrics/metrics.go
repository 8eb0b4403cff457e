// Package metrics exports a Signet server's activity to Prometheus. It is
// the adapter between server.Observer and prometheus/client_golang, so
// that the server package itself depends on no metrics library:
//
//	m := metrics.New()
//	srv, _ := server.New(server.Options{..., Observer: m})
//	m.TrackSessions(srv.Sessions)
//	http.Handle("/metrics", m.Handler())
//
// Metrics (all prefixed signet_):
//
//	sessions{dialect,signing_algorithm,signed}     gauge, the sessions open now (as `signet status` lists them)
//	sessions_established_total{dialect,signing_algorithm}
//	requests_total{command,signed}                 signed and unsigned messages
//	request_duration_seconds{command}              histogram, processing time per command
//	received_bytes_total{command}, sent_bytes_total{command}   SMB2 message bytes (READ/WRITE carry the file data)
//	signature_failures_total{reason}               bad_signature, unsigned (refused requests)
//	sessions_refused_total{reason}                 logon_failure, anonymous_signing_required, anonymous_not_allowed, max_sessions
//	audit_events_total{reason}                     unsigned, guest, anonymous, dialect, signing_algorithm (require_signing = "audit")
package metrics

import (
	"net/http"
	"strconv"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/signetsmb/signet/server"
)

// Metrics implements server.Observer with Prometheus collectors in its
// own registry.
type Metrics struct {
	reg         *prometheus.Registry
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	recvBytes   *prometheus.CounterVec
	sentBytes   *prometheus.CounterVec
	sigFailures *prometheus.CounterVec
	refused     *prometheus.CounterVec
	audits      *prometheus.CounterVec
	established *prometheus.CounterVec
	sessions    atomic.Pointer[func() []server.SessionInfo]
}

var _ server.Observer = (*Metrics)(nil)

// New returns Metrics registered in a fresh registry, with the Go and
// process collectors.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "signet_requests_total",
		Help: "SMB2 requests processed, by command and whether they arrived signed."}, []string{"command", "signed"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "signet_request_duration_seconds",
		Help:    "Time from the start of processing to the response built, by command.",
		Buckets: prometheus.ExponentialBuckets(50e-6, 4, 10)}, []string{"command"})
	m.recvBytes = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "signet_received_bytes_total",
		Help: "SMB2 request message bytes, by command (WRITE carries the data written)."}, []string{"command"})
	m.sentBytes = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "signet_sent_bytes_total",
		Help: "SMB2 response message bytes, by command (READ carries the data read)."}, []string{"command"})
	m.sigFailures = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "signet_signature_failures_total",
		Help: "Requests refused for their signature: bad_signature, or unsigned on a session that must sign."}, []string{"reason"})
	m.refused = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "signet_sessions_refused_total",
		Help: "Logons refused, by reason."}, []string{"reason"})
	m.audits = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "signet_audit_events_total",
		Help: "Sessions require_signing = true would refuse, recorded under \"audit\", by reason."}, []string{"reason"})
	m.established = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "signet_sessions_established_total",
		Help: "Sessions established, by dialect and signing algorithm."}, []string{"dialect", "signing_algorithm"})
	m.reg.MustRegister(m.requests, m.duration, m.recvBytes, m.sentBytes, m.sigFailures, m.refused, m.audits,
		m.established, sessionCollector{m},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Known label values start at zero, so that rates and alerts see them.
	for _, r := range []string{"bad_signature", "unsigned"} {
		m.sigFailures.WithLabelValues(r)
	}
	for _, r := range []string{"logon_failure", "anonymous_signing_required", "anonymous_not_allowed", "max_sessions"} {
		m.refused.WithLabelValues(r)
	}
	for _, r := range []string{server.AuditUnsigned, server.AuditGuest, server.AuditAnonymous, server.AuditDialect, server.AuditAlgorithm, server.AuditEncryption} {
		m.audits.WithLabelValues(r)
	}
	return m
}

// TrackSessions sets the source of the signet_sessions gauge, read at
// every scrape (Server.Sessions), so that it agrees with `signet status`.
func (m *Metrics) TrackSessions(f func() []server.SessionInfo) { m.sessions.Store(&f) }

// Registry is the registry the metrics live in.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// Request implements server.Observer.
func (m *Metrics) Request(ev server.RequestEvent) {
	m.requests.WithLabelValues(ev.Command, strconv.FormatBool(ev.Signed)).Inc()
	m.duration.WithLabelValues(ev.Command).Observe(ev.Duration.Seconds())
	m.recvBytes.WithLabelValues(ev.Command).Add(float64(ev.BytesIn))
	m.sentBytes.WithLabelValues(ev.Command).Add(float64(ev.BytesOut))
}

// SessionEstablished implements server.Observer.
func (m *Metrics) SessionEstablished(in server.SessionInfo) {
	m.established.WithLabelValues(in.Dialect, algOrNone(in.SigningAlgorithm)).Inc()
}

// SessionEnded implements server.Observer.
func (m *Metrics) SessionEnded(server.SessionInfo) {}

// SessionRefused implements server.Observer.
func (m *Metrics) SessionRefused(reason string) { m.refused.WithLabelValues(reason).Inc() }

// SignatureRefused implements server.Observer.
func (m *Metrics) SignatureRefused(reason string) { m.sigFailures.WithLabelValues(reason).Inc() }

// Audit implements server.Observer.
func (m *Metrics) Audit(ev server.AuditEvent) { m.audits.WithLabelValues(ev.Reason).Inc() }

func algOrNone(a string) string {
	if a == "" {
		return "none"
	}
	return a
}

// sessionCollector computes signet_sessions from the session snapshot.
type sessionCollector struct{ m *Metrics }

var sessionsDesc = prometheus.NewDesc("signet_sessions",
	"Sessions open now, by dialect, signing algorithm (none for guest and anonymous) and whether they sign.",
	[]string{"dialect", "signing_algorithm", "signed"}, nil)

func (c sessionCollector) Describe(ch chan<- *prometheus.Desc) { ch <- sessionsDesc }

func (c sessionCollector) Collect(ch chan<- prometheus.Metric) {
	f := c.m.sessions.Load()
	if f == nil {
		return
	}
	type key struct{ dialect, alg, signed string }
	counts := map[key]int{}
	for _, in := range (*f)() {
		counts[key{in.Dialect, algOrNone(in.SigningAlgorithm), strconv.FormatBool(in.Signed)}]++
	}
	for k, n := range counts {
		ch <- prometheus.MustNewConstMetric(sessionsDesc, prometheus.GaugeValue, float64(n), k.dialect, k.alg, k.signed)
	}
}
