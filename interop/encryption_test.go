package interop

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signetsmb/signet/client"
	"github.com/signetsmb/signet/internal/smbtest/wiretap"
)

// Encryption interop (issue 10): peers we did not write encrypt against
// Signet with every cipher they support, and what is on the wire is
// transforms.

// secretShare is a second share over the same folder that requires
// encryption (SMB2_SHAREFLAG_ENCRYPT_DATA).
const secretShare = "\n[[share]]\nname = \"secret\"\npath = \"share\"\nencrypt_data = true\n"

// encDialects are the dialects that can encrypt.
var encDialects = []string{"SMB3_00", "SMB3_02", "SMB3_11"}

// smbclientEnc runs smbclient with extra options against //127.0.0.1/share.
func smbclientEnc(t *testing.T, port, share, dialect string, opts []string, cmds string) (string, error) {
	t.Helper()
	bin := needTool(t, "smbclient", "smbclient")
	args := []string{"//127.0.0.1/" + share, "-p", port, "-U", testUser + "%" + testPassword,
		"-m", dialect, "--option=client min protocol=" + dialect, "-c", cmds}
	return run(t, 5*time.Minute, bin, append(args, opts...)...)
}

// TestSmbclientEncrypted: smbclient with encryption required (both
// spellings: the smb.conf option and --client-protection=encrypt) puts
// and gets 64 MiB over 3.0,
// 3.0.2 and 3.1.1, SHA-256 equal; the server logs the cipher of each
// session (3.0/3.0.2: AES-128-CCM, 3.1.1: the preferred AES-128-GCM).
func TestSmbclientEncrypted(t *testing.T) {
	needTool(t, "smbclient", "smbclient")
	s := startSignet(t, serverOpts{requireSigning: boolp(true)})
	src := filepath.Join(t.TempDir(), "src.bin")
	want := writeRandom(t, src, 64<<20)
	for i, d := range encDialects {
		opt := "--option=client smb encrypt=required"
		if i == 1 {
			opt = "--client-protection=encrypt"
		}
		t.Run(d, func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "dst.bin")
			out, err := smbclientEnc(t, s.port, "share", d, []string{opt},
				fmt.Sprintf("put %s enc%s.bin; get enc%s.bin %s; rm enc%s.bin", src, d, d, dst, d))
			if err != nil || strings.Contains(out, "NT_STATUS_") {
				t.Fatalf("%v\n%s", err, out)
			}
			if got := fileSHA(t, dst); got != want {
				t.Fatalf("file came back different")
			}
		})
	}
	log := s.Log()
	for _, w := range []string{"dialect=3.0 signing_required=true signing=AES-128-CMAC anonymous=false encryption=AES-128-CCM",
		"dialect=3.0.2 signing_required=true signing=AES-128-CMAC anonymous=false encryption=AES-128-CCM",
		"dialect=3.1.1 signing_required=true signing=AES-128-GMAC anonymous=false encryption=AES-128-GCM"} {
		if !strings.Contains(log, w) {
			t.Errorf("server log lacks %q:\n%s", w, log)
		}
	}
}

// TestSmbclientEveryCipher: for each of the four 3.1.1 ciphers, a server
// that offers only that one, and smbclient (which offers all four) with
// encryption required moves 8 MiB both ways intact.
func TestSmbclientEveryCipher(t *testing.T) {
	needTool(t, "smbclient", "smbclient")
	src := filepath.Join(t.TempDir(), "src.bin")
	want := writeRandom(t, src, 8<<20)
	for _, c := range []string{"AES-128-CCM", "AES-128-GCM", "AES-256-CCM", "AES-256-GCM"} {
		t.Run(c, func(t *testing.T) {
			s := startSignet(t, serverOpts{requireSigning: boolp(true), extra: fmt.Sprintf("ciphers = [%q]\n", c)})
			dst := filepath.Join(t.TempDir(), "dst.bin")
			out, err := smbclientEnc(t, s.port, "share", "SMB3_11", []string{"--option=client smb encrypt=required"},
				fmt.Sprintf("put %s c.bin; get c.bin %s", src, dst))
			if err != nil || strings.Contains(out, "NT_STATUS_") {
				t.Fatalf("%v\n%s", err, out)
			}
			if got := fileSHA(t, dst); got != want {
				t.Fatal("file came back different")
			}
			if !s.waitLog("encryption="+c, 5*time.Second) {
				t.Fatalf("server log does not show %s:\n%s", c, s.Log())
			}
		})
	}
}

