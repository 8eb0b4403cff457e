package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"

	"github.com/signetsmb/signet/auth/userdb"
	"github.com/signetsmb/signet/cluster"
	"github.com/signetsmb/signet/policy"
	"github.com/signetsmb/signet/server"
)

// reloadHook forwards the users store's reloads (StoreOptions.OnReload,
// called before the cluster sync exists) to it once it runs.
type reloadHook struct{ fn atomic.Pointer[func()] }

func (h *reloadHook) fire() {
	if f := h.fn.Load(); f != nil {
		(*f)()
	}
}

// startClusterSync replicates the users file and the shared part of the
// configuration (policy.ReplicablePart) through etcd (docs/cluster.md,
// "Users file and policy"): at start the node takes the cluster's copies
// (or publishes its own when the cluster has none); afterwards a reload of
// either file on this node (file watch, SIGHUP, `signet policy set`,
// `signet user add`) is published, and a change published by another
// node is validated, written to the local file and reloaded as a local
// edit would be. Without [cluster] (clu nil) it does nothing. The
// returned function stops it; call it before leaving the cluster.
func startClusterSync(ctx context.Context, clu server.Cluster, store *policy.Store, users *userdb.Store,
	usersHook *reloadHook, log *slog.Logger) (func(), error) {
	n, ok := clu.(*cluster.Node)
	if !ok || n == nil {
		return func() {}, nil
	}
	path := users.Path()
	usersDoc := cluster.Doc{Name: "users",
		Local: func() ([]byte, error) {
			data, err := userdb.ReadFile(path)
			if errors.Is(err, fs.ErrNotExist) {
				return nil, cluster.ErrNoLocalDoc // a deleted file is not shared
			}
			return data, err
		},
		Apply: func(data []byte) error {
			if err := userdb.WriteFile(path, data); err != nil {
				return err
			}
			users.Reload()
			return nil
		}}
	policyDoc := cluster.Doc{Name: "policy",
		Local: func() ([]byte, error) {
			cur := store.Current()
			return policy.ReplicableFile(cur.Path, cur.AllowsUnknown())
		},
		Apply: func(data []byte) error {
			cur := store.Current()
			if err := policy.ApplyReplicable(cur.Path, data, cur.AllowsUnknown()); err != nil {
				return err
			}
			return store.ReloadAndLog(log, "cluster (a change on another node)")
		}}
	ds := cluster.NewDocSync(n, usersDoc, policyDoc)
	if err := ds.Start(ctx); err != nil {
		return nil, err
	}
	onUsers := func() { ds.Changed("users") }
	usersHook.fn.Store(&onUsers)
	unsub := store.Subscribe(func(_, _ *policy.Config) { ds.Changed("policy") })
	// A reload between Start's read and the hooks above is not missed:
	// look once more (nothing is published when nothing changed).
	ds.Changed("users")
	ds.Changed("policy")
	return func() {
		usersHook.fn.Store(nil)
		unsub()
		ds.Close()
	}, nil
}

// clusterPassword reads [cluster] password_file: its first line is the
// etcd password of username. A file that group or others may read is
// used with a warning.
func clusterPassword(c *policy.Cluster, log *slog.Logger) (string, error) {
	if c.PasswordFile == "" {
		return "", nil
	}
	fi, err := os.Stat(c.PasswordFile)
	if err != nil {
		return "", fmt.Errorf("cluster.password_file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		log.Warn("cluster.password_file is accessible by group or others; run: chmod 600 "+c.PasswordFile,
			"mode", fmt.Sprintf("%04o", fi.Mode().Perm()))
	}
	data, err := os.ReadFile(c.PasswordFile)
	if err != nil {
		return "", fmt.Errorf("cluster.password_file: %w", err)
	}
	pw, _, _ := strings.Cut(string(data), "\n")
	pw = strings.TrimSuffix(pw, "\r")
	if pw == "" {
		return "", fmt.Errorf("cluster.password_file %s: empty first line", c.PasswordFile)
	}
	return pw, nil
}
