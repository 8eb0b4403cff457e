package policy

import (
	"bytes"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func showMap(c *Config) map[string]Setting {
	m := map[string]Setting{}
	for _, s := range c.Show() {
		m[s.Key] = s
	}
	return m
}

func TestShowSources(t *testing.T) {
	f := newFixture(t)
	cfg, _ := f.load(t, `
[server]
role = "domain-controller"
listen = "127.0.0.1:4445"
enable_security_signature = false
[client]
require_signing = false
`+shareData)
	m := showMap(cfg)
	want := []Setting{
		{Key: "server.listen", Value: "127.0.0.1:4445", Source: SourceExplicit},
		{Key: "server.role", Value: "domain-controller", Source: SourceExplicit},
		{Key: "server.require_signing", Value: "true", Source: "role default (domain-controller)"},
		{Key: "server.domain", Value: "WORKGROUP", Source: SourceBuiltin},
		{Key: "server.min_dialect", Value: "2.0.2", Source: SourceBuiltin},
		{Key: "server.signing_algorithms", Value: "AES-128-GMAC,AES-128-CMAC,HMAC-SHA256", Source: SourceBuiltin},
		{Key: "server.max_sessions", Value: "0", Source: SourceBuiltin},
		{Key: "client.require_signing", Value: "false", Source: SourceExplicit},
		{Key: "server.enable_security_signature", Value: "false", Source: SourceExplicit},
		{Key: "client.enable_security_signature", Value: "-", Source: SourceNotSet},
		{Key: "share.data.path", Value: cfg.Shares[0].Path, Source: SourceExplicit},
	}
	for _, w := range want {
		got, ok := m[w.Key]
		if !ok {
			t.Errorf("Show() has no %s", w.Key)
			continue
		}
		got.Note = ""
		if got != w {
			t.Errorf("Show() %s = %+v, want %+v", w.Key, got, w)
		}
	}
	for _, key := range []string{"server.enable_security_signature", "client.enable_security_signature"} {
		if !strings.Contains(m[key].Note, "no effect on SMB2/SMB3") {
			t.Errorf("%s note = %q, want it to say it has no effect", key, m[key].Note)
		}
	}
	if !strings.Contains(m["server.require_signing"].Note, "Digitally sign communications (always)") {
		t.Errorf("require_signing note = %q", m["server.require_signing"].Note)
	}
}

func TestShowRequireSigningExplicit(t *testing.T) {
	f := newFixture(t)
	cfg, _ := f.load(t, "[server]\nrole = \"domain-controller\"\nrequire_signing = false\n"+shareData)
	s := showMap(cfg)["server.require_signing"]
	if s.Value != "false" || s.Source != SourceExplicit {
		t.Errorf("require_signing = %+v", s)
	}
}

func TestWriteText(t *testing.T) {
	f := newFixture(t)
	cfg, _ := f.load(t, "[server]\nrequire_signing = true\n"+shareData)
	var b bytes.Buffer
	if err := cfg.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if lines[0] != "# "+f.path {
		t.Errorf("first line = %q", lines[0])
	}
	if got, want := len(lines), 2+len(cfg.Show()); got != want {
		t.Errorf("%d lines, want %d:\n%s", got, want, b.String())
	}
	var found bool
	for _, l := range lines {
		if strings.Fields(l)[0] == "server.require_signing" {
			found = true
			if f := strings.Fields(l); f[1] != "true" || f[2] != "explicit" {
				t.Errorf("line %q", l)
			}
		}
	}
	if !found {
		t.Errorf("no require_signing line:\n%s", b.String())
	}
}

func TestDiff(t *testing.T) {
	f := newFixture(t)
	old, _ := f.load(t, "[server]\nrequire_signing = true\n"+shareData)
	same, _ := f.load(t, "[server]\nrequire_signing = true\n"+shareData)
	if d := Diff(old, same); len(d) != 0 {
		t.Errorf("Diff of equal configs = %v", d)
	}
	// Same effective value, different source: not a change.
	standalone, _ := f.load(t, "[server]\nrequire_signing = false\n"+shareData)
	implicit, _ := f.load(t, shareData)
	if d := Diff(standalone, implicit); len(d) != 0 {
		t.Errorf("Diff = %v, want none", d)
	}
	newer, _ := f.load(t, "[server]\nrequire_signing = false\n[[share]]\nname = \"other\"\npath = \"data\"\n")
	got := Diff(old, newer)
	want := []string{
		"server.require_signing true -> false",
		"share.other.path (none) -> " + old.Shares[0].Path,
		"share.other.read_only (none) -> false",
		`share.other.comment (none) -> ""`,
		"share.other.users (none) -> -",
		"share.other.encrypt_data (none) -> false",
		"share.data.path " + old.Shares[0].Path + " -> (none)",
		"share.data.read_only false -> (none)",
		`share.data.comment "" -> (none)`,
		"share.data.users - -> (none)",
		"share.data.encrypt_data false -> (none)",
	}
	var gotS []string
	for _, c := range got {
		gotS = append(gotS, c.String())
	}
	if !reflect.DeepEqual(gotS, want) {
		t.Errorf("Diff =\n%s\nwant\n%s", strings.Join(gotS, "\n"), strings.Join(want, "\n"))
	}
}

func TestShowLimits(t *testing.T) {
	f := newFixture(t)
	cfg, _ := f.load(t, "[limits]\nmax_opens = \"unlimited\"\nauth_failure_delay = \"0s\"\nidle_timeout = \"1h\"\nmax_credits = 512\n"+shareData)
	m := showMap(cfg)
	want := []Setting{
		{Key: "limits.max_connections", Value: "4096", Source: SourceBuiltin, Note: "TCP connections, server-wide"},
		{Key: "limits.max_opens", Value: "unlimited", Source: SourceExplicit, Note: "open files, folders and pipes, server-wide"},
		{Key: "limits.max_pipe_output", Value: "1048576", Source: SourceBuiltin, Note: "bytes a named pipe queues; 1 MiB"},
		{Key: "limits.max_credits", Value: "512", Source: SourceExplicit, Note: "credits a connection may hold"},
		{Key: "limits.pre_auth_timeout", Value: "1m", Source: SourceBuiltin, Note: "from accept to the first session"},
		{Key: "limits.idle_timeout", Value: "1h", Source: SourceExplicit, Note: "idle connection without opens (autodisconnect)"},
		{Key: "limits.auth_failure_delay", Value: "0s", Source: SourceExplicit, Note: "answer delay after a failed logon; no delay"},
		{Key: "limits.revalidate_interval", Value: "30s", Source: SourceBuiltin, Note: "sessions checked against the users file"},
	}
	for _, w := range want {
		if got := m[w.Key]; got != w {
			t.Errorf("Show() %s = %+v, want %+v", w.Key, got, w)
		}
	}
	// One line per limit, in Limits order, after the client keys.
	var keys []string
	for _, s := range cfg.Show() {
		if strings.HasPrefix(s.Key, "limits.") {
			keys = append(keys, strings.TrimPrefix(s.Key, "limits."))
		}
	}
	var specKeys []string
	for _, s := range limitSpecs() {
		specKeys = append(specKeys, s.key)
	}
	if !reflect.DeepEqual(keys, specKeys) {
		t.Errorf("limit keys shown %v, want %v", keys, specKeys)
	}
	// The values shown, written back, load to the same limits.
	var text strings.Builder
	text.WriteString("[limits]\n")
	for _, s := range cfg.Show() {
		if k, ok := strings.CutPrefix(s.Key, "limits."); ok {
			if _, err := strconv.Atoi(s.Value); err == nil {
				fmt.Fprintf(&text, "%s = %s\n", k, s.Value)
			} else {
				fmt.Fprintf(&text, "%s = %q\n", k, s.Value)
			}
		}
	}
	again, _ := f.load(t, text.String()+shareData)
	if again.Limits != cfg.Limits {
		t.Errorf("shown values load as\n%+v\nwant\n%+v", again.Limits, cfg.Limits)
	}
}

func TestDiffLimits(t *testing.T) {
	f := newFixture(t)
	old, _ := f.load(t, shareData)
	next, _ := f.load(t, "[limits]\nmax_connections = 10\nwrite_timeout = \"unlimited\"\nmax_opens = 65536\n"+shareData)
	var got []string
	for _, c := range Diff(old, next) {
		got = append(got, c.String())
	}
	want := []string{"limits.max_connections 4096 -> 10", "limits.write_timeout 1m -> unlimited"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Diff = %q, want %q", got, want)
	}
}
