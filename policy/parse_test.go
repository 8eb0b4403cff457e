package policy

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestRequireSigningByRole(t *testing.T) {
	cases := []struct {
		role     string // "" = key absent
		explicit string // "" = key absent, else "true"/"false"
		want     bool
		source   string
	}{
		{"", "", false, "role default (standalone)"},
		{"standalone", "", false, "role default (standalone)"},
		{"member", "", false, "role default (member)"},
		{"domain-controller", "", true, "role default (domain-controller)"},
		{"", "true", true, SourceExplicit},
		{"standalone", "true", true, SourceExplicit},
		{"member", "true", true, SourceExplicit},
		{"domain-controller", "true", true, SourceExplicit},
		{"standalone", "false", false, SourceExplicit},
		{"member", "false", false, SourceExplicit},
		{"domain-controller", "false", false, SourceExplicit},
	}
	for _, c := range cases {
		t.Run(c.role+"/"+c.explicit, func(t *testing.T) {
			f := newFixture(t)
			text := "[server]\n"
			if c.role != "" {
				text += fmt.Sprintf("role = %q\n", c.role)
			}
			if c.explicit != "" {
				text += "require_signing = " + c.explicit + "\n"
			}
			cfg, _ := f.load(t, text+shareData)
			if cfg.RequireSigning != c.want || cfg.RequireSigningSource != c.source {
				t.Errorf("RequireSigning = %v (%s), want %v (%s)",
					cfg.RequireSigning, cfg.RequireSigningSource, c.want, c.source)
			}
			wantRole := Role(c.role)
			if c.role == "" {
				wantRole = RoleStandalone
			}
			if cfg.Role != wantRole {
				t.Errorf("Role = %q, want %q", cfg.Role, wantRole)
			}
		})
	}
}

func TestBuiltinDefaults(t *testing.T) {
	f := newFixture(t)
	f.write(t, shareData)
	e := env{hostname: func() (string, error) { return "fileserver.example.org", nil }, stat: os.Stat}
	cfg, warns, err := loadFile(f.path, f.path, e, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 0 {
		t.Errorf("warnings: %v", warns)
	}
	want := &Config{
		Path: f.path, Name: f.path,
		Listen: ":445", Role: RoleStandalone,
		RequireSigning: false, RequireSigningSource: "role default (standalone)",
		ClientRequireSigning: true,
		UsersFile:            filepath.Join(f.dir, "users"),
		ServerName:           "FILESERVER", Domain: "WORKGROUP",
		MinDialect: Dialect202, MaxDialect: Dialect311,
		SigningAlgorithms:       []SigningAlgorithm{SigningAESGMAC, SigningAESCMAC, SigningHMACSHA256},
		Multichannel:            true,
		RejectUnencryptedAccess: true,
		Ciphers:                 []Cipher{CipherAES128GCM, CipherAES128CCM, CipherAES256GCM, CipherAES256CCM},
		Limits:                  DefaultLimits(),
		Shares:                  []Share{{Name: "data", Path: filepath.Join(f.dir, "data")}},
		NTLM:                    true,
		AuthOrder:               []string{MechKerberos, MechNTLM},
		AuthMechanisms:          []string{MechNTLM},
		AdminSocket:             filepath.Join(f.dir, "admin.sock"), WatchConfig: true,
		LogFormat: "text", LogLevel: "info",
	}
	cfg.explicit, cfg.warnings = nil, nil
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("got  %+v\nwant %+v", cfg, want)
	}
}

