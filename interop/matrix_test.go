package interop

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signetsmb/signet/client"
	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/smbtest/wiretap"
	"github.com/signetsmb/signet/internal/wire"
)

// The seed's table of effective behaviour for SMB2/SMB3:
//
//	                         server requires   server does not require
//	client requires          signed            signed
//	client does not require  signed            not signed
func expectedCell(clientRequires, serverRequires bool) string {
	if clientRequires || serverRequires {
		return "signed"
	}
	return "not signed"
}

// fileOps are the commands whose signing decides a cell: the file traffic
// after the session is set up. (3.1.1 always signs TREE_CONNECT and the
// final SESSION_SETUP response, whatever the policy, so those do not tell
// the cells apart.)
var fileOps = map[wire.Command]bool{
	wire.CmdCreate: true, wire.CmdClose: true, wire.CmdRead: true, wire.CmdWrite: true,
	wire.CmdQueryDirectory: true, wire.CmdQueryInfo: true, wire.CmdSetInfo: true, wire.CmdFlush: true,
}

// cellVerdict classifies the recorded file traffic: "signed" when every
// request and response carries SMB2_FLAGS_SIGNED and a signature the tap
// verified with the reconstructed key, "not signed" when none is signed.
func cellVerdict(msgs []wiretap.Message) string {
	var total, valid, unsigned int
	var bad []string
	for _, m := range msgs {
		if m.Kind != wiretap.KindSMB2 || !fileOps[m.Cmd] || m.SessionID == 0 ||
			m.MessageID == wire.MessageIDUnsolicited || m.Dir == wiretap.ServerToClient && m.Status == ntstatus.Pending {
			continue
		}
		total++
		switch {
		case !m.Signed:
			unsigned++
		case m.SigValid == wiretap.Valid:
			valid++
		default:
			if len(bad) < 3 {
				bad = append(bad, m.String())
			}
		}
	}
	switch {
	case total == 0:
		return "no file traffic"
	case valid == total:
		return "signed"
	case unsigned == total:
		return "not signed"
	}
	return fmt.Sprintf("mixed: %d valid, %d unsigned of %d; %s", valid, unsigned, total, strings.Join(bad, " | "))
}

type matrixPair struct {
	name string
	// server starts the server for one setting and returns its address.
	server func(t *testing.T, requires bool) string
	// client runs a session through addr with the client policy and
	// dialect and does some file work.
	client func(t *testing.T, addr string, requires bool, dialect uint16) error
}

var matrixDialects = []uint16{wire.Dialect202, wire.Dialect302, wire.Dialect311}

// TestSigningMatrix measures the seed's table on the wire for dialects
// 2.0.2, 3.0.2 and 3.1.1 and three pairs of peers, at least one of which we
// did not write in each pair: Signet client with Signet server, smbclient
// with Signet server, Signet client with Samba smbd. Each cell's verdict
// comes from a proxy that verifies every signature with keys reconstructed
// from the NTLM exchange.
func TestSigningMatrix(t *testing.T) {
	signetServer := func(t *testing.T, requires bool) string {
		return startSignet(t, serverOpts{requireSigning: boolp(requires)}).addr
	}
	sambaServer := func(t *testing.T, requires bool) string {
		mode := "auto"
		if requires {
			mode = "mandatory"
		}
		addr, _ := startSamba(t, mode)
		return addr
	}
	pairs := []matrixPair{
		{"Signet client / Signet server", signetServer, signetClientWork},
		{"smbclient / Signet server", signetServer, smbclientWork},
		{"Signet client / Samba smbd", sambaServer, signetClientWork},
	}
	var table strings.Builder
	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			servers := map[bool]string{}
			for _, sr := range []bool{true, false} {
				servers[sr] = p.server(t, sr)
			}
			for _, d := range matrixDialects {
				got := map[[2]bool]string{}
				for _, cr := range []bool{true, false} {
					for _, sr := range []bool{true, false} {
						tap := wiretap.Start(t, wiretap.Config{Target: servers[sr], Password: testPassword})
						if err := p.client(t, tap.Addr(), cr, d); err != nil {
							t.Fatalf("%s %s client requires=%v server requires=%v: %v", p.name, wire.DialectName(d), cr, sr, err)
						}
						v := cellVerdict(tap.Messages())
						got[[2]bool{cr, sr}] = v
						if want := expectedCell(cr, sr); v != want {
							t.Errorf("%s %s client requires=%v server requires=%v: measured %q, the seed's table says %q\n%s",
								p.name, wire.DialectName(d), cr, sr, v, want, tap.Report())
						}
					}
				}
				fmt.Fprintf(&table, "%s, dialect %s:\n", p.name, wire.DialectName(d))
				fmt.Fprintf(&table, "  %-26s %-18s %s\n", "", "server requires", "server does not require")
				fmt.Fprintf(&table, "  %-26s %-18s %s\n", "client requires", got[[2]bool{true, true}], got[[2]bool{true, false}])
				fmt.Fprintf(&table, "  %-26s %-18s %s\n", "client does not require", got[[2]bool{false, true}], got[[2]bool{false, false}])
			}
		})
	}
	t.Logf("measured signing table:\n%s", table.String())
}

// signetClientWork logs on with the Signet client and moves a file.
func signetClientWork(t *testing.T, addr string, requires bool, dialect uint16) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d := &client.Dialer{User: testUser, Password: testPassword, AllowUnsigned: !requires,
		MinDialect: dialect, MaxDialect: dialect}
	s, err := d.Dial(ctx, addr)
	if err != nil {
		return err
	}
	defer s.Close()
	if s.Dialect() != dialect {
		return fmt.Errorf("negotiated %s", wire.DialectName(s.Dialect()))
	}
	sh, err := s.Mount(ctx, "share")
	if err != nil {
		return err
	}
	defer sh.Umount()
	name := fmt.Sprintf("matrix-%d.txt", time.Now().UnixNano())
	f, err := sh.Create(name)
	if err != nil {
		return err
	}
	if _, err := f.Write([]byte("signed or not")); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if b, err := sh.ReadFile(name); err != nil || string(b) != "signed or not" {
		return fmt.Errorf("read back %q: %v", b, err)
	}
	return sh.Remove(name)
}

var smbclientDialectNames = map[uint16]string{wire.Dialect202: "SMB2_02", wire.Dialect302: "SMB3_02", wire.Dialect311: "SMB3_11"}

// smbclientWork runs smbclient with client signing required or disabled.
func smbclientWork(t *testing.T, addr string, requires bool, dialect uint16) error {
	bin := needTool(t, "smbclient", "smbclient")
	port := addr[strings.LastIndexByte(addr, ':')+1:]
	signing := "disabled"
	if requires {
		signing = "required"
	}
	src := filepath.Join(t.TempDir(), "m.txt")
	if err := os.WriteFile(src, []byte("signed or not"), 0o644); err != nil {
		return err
	}
	m := smbclientDialectNames[dialect]
	out, err := run(t, time.Minute, bin, "//127.0.0.1/share", "-p", port, "-U", testUser+"%"+testPassword,
		"-m", m, "--option=client min protocol="+m, "--option=client signing="+signing,
		"-c", "put "+src+" m.txt; get m.txt /dev/null; ls; rm m.txt")
	if err != nil || strings.Contains(out, "NT_STATUS_") {
		return fmt.Errorf("smbclient: %v\n%s", err, out)
	}
	return nil
}
