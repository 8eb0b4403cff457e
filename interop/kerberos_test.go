package interop

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/credentials"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/signetsmb/signet/auth"
	"github.com/signetsmb/signet/client"
	"github.com/signetsmb/signet/internal/smbtest/wiretap"
	"github.com/signetsmb/signet/internal/wire"
)

// The throwaway realm. Host names are never resolved: smbclient gets
// -I 127.0.0.1, the Signet client --spn; smbclient will not use Kerberos
// for "localhost" or an IP address, hence the names.
const (
	krbRealm     = "SIGNET.TEST"
	signetHost   = "files.signet.test"
	signetSPN    = "cifs/" + signetHost
	sambaHost    = "samba.signet.test"
	otherHost    = "other.signet.test"
	krbMasterKey = "throwaway-master-key"
)

// kdcRealm is an MIT Kerberos KDC for krbRealm, started by the test on a
// free loopback port, with everything (database, stash, krb5.conf,
// kdc.conf, logs) in a temporary folder. Nothing touches /etc/krb5.conf:
// KRB5_CONFIG and KRB5_KDC_PROFILE point at the folder's files, for the
// test process and everything it starts.
type kdcRealm struct {
	t   testing.TB
	dir string
	cmd *exec.Cmd
}

// startKDC creates the realm with alice (testPassword) and starts
// krb5kdc. It sets KRB5_CONFIG and KRB5_KDC_PROFILE for the test.
func startKDC(t *testing.T) *kdcRealm {
	t.Helper()
	krb5kdc := needTool(t, "krb5kdc", "krb5-kdc")
	needTool(t, "kdb5_util", "krb5-kdc")
	needTool(t, "kadmin.local", "krb5-admin-server")
	needTool(t, "kinit", "krb5-user")
	r := &kdcRealm{t: t, dir: t.TempDir()}
	port := freePort(t)
	conf := fmt.Sprintf(`[libdefaults]
 default_realm = %[1]s
 rdns = false
 dns_canonicalize_hostname = false
 dns_lookup_kdc = false
 dns_lookup_realm = false
 udp_preference_limit = 1
[realms]
 %[1]s = {
  kdc = 127.0.0.1:%[2]s
 }
[domain_realm]
 .signet.test = %[1]s
 signet.test = %[1]s
`, krbRealm, port)
	kdcConf := fmt.Sprintf(`[kdcdefaults]
 kdc_ports = %[2]s
 kdc_tcp_ports = %[2]s
[realms]
 %[1]s = {
  database_name = %[3]s/principal
  key_stash_file = %[3]s/stash
  acl_file = %[3]s/kadm5.acl
  max_life = 10h
 }
[logging]
 kdc = FILE:%[3]s/kdc.log
`, krbRealm, port, r.dir)
	r.write("krb5.conf", conf)
	r.write("kdc.conf", kdcConf)
	t.Setenv("KRB5_CONFIG", r.path("krb5.conf"))
	t.Setenv("KRB5_KDC_PROFILE", r.path("kdc.conf"))
	r.cmdOK("kdb5_util", "create", "-s", "-r", krbRealm, "-P", krbMasterKey)
	r.kadmin("addprinc -pw " + testPassword + " " + testUser)
	r.cmd = exec.Command(krb5kdc, "-n", "-r", krbRealm, "-P", r.path("kdc.pid"))
	var out lockedBuf
	r.cmd.Stdout, r.cmd.Stderr = &out, &out
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
		r.cmd.Wait()
		if t.Failed() {
			log, _ := os.ReadFile(r.path("kdc.log"))
			t.Logf("krb5kdc output:\n%s\nkdc.log:\n%s", out.String(), log)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("krb5kdc did not listen on %s:\n%s", port, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *kdcRealm) path(name string) string { return filepath.Join(r.dir, name) }

func (r *kdcRealm) write(name, text string) {
	if err := os.WriteFile(r.path(name), []byte(text), 0o600); err != nil {
		r.t.Fatal(err)
	}
}

// cmdOK runs a Kerberos tool with stdin and fails the test on error.
func (r *kdcRealm) cmdOK(name string, args ...string) string {
	return r.cmdIn("", name, args...)
}

func (r *kdcRealm) cmdIn(stdin, name string, args ...string) string {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// kadmin runs one kadmin.local query.
func (r *kdcRealm) kadmin(query string) {
	r.t.Helper()
	r.cmdOK("kadmin.local", "-r", krbRealm, "-q", query)
}

// service creates host's cifs principal (with a PAC in its tickets unless
// noPAC) and writes its keys to a new keytab, whose path it returns.
func (r *kdcRealm) service(host string, noPAC bool) string {
	r.t.Helper()
	flags := ""
	if noPAC {
		// Samba as a stand-alone server refuses tickets that carry a PAC.
		flags = "+no_auth_data_required "
	}
	r.kadmin("addprinc -randkey " + flags + "cifs/" + host)
	return r.ktadd(host)
}

// ktadd writes new random keys for host's cifs principal to a new keytab
// (a new key version: keytabs written before hold stale keys).
func (r *kdcRealm) ktadd(host string) string {
	r.t.Helper()
	f, err := os.CreateTemp(r.dir, "cifs-*.keytab")
	if err != nil {
		r.t.Fatal(err)
	}
	f.Close()
	os.Remove(f.Name())
	r.kadmin("ktadd -k " + f.Name() + " cifs/" + host)
	return f.Name()
}

// kinit logs alice on into a new credential cache and points KRB5CCNAME
// at it; extra are kinit options (e.g. -l 3s).
func (r *kdcRealm) kinit(extra ...string) string {
	r.t.Helper()
	cc := "FILE:" + filepath.Join(r.dir, fmt.Sprintf("ccache-%d", time.Now().UnixNano()))
	args := append([]string{"-c", cc}, extra...)
	r.cmdIn(testPassword+"\n", "kinit", append(args, testUser+"@"+krbRealm)...)
	r.t.Setenv("KRB5CCNAME", cc)
	return cc
}

// kerberosConfig is the [server]/[kerberos] part of a Signet config
// accepting Kerberos for signetSPN with keytab (NTLM off unless ntlm).
func kerberosConfig(keytabPath string, ntlm bool, extra string) string {
	return fmt.Sprintf("ntlm = %v\n\n[kerberos]\nkeytab = %q\nrealm = %q\nservice = %q\n%s", ntlm, keytabPath, krbRealm, signetSPN, extra)
}

// smbclientKrb runs smbclient with Kerberos required against host (a
// name in the realm) at 127.0.0.1:port.
func smbclientKrb(t *testing.T, host, port string, args ...string) (string, error) {
	t.Helper()
	bin := needTool(t, "smbclient", "smbclient")
	base := []string{"//" + host + "/share", "-I", "127.0.0.1", "-p", port, "--use-kerberos=required"}
	return run(t, 2*time.Minute, bin, append(base, args...)...)
}

// randomFile writes n pseudo-random bytes and returns the path and SHA-256.
func randomFile(t *testing.T, n int) (string, [32]byte) {
	t.Helper()
	b := make([]byte, n)
	rng := rand.NewChaCha8([32]byte{1, 2, 3})
	rng.Read(b)
	p := filepath.Join(t.TempDir(), "src")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p, sha256.Sum256(b)
}

func fileSum(t *testing.T, p string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// TestKerberosSmbclient: smbclient authenticates with Kerberos only (a
// ticket from MIT's KDC) to Signet with NTLM off and signing required,
// for 2.1, 3.0.2 and 3.1.1; 64 MiB go up and down intact, and a recording
// proxy that knows the service keytab derives the session key from the
// ticket and AP-REP and verifies every signature. An NTLM logon of the
// same user is refused with a log line.
func TestKerberosSmbclient(t *testing.T) {
	realm := startKDC(t)
	kt := realm.service(signetHost, false)
	realm.kinit()
	s := startSignet(t, serverOpts{requireSigning: boolp(true), extra: kerberosConfig(kt, false, "")})
	tab, err := keytab.Load(kt)
	if err != nil {
		t.Fatal(err)
	}
	src, sum := randomFile(t, 64<<20)
	for _, d := range []string{"SMB2_10", "SMB3_02", "SMB3_11"} {
		t.Run(d, func(t *testing.T) {
			tap := wiretap.Start(t, wiretap.Config{Target: s.addr, Keytab: tab, MaxRaw: 128})
			dst := filepath.Join(t.TempDir(), "dst")
			out, err := smbclientKrb(t, signetHost, tap.Port(), "-m", d, "--option=client min protocol="+d,
				"--option=client signing=required", "-c", "put "+src+" krb"+d+"; get krb"+d+" "+dst)
			if err != nil {
				t.Fatalf("smbclient: %v\n%s\n%s", err, out, s.Log())
			}
			if fileSum(t, dst) != sum {
				t.Fatal("the file came back different")
			}
			rep := tap.Report()
			if v := rep.Verdict(); v != "signed" {
				t.Fatalf("verdict %q\n%s", v, rep)
			}
			sess := rep.Sessions()
			if len(sess) != 1 || !sess[0].KeyKnown || sess[0].User != testUser+"@"+krbRealm || !sess[0].SetupSigned {
				t.Fatalf("sessions %+v", sess)
			}
			t.Logf("%s: requests %v, responses %v", d, rep.Requests(), rep.Responses())
		})
	}
	for _, want := range []string{"dialect=2.1", "dialect=3.0.2", "dialect=3.1.1"} {
		if !s.waitLog("domain="+krbRealm+" "+want, 5*time.Second) {
			t.Errorf("no Kerberos session with %s in the log:\n%s", want, s.Log())
		}
	}
	out, _ := smbclientAt(t, s.port, "-U", testUser+"%"+testPassword, "--use-kerberos=disabled", "-c", "ls")
	if !strings.Contains(out, "NT_STATUS_LOGON_FAILURE") || !s.waitLog("NTLM logon refused: NTLM is disabled by policy", 5*time.Second) {
		t.Fatalf("NTLM with ntlm = false: want a refusal with a log line:\n%s\n%s", out, s.Log())
	}
}

// TestKerberosRefused: a ticket for another service, a keytab with stale
// keys, a replayed AP-REQ and an expired ticket are each refused, with
// the reason in the log.
func TestKerberosRefused(t *testing.T) {
	realm := startKDC(t)
	stale := realm.service(signetHost, false)
	kt := realm.ktadd(signetHost) // new keys: stale is now stale
	realm.service(otherHost, false)
	realm.kinit()
	noDelay := "\n[limits]\nauth_failure_delay = \"0s\"\n"
	s := startSignet(t, serverOpts{requireSigning: boolp(true), extra: kerberosConfig(kt, false, "max_skew = \"1s\"\n"+noDelay)})
	refused := func(name, log string, out string) {
		t.Helper()
		if strings.Contains(out, "blocks available") || !s.waitLog(log, 5*time.Second) {
			t.Errorf("%s: want a refusal logged as %q:\n%s\n%s", name, log, out, s.Log())
		}
	}

	out, _ := smbclientKrb(t, otherHost, s.port, "-c", "ls")
	refused("ticket for another service", "ticket is for cifs/"+otherHost+", not for this service", out)

	old := startSignet(t, serverOpts{requireSigning: boolp(true), extra: kerberosConfig(stale, false, noDelay)})
	out, _ = smbclientKrb(t, signetHost, old.port, "-c", "ls")
	if strings.Contains(out, "blocks available") || !old.waitLog("does not decrypt with the keytab", 5*time.Second) {
		t.Errorf("stale keytab: want a refusal:\n%s\n%s", out, old.Log())
	}

	// Replay: the first SESSION_SETUP request of one smbclient run (its
	// AP-REQ) is sent again in place of the next run's.
	var captured atomic.Pointer[[]byte]
	tap := wiretap.Start(t, wiretap.Config{Target: s.addr, Mutate: func(dir wiretap.Direction, msg []byte, info wiretap.MsgInfo) []byte {
		if dir != wiretap.ClientToServer || info.Header.Command != wire.CmdSessionSetup {
			return nil
		}
		req, err := wire.ParseSessionSetupRequest(msg)
		if err != nil || !bytes.Contains(req.SecurityBuffer, []byte(auth.OIDKerberos+"\x01\x00")) {
			return nil
		}
		if prev := captured.Load(); prev != nil {
			req.SecurityBuffer = *prev
			return wire.AppendSessionSetupRequest(append([]byte(nil), msg[:wire.HeaderSize]...), req)
		}
		b := bytes.Clone(req.SecurityBuffer)
		captured.Store(&b)
		return nil
	}})
	if out, err := smbclientKrb(t, signetHost, tap.Port(), "-c", "ls"); err != nil || !strings.Contains(out, "blocks available") {
		t.Fatalf("first run: %v\n%s\n%s", err, out, s.Log())
	}
	out, _ = smbclientKrb(t, signetHost, tap.Port(), "-c", "ls")
	refused("replayed AP-REQ", "replayed authenticator", out)

	// Expired: a service ticket living 2 s, presented after it ended
	// (the server tolerates 1 s of skew here). smbclient would not send
	// it, so the Signet client library presents it.
	needTool(t, "kvno", "krb5-user")
	cc := realm.kinit("-l", "2s")
	realm.cmdOK("kvno", "-c", cc, signetSPN)
	creds := ccacheTicket(t, strings.TrimPrefix(cc, "FILE:"), signetSPN)
	time.Sleep(time.Until(creds.end.Add(1500 * time.Millisecond)))
	d := client.Dialer{RequireSigning: true, Kerberos: &client.Kerberos{Credentials: creds, SPN: signetSPN, NoNTLM: true}}
	_, err := d.Dial(context.Background(), s.addr)
	if !errors.Is(err, client.ErrLogonFailure) {
		t.Errorf("expired ticket: %v", err)
	}
	refused("expired ticket", "ticket expired", "")
}

// cachedTicket is one service ticket from a credential cache, presented
// as is, expired or not.
type cachedTicket struct {
	tkt   messages.Ticket
	key   types.EncryptionKey
	cname types.PrincipalName
	realm string
	end   time.Time
}

func (c cachedTicket) ServiceTicket(string) (messages.Ticket, types.EncryptionKey, error) {
	return c.tkt, c.key, nil
}
func (c cachedTicket) Principal() (types.PrincipalName, string) { return c.cname, c.realm }

func ccacheTicket(t *testing.T, path, spn string) cachedTicket {
	t.Helper()
	cc, err := credentials.LoadCCache(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range cc.GetEntries() {
		if e.Server.PrincipalName.PrincipalNameString() != spn {
			continue
		}
		var tkt messages.Ticket
		if err := tkt.Unmarshal(e.Ticket); err != nil {
			t.Fatal(err)
		}
		return cachedTicket{tkt: tkt, key: e.Key, cname: cc.DefaultPrincipal.PrincipalName, realm: cc.DefaultPrincipal.Realm, end: e.EndTime}
	}
	t.Fatalf("no ticket for %s in %s", spn, path)
	return cachedTicket{}
}

// TestKerberosSignetClient: Signet's client authenticates with Kerberos
// from the credential cache kinit left (KRB5CCNAME, KRB5_CONFIG) against
// Signet, and against Samba's smbd accepting the realm's tickets with a
// dedicated keytab (no domain join), with signing required; a proxy
// knowing Samba's keytab verifies every signature.
func TestKerberosSignetClient(t *testing.T) {
	realm := startKDC(t)
	kt := realm.service(signetHost, false)
	sambaKT := realm.service(sambaHost, true)
	realm.kinit()
	s := startSignet(t, serverOpts{requireSigning: boolp(true), extra: kerberosConfig(kt, false, "")})
	src, sum := randomFile(t, 4<<20)
	cli := func(t *testing.T, addr, spn string, args ...string) {
		t.Helper()
		out, err := run(t, time.Minute, signetBin, append(args, "--kerberos", "--spn", spn)...)
		if err != nil {
			t.Fatalf("signet %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	for _, d := range []string{"2.1", "3.1.1"} {
		dst := filepath.Join(t.TempDir(), "dst")
		cli(t, s.addr, signetSPN, "put", src, "//"+s.addr+"/share/c"+d, "--dialect", d)
		cli(t, s.addr, signetSPN, "get", "//"+s.addr+"/share/c"+d, dst, "--dialect", d)
		if fileSum(t, dst) != sum {
			t.Fatalf("%s: the file came back different", d)
		}
	}
	// Two channels: the binding is a second Kerberos logon of the session.
	dst2 := filepath.Join(t.TempDir(), "dst2")
	cli(t, s.addr, signetSPN, "get", "//"+s.addr+"/share/c3.1.1", dst2, "--channels", "2")
	if fileSum(t, dst2) != sum || !s.waitLog("channel bound to session", 5*time.Second) {
		t.Fatalf("two channels with Kerberos:\n%s", s.Log())
	}

	// From a keytab instead of the ticket cache (which now names nothing).
	userKT := filepath.Join(realm.dir, "alice.keytab")
	realm.kadmin("ktadd -norandkey -k " + userKT + " " + testUser)
	t.Setenv("KRB5CCNAME", "FILE:"+filepath.Join(realm.dir, "no-such-ccache"))
	dst := filepath.Join(t.TempDir(), "dst")
	cli(t, s.addr, signetSPN, "get", "//"+s.addr+"/share/c3.1.1", dst, "--keytab", userKT, "--principal", testUser+"@"+krbRealm)
	if fileSum(t, dst) != sum {
		t.Fatal("keytab logon: the file came back different")
	}
	if out, err := run(t, time.Minute, signetBin, "ls", "//"+s.addr+"/share", "--kerberos", "--spn", signetSPN); err == nil ||
		!strings.Contains(out, "no-such-ccache") {
		t.Fatalf("a missing ticket cache: want an error naming it, got %v\n%s", err, out)
	}
	realm.kinit()
	if strings.Count(s.Log(), "domain="+krbRealm) != 6 {
		t.Fatalf("want 6 Kerberos sessions in the log:\n%s", s.Log())
	}

	t.Run("samba", func(t *testing.T) {
		addr, _ := startSambaConf(t, "mandatory", fmt.Sprintf(
			"realm = %s\nkerberos method = dedicated keytab\ndedicated keytab file = FILE:%s\n", krbRealm, sambaKT))
		tab, err := keytab.Load(sambaKT)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range []string{"2.1", "3.1.1"} {
			tap := wiretap.Start(t, wiretap.Config{Target: addr, Keytab: tab, MaxRaw: 128})
			dst := filepath.Join(t.TempDir(), "dst")
			cli(t, tap.Addr(), "cifs/"+sambaHost, "put", src, "//"+tap.Addr()+"/share/s"+d, "--dialect", d)
			cli(t, tap.Addr(), "cifs/"+sambaHost, "get", "//"+tap.Addr()+"/share/s"+d, dst, "--dialect", d)
			if fileSum(t, dst) != sum {
				t.Fatalf("%s: the file came back different", d)
			}
			rep := tap.Report()
			if v := rep.Verdict(); v != "signed" {
				t.Fatalf("%s: verdict %q\n%s", d, v, rep)
			}
			setups := 0
			for _, m := range tap.Messages() {
				if m.Cmd == wire.CmdSessionSetup && m.Dir == wiretap.ServerToClient {
					setups++
				}
			}
			t.Logf("%s: Samba took %d SESSION_SETUP responses for 2 logons; requests %v, responses %v", d, setups, rep.Requests(), rep.Responses())
		}
	})
}
