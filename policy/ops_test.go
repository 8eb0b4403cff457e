package policy

import (
	"os"
	"strings"
	"testing"
)

func TestRequireSigningAudit(t *testing.T) {
	cases := []struct {
		text            string
		required, audit bool
		show            string
	}{
		{"[server]\nrequire_signing = \"audit\"\n", false, true, "audit"},
		{"[server]\nrequire_signing = \"AUDIT\"\n", false, true, "audit"},
		{"[server]\nrequire_signing = true\n", true, false, "true"},
		{"[server]\nrequire_signing = false\nrole = \"domain-controller\"\n", false, false, "false"},
		{"[server]\nrole = \"domain-controller\"\n", true, false, "true"},
	}
	for _, c := range cases {
		f := newFixture(t)
		cfg, _ := f.load(t, c.text+shareData)
		if cfg.RequireSigning != c.required || cfg.AuditSigning != c.audit {
			t.Errorf("%q: required=%t audit=%t, want %t %t", c.text, cfg.RequireSigning, cfg.AuditSigning, c.required, c.audit)
		}
		if s, _ := findSetting(cfg.Show(), "server.require_signing"); s.Value != c.show {
			t.Errorf("%q: show %q, want %q", c.text, s.Value, c.show)
		}
	}
	f := newFixture(t)
	err := f.loadErr(t, "[server]\nrequire_signing = \"sometimes\"\n"+shareData)
	if !strings.Contains(err.Error(), `server.require_signing: "sometimes" is not true, false or "audit"`) {
		t.Errorf("error %v", err)
	}
}

func findSetting(ss []Setting, key string) (Setting, bool) {
	for _, s := range ss {
		if s.Key == key {
			return s, true
		}
	}
	return Setting{}, false
}

// A misspelt key is an error naming the key it resembles: with role =
// "member", require_signin = true would otherwise leave signing off.
func TestUnknownKeyRejected(t *testing.T) {
	f := newFixture(t)
	err := f.loadErr(t, "[server]\nrole = \"member\"\nrequire_signin = true\n"+shareData)
	want := `server.require_signin: unknown key (did you mean "server.require_signing"?)`
	if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "--allow-unknown") {
		t.Errorf("error %q, want %q", err, want)
	}
	err = f.loadErr(t, "[server]\nmax_opens = 3\n"+shareData)
	if !strings.Contains(err.Error(), `did you mean "limits.max_opens"?`) {
		t.Errorf("wrong table: %v", err)
	}
	cfg, warns := f.loadAllowUnknown(t, "[server]\nrole = \"member\"\nrequire_signin = true\n"+shareData)
	if cfg.RequireSigning || len(warns) != 1 || !strings.Contains(warns[0].Message, "did you mean") {
		t.Errorf("allow unknown: %v %v", cfg.RequireSigning, warns)
	}
	// Reloads keep allowing them.
	st := NewStore(cfg)
	if err := st.Reload(); err != nil {
		t.Errorf("reload of an allow-unknown snapshot: %v", err)
	}
}

func TestOpsKeys(t *testing.T) {
	f := newFixture(t)
	cfg, _ := f.load(t, "[server]\nadmin_socket = \"run/a.sock\"\n[metrics]\nlisten = \"127.0.0.1:9445\"\n[log]\nformat = \"json\"\nlevel = \"debug\"\n"+shareData)
	if cfg.AdminSocket != f.dir+"/run/a.sock" || cfg.MetricsListen != "127.0.0.1:9445" || cfg.LogFormat != "json" || cfg.LogLevel != "debug" {
		t.Errorf("got %q %q %q %q", cfg.AdminSocket, cfg.MetricsListen, cfg.LogFormat, cfg.LogLevel)
	}
	cfg, _ = f.load(t, "[server]\nadmin_socket = \"\"\n"+shareData)
	if cfg.AdminSocket != "" || cfg.MetricsListen != "" {
		t.Errorf("disabled: %q %q", cfg.AdminSocket, cfg.MetricsListen)
	}
	for text, want := range map[string]string{
		"[log]\nformat = \"xml\"\n":                                       `log.format: "xml" is not "text" or "json"`,
		"[log]\nlevel = \"loud\"\n":                                       `log.level: "loud" is not`,
		"[metrics]\nlisten = \"9445\"\n":                                  `metrics.listen: "9445" is not host:port`,
		"[server]\nadmin_socket = \"" + strings.Repeat("x", 120) + "\"\n": "too long for a unix socket",
	} {
		if err := f.loadErr(t, text+shareData); !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", text, err, want)
		}
	}
}

