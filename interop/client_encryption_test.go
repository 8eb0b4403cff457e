package interop

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/signetsmb/signet/client"
)

// clientEncRoundTrip dials addr with d, mounts share, moves 16 MiB both
// ways and returns the session (closed in Cleanup).
func clientEncRoundTrip(t *testing.T, d *client.Dialer, addr, share string) *client.Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sess, err := d.Dial(ctx, addr)
	if err != nil {
		t.Fatalf("dial %s: %v", client.DialectName(d.MaxDialect), err)
	}
	t.Cleanup(func() { sess.Close() })
	sh, err := sess.Mount(ctx, share)
	if err != nil {
		t.Fatalf("mount %s: %v", share, err)
	}
	data := make([]byte, 16<<20)
	rand.Read(data)
	f, err := sh.Create("enc_client.bin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.ReadFrom(bytes.NewReader(data)); err != nil {
		t.Fatalf("upload: %v", err)
	}
	f.Close()
	g, err := sh.OpenFile("enc_client.bin", os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(g)
	g.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("download: %v (equal %v)", err, bytes.Equal(got, data))
	}
	if err := sh.Remove("enc_client.bin"); err != nil {
		t.Fatal(err)
	}
	if !sess.Encrypted() {
		t.Fatalf("session not encrypted (cipher %s)", client.CipherName(sess.Cipher()))
	}
	return sess
}

// TestClientSignetEncrypted: the Signet client with RequireEncryption
// against the Signet server: 3.0 and 3.0.2 (AES-128-CCM) and 3.1.1 with
// each cipher offered alone; without RequireEncryption it encrypts when
// the share asks; a server or dialect without a common cipher is refused
// with ErrNoEncryption before any logon.
func TestClientSignetEncrypted(t *testing.T) {
	s := startSignet(t, serverOpts{requireSigning: boolp(true), shares: secretShare})
	for _, c := range []struct {
		dialect, cipher uint16
	}{
		{client.Dialect300, client.CipherAES128CCM}, {client.Dialect302, client.CipherAES128CCM},
		{client.Dialect311, client.CipherAES128CCM}, {client.Dialect311, client.CipherAES128GCM},
		{client.Dialect311, client.CipherAES256CCM}, {client.Dialect311, client.CipherAES256GCM},
	} {
		d := &client.Dialer{User: testUser, Password: testPassword, RequireSigning: true, RequireEncryption: true,
			MinDialect: c.dialect, MaxDialect: c.dialect}
		if c.dialect == client.Dialect311 {
			d.Ciphers = []uint16{c.cipher}
		}
		sess := clientEncRoundTrip(t, d, s.addr, "share")
		if sess.Cipher() != c.cipher {
			t.Errorf("%s: cipher %s, want %s", client.DialectName(c.dialect), client.CipherName(sess.Cipher()), client.CipherName(c.cipher))
		}
	}
	// No RequireEncryption: the share's flag turns encryption on.
	clientEncRoundTrip(t, &client.Dialer{User: testUser, Password: testPassword, RequireSigning: true}, s.addr, "secret")
	if strings.Contains(s.Log(), "unencrypted request refused") {
		t.Errorf("the client sent unencrypted requests on the encrypted share:\n%s", s.Log())
	}
	// 2.1 cannot encrypt: refused before logon.
	ctx := context.Background()
	_, err := (&client.Dialer{User: testUser, Password: testPassword, RequireEncryption: true, MaxDialect: client.Dialect210}).Dial(ctx, s.addr)
	if !errors.Is(err, client.ErrNoEncryption) {
		t.Errorf("2.1 with RequireEncryption: %v", err)
	}
	only256 := startSignet(t, serverOpts{requireSigning: boolp(true), extra: "ciphers = [\"AES-256-CCM\"]\n"})
	_, err = (&client.Dialer{User: testUser, Password: testPassword, RequireEncryption: true, MinDialect: client.Dialect311,
		Ciphers: []uint16{client.CipherAES128GCM}}).Dial(ctx, only256.addr)
	if !errors.Is(err, client.ErrNoEncryption) {
		t.Errorf("no common cipher with RequireEncryption: %v", err)
	}
	// The refusal came before SESSION_SETUP.
	if strings.Contains(only256.Log(), "session established") {
		t.Errorf("a session was established although encryption was unavailable:\n%s", only256.Log())
	}
}