// TestEncryptedShareRefusesPlainClient: on a share with encrypt_data,
// smbclient in its default mode encrypts after the TREE_CONNECT tells it
// to (3.x), while a 2.1 client, which cannot encrypt, gets ACCESS_DENIED
// and the server logs why; the plain share keeps working for it, and the
// encrypting client is unaffected.
func TestEncryptedShareRefusesPlainClient(t *testing.T) {
	needTool(t, "smbclient", "smbclient")
	s := startSignet(t, serverOpts{requireSigning: boolp(true), shares: secretShare})
	for _, d := range encDialects {
		out, err := smbclientEnc(t, s.port, "secret", d, nil, "ls")
		if err != nil || !strings.Contains(out, "blocks available") {
			t.Fatalf("%s on the encrypted share: %v\n%s", d, err, out)
		}
	}
	out, _ := smbclientEnc(t, s.port, "secret", "SMB2_10", nil, "ls")
	if !strings.Contains(out, "NT_STATUS_ACCESS_DENIED") {
		t.Fatalf("2.1 client on the encrypted share:\n%s", out)
	}
	if !s.waitLog("tree connect refused: the share requires encryption and the client cannot encrypt", 5*time.Second) {
		t.Fatalf("no log line for the refused client:\n%s", s.Log())
	}
	if out, err := smbclientEnc(t, s.port, "share", "SMB2_10", nil, "ls"); err != nil || !strings.Contains(out, "blocks available") {
		t.Fatalf("2.1 client on the plain share: %v\n%s", err, out)
	}
	if out, err := smbclientEnc(t, s.port, "secret", "SMB3_11", nil, "ls"); err != nil || !strings.Contains(out, "blocks available") {
		t.Fatalf("encrypting client after the refusal: %v\n%s", err, out)
	}
}

// TestEncryptDataServerWide: with server.encrypt_data, smbclient's
// default mode is told by SMB2_SESSION_FLAG_ENCRYPT_DATA to encrypt and
// works; a 2.1 client is refused at SESSION_SETUP.
func TestEncryptDataServerWide(t *testing.T) {
	needTool(t, "smbclient", "smbclient")
	s := startSignet(t, serverOpts{requireSigning: boolp(true), extra: "encrypt_data = true\n"})
	for _, d := range encDialects {
		out, err := smbclientEnc(t, s.port, "share", d, nil, "ls")
		if err != nil || !strings.Contains(out, "blocks available") {
			t.Fatalf("%s: %v\n%s", d, err, out)
		}
	}
	if !s.waitLog("encryption=AES-128-GCM/required", 5*time.Second) {
		t.Errorf("log does not show a required-encryption session:\n%s", s.Log())
	}
	out, _ := smbclientEnc(t, s.port, "share", "SMB2_10", nil, "ls")
	if !strings.Contains(out, "NT_STATUS_ACCESS_DENIED") {
		t.Fatalf("2.1 client on an encrypt_data server:\n%s", out)
	}
}

