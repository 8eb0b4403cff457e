package server

import (
	"strings"
	"testing"

	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
)

// TestAuditNoEncryption: under require_signing = "audit", a client that
// cannot encrypt is recorded once per session with reason "encryption"
// (Windows' "Audit client does not support encryption"): on an encrypted
// share (refused, or let in by allow_unencrypted_access) and on a server
// that encrypts everything (refused at SESSION_SETUP, or let in); an
// encrypting client is not recorded, and nothing is while the policy does
// not audit.
func TestAuditNoEncryption(t *testing.T) {
	for _, c := range []struct {
		name                string
		serverWide, allow   bool
		audit               bool
		wantSetup, wantTree ntstatus.Status
		wantEvents          int64
	}{
		{"share refused", false, false, true, ntstatus.Success, ntstatus.AccessDenied, 1},
		{"share allowed", false, true, true, ntstatus.Success, ntstatus.Success, 1},
		{"server refused", true, false, true, ntstatus.AccessDenied, 0, 1},
		{"server allowed", true, true, true, ntstatus.Success, ntstatus.Success, 1},
		{"not auditing", false, false, false, ntstatus.Success, ntstatus.AccessDenied, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := &testerConfig{Settings: func(st *Settings) {
				st.Shares = append(st.Shares, &Share{Name: "secret", FS: st.Shares[0].FS, EncryptData: true})
				st.EncryptData = c.serverWide
				st.AllowUnencryptedAccess = c.allow
				st.AuditSigning = c.audit
			}}
			ts := startTestServer(t, cfg)
			enc := encryptedTester(t, ts)
			enc.mustTreeConnect("secret")

			plain := ts.dial()
			plain.negotiate(wire.Dialect311) // offers no cipher
			if st := plain.sessionSetup("alice", "pw"); st != c.wantSetup {
				t.Fatalf("SESSION_SETUP: %v, want %v", st, c.wantSetup)
			}
			if c.wantSetup == ntstatus.Success {
				for range 2 { // a second TREE_CONNECT is not a second event
					if _, st := plain.treeConnect("secret"); st != c.wantTree {
						t.Fatalf("TREE_CONNECT secret: %v, want %v", st, c.wantTree)
					}
				}
			}
			if got := ts.srv.AuditCounts()[AuditEncryption]; got != c.wantEvents {
				t.Fatalf("%d encryption audit events, want %d (%+v)", got, c.wantEvents, ts.srv.AuditEvents())
			}
			if c.wantEvents == 0 {
				return
			}
			ev := ts.srv.AuditEvents()[0]
			if ev.Reason != AuditEncryption || ev.User != "alice" || ev.Dialect != "3.1.1" {
				t.Fatalf("event %+v", ev)
			}
			if !strings.Contains(ts.log.String(), "audit: client does not support encryption") {
				t.Fatal("no audit log line")
			}
		})
	}
}

// encryptedTester is a client of ts with an encrypting session of alice
// (3.1.1, every request encrypted).
func encryptedTester(t *testing.T, ts *testServer) *tester {
	t.Helper()
	tc := ts.dial()
	tc.negotiateEncrypting(wire.Dialect311)
	tc.mustSessionSetup("alice", "pw")
	tc.enc.on = true
	return tc
}