func TestSetKey(t *testing.T) {
	base := "# top\n[server]\nrequire_signing = true # always\nrole = \"member\"\n\n[[share]]\nname = \"data\"\npath = \"data\"\n"
	cases := []struct{ key, value, want string }{
		{"server.require_signing", "audit", "[server]\nrequire_signing = \"audit\"\nrole"},
		{"server.require_signing", "false", "[server]\nrequire_signing = false\nrole"},
		{"server.max_sessions", "10", "role = \"member\"\nmax_sessions = 10\n\n[[share]]"},
		{"limits.max_opens", "100", "path = \"data\"\n\n[limits]\nmax_opens = 100\n"},
		{"log.level", "debug", "[log]\nlevel = \"debug\"\n"},
	}
	for _, c := range cases {
		got, err := SetKey([]byte(base), c.key, c.value)
		if err != nil {
			t.Errorf("%s=%s: %v", c.key, c.value, err)
			continue
		}
		if !strings.Contains(string(got), c.want) {
			t.Errorf("%s=%s:\n%s\nwant containing\n%s", c.key, c.value, got, c.want)
		}
		f := newFixture(t)
		f.load(t, string(got))
	}
	for _, c := range []struct{ key, want string }{
		{"server.require_signin", `did you mean "server.require_signing"`},
		{"share.path", "edit the file"},
		{"require_signing", "want TABLE.KEY"},
	} {
		if _, err := SetKey([]byte(base), c.key, "x"); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.key, err, c.want)
		}
	}
	if _, err := SetKey([]byte("[server]\nsigning_algorithms = [\n\"gmac\",\n]\n"), "server.signing_algorithms", `["cmac"]`); err == nil {
		t.Error("multi-line array replaced")
	}
}

func TestSetInFile(t *testing.T) {
	f := newFixture(t)
	f.write(t, "[server]\nrequire_signing = true\n"+shareData)
	if err := os.Chmod(f.path, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := SetInFile(f.path, "server.require_signing", "audit", false); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := Load(f.path)
	if err != nil || !cfg.AuditSigning {
		t.Fatalf("after set: %v %+v", err, cfg)
	}
	if fi, _ := os.Stat(f.path); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v", fi.Mode())
	}
	// An invalid result leaves the file alone.
	before, _ := os.ReadFile(f.path)
	if err := SetInFile(f.path, "server.min_dialect", "9.9", false); err == nil || !strings.Contains(err.Error(), "server.min_dialect") {
		t.Errorf("invalid value: %v", err)
	}
	if after, _ := os.ReadFile(f.path); string(after) != string(before) {
		t.Error("file changed by a rejected set")
	}
	if !NeedsRestart("server.listen") || NeedsRestart("server.require_signing") {
		t.Error("NeedsRestart")
	}
}

func TestAuditFloorKeys(t *testing.T) {
	f := newFixture(t)
	cfg, _ := f.load(t, "[server]\nrequire_signing = \"audit\"\naudit_min_dialect = \"3.0\"\naudit_min_signing_algorithm = \"gmac\"\n"+shareData)
	if cfg.AuditMinDialect != Dialect300 || cfg.AuditMinSigning != SigningAESGMAC {
		t.Errorf("floors %v %v", cfg.AuditMinDialect, cfg.AuditMinSigning)
	}
	if err := f.loadErr(t, "[server]\naudit_min_dialect = \"1.0\"\n"+shareData); !strings.Contains(err.Error(), "server.audit_min_dialect") {
		t.Errorf("bad floor: %v", err)
	}
	cfg, _ = f.load(t, shareData)
	if cfg.AuditMinDialect != 0 || cfg.AuditMinSigning != SigningHMACSHA256 {
		t.Errorf("default floors %v %v", cfg.AuditMinDialect, cfg.AuditMinSigning)
	}
}