// TestEncryptedWire: a capture of an smbclient session with encryption
// required shows every SMB message after the final SESSION_SETUP
// response as a transform (protocol id 0xFD 'S' 'M' 'B'); tshark
// dissects the frames. A capture that lost packets (the final
// SESSION_SETUP response not seen, or too few transforms; dumpcap drops
// under load) is taken again, up to three times; a message in the clear
// fails at once.
func TestEncryptedWire(t *testing.T) {
	tshark := needTool(t, "tshark", "tshark")
	needTool(t, "smbclient", "smbclient")
	s := startSignet(t, serverOpts{requireSigning: boolp(true)})
	for attempt := 1; ; attempt++ {
		fields := captureEncrypted(t, tshark, s.port)
		setupDone, transforms, plain := readEncryptedCapture(t, fields)
		if plain != 0 {
			t.Fatalf("capture: %d messages in the clear after the final SESSION_SETUP\n%s", plain, fields)
		}
		if setupDone && transforms >= 10 {
			t.Logf("%d messages after the final SESSION_SETUP, all transforms", transforms)
			return
		}
		if attempt == 3 {
			t.Fatalf("capture: setup seen %v, %d transforms after it, in each of %d captures\n%s", setupDone, transforms, attempt, fields)
		}
		t.Logf("capture %d incomplete (setup seen %v, %d transforms after it); capturing again", attempt, setupDone, transforms)
	}
}

// captureEncrypted captures one smbclient session with encryption
// required (put, get, ls, rm of 1 MiB) and returns tshark's fields for
// its SMB2 messages: protocol id, command, response flag, status.
func captureEncrypted(t *testing.T, tshark, port string) string {
	t.Helper()
	pcap := filepath.Join(t.TempDir(), "enc.pcap")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cap := exec.CommandContext(ctx, tshark, "-i", "lo", "-B", "32", "-f", "tcp port "+port, "-w", pcap)
	stderr, _ := cap.StderrPipe()
	if err := cap.Start(); err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	go func() { // ends when tshark does (cap.Wait below)
		sc := bufio.NewScanner(stderr)
		once := false
		for sc.Scan() {
			if !once && strings.Contains(sc.Text(), "Capturing on") {
				once = true
				close(started)
			}
		}
	}()
	select {
	case <-started:
	case <-time.After(20 * time.Second):
		t.Skip("tshark could not start capturing on lo")
	}
	src := filepath.Join(t.TempDir(), "src.bin")
	writeRandom(t, src, 1<<20)
	out, err := smbclientEnc(t, port, "share", "SMB3_11", []string{"--option=client smb encrypt=required"},
		fmt.Sprintf("put %s w.bin; get w.bin %s; ls; rm w.bin", src, filepath.Join(t.TempDir(), "back.bin")))
	if err != nil || strings.Contains(out, "NT_STATUS_") {
		t.Fatalf("%v\n%s", err, out)
	}
	time.Sleep(500 * time.Millisecond)
	cap.Process.Signal(os.Interrupt)
	cap.Wait()
	fields, err := run(t, time.Minute, tshark, "-r", pcap, "-d", "tcp.port=="+port+",nbss", "-Y", "smb2",
		"-T", "fields", "-E", "separator=,", "-e", "smb2.protocol_id", "-e", "smb2.cmd", "-e", "smb2.flags.response", "-e", "smb2.nt_status")
	if err != nil {
		t.Fatalf("tshark -r: %v\n%s", err, fields)
	}
	return fields
}

// readEncryptedCapture counts, after the successful SESSION_SETUP
// response, the transforms and the messages in the clear (each reported).
func readEncryptedCapture(t *testing.T, fields string) (setupDone bool, transforms, plain int) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSpace(fields), "\n") {
		f := strings.Split(line, ",")
		if len(f) < 2 || !strings.HasPrefix(f[0], "0x") {
			continue
		}
		switch {
		case !setupDone:
			if f[0] == "0xfe534d42" && f[1] == "1" && len(f) > 3 && f[2] == "1" && f[3] == "0x00000000" {
				setupDone = true
			}
		case f[0] == "0xfd534d42":
			transforms++
		default:
			plain++
			t.Errorf("clear-text message after the final SESSION_SETUP: %s", line)
		}
	}
	return setupDone, transforms, plain
}