func TestExplicitValues(t *testing.T) {
	f := newFixture(t)
	cfg, warns := f.load(t, `
[server]
listen = "[::1]:1445"
require_signing = true
role = "member"
users_file = "/etc/signet/users"
server_name = "nas01"
domain = "corp"
min_dialect = "3.0"
max_dialect = "3.0.2"
signing_algorithms = ["hmac-sha256", "AES-128-cmac"]
max_sessions = 50
[client]
require_signing = false
[[share]]
name = "Docs"
path = "data"
read_only = true
comment = "documents"
users = ["alice", "Bob"]
`)
	if len(warns) != 0 {
		t.Errorf("warnings: %v", warns)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"Listen", cfg.Listen, "[::1]:1445"},
		{"Role", cfg.Role, RoleMember},
		{"RequireSigning", cfg.RequireSigning, true},
		{"UsersFile", cfg.UsersFile, "/etc/signet/users"},
		{"ServerName", cfg.ServerName, "NAS01"},
		{"Domain", cfg.Domain, "CORP"},
		{"MinDialect", cfg.MinDialect, Dialect300},
		{"MaxDialect", cfg.MaxDialect, Dialect302},
		{"SigningAlgorithms", cfg.SigningAlgorithms, []SigningAlgorithm{SigningHMACSHA256, SigningAESCMAC}},
		{"MaxSessions", cfg.MaxSessions, 50},
		{"ClientRequireSigning", cfg.ClientRequireSigning, false},
		{"Shares", cfg.Shares, []Share{{Name: "Docs", Path: filepath.Join(f.dir, "data"), ReadOnly: true,
			Comment: "documents", Users: []string{"alice", "Bob"}}}},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	s, ok := cfg.Share("docs")
	if !ok || !s.AllowsUser("BOB") || s.AllowsUser("carol") {
		t.Errorf("Share(docs) = %+v, %v; user checks failed", s, ok)
	}
	if _, ok := cfg.Share("nope"); ok {
		t.Error("Share(nope) found")
	}
}

func TestServerNameFromHostname(t *testing.T) {
	cases := []struct {
		host string
		err  error
		want string
	}{
		{"nas", nil, "NAS"},
		{"nas.example.org", nil, "NAS"},
		{"averyveryverylonghostname", nil, "AVERYVERYVERYLO"},
		{"", nil, "SIGNET"},
		{"x", errors.New("no hostname"), "SIGNET"},
	}
	for _, c := range cases {
		got := hostNetBIOSName(func() (string, error) { return c.host, c.err })
		if got != c.want {
			t.Errorf("hostNetBIOSName(%q, %v) = %q, want %q", c.host, c.err, got, c.want)
		}
	}
}