// TestClientSambaEncrypted: the Signet client against Samba's smbd with
// `server smb encrypt = required`: 3.0, 3.0.2 and 3.1.1 sessions (Samba
// sets SMB2_SESSION_FLAG_ENCRYPT_DATA) move 16 MiB both ways encrypted,
// with and without RequireEncryption; a 2.1 session is refused by Samba.
func TestClientSambaEncrypted(t *testing.T) {
	addr, _ := startSambaConf(t, "mandatory", "server smb encrypt = required\n")
	for _, dialect := range []uint16{client.Dialect300, client.Dialect302, client.Dialect311} {
		for _, require := range []bool{true, false} {
			d := &client.Dialer{User: testUser, Password: testPassword, RequireSigning: true, RequireEncryption: require,
				MinDialect: dialect, MaxDialect: dialect}
			clientEncRoundTrip(t, d, addr, "share")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sess, err := (&client.Dialer{User: testUser, Password: testPassword, RequireSigning: true, MaxDialect: client.Dialect210}).Dial(ctx, addr)
	if err == nil {
		_, err = sess.Mount(ctx, "share")
		sess.Close()
	}
	if err == nil {
		t.Fatal("Samba with encryption required accepted a 2.1 session")
	}
}

// TestProbeEncryption: `signet probe` reports the ciphers of Signet (all
// four, AES-128-GCM preferred, AES-128-CCM for 3.0/3.0.2) and of a Signet
// limited to AES-256-GCM, and that Samba offers encryption.
func TestProbeEncryption(t *testing.T) {
	all := startSignet(t, serverOpts{})
	one := startSignet(t, serverOpts{extra: "ciphers = [\"AES-256-GCM\"]\n"})
	sambaAddr, _ := startSamba(t, "mandatory")
	type probe struct {
		Encryption      bool     `json:"encryption"`
		Cipher30        string   `json:"cipher_30"`
		Ciphers         []string `json:"ciphers"`
		PreferredCipher *string  `json:"preferred_cipher"`
	}
	get := func(addr string) probe {
		out, _ := exec.Command(signetBin, "probe", "--json", addr).Output()
		var p probe
		if err := json.Unmarshal(out, &p); err != nil {
			t.Fatalf("probe %s: %v\n%s", addr, err, out)
		}
		return p
	}
	p := get(all.addr)
	if !p.Encryption || p.Cipher30 != "AES-128-CCM" || strings.Join(p.Ciphers, ",") != "AES-128-GCM,AES-128-CCM,AES-256-GCM,AES-256-CCM" ||
		p.PreferredCipher == nil || *p.PreferredCipher != "AES-128-GCM" {
		t.Errorf("Signet: %+v", p)
	}
	p = get(one.addr)
	if !p.Encryption || p.Cipher30 != "" || strings.Join(p.Ciphers, ",") != "AES-256-GCM" || *p.PreferredCipher != "AES-256-GCM" {
		t.Errorf("Signet with AES-256-GCM only: %+v", p)
	}
	if p := get(sambaAddr); !p.Encryption || len(p.Ciphers) == 0 {
		t.Errorf("Samba: %+v", p)
	}
	out, _ := exec.Command(signetBin, "probe", all.addr).Output()
	if !strings.Contains(string(out), "encryption: 3.0/3.0.2 AES-128-CCM; 3.1.1 AES-128-GCM (accepts") {
		t.Errorf("text probe: %s", out)
	}
}
