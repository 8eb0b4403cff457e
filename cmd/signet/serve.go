//go:build linux

package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/signetsmb/signet/auth/krb5"
	"github.com/signetsmb/signet/auth/userdb"
	"github.com/signetsmb/signet/policy"
	"github.com/signetsmb/signet/server"
	"github.com/signetsmb/signet/vfs"
	"github.com/signetsmb/signet/vfs/localfs"
)

func init() {
	registerCommand("serve", "run the SMB server", runServe)
}

// defaultUser is the account created on first start with the embedded
// default configuration.
const defaultUser = "signet"

func runServe(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	configPath := fs.String("config", "", "configuration file (TOML); the embedded default when omitted")
	listen := fs.String("listen", "", "HOST:PORT to listen on, overriding server.listen")
	verbose := fs.Bool("v", false, "log debug details (log.level = \"debug\")")
	allowUnknown := fs.Bool("allow-unknown", false, "accept configuration keys this version does not know (warn instead of refusing to start)")
	if err := parseFlags(fs, args, "serve [--config FILE] [--listen HOST:PORT] [--allow-unknown] [-v]"); err != nil {
		return err
	}
	if err := serverSupported(); err != nil {
		return err
	}
	var level slog.LevelVar
	boot := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: &level}))
	cfg, warns, err := loadConfig(*configPath, *listen, *allowUnknown, boot)
	if err != nil {
		return err
	}
	log := newLogger(cfg, &level, *verbose)
	for _, w := range warns {
		log.Warn(w.String())
	}
	// Every goroutine started below is waited for before runServe
	// returns: cancel ends them (LIFO: cancel runs before Wait).
	var bg sync.WaitGroup
	defer bg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	reloaded := make(chan struct{}, 1)
	var usersHook reloadHook // serve_cluster_sync.go
	users, err := userdb.OpenStore(cfg.UsersFile, userdb.StoreOptions{Logger: log, OnReload: func() {
		usersHook.fire()
		select { // coalesce: one pending revalidation covers every reload
		case reloaded <- struct{}{}:
		default:
		}
	}})
	if err != nil {
		return err
	}
	store := policy.NewStore(cfg)
	shares := newShareCache()
	settings, err := liveSettings(store, shares, log)
	if err != nil {
		return err
	}
	obs := newObserver(cfg)
	msid, err := userdb.MachineSID(cfg.UsersFile)
	if err != nil {
		return err
	}
	clu, leave, err := joinCluster(ctx, cfg, log) // serve_cluster.go; nil without [cluster]
	if err != nil {
		return err
	}
	defer leave()
	if msid, err = clusterMachineSID(ctx, clu, msid, cfg.UsersFile, log); err != nil {
		return err
	}
	srv, err := server.New(server.Options{
		Settings:   settings,
		Users:      users,
		MachineSID: msid,
		Logger:     log,
		Observer:   asObserver(obs),
		Cluster:    clu,
	})
	if err != nil {
		return err
	}
	stopSync, err := startClusterSync(ctx, clu, store, users, &usersHook, log) // users file and policy through etcd
	if err != nil {
		return err
	}
	defer stopSync()
	addr := cfg.Listen
	if *listen != "" {
		addr = *listen
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	log.Info("signet listening", "addr", l.Addr().String(), "require_signing", cfg.RequireSigningText(),
		"source", cfg.RequireSigningSource, "auth", strings.Join(cfg.AuthMechanisms, ","), "config", cfg.Name,
		"version", versionString())
	followRestartKeys(store, &level, *verbose, log)
	startOps(ctx, &bg, cfg, store, srv, obs, log)
	bg.Go(func() { reloadOnSIGHUP(ctx, store, log) })
	if cfg.WatchConfig {
		bg.Go(func() {
			if err := store.Watch(ctx, log); err != nil {
				log.Warn("config file not watched; use SIGHUP to reload", "err", err)
			}
		})
	}
	followUsers(ctx, &bg, users, reloaded, srv, log)
	errc := make(chan error, 1)
	bg.Go(func() { errc <- srv.Serve(l) }) // returns after Shutdown
	var serveErr error
	select {
	case serveErr = <-errc:
	case <-ctx.Done():
		log.Info("shutting down")
	}
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	srv.Shutdown(sctx) // also stops the server's revalidation goroutine
	shares.close()
	return serveErr
}

