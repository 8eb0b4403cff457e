//go:build linux

package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/signetsmb/signet/policy"
	"github.com/signetsmb/signet/server"
)

// policy keeps a copy of the server's default limits, so that `signet
// policy show` prints real values; this keeps the two equal.
func TestPolicyLimitDefaultsMatchServer(t *testing.T) {
	got := reflect.ValueOf(server.Limits(policy.DefaultLimits()))
	want := reflect.ValueOf(server.DefaultLimits())
	for i := range want.NumField() {
		name := want.Type().Field(i).Name
		if g, w := got.Field(i).Interface(), want.Field(i).Interface(); g != w {
			t.Errorf("policy.DefaultLimits().%s = %v, server.DefaultLimits().%s = %v", name, g, name, w)
		}
		if want.Field(i).Int() <= 0 {
			t.Errorf("server.DefaultLimits().%s = %v: a default must be a positive value", name, want.Field(i).Interface())
		}
	}
}

// configDir holds a config file and its share folder.
func configDir(t *testing.T, text string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "signet.toml")
	writeConfig(t, path, text)
	return path
}

func writeConfig(t *testing.T, path, text string) {
	t.Helper()
	text += "[[share]]\nname = \"data\"\npath = \"data\"\n"
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Limits go from the file to server.Settings, and a reload replaces them;
// a reload the policy refuses keeps the settings in force.
func TestLiveSettingsLimits(t *testing.T) {
	path := configDir(t, "[limits]\nmax_connections = 10\nidle_timeout = \"unlimited\"\nauth_failure_delay = \"0s\"\n")
	cfg, _, err := policy.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	store := policy.NewStore(cfg)
	shares := newShareCache()
	defer shares.close()
	settings, err := liveSettings(store, shares, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	want := server.DefaultLimits()
	want.MaxConnections, want.IdleTimeout, want.AuthFailureDelay = 10, -1, -1
	if got := settings().Limits; got != want {
		t.Fatalf("Limits =\n%+v\nwant\n%+v", got, want)
	}

	writeConfig(t, path, "[limits]\nmax_connections = 20\nwrite_timeout = \"5s\"\n")
	if err := store.Reload(); err != nil {
		t.Fatal(err)
	}
	want = server.DefaultLimits()
	want.MaxConnections, want.WriteTimeout = 20, 5*time.Second
	if got := settings().Limits; got != want {
		t.Fatalf("after reload Limits =\n%+v\nwant\n%+v", got, want)
	}

	before := settings()
	writeConfig(t, path, "[limits]\nmax_connections = 30\n")
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	if err := store.Reload(); err == nil || !strings.Contains(err.Error(), "world-writable") {
		t.Fatalf("Reload of a world-writable file = %v", err)
	}
	if settings() != before {
		t.Error("a refused config replaced the settings")
	}
}

// `signet serve` refuses to start on a config file others can write.
func TestServeRefusesWritableConfig(t *testing.T) {
	path := configDir(t, "[server]\nlisten = \"127.0.0.1:0\"\n")
	if err := os.Chmod(path, 0o664); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // were the file accepted, serve would stop at once
	err := runServe(ctx, []string{"--config", path})
	if err == nil || !strings.Contains(err.Error(), path+": refusing a group-writable config file (mode 0664); run: chmod go-w "+path) {
		t.Errorf("serve = %v, want a refusal naming the file", err)
	}
}