// TestSmbtortureCompoundSuite runs smbtorture's smb2.compound as one
// suite (as users run it; without a cipher smbtorture's own client
// crashed in related1 and the suite reported nothing) and holds each
// subtest to its line in test/smbtorture: listed tests pass, known
// failures fail.
func TestSmbtortureCompoundSuite(t *testing.T) {
	bin := needTool(t, "smbtorture", "samba-testsuite")
	expect := map[string]string{} // subtest -> known-failure reason ("" = must pass)
	for _, c := range loadTortureLists(t) {
		if rest, ok := strings.CutPrefix(c.name, "smb2.compound."); ok {
			sub, _, _ := strings.Cut(rest, ".")
			expect[sub] = c.knownFailure
		}
	}
	if len(expect) < 15 {
		t.Fatalf("only %d smb2.compound tests listed", len(expect))
	}
	s := startSignet(t, serverOpts{requireSigning: boolp(true)})
	out, _ := runIn(t, t.TempDir(), 5*time.Minute, bin, "//127.0.0.1/share", "-p", s.port, "-U", testUser+"%"+testPassword,
		"--option=torture:sharedelay=100000", "smb2.compound")
	got := map[string]string{}
	for _, m := range tortureResult.FindAllStringSubmatch(out, -1) {
		got[m[2]] = m[1]
	}
	for sub, known := range expect {
		switch v := got[sub]; {
		case v == "":
			t.Errorf("%s: no result in the suite run", sub)
		case known == "" && v != "success":
			t.Errorf("%s: %s", sub, v)
		case known != "" && v == "success":
			t.Errorf("%s passes but is listed as a known failure (%s)", sub, known)
		}
	}
	if t.Failed() {
		t.Logf("smbtorture output:\n%s", tail(out, 60))
	}
}