func TestRelativePaths(t *testing.T) {
	root := t.TempDir()
	conf := filepath.Join(root, "conf")
	for _, d := range []string{"conf/data", "shared", "abs"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	text := fmt.Sprintf(`
[server]
users_file = "../secrets/users"
[[share]]
name = "a"
path = "data"
[[share]]
name = "b"
path = "../shared/"
[[share]]
name = "c"
path = %q
`, filepath.Join(root, "abs"))
	if err := os.WriteFile(filepath.Join(conf, "signet.toml"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	// Load a relative path from an unrelated working directory: paths in
	// the file must resolve against the file's folder, not the cwd.
	t.Chdir(root)
	cfg, _, err := Load(filepath.Join("conf", "signet.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(conf, "signet.toml"); cfg.Path != want {
		t.Errorf("Path = %q, want %q", cfg.Path, want)
	}
	if want := filepath.Join(root, "secrets", "users"); cfg.UsersFile != want {
		t.Errorf("UsersFile = %q, want %q", cfg.UsersFile, want)
	}
	want := []string{filepath.Join(conf, "data"), filepath.Join(root, "shared"), filepath.Join(root, "abs")}
	for i, s := range cfg.Shares {
		if s.Path != want[i] {
			t.Errorf("share %s path = %q, want %q", s.Name, s.Path, want[i])
		}
	}
}

func TestWarnings(t *testing.T) {
	f := newFixture(t)
	_, warns := f.loadAllowUnknown(t, `
[server]
require_signing = true
enable_security_signature = true
allow_anonymous = true
colour = "blue"
[client]
enable_security_signature = false
[extra]
a = 1
b = 2
`+shareData+"writable = true\n")
	want := []string{
		"server.colour", "extra", "share.writable",
		"server.allow_anonymous",
		"server.enable_security_signature", "client.enable_security_signature",
	}
	if got := warningKeys(warns); !reflect.DeepEqual(got, want) {
		t.Errorf("warning keys = %q, want %q", got, want)
	}
	for _, key := range []string{"server.enable_security_signature", "client.enable_security_signature"} {
		w, _ := findWarning(warns, key)
		if !strings.Contains(w.Message, "has no effect on SMB2/SMB3") {
			t.Errorf("%s warning = %q", key, w.Message)
		}
		if w.File != f.path || !strings.HasPrefix(w.String(), f.path+": "+key+": ") {
			t.Errorf("warning does not name file and key: %q", w)
		}
	}
	w, _ := findWarning(warns, "extra")
	if w.Message != "unknown key, ignored" {
		t.Errorf("unknown key warning = %q", w.Message)
	}
}

func TestAnonymousWarningFollowsEffectiveSigning(t *testing.T) {
	cases := []struct {
		text string
		warn bool
	}{
		{"[server]\nallow_anonymous = true\nrole = \"domain-controller\"\n", true},
		{"[server]\nallow_anonymous = true\n", false},
		{"[server]\nallow_anonymous = true\nrequire_signing = false\nrole = \"domain-controller\"\n", false},
		{"[server]\nallow_anonymous = false\nrequire_signing = true\n", false},
	}
	for _, c := range cases {
		f := newFixture(t)
		cfg, warns := f.load(t, c.text+shareData)
		_, got := findWarning(warns, "server.allow_anonymous")
		if got != c.warn {
			t.Errorf("warning = %v, want %v for\n%s", got, c.warn, c.text)
		}
		if len(cfg.Warnings()) != len(warns) {
			t.Errorf("Config.Warnings() = %v, Load returned %v", cfg.Warnings(), warns)
		}
	}
}

func TestNoSharesWarns(t *testing.T) {
	f := newFixture(t)
	cfg, warns := f.load(t, "[server]\nrequire_signing = true\n")
	if len(cfg.Shares) != 0 {
		t.Errorf("Shares = %v", cfg.Shares)
	}
	if _, ok := findWarning(warns, "share"); !ok {
		t.Errorf("no warning about missing shares: %v", warns)
	}
}

func TestValidationErrors(t *testing.T) {
	long := strings.Repeat("s", 81)
	cases := []struct {
		name, text, key, msg string
	}{
		{"listen not host:port", "[server]\nlisten = \"4445\"" + shareData, "server.listen", "not host:port"},
		{"listen bad port", "[server]\nlisten = \"127.0.0.1:99999\"" + shareData, "server.listen", "port"},
		{"listen empty", "[server]\nlisten = \"\"" + shareData, "server.listen", "not host:port"},
		{"role", "[server]\nrole = \"pdc\"" + shareData, "server.role", `unknown role "pdc"`},
		{"users_file empty", "[server]\nusers_file = \"\"" + shareData, "server.users_file", "must not be empty"},
		{"server_name long", "[server]\nserver_name = \"ABCDEFGHIJKLMNOP\"" + shareData, "server.server_name", "longer than 15"},
		{"server_name dot", "[server]\nserver_name = \"a.b\"" + shareData, "server.server_name", "contains"},
		{"domain empty", "[server]\ndomain = \"\"" + shareData, "server.domain", "must not be empty"},
		{"min_dialect", "[server]\nmin_dialect = \"2.2\"" + shareData, "server.min_dialect", `unknown dialect "2.2"`},
		{"max_dialect", "[server]\nmax_dialect = \"4.0\"" + shareData, "server.max_dialect", `unknown dialect "4.0"`},
		{"min above max", "[server]\nmin_dialect = \"3.1.1\"\nmax_dialect = \"3.0\"" + shareData, "server.min_dialect", "above max_dialect"},
		{"algorithm", "[server]\nsigning_algorithms = [\"gmac\", \"sha1\"]" + shareData, "server.signing_algorithms[1]", `unknown signing algorithm "sha1"`},
		{"algorithm twice", "[server]\nsigning_algorithms = [\"gmac\", \"AES-128-GMAC\"]" + shareData, "server.signing_algorithms[1]", "listed twice"},
		{"no algorithms", "[server]\nsigning_algorithms = []" + shareData, "server.signing_algorithms", "at least one"},
		{"max_sessions", "[server]\nmax_sessions = -1" + shareData, "server.max_sessions", "out of range"},
		{"share no name", "[[share]]\npath = \"data\"\n", "share[0].name", "missing share name"},
		{"share bad char", "[[share]]\nname = \"a/b\"\npath = \"data\"\n", "share[0].name", "contains"},
		{"share name long", "[[share]]\nname = \"" + long + "\"\npath = \"data\"\n", "share[0].name", "longer than 80"},
		{"share IPC$", "[[share]]\nname = \"IPC$\"\npath = \"data\"\n", "share[0].name", "reserved"},
		{"share ipc$", "[[share]]\nname = \"ipc$\"\npath = \"data\"\n", "share[0].name", "reserved"},
		{"share duplicate", shareData + "[[share]]\nname = \"DATA\"\npath = \"data\"\n", "share[1].name", `"DATA" is already defined by share[0]`},
		{"share no path", "[[share]]\nname = \"x\"\n", "share[0].path", `share "x": missing path`},
		{"share path missing", "[[share]]\nname = \"x\"\npath = \"nope\"\n", "share[0].path", "no such file or directory"},
		{"share path is file", "[[share]]\nname = \"x\"\npath = \"signet.toml\"\n", "share[0].path", "is not a directory"},
		{"share empty user", "[[share]]\nname = \"x\"\npath = \"data\"\nusers = [\"a\", \" \"]\n", "share[0].users[1]", "invalid user name"},
		{"type mismatch", "[server]\nrequire_signing = \"yes\"" + shareData, "server.require_signing", `"yes" is not true, false or "audit"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			err := f.loadErr(t, c.text)
			if !strings.HasPrefix(err.Error(), f.path+":") {
				t.Errorf("error does not start with the file name: %v", err)
			}
			if !strings.Contains(err.Error(), c.key) || !strings.Contains(err.Error(), c.msg) {
				t.Errorf("error = %q, want key %q and %q", err, c.key, c.msg)
			}
			fes := fieldErrors(err)
			if len(fes) != 1 {
				t.Fatalf("want exactly one FieldError, got %d: %v", len(fes), err)
			}
			if fes[0].Key != c.key {
				t.Errorf("Key = %q, want %q", fes[0].Key, c.key)
			}
		})
	}
}

func TestDecodeErrorsHaveLine(t *testing.T) {
	cases := []struct {
		text, prefix string
	}{
		{"[server]\nrole = \"member\"\nlisten = \n", ":3: "},
		{"[server]\nrole = \"member\"\nmax_sessions = 1.5\n", ":3: server.max_sessions: incompatible types"},
	}
	for _, c := range cases {
		f := newFixture(t)
		err := f.loadErr(t, c.text)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Line != 3 {
			t.Errorf("err = %v (%#v), want a FieldError on line 3", err, fe)
		}
		if !strings.HasPrefix(err.Error(), f.path+c.prefix) {
			t.Errorf("error = %q, want prefix file%s", err, c.prefix)
		}
	}
}

func TestAllErrorsReported(t *testing.T) {
	f := newFixture(t)
	err := f.loadErr(t, "[server]\nrole = \"x\"\nmin_dialect = \"1.0\"\n[[share]]\nname = \"IPC$\"\npath = \"data\"\n")
	var keys []string
	for _, fe := range fieldErrors(err) {
		keys = append(keys, fe.Key)
	}
	want := []string{"server.role", "server.min_dialect", "share[0].name"}
	if !reflect.DeepEqual(keys, want) {
		t.Errorf("error keys = %q, want %q\n%v", keys, want, err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent.toml")
	_, _, err := Load(path)
	if err == nil || !strings.HasPrefix(err.Error(), path+": ") || !strings.Contains(err.Error(), "cannot read config") {
		t.Fatalf("err = %v", err)
	}
}

func TestParseUsesDirAndName(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := Parse([]byte(shareData), dir, "inline")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Path != "" || cfg.Name != "inline" || cfg.Shares[0].Path != filepath.Join(dir, "data") {
		t.Errorf("Path=%q Name=%q share=%q", cfg.Path, cfg.Name, cfg.Shares[0].Path)
	}
	_, _, err = Parse([]byte("[server]\nrole = 1\n"), dir, "inline")
	if err == nil || !strings.HasPrefix(err.Error(), "inline:") {
		t.Errorf("err = %v, want it to name the source", err)
	}
}

// Share existence is checked through env.stat, so a stat failure other
// than "not found" is reported with the share's name.
func TestShareStatError(t *testing.T) {
	e := env{hostname: os.Hostname, stat: func(string) (fs.FileInfo, error) { return nil, fs.ErrPermission }}
	_, _, err := parse([]byte(shareData), t.TempDir(), "x.toml", e, false)
	if err == nil || !strings.Contains(err.Error(), `share[0].path: share "data"`) || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("err = %v", err)
	}
}

// A config file others can change is refused: a world-writable file once
// pointed a share at "/".
func TestLoadRefusesUntrustedFile(t *testing.T) {
	cases := []struct {
		name    string
		setup   func(t *testing.T, f fixture)
		refuses string // "" = loads
	}{
		{"0644", func(t *testing.T, f fixture) { chmod(t, f.path, 0o644) }, ""},
		{"0600", func(t *testing.T, f fixture) { chmod(t, f.path, 0o600) }, ""},
		{"group-writable", func(t *testing.T, f fixture) { chmod(t, f.path, 0o664) }, "refusing a group-writable config file (mode 0664); run: chmod go-w "},
		{"world-writable", func(t *testing.T, f fixture) { chmod(t, f.path, 0o646) }, "refusing a world-writable config file (mode 0646)"},
		{"folder world-writable", func(t *testing.T, f fixture) { chmod(t, f.dir, 0o777) }, "world-writable folder without the sticky bit"},
		{"folder sticky", func(t *testing.T, f fixture) { chmod(t, f.dir, 0o777|fs.ModeSticky) }, ""},
		{"other owner", func(t *testing.T, f fixture) {
			if os.Geteuid() != 0 {
				t.Skip("chown to another user needs root")
			}
			if err := os.Chown(f.path, 4242, 4242); err != nil {
				t.Fatal(err)
			}
		}, "refusing a config file owned by uid 4242"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			f.write(t, shareData)
			c.setup(t, f)
			_, _, err := Load(f.path)
			if c.refuses == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			fes := fieldErrors(err)
			if len(fes) != 1 || fes[0].File != f.path || !strings.Contains(fes[0].Message, c.refuses) {
				t.Errorf("Load = %v, want a FieldError naming the file and %q", err, c.refuses)
			}
		})
	}
}

func chmod(t *testing.T, path string, mode fs.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func TestInterfaces(t *testing.T) {
	f := newFixture(t)
	f.write(t, shareData+`
[server]
multichannel = false
[[interface]]
addresses = ["192.0.2.10", "2001:db8::1"]
speed = "2.5G"
rss = true
[[interface]]
addresses = ["192.0.2.11"]
index = 7
`)
	e := env{hostname: func() (string, error) { return "h", nil }, stat: os.Stat}
	cfg, _, err := loadFile(f.path, f.path, e, false)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Multichannel {
		t.Error("multichannel = false ignored")
	}
	if len(cfg.Interfaces) != 2 || cfg.Interfaces[0].Speed != 2_500_000_000 || !cfg.Interfaces[0].RSS ||
		len(cfg.Interfaces[0].Addresses) != 2 || cfg.Interfaces[0].Index != 1 || cfg.Interfaces[1].Index != 7 ||
		cfg.Interfaces[1].Speed != 1_000_000_000 {
		t.Fatalf("interfaces %+v", cfg.Interfaces)
	}
	f.write(t, shareData+"[[interface]]\naddresses = [\"not-an-ip\"]\n")
	if _, _, err := loadFile(f.path, f.path, e, false); err == nil {
		t.Fatal("a bad interface address was accepted")
	}
	f.write(t, shareData+"[[interface]]\naddresses = [\"192.0.2.1\"]\nspeed = \"fast\"\n")
	if _, _, err := loadFile(f.path, f.path, e, false); err == nil {
		t.Fatal("a bad link speed was accepted")
	}
}

func TestEncryptionKeys(t *testing.T) {
	f := newFixture(t)
	cfg, warns := f.load(t, "[server]\nencrypt_data = true\nreject_unencrypted_access = false\nciphers = [\"aes-256-gcm\", \"AES128GCM\"]\n"+
		shareData+"encrypt_data = true\n")
	if !cfg.EncryptData || cfg.RejectUnencryptedAccess || !reflect.DeepEqual(cfg.Ciphers, []Cipher{CipherAES256GCM, CipherAES128GCM}) {
		t.Fatalf("got encrypt %v reject %v ciphers %v", cfg.EncryptData, cfg.RejectUnencryptedAccess, cfg.Ciphers)
	}
	if !cfg.Shares[0].EncryptData {
		t.Fatal("share encrypt_data not read")
	}
	if len(warns) != 1 || !strings.Contains(warns[0].Message, "AES-128-CCM") {
		t.Fatalf("warnings %v, want one about 3.0 clients", warns)
	}
	var shown []string
	for _, s := range cfg.Show() {
		shown = append(shown, s.Key+"="+s.Value)
	}
	for _, want := range []string{"server.encrypt_data=true", "server.reject_unencrypted_access=false",
		"server.ciphers=AES-256-GCM,AES-128-GCM", "share.data.encrypt_data=true"} {
		if !slices.Contains(shown, want) {
			t.Errorf("policy show lacks %s", want)
		}
	}
	for _, bad := range []string{"ciphers = []", "ciphers = [\"rc4\"]", "ciphers = [\"AES-128-GCM\", \"aes-128-gcm\"]"} {
		if _, _, err := parse([]byte("[server]\n"+bad+"\n"+shareData), f.dir, "t", osEnv(), false); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
