//go:build linux

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signetsmb/signet/policy"
)

// The systemd unit passes `systemd-analyze verify` (with ExecStart pointed
// at a freshly built binary, since verify checks that it exists).
func TestSystemdUnitVerifies(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("systemd-analyze not found; install it with: apt-get install systemd")
		}
		t.Skip("systemd-analyze not found; install it with: apt-get install systemd")
	}
	unit, err := os.ReadFile("../../packaging/signet.service")
	if err != nil {
		t.Fatal(err)
	}
	text := string(unit)
	for _, want := range []string{"User=signet", "AmbientCapabilities=CAP_NET_BIND_SERVICE", "CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
		"NoNewPrivileges=yes", "ProtectSystem=strict", "ExecReload=/bin/kill -HUP $MAINPID", "RuntimeDirectory=signet"} {
		if !strings.Contains(text, want) {
			t.Errorf("unit lacks %s", want)
		}
	}
	f := filepath.Join(t.TempDir(), "signet.service")
	os.WriteFile(f, []byte(strings.ReplaceAll(text, "/usr/local/bin/signet", signetBinary(t))), 0o644)
	out, err := exec.Command(sa, "verify", f).CombinedOutput()
	if err != nil || strings.Contains(string(out), "signet.service") {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// The packaged configuration uses only known keys and puts the admin
// socket in the unit's RuntimeDirectory.
func TestPackagedConfig(t *testing.T) {
	data, err := os.ReadFile("../../packaging/signet.toml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, _, err := policy.Parse(data, "/etc/signet", "signet.toml")
	if err != nil && !strings.Contains(err.Error(), "/srv/signet") {
		t.Fatalf("packaged config: %v", err)
	}
	if err != nil && strings.Count(err.Error(), "signet.toml:") != 1 {
		t.Fatalf("packaged config: more than the share path: %v", err)
	}
	if cfg != nil && (cfg.AdminSocket != "/run/signet/admin.sock" || cfg.Listen != ":445") {
		t.Errorf("packaged config: %+v", cfg)
	}
}