// liveSettings returns a function giving the server settings of the
// store's current snapshot, updated after every successful reload. The
// server calls it on use, so new limits, shares and signing rules apply
// without a restart.
func liveSettings(store *policy.Store, shares *shareCache, log *slog.Logger) (func() *server.Settings, error) {
	var current atomic.Pointer[server.Settings]
	st, err := shares.settings(store.Current())
	if err != nil {
		return nil, err
	}
	current.Store(st)
	store.Subscribe(func(_, next *policy.Config) {
		st, err := shares.settings(next)
		if err != nil {
			log.Error("config rejected: opening shares or the Kerberos keytab failed; keeping the previous policy", "err", err)
			return
		}
		current.Store(st)
	})
	return current.Load, nil
}

// loadConfig loads the file, or the embedded default with its state
// directory, creating the first user when there is none.
func loadConfig(path, listen string, allowUnknown bool, log *slog.Logger) (*policy.Config, []policy.Warning, error) {
	if path != "" {
		if allowUnknown {
			return policy.LoadAllowUnknown(path)
		}
		return policy.Load(path)
	}
	dir, err := policy.DefaultStateDir()
	if err != nil {
		return nil, nil, err
	}
	cfg, warns, err := policy.LoadDefault(dir)
	if err != nil {
		return nil, nil, err
	}
	names, err := userdb.List(cfg.UsersFile)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, nil, err
	}
	if len(names) == 0 {
		pw, generated := os.Getenv("SIGNET_PASSWORD"), false
		if pw == "" {
			pw, generated = randomPassword(), true
		}
		if err := userdb.Add(cfg.UsersFile, defaultUser, pw); err != nil {
			return nil, nil, err
		}
		addr := cfg.Listen
		if listen != "" {
			addr = listen
		}
		port := addr
		if _, p, err := net.SplitHostPort(addr); err == nil {
			port = p
		}
		if generated {
			fmt.Printf("Created user %q with password %s (stored as an NT hash in %s)\n", defaultUser, pw, cfg.UsersFile)
		} else {
			fmt.Printf("Created user %q with the password from SIGNET_PASSWORD (stored in %s)\n", defaultUser, cfg.UsersFile)
		}
		fmt.Printf("Share %q is %s\nConnect: smbclient //127.0.0.1/share -p %s -U %s\n", "share", cfg.Shares[0].Path, port, defaultUser)
	}
	log.Info("using the embedded default configuration", "state_dir", dir)
	return cfg, warns, nil
}

// followUsers ends the sessions of deleted and disabled users as soon as
// the users file changes: the store is watched (a change is seen at once
// rather than at the next logon) and every reload runs srv.Revalidate on
// one goroutine. Without the watch, the server's own revalidation
// (Limits.RevalidateInterval) still ends them.
func followUsers(ctx context.Context, bg *sync.WaitGroup, users *userdb.Store, reloaded <-chan struct{}, srv *server.Server, log *slog.Logger) {
	bg.Go(func() {
		if err := users.Watch(ctx); err != nil {
			log.Warn("users file not watched; changes apply at the next logon, and sessions of deleted users end within the revalidation interval",
				"file", users.Path(), "err", err)
		}
	})
	bg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-reloaded:
				srv.Revalidate()
			}
		}
	})
}

func randomPassword() string {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 16)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func reloadOnSIGHUP(ctx context.Context, store *policy.Store, log *slog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	store.ReloadOnSignal(ctx, log, hup)
}

// shareCache keeps one open backend per share path across reloads.
type shareCache struct {
	mu  sync.Mutex
	fss map[string]vfs.FS
	// replay is the Kerberos replay cache shared by the acceptors of
	// every snapshot (serve_kerberos.go), guarded by mu; replaySize is
	// the size it was made with.
	replay     *krb5.ReplayCache
	replaySize int
}

func newShareCache() *shareCache { return &shareCache{fss: map[string]vfs.FS{}} }

func (c *shareCache) open(path string) (vfs.FS, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if fs, ok := c.fss[path]; ok {
		return fs, nil
	}
	fs, err := localfs.New(path)
	if err != nil {
		return nil, err
	}
	c.fss[path] = fs
	return fs, nil
}

func (c *shareCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for p, fs := range c.fss {
		if cl, ok := fs.(interface{ Close() error }); ok {
			cl.Close()
		}
		delete(c.fss, p)
	}
}

// settings converts a policy snapshot into the server's
// (server.SettingsFromPolicy), reusing open share backends.
func (c *shareCache) settings(cfg *policy.Config) (*server.Settings, error) {
	st, err := server.SettingsFromPolicy(cfg, c.open)
	if err != nil {
		return nil, err
	}
	if err := c.authSettings(cfg, st); err != nil {
		return nil, err
	}
	return st, nil
}
