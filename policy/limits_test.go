package policy

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Every field of Limits is configured by exactly one key, and every
// default is a value its key accepts.
func TestLimitSpecsCoverLimits(t *testing.T) {
	typ := reflect.TypeFor[Limits]()
	byField := map[string]string{}
	keys := map[string]bool{}
	for i, s := range limitSpecs() {
		if _, ok := typ.FieldByName(s.field); !ok {
			t.Errorf("spec %s: Limits has no field %s", s.key, s.field)
			continue
		}
		if prev, dup := byField[s.field]; dup {
			t.Errorf("field %s configured by %s and %s", s.field, prev, s.key)
		}
		if keys[s.key] {
			t.Errorf("key %s listed twice", s.key)
		}
		byField[s.field], keys[s.key] = s.key, true
		if typ.Field(i).Name != s.field {
			t.Errorf("spec %d is %s, field %d is %s: keep the Limits order", i, s.field, i, typ.Field(i).Name)
		}
		def := s.get(new(DefaultLimits()))
		var v any = def
		if s.kind == limitDuration {
			v = s.format(def)
		}
		if got, err := s.parse(v); err != nil || got != def {
			t.Errorf("default of %s: parse(%v) = %d, %v", s.key, v, got, err)
		}
	}
	if len(byField) != typ.NumField() {
		t.Errorf("%d keys for %d Limits fields", len(byField), typ.NumField())
	}
}

func TestLimitsExplicit(t *testing.T) {
	f := newFixture(t)
	cfg, warns := f.load(t, `
[limits]
max_connections = 100
max_connections_per_addr = "unlimited"
max_sessions_per_conn = 1
max_channels_per_session = 4
max_opens_per_session = 2147483647
max_opens = "Unlimited"
max_async_per_conn = 8
max_locks_per_open = 9
max_locks_per_file = 10
max_pipe_output = 4280
max_read_bytes_pending = "unlimited"
max_credits = 65535
max_pdu_before_negotiate = 102
max_pdu_before_session = 16777215
pre_auth_timeout = "1s"
idle_timeout = "unlimited"
write_timeout = "1m30s"
max_search_pattern = 255
auth_failure_delay = "0s"
revalidate_interval = "1h"
`+shareData)
	if len(warns) != 0 {
		t.Errorf("warnings: %v", warns)
	}
	want := Limits{
		MaxConnections: 100, MaxConnectionsPerAddr: Unlimited, MaxSessionsPerConn: 1,
		MaxChannelsPerSession: 4, MaxOpensPerSession: 2147483647, MaxOpens: Unlimited, MaxAsyncPerConn: 8,
		MaxLocksPerOpen: 9, MaxLocksPerFile: 10, MaxPipeOutput: 4280, MaxReadBytesPending: Unlimited,
		MaxCredits: 65535, MaxPDUBeforeNegotiate: 102, MaxPDUBeforeSession: 16777215,
		PreAuthTimeout: time.Second, IdleTimeout: Unlimited, WriteTimeout: 90 * time.Second,
		MaxSearchPattern: 255, AuthFailureDelay: Unlimited, RevalidateInterval: time.Hour,
	}
	if cfg.Limits != want {
		t.Errorf("Limits =\n%+v\nwant\n%+v", cfg.Limits, want)
	}
}

func TestLimitsErrors(t *testing.T) {
	cases := []struct{ line, msg string }{
		{"max_connections = 0", `0 is out of range: want 1 to 2147483647, or "unlimited" (default 4096)`},
		{"max_connections = -1", `-1 is out of range: want 1 to 2147483647, or "unlimited"`},
		{"max_opens = 2147483648", "out of range"},
		{"max_opens = 1.5", "want an integer, got the number 1.5"},
		{"max_opens = true", "want an integer, got a boolean"},
		{`max_locks_per_file = "many"`, `want an integer, got "many"`},
		{`max_pipe_output = "1MiB"`, `want an integer number of bytes, got "1MiB"`},
		{"max_pipe_output = 4279", `4279 is out of range: want 4280 to 2147483647, or "unlimited" (default 1048576)`},
		{"max_read_bytes_pending = 65535", "out of range: want 65536 to"},
		{"max_credits = 0", "0 is out of range: want 1 to 65535 (default 8192)"},
		{"max_credits = 65536", "out of range: want 1 to 65535"},
		{`max_credits = "unlimited"`, `cannot be "unlimited"; want 1 to 65535`},
		{"max_pdu_before_negotiate = 101", "101 is out of range: want 102 to 16777215 (default 4096)"},
		{"max_pdu_before_session = 87", "87 is out of range: want 88 to 16777215"},
		{"max_pdu_before_session = 16777216", "out of range"},
		{`max_pdu_before_session = "unlimited"`, `cannot be "unlimited"`},
		{"pre_auth_timeout = 60", `want a duration such as "60s" or "15m", got the number 60`},
		{`pre_auth_timeout = "60"`, `want a duration such as "60s" or "15m", got "60"`},
		{`pre_auth_timeout = "500ms"`, `500ms is out of range: want "1s" or more, or "unlimited" (default 1m)`},
		{`idle_timeout = "0s"`, `0s is out of range: want "1s" or more, or "unlimited" (default 15m)`},
		{`write_timeout = "-1s"`, "out of range"},
		{`auth_failure_delay = "11s"`, `11s is out of range: want "0s" (no delay) to "10s" (default 2s)`},
		{`auth_failure_delay = "-1s"`, "out of range"},
		{`auth_failure_delay = "unlimited"`, `cannot be "unlimited"; want "0s" (no delay) to "10s"`},
		{`revalidate_interval = "unlimited"`, `cannot be "unlimited"; want "1s" or more`},
		{`max_search_pattern = [1]`, "want an integer, got an array"},
	}
	for _, c := range cases {
		f := newFixture(t)
		err := f.loadErr(t, "[limits]\n"+c.line+"\n"+shareData)
		key := "limits." + strings.TrimSpace(strings.SplitN(c.line, "=", 2)[0])
		fes := fieldErrors(err)
		if len(fes) != 1 || fes[0].Key != key || !strings.Contains(fes[0].Message, c.msg) {
			t.Errorf("%s: err = %v, want %s: ...%s", c.line, err, key, c.msg)
		}
	}
}