// TestImpacketEncrypted: impacket, which encrypts with AES-128-CCM when a
// share demands it, moves 8 MiB both ways on the encrypted share over 3.0
// (impacket 0.10 cannot ask for 3.0.2, and its 3.1.1 path is not usable,
// see PEERS.md). The server
// refuses unencrypted requests on that tree, so success means impacket
// encrypted.
func TestImpacketEncrypted(t *testing.T) {
	py := needImpacket(t)
	s := startSignet(t, serverOpts{requireSigning: boolp(true), shares: secretShare})
	file := filepath.Join(t.TempDir(), "f.bin")
	writeRandom(t, file, 8<<20)
	for _, d := range []string{"0x0300"} {
		out, err := run(t, 5*time.Minute, py, "testdata/impacket_encrypted.py", s.port, d, "secret", file, testUser, testPassword)
		var res struct {
			OK, Same bool
			Error    string
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if jerr := json.Unmarshal([]byte(lines[len(lines)-1]), &res); jerr != nil || !res.OK || !res.Same {
			t.Errorf("impacket %s: %v %v %+v\n%s", d, err, jerr, res, out)
		}
	}
	if strings.Contains(s.Log(), "unencrypted request refused") {
		t.Errorf("impacket sent unencrypted requests on the encrypted tree:\n%s", s.Log())
	}
}

// TestGoSMB2Encrypted: cloudsoda/go-smb2 (which offers AES-128-GCM and
// AES-128-CCM and encrypts when the share or session demands it) moves
// 16 MiB both ways on the encrypted share over 3.0, 3.0.2 and 3.1.1, and
// over 3.1.1 with AES-128-CCM on a server that prefers it.
func TestGoSMB2Encrypted(t *testing.T) {
	gcm := startSignet(t, serverOpts{requireSigning: boolp(true), shares: secretShare})
	ccm := startSignet(t, serverOpts{requireSigning: boolp(true), shares: secretShare, extra: "ciphers = [\"AES-128-CCM\", \"AES-128-GCM\"]\n"})
	for _, c := range []struct {
		s       *signetServer
		dialect uint16
		cipher  string
	}{{gcm, 0x0300, "AES-128-CCM"}, {gcm, 0x0302, "AES-128-CCM"}, {gcm, 0x0311, "AES-128-GCM"}, {ccm, 0x0311, "AES-128-CCM"}} {
		goSMB2EncryptedRoundTrip(t, c.s.addr, c.dialect)
		if !strings.Contains(c.s.Log(), "encryption="+c.cipher) {
			t.Errorf("dialect %#x: server log does not show %s", c.dialect, c.cipher)
		}
	}
	for _, s := range []*signetServer{gcm, ccm} {
		if strings.Contains(s.Log(), "refused") {
			t.Errorf("refusals in the server log:\n%s", s.Log())
		}
	}
}

// tapEncryptionVerdict checks a tap's record of encrypted sessions: on
// every connection, every message after the final SESSION_SETUP response
// is a transform that the tap, rebuilding the keys from the password,
// decrypted and authenticated, and what it holds parses as SMB2. It
// returns the number of transforms and of SMB2 messages inside them.
func tapEncryptionVerdict(t *testing.T, msgs []wiretap.Message) (transforms, inner int) {
	t.Helper()
	setupDone := map[int]bool{}
	for _, m := range msgs {
		switch {
		case m.Encrypted:
			if m.Kind != wiretap.KindSMB2 {
				t.Errorf("decrypted content is not SMB2: %s", &m)
			}
			inner++
		case !setupDone[m.Conn]:
			if m.Class == wiretap.ClassSetupFinal && m.Dir == wiretap.ServerToClient {
				setupDone[m.Conn] = true
			}
		case m.Kind == wiretap.KindEncrypted && m.Decrypted:
			transforms++
		default:
			t.Errorf("after the final SESSION_SETUP, not a decrypted transform: %s (%s)", &m, m.Note)
		}
	}
	if len(setupDone) == 0 || transforms < 5 || inner < transforms {
		t.Errorf("%d connections set up, %d transforms, %d messages inside", len(setupDone), transforms, inner)
	}
	return transforms, inner
}

// TestEncryptedWireTap: through the wiretap proxy, which rebuilds each
// session's keys from the NTLM exchange and the password, every message
// after the final SESSION_SETUP is a transform that decrypts and
// authenticates to valid SMB2: smbclient (encryption required, 3.0 with
// AES-128-CCM and 3.1.1 with AES-128-GCM) against Signet, and the Signet
// client (RequireEncryption, 3.1.1) against Samba with encryption required.
func TestEncryptedWireTap(t *testing.T) {
	needTool(t, "smbclient", "smbclient")
	s := startSignet(t, serverOpts{requireSigning: boolp(true)})
	src := filepath.Join(t.TempDir(), "src.bin")
	writeRandom(t, src, 4<<20)
	for _, d := range []string{"SMB3_00", "SMB3_11"} {
		t.Run("smbclient-"+d, func(t *testing.T) {
			tap := wiretap.Start(t, wiretap.Config{Target: s.addr, Password: testPassword, MaxRaw: 256})
			out, err := smbclientEnc(t, tap.Port(), "share", d, []string{"--option=client smb encrypt=required"},
				fmt.Sprintf("put %s tap.bin; get tap.bin %s; ls; rm tap.bin", src, filepath.Join(t.TempDir(), "b.bin")))
			if err != nil || strings.Contains(out, "NT_STATUS_") {
				t.Fatalf("%v\n%s", err, out)
			}
			n, inner := tapEncryptionVerdict(t, tap.Messages())
			t.Logf("%d transforms, %d SMB2 messages inside, all decrypted", n, inner)
		})
	}
	t.Run("client-samba", func(t *testing.T) {
		addr, _ := startSambaConf(t, "mandatory", "server smb encrypt = required\n")
		tap := wiretap.Start(t, wiretap.Config{Target: addr, Password: testPassword, MaxRaw: 256})
		d := &client.Dialer{User: testUser, Password: testPassword, RequireSigning: true, RequireEncryption: true,
			MinDialect: client.Dialect311, MaxDialect: client.Dialect311}
		clientEncRoundTrip(t, d, tap.Addr(), "share")
		n, inner := tapEncryptionVerdict(t, tap.Messages())
		t.Logf("%d transforms, %d SMB2 messages inside, all decrypted", n, inner)
	})
}
