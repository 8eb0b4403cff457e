package server

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/signetsmb/signet/internal/smbcrypto"
	"github.com/signetsmb/signet/internal/wire"
	"github.com/signetsmb/signet/policy"
	"github.com/signetsmb/signet/vfs"
	"github.com/signetsmb/signet/vfs/memfs"
)

func TestSettingsFromPolicy(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "data"), 0o755)
	cfg, _, err := policy.Parse([]byte(`[server]
require_signing = "audit"
audit_min_dialect = "3.0"
audit_min_signing_algorithm = "cmac"
min_dialect = "2.1"
signing_algorithms = ["cmac", "gmac"]
allow_anonymous = true
max_sessions = 7
[limits]
max_opens = 99
[[share]]
name = "data"
path = "data"
read_only = true
users = ["alice"]
`), dir, "t.toml")
	if err != nil {
		t.Fatal(err)
	}
	var opened []string
	st, err := SettingsFromPolicy(cfg, func(p string) (vfs.FS, error) {
		opened = append(opened, p)
		return memfs.New(memfs.Options{}), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.RequireSigning || !st.AuditSigning || st.AuditMinDialect != wire.Dialect300 || st.AuditMinSigning != smbcrypto.AESCMAC ||
		st.MinDialect != wire.Dialect210 || st.MaxDialect != wire.Dialect311 || !st.AllowAnonymous || st.MaxSessions != 7 ||
		st.Limits.MaxOpens != 99 || len(st.SigningAlgorithms) != 2 || st.SigningAlgorithms[0] != SigningAESCMAC {
		t.Errorf("settings %+v", st)
	}
	if len(st.Shares) != 1 || st.Shares[0].Name != "data" || !st.Shares[0].ReadOnly || st.Shares[0].Users[0] != "alice" ||
		len(opened) != 1 || opened[0] != filepath.Join(dir, "data") {
		t.Errorf("shares %+v opened %v", st.Shares, opened)
	}
}