func TestLimitsNotATable(t *testing.T) {
	for _, text := range []string{"limits = 5\n", "limits = [1]\n", "[[limits]]\nmax_opens = 5\n"} {
		f := newFixture(t)
		fes := fieldErrors(f.loadErr(t, text+shareData))
		if len(fes) != 1 || fes[0].Key != "limits" || !strings.Contains(fes[0].Message, "must be a table") {
			t.Errorf("%q: errors %v", text, fes)
		}
	}
}

// Unknown keys in [limits] are warned about like unknown keys elsewhere,
// so that a file written for a newer Signet still loads.
func TestLimitsUnknownKeys(t *testing.T) {
	f := newFixture(t)
	cfg, warns := f.loadAllowUnknown(t, "[limits]\nmax_conections = 10\nmax_opens = 5\n[limits.extra]\na = 1\n"+shareData)
	if got, want := warningKeys(warns), []string{"limits.extra", "limits.max_conections"}; !reflect.DeepEqual(got, want) {
		t.Errorf("warnings %v, want %v", got, want)
	}
	w, _ := findWarning(warns, "limits.max_conections")
	if w.Message != `unknown key, ignored (did you mean "limits.max_connections"?)` {
		t.Errorf("warning %q", w)
	}
	if cfg.Limits.MaxOpens != 5 || cfg.Limits.MaxConnections != DefaultLimits().MaxConnections {
		t.Errorf("Limits = %+v", cfg.Limits)
	}
}

// The commented [limits] keys of the embedded default are the defaults:
// uncommented, they load and change nothing.
func TestDefaultTOMLLimits(t *testing.T) {
	commented := regexp.MustCompile(`(?m)^# ([a-z_]+ = .+)$`)
	text := string(DefaultConfig())
	start := strings.Index(text, "\n[limits]\n")
	end := strings.Index(text, "\n[[share]]\n")
	if start < 0 || end < start {
		t.Fatal("default.toml has no [limits] section before [[share]]")
	}
	section := commented.ReplaceAllString(text[start:end], "$1")
	text = text[:start] + section + text[end:]
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "share"), 0o700); err != nil {
		t.Fatal(err)
	}
	cfg, warns, err := Parse([]byte(text), dir, "uncommented")
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 0 {
		t.Errorf("warnings: %v", warns)
	}
	if cfg.Limits != DefaultLimits() {
		t.Errorf("Limits =\n%+v\nwant\n%+v", cfg.Limits, DefaultLimits())
	}
	for _, s := range limitSpecs() {
		if !cfg.explicit["limits."+s.key] {
			t.Errorf("default.toml does not show limits.%s", s.key)
		}
	}
}

func TestFormatLimits(t *testing.T) {
	cases := []struct {
		d    time.Duration
		want string
	}{
		{60 * time.Second, "1m"}, {15 * time.Minute, "15m"}, {time.Hour, "1h"},
		{90 * time.Second, "1m30s"}, {2 * time.Second, "2s"}, {1500 * time.Millisecond, "1.5s"},
		{time.Hour + time.Second, "1h0m1s"},
	}
	for _, c := range cases {
		if got := formatDuration(c.d); got != c.want {
			t.Errorf("formatDuration(%v) = %q, want %q", c.d, got, c.want)
		}
	}
	for n, want := range map[int64]string{1 << 20: "1 MiB", 32 << 20: "32 MiB", 4096: "4 KiB", 4280: "", 1 << 30: "1 GiB", 0: ""} {
		if got := formatBytes(n); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

// The package documentation lists every key with the range it accepts.
func TestDocListsLimitRanges(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range limitSpecs() {
		if line := "//\t" + s.key + ": " + s.rangeText() + "\n"; !strings.Contains(string(doc), line) {
			t.Errorf("doc.go lacks the line %q", line)
		}
	}
}
