package interop

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// withHosts returns a command line running name args in a private mount
// namespace whose /etc/hosts maps signetHost to 127.0.0.1: smbtorture has
// no option to connect to another address than the name it authenticates
// to. The machine's /etc/hosts is untouched (root and unshare needed).
func withHosts(t *testing.T, name string, args ...string) (string, []string) {
	t.Helper()
	needRoot(t, "a private /etc/hosts for smbtorture (unshare -m)")
	unshare := needTool(t, "unshare", "util-linux")
	hosts := filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(hosts, []byte("127.0.0.1 localhost "+signetHost+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	script := `mount --bind "$0" /etc/hosts && exec "$@"`
	return unshare, append([]string{"-m", "sh", "-c", script, hosts, name}, args...)
}

// TestKerberosSmbtorture: smbtorture with Kerberos (the ticket of kinit)
// passes smb2.connect and the smb2.session signing and re-authentication
// tests against Signet with NTLM off and signing required.
func TestKerberosSmbtorture(t *testing.T) {
	bin := needTool(t, "smbtorture", "samba-testsuite")
	realm := startKDC(t)
	kt := realm.service(signetHost, false)
	realm.kinit()
	s := startSignet(t, serverOpts{requireSigning: boolp(true), extra: kerberosConfig(kt, false, "")})
	for _, test := range []string{"smb2.connect", "smb2.session.signing-hmac-sha-256",
		"smb2.session.signing-aes-128-cmac", "smb2.session.signing-aes-128-gmac", "smb2.session.reauth1"} {
		cmd, args := withHosts(t, bin, "//"+signetHost+"/share", "-p", s.port, "--use-kerberos=required", test)
		out, err := runIn(t, t.TempDir(), 2*time.Minute, cmd, args...)
		name := test[strings.LastIndex(test, ".")+1:]
		if err != nil || !strings.Contains(out, "success: "+name) {
			t.Errorf("%s: %v\n%s", test, err, out)
		}
	}
	if !strings.Contains(s.Log(), "domain="+krbRealm) || strings.Contains(s.Log(), "logon failure") {
		t.Errorf("server log:\n%s", s.Log())
	}
}

// TestKerberosImpacket: impacket's Kerberos logon (service ticket from
// the credential cache, an authenticator without the GSS-API checksum
// and without mutual authentication) with 2.0.2, 2.1 and 3.0 and signing
// required.
func TestKerberosImpacket(t *testing.T) {
	py := needImpacket(t)
	needTool(t, "kvno", "krb5-user")
	realm := startKDC(t)
	kt := realm.service(signetHost, false)
	cc := realm.kinit()
	// impacket reaches a KDC only on port 88; with the service ticket in
	// the cache it does not need one.
	realm.cmdOK("kvno", "-c", cc, signetSPN)
	s := startSignet(t, serverOpts{requireSigning: boolp(true), extra: kerberosConfig(kt, false, "")})
	script := `
import os, sys
from impacket.smbconnection import SMBConnection
os.environ["KRB5CCNAME"] = sys.argv[3]
for d in (0x0202, 0x0210, 0x0300):
    c = SMBConnection(sys.argv[1], "127.0.0.1", sess_port=int(sys.argv[2]), preferredDialect=d)
    c.kerberosLogin("alice", "", domain="SIGNET.TEST", kdcHost="127.0.0.1", useCache=True)
    shares = sorted(s["shi1_netname"][:-1] for s in c.listShares())
    print("dialect 0x%04x signing_required=%s shares=%s" % (d, c.isSigningRequired(), ",".join(shares)))
    c.logoff()
`
	out, err := run(t, 2*time.Minute, py, "-c", script, signetHost, s.port, strings.TrimPrefix(cc, "FILE:"))
	if err != nil {
		t.Fatalf("impacket: %v\n%s\n%s", err, out, s.Log())
	}
	for _, d := range []string{"0x0202", "0x0210", "0x0300"} {
		if !strings.Contains(out, "dialect "+d+" signing_required=True shares=IPC$,share") {
			t.Errorf("impacket %s:\n%s", d, out)
		}
	}
	if strings.Count(s.Log(), "domain="+krbRealm) != 3 {
		t.Errorf("want 3 Kerberos sessions:\n%s", s.Log())
	}
}
