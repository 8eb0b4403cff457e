package main

import (
	"bytes"
	"errors"
	"flag"
	"slices"
	"strings"
	"testing"

	"github.com/signetsmb/signet/client"
)

func TestParseTarget(t *testing.T) {
	cases := map[string]smbTarget{
		"//h/s":                 {addr: "h", share: "s", path: "."},
		"//h:4445/s/":           {addr: "h:4445", share: "s", path: ".", dir: true},
		"//h/s/a/b.txt":         {addr: "h", share: "s", path: "a/b.txt"},
		"//h/s/a//b/":           {addr: "h", share: "s", path: "a/b", dir: true},
		"smb://[::1]:445/s/x":   {addr: "[::1]:445", share: "s", path: "x"},
		`\\srv\share\dir\f.txt`: {addr: "srv", share: "share", path: "dir/f.txt"},
		"//h":                   {addr: "h", path: "."},
	}
	for in, want := range cases {
		got, err := parseTarget(in)
		if err != nil || got != want {
			t.Errorf("parseTarget(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"h/s", "//", "///s", "//h/s/../x", "//h/s/a/../../x"} {
		if _, err := parseTarget(in); err == nil {
			t.Errorf("parseTarget(%q) accepted", in)
		}
	}
	if _, err := needShare("//h"); err == nil {
		t.Error("needShare without a share accepted")
	}
}

func TestParseClientArgs(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	var cf clientFlags
	cf.register(fs)
	r := fs.Bool("r", false, "")
	pos, err := parseClientArgs(fs, []string{"//h/s/a", "-U", "bob", "//h/s/b", "--require-signing=false", "-r", "--", "-odd"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(pos, []string{"//h/s/a", "//h/s/b", "-odd"}) || cf.user != "bob" || cf.requireSigning || !*r {
		t.Fatalf("pos %v user %q require %v r %v", pos, cf.user, cf.requireSigning, *r)
	}
}

func TestChannelsFlag(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	var cf clientFlags
	cf.register(fs)
	if _, err := parseClientArgs(fs, []string{"//h/s", "-U", "", "--channels", "4"}); err != nil {
		t.Fatal(err)
	}
	d, err := cf.dialer("h")
	if err != nil || d.Channels != 4 {
		t.Fatalf("--channels 4: %+v, %v", d, err)
	}
	for _, bad := range []int{0, -1, client.MaxChannels + 1} {
		cf.channels = bad
		if _, err := cf.dialer("h"); err == nil {
			t.Fatalf("--channels %d accepted", bad)
		}
	}
}

func TestDurableFlags(t *testing.T) {
	for _, tc := range []struct {
		args                []string
		noLeases, noDurable bool
	}{{nil, false, false}, {[]string{"--no-durable"}, false, true}, {[]string{"--no-leases"}, true, false}} {
		fs := flag.NewFlagSet("x", flag.ContinueOnError)
		var cf clientFlags
		cf.register(fs)
		if _, err := parseClientArgs(fs, append([]string{"//h/s", "-U", ""}, tc.args...)); err != nil {
			t.Fatal(err)
		}
		d, err := cf.dialer("h")
		if err != nil || d.NoLeases != tc.noLeases || d.NoDurable != tc.noDurable {
			t.Fatalf("%v: NoLeases %v NoDurable %v, %v", tc.args, d.NoLeases, d.NoDurable, err)
		}
	}
}

func TestDialectFlags(t *testing.T) {
	cf := clientFlags{dialect: "3.0.2"}
	if lo, hi, err := cf.dialectRange(); lo != client.Dialect302 || hi != client.Dialect302 || err != nil {
		t.Fatalf("--dialect: %x %x %v", lo, hi, err)
	}
	cf = clientFlags{maxDialect: "2.1"}
	if lo, hi, err := cf.dialectRange(); lo != 0 || hi != client.Dialect210 || err != nil {
		t.Fatalf("--max-dialect: %x %x %v", lo, hi, err)
	}
	cf = clientFlags{dialect: "3.1.1", maxDialect: "3.0"}
	if _, _, err := cf.dialectRange(); err == nil {
		t.Fatal("--dialect with --max-dialect accepted")
	}
}

func TestPrintProbe(t *testing.T) {
	gmac, gcm := "AES-128-GMAC", "AES-128-GCM"
	r := &probeResult{Host: "127.0.0.1:4445", Dialects: []string{"2.0.2", "2.1", "3.0", "3.0.2", "3.1.1"},
		SigningEnabled: true, SigningRequired: true,
		SigningAlgorithms: []string{"AES-128-GMAC", "AES-128-CMAC", "HMAC-SHA256"}, PreferredAlgorithm: &gmac,
		Encryption: true, Cipher30: "AES-128-CCM", Ciphers: []string{"AES-128-GCM", "AES-128-CCM"}, PreferredCipher: &gcm}
	var b bytes.Buffer
	printProbe(&b, r, false)
	want := "127.0.0.1:4445: dialects 2.0.2 2.1 3.0 3.0.2 3.1.1; signing enabled and required; " +
		"3.1.1 signing: AES-128-GMAC (accepts AES-128-GMAC, AES-128-CMAC, HMAC-SHA256); " +
		"encryption: 3.0/3.0.2 AES-128-CCM; 3.1.1 AES-128-GCM (accepts AES-128-GCM, AES-128-CCM)\n"
	if b.String() != want {
		t.Fatalf("text:\n%s\nwant\n%s", b.String(), want)
	}
	b.Reset()
	r.SigningRequired, r.PreferredAlgorithm, r.Dialects = false, nil, r.Dialects[:2]
	r.Encryption, r.Cipher30, r.Ciphers, r.PreferredCipher = false, "", nil, nil
	printProbe(&b, r, false)
	if got := b.String(); got != "127.0.0.1:4445: dialects 2.0.2 2.1; signing enabled but not required; encryption not offered\n" {
		t.Fatalf("text without 3.1.1: %q", got)
	}
	b.Reset()
	printProbe(&b, &probeResult{Host: "h:445", Dialects: []string{}, SigningAlgorithms: []string{}, Ciphers: []string{}, Error: "refused"}, true)
	if got := strings.TrimSpace(b.String()); got != `{"host":"h:445","dialects":[],"signing_enabled":false,"signing_required":false,"signing_algorithms":[],"preferred_signing_algorithm":null,"encryption":false,"ciphers":[],"preferred_cipher":null,"error":"refused"}` {
		t.Fatalf("json: %s", got)
	}
}

func TestExitError(t *testing.T) {
	var err error = &exitError{code: 2, msg: "x"}
	var ec interface{ ExitCode() int }
	if !errors.As(err, &ec) || ec.ExitCode() != 2 || err.Error() != "x" {
		t.Fatal("exitError does not carry its code")
	}
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 5 << 20: "5.0 MiB", 3 << 30: "3.0 GiB"} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
