package policy

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestKerberosConfig(t *testing.T) {
	f := newFixture(t)
	if err := os.WriteFile(filepath.Join(f.dir, "krb5.keytab"), []byte{5, 2}, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, warns := f.load(t, `
[server]
ntlm = false
auth_order = ["ntlm", "kerberos"]

[kerberos]
keytab = "krb5.keytab"
realm = "EXAMPLE.COM"
service = "cifs/files.example.com@EXAMPLE.COM"
max_skew = "2m"
unmapped = "strip"

[kerberos.map]
"backup@PARTNER.COM" = "bob"
`+shareData)
	if len(warns) != 0 {
		t.Fatalf("warnings %v", warns)
	}
	want := &Kerberos{Keytab: filepath.Join(f.dir, "krb5.keytab"), Realm: "EXAMPLE.COM", Service: "cifs/files.example.com",
		MaxSkew: 2 * time.Minute, ReplayCacheEntries: defaultReplayCache, Unmapped: "strip",
		Map: map[string]string{"backup@PARTNER.COM": "bob"}}
	if !reflect.DeepEqual(cfg.Kerberos, want) || cfg.NTLM || !reflect.DeepEqual(cfg.AuthMechanisms, []string{MechKerberos}) {
		t.Fatalf("kerberos %+v ntlm %v mechanisms %v", cfg.Kerberos, cfg.NTLM, cfg.AuthMechanisms)
	}
	m := map[string]Setting{}
	for _, s := range cfg.Show() {
		m[s.Key] = s
	}
	for key, val := range map[string]string{
		"server.ntlm": "false", "server.auth_order": "ntlm,kerberos", "server.auth_mechanisms": "kerberos",
		"kerberos.realm": "EXAMPLE.COM", "kerberos.service": "cifs/files.example.com@EXAMPLE.COM",
		"kerberos.max_skew": "2m0s", `kerberos.map."backup@PARTNER.COM"`: "bob",
	} {
		if m[key].Value != val {
			t.Errorf("Show %s = %q, want %q", key, m[key].Value, val)
		}
	}
	if !strings.Contains(m["server.ntlm"].Note, "Restrict NTLM") {
		t.Errorf("server.ntlm note %q", m["server.ntlm"].Note)
	}

	// Both on: the built-in order puts Kerberos first.
	cfg, _ = f.load(t, "[kerberos]\nkeytab = \"krb5.keytab\"\nrealm = \"EXAMPLE.COM\"\nservice = \"cifs/h\"\n"+shareData)
	if !reflect.DeepEqual(cfg.AuthMechanisms, []string{MechKerberos, MechNTLM}) || cfg.Kerberos.Unmapped != "refuse" {
		t.Fatalf("mechanisms %v unmapped %q", cfg.AuthMechanisms, cfg.Kerberos.Unmapped)
	}
}

func TestKerberosConfigErrors(t *testing.T) {
	f := newFixture(t)
	if err := os.WriteFile(filepath.Join(f.dir, "kt"), []byte{5, 2}, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ text, key string }{
		{"[server]\nntlm = false\n", "server.ntlm"},
		{"[server]\nauth_order = [\"ntlm\", \"tls\"]\n", "server.auth_order"},
		{"[kerberos]\nrealm = \"R\"\nservice = \"cifs/h\"\n", "kerberos.keytab"},
		{"[kerberos]\nkeytab = \"missing\"\nrealm = \"R\"\nservice = \"cifs/h\"\n", "kerberos.keytab"},
		{"[kerberos]\nkeytab = \"kt\"\nservice = \"cifs/h\"\n", "kerberos.realm"},
		{"[kerberos]\nkeytab = \"kt\"\nrealm = \"R\"\nservice = \"cifs\"\n", "kerberos.service"},
		{"[kerberos]\nkeytab = \"kt\"\nrealm = \"R\"\nservice = \"cifs/h@OTHER\"\n", "kerberos.service"},
		{"[kerberos]\nkeytab = \"kt\"\nrealm = \"R\"\nservice = \"cifs/h\"\nmax_skew = \"2h\"\n", "kerberos.max_skew"},
		{"[kerberos]\nkeytab = \"kt\"\nrealm = \"R\"\nservice = \"cifs/h\"\nunmapped = \"guest\"\n", "kerberos.unmapped"},
		{"[kerberos]\nkeytab = \"kt\"\nrealm = \"R\"\nservice = \"cifs/h\"\n[kerberos.map]\n\"alice\" = \"bob\"\n", "kerberos.map"},
		{"[kerberos]\nkeytab = \"kt\"\nrealm = \"R\"\nservice = \"cifs/h\"\nreplay_cache_entries = 0\n", "kerberos.replay_cache_entries"},
	} {
		err := f.loadErr(t, tc.text+shareData)
		found := false
		for _, fe := range fieldErrors(err) {
			found = found || fe.Key == tc.key
		}
		if !found {
			t.Errorf("%q: error %v does not name %s", tc.text, err, tc.key)
		}
	}
}
