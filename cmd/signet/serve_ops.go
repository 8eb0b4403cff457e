//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/signetsmb/signet/internal/admin"
	"github.com/signetsmb/signet/metrics"
	"github.com/signetsmb/signet/policy"
	"github.com/signetsmb/signet/server"
)

// The operations side of `signet serve`: logging from [log], the admin
// socket, restart-only keys and metrics.

func serverSupported() error { return nil }

// newLogger builds the server's logger from [log]; level is shared with
// followRestartKeys, which applies log.level changes without a restart.
func newLogger(cfg *policy.Config, level *slog.LevelVar, verbose bool) *slog.Logger {
	level.Set(parseLevel(cfg.LogLevel, verbose))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

func parseLevel(s string, verbose bool) slog.Level {
	if verbose {
		return slog.LevelDebug
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return slog.LevelInfo
	}
	return l
}

// followRestartKeys logs, after every reload, the changed keys that need a
// restart (they are not applied), and applies log.level.
func followRestartKeys(store *policy.Store, level *slog.LevelVar, verbose bool, log *slog.Logger) {
	store.Subscribe(func(old, next *policy.Config) {
		for _, ch := range policy.Diff(old, next) {
			if policy.NeedsRestart(ch.Key) {
				log.Warn("config change not applied: "+ch.Key+" takes effect after a restart", "key", ch.Key,
					"running", ch.Old, "file", ch.New)
			}
		}
		level.Set(parseLevel(next.LogLevel, verbose))
	})
}

// startOps starts the admin socket and the metrics endpoint, each on a
// goroutine of bg that ends with ctx. A socket or endpoint that cannot be
// opened is logged and the server runs without it.
func startOps(ctx context.Context, bg *sync.WaitGroup, cfg *policy.Config, store *policy.Store, srv *server.Server, obs serverObserver, log *slog.Logger) {
	if cfg.AdminSocket != "" {
		l, err := admin.Listen(cfg.AdminSocket)
		if err != nil {
			log.Warn("admin commands unavailable (signet status, policy set, audit report, sessions close)", "err", err)
		} else {
			log.Info("admin socket", "path", cfg.AdminSocket)
			h := &adminHandler{store: store, srv: srv, log: log, started: time.Now()}
			bg.Go(func() { admin.Serve(ctx, l, h.handle, log) })
		}
	}
	startMetrics(ctx, bg, cfg, srv, obs, log)
}

// adminHandler answers the admin socket.
type adminHandler struct {
	store   *policy.Store
	srv     *server.Server
	log     *slog.Logger
	started time.Time
	setMu   sync.Mutex // one policy set at a time
}

func (h *adminHandler) handle(ctx context.Context, req admin.Request) (any, error) {
	switch req.Op {
	case "status":
		return h.status(), nil
	case "audit":
		cfg := h.store.Current()
		return auditResult{RequireSigning: cfg.RequireSigningText(), Counts: h.srv.AuditCounts(),
			Entries: h.srv.AuditReport(), Events: h.srv.AuditEvents()}, nil
	case "policy_set":
		return h.policySet(req.Set)
	case "close_sessions":
		if !req.Unsigned && req.User == "" {
			return nil, errors.New("say which sessions: --unsigned and/or --user NAME")
		}
		closed := h.srv.CloseSessions(func(in server.SessionInfo) bool {
			return (!req.Unsigned || server.Unsigned(in)) && (req.User == "" || strings.EqualFold(in.User, req.User))
		})
		if closed == nil {
			closed = []server.SessionInfo{}
		}
		return closeResult{Closed: closed}, nil
	}
	return nil, fmt.Errorf("unknown admin operation %q", req.Op)
}

func (h *adminHandler) status() statusResult {
	cfg := h.store.Current()
	st := h.srv.Stats()
	sess := h.srv.Sessions()
	if sess == nil {
		sess = []server.SessionInfo{}
	}
	return statusResult{
		Server: serverStatus{Version: versionString(), Started: h.started, Config: cfg.Name,
			RequireSigning: cfg.RequireSigningText(), Connections: st.OpenConnections, Sessions: int64(len(sess)),
			OpenFiles: st.Opens, BadSignatures: st.BadSignatures, UnsignedRejected: st.UnsignedRejected},
		Connections: h.srv.Connections(),
		Sessions:    sess,
	}
}

// policySet writes the assignments into the configuration file and
// reloads it, as a file edit followed by SIGHUP would.
func (h *adminHandler) policySet(assign []string) (any, error) {
	if len(assign) == 0 {
		return nil, errors.New("nothing to set: give KEY=VALUE")
	}
	h.setMu.Lock()
	defer h.setMu.Unlock()
	old := h.store.Current()
	if old.Path == "" {
		return nil, errors.New("the server runs the built-in configuration, which has no file to change; start it with --config FILE")
	}
	for _, a := range assign {
		k, v, ok := strings.Cut(a, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("%q: want KEY=VALUE", a)
		}
		if err := policy.SetInFile(old.Path, strings.TrimSpace(k), v, old.AllowsUnknown()); err != nil {
			return nil, err
		}
	}
	if err := h.store.ReloadAndLog(h.log, "admin request (signet policy set)"); err != nil {
		return nil, err
	}
	res := setResult{File: old.Path, Changes: []setChange{}}
	for _, ch := range policy.Diff(old, h.store.Current()) {
		c := setChange{Key: ch.Key, Old: ch.Old, New: ch.New, Applied: !policy.NeedsRestart(ch.Key)}
		c.Effect = effectOf(ch.Key, c.Applied)
		res.Changes = append(res.Changes, c)
	}
	return res, nil
}

// effectOf says what a change does to the running server (docs/operations.md).
func effectOf(key string, applied bool) string {
	switch {
	case !applied:
		return "saved in the file; takes effect after a restart"
	case key == "server.require_signing":
		return "applied to new connections; established sessions keep their signing (audit applies to them at once); `signet sessions close --unsigned` makes unsigned clients reconnect"
	case strings.HasPrefix(key, "server.min_dialect"), strings.HasPrefix(key, "server.max_dialect"),
		strings.HasPrefix(key, "server.signing_algorithms"):
		return "applied to new connections"
	case strings.HasPrefix(key, "share."), key == "server.allow_anonymous", key == "server.max_sessions":
		return "applied to new sessions and tree connects"
	default:
		return "applied"
	}
}

// serverObserver is the metrics adapter, nil when [metrics] is off.
type serverObserver = *metrics.Metrics

func newObserver(cfg *policy.Config) serverObserver {
	if cfg.MetricsListen == "" {
		return nil
	}
	return metrics.New()
}

// asObserver keeps a nil adapter a nil interface.
func asObserver(m serverObserver) server.Observer {
	if m == nil {
		return nil
	}
	return m
}

// startMetrics serves /metrics on metrics.listen until ctx is done.
func startMetrics(ctx context.Context, bg *sync.WaitGroup, cfg *policy.Config, srv *server.Server, m serverObserver, log *slog.Logger) {
	if m == nil {
		return
	}
	m.TrackSessions(srv.Sessions)
	l, err := net.Listen("tcp", cfg.MetricsListen)
	if err != nil {
		log.Warn("metrics endpoint unavailable", "listen", cfg.MetricsListen, "err", err)
		return
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler())
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second,
		MaxHeaderBytes: 16 << 10}
	log.Info("metrics endpoint", "url", "http://"+l.Addr().String()+"/metrics")
	bg.Go(func() {
		if err := hs.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("metrics endpoint stopped", "err", err)
		}
	})
	bg.Go(func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(sctx)
	})
}
