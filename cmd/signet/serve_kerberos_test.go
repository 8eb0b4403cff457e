//go:build linux

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/keytab"

	"github.com/signetsmb/signet/policy"
)

// TestKerberosSettings: [kerberos] and ntlm = false become the server's
// settings; the keytab is read on every snapshot while the replay cache
// outlives reloads; an unreadable keytab is an error naming it.
func TestKerberosSettings(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	kt := keytab.New()
	if err := kt.AddEntry("cifs/files.example.test", "EXAMPLE.TEST", "secret", time.Now(), 1, etypeID.AES256_CTS_HMAC_SHA1_96); err != nil {
		t.Fatal(err)
	}
	b, err := kt.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	ktPath := filepath.Join(dir, "krb5.keytab")
	if err := os.WriteFile(ktPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	text := "[server]\nntlm = false\n[kerberos]\nkeytab = \"krb5.keytab\"\nrealm = \"EXAMPLE.TEST\"\nservice = \"cifs/files.example.test\"\n" +
		"[[share]]\nname = \"data\"\npath = \"data\"\n"
	cfg, _, err := policy.Parse([]byte(text), dir, "test")
	if err != nil {
		t.Fatal(err)
	}
	c := newShareCache()
	defer c.close()
	st1, err := c.settings(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if st1.Kerberos == nil || !st1.DisableNTLM || strings.Join(st1.AuthOrder, ",") != "kerberos,ntlm" {
		t.Fatalf("settings: kerberos %v, ntlm off %v, order %v", st1.Kerberos, st1.DisableNTLM, st1.AuthOrder)
	}
	replay := c.replay
	st2, err := c.settings(cfg)
	if err != nil || st2.Kerberos == st1.Kerberos || c.replay != replay {
		t.Fatalf("reload: err %v, new acceptor %v, same replay cache %v", err, st2.Kerberos != st1.Kerberos, c.replay == replay)
	}
	if err := os.WriteFile(ktPath, []byte("not a keytab"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := c.settings(cfg); err == nil || !strings.Contains(err.Error(), ktPath) {
		t.Fatalf("bad keytab: %v", err)
	}
}
