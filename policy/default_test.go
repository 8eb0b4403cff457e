package policy

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestLoadDefault(t *testing.T) {
	state := filepath.Join(t.TempDir(), "signet")
	cfg, warns, err := LoadDefault(state)
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 0 {
		t.Errorf("warnings: %v", warns)
	}
	if !cfg.RequireSigning || cfg.RequireSigningSource != SourceExplicit {
		t.Errorf("RequireSigning = %v (%s), want true (explicit)", cfg.RequireSigning, cfg.RequireSigningSource)
	}
	if !cfg.ClientRequireSigning || cfg.AllowAnonymous {
		t.Errorf("ClientRequireSigning = %v, AllowAnonymous = %v", cfg.ClientRequireSigning, cfg.AllowAnonymous)
	}
	if cfg.Listen != "127.0.0.1:4445" {
		t.Errorf("Listen = %q", cfg.Listen)
	}
	if cfg.UsersFile != filepath.Join(state, "users") {
		t.Errorf("UsersFile = %q", cfg.UsersFile)
	}
	if len(cfg.Shares) != 1 || cfg.Shares[0].Name != "share" || cfg.Shares[0].Path != filepath.Join(state, "share") {
		t.Fatalf("Shares = %+v", cfg.Shares)
	}
	if fi, err := os.Stat(cfg.Shares[0].Path); err != nil || !fi.IsDir() {
		t.Errorf("share folder not created: %v", err)
	}
	if cfg.Path != "" || cfg.Name != DefaultName {
		t.Errorf("Path = %q, Name = %q", cfg.Path, cfg.Name)
	}
	// A second call finds the folders in place.
	if _, _, err := LoadDefault(state); err != nil {
		t.Errorf("second LoadDefault: %v", err)
	}
}

func TestLoadDefaultUnwritableState(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := LoadDefault(file)
	var fe *FieldError
	if !errors.As(err, &fe) || fe.File != DefaultName || fe.Key != "share[0].path" {
		t.Errorf("err = %v", err)
	}
}

func TestDefaultConfigIsACopy(t *testing.T) {
	a := DefaultConfig()
	a[0] = 'X'
	if DefaultConfig()[0] == 'X' {
		t.Error("DefaultConfig returned shared storage")
	}
}

func TestStateDir(t *testing.T) {
	home := func() (string, error) { return "/home/u", nil }
	noHome := func() (string, error) { return "", errors.New("$HOME is not defined") }
	cases := []struct {
		xdg  string
		home func() (string, error)
		want string
		err  bool
	}{
		{"/data", home, "/data/signet", false},
		{"", home, "/home/u/.local/share/signet", false},
		{"relative/dir", home, "/home/u/.local/share/signet", false}, // XDG: relative paths are invalid
		{"/data", noHome, "/data/signet", false},
		{"", noHome, "", true},
	}
	for _, c := range cases {
		getenv := func(k string) string {
			if k == "XDG_DATA_HOME" {
				return c.xdg
			}
			return ""
		}
		got, err := stateDir(getenv, c.home)
		if got != c.want || (err != nil) != c.err {
			t.Errorf("stateDir(XDG_DATA_HOME=%q) = %q, %v; want %q", c.xdg, got, err, c.want)
		}
	}
	t.Setenv("XDG_DATA_HOME", "/xdg")
	if d, err := DefaultStateDir(); err != nil || d != "/xdg/signet" {
		t.Errorf("DefaultStateDir() = %q, %v", d, err)
	}
}
