package interop

import (
	"context"
	"testing"
	"time"

	"github.com/signetsmb/signet/client"
	"github.com/signetsmb/signet/internal/smbtest/wiretap"
)

// TestReloadKeepsEstablishedSessions: after the policy file changes from
// require_signing=true to false, a session established before keeps
// signing (checked on the wire) while a new session from a client that
// does not require signing is unsigned — without a restart.
func TestReloadKeepsEstablishedSessions(t *testing.T) {
	s := startSignet(t, serverOpts{requireSigning: boolp(true)})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	oldTap := wiretap.Start(t, wiretap.Config{Target: s.addr, Password: testPassword})
	d := &client.Dialer{User: testUser, Password: testPassword, AllowUnsigned: true}
	old, err := d.Dial(ctx, oldTap.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	oldShare, err := old.Mount(ctx, "share")
	if err != nil {
		t.Fatal(err)
	}
	s.writeConfig(serverOpts{requireSigning: boolp(false)}.configText(s.port))
	if !s.waitLog("require_signing true -> false", 10*time.Second) {
		t.Fatalf("reload not seen:\n%s", s.Log())
	}
	if err := oldShare.Mkdir("made-after-reload", 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := oldShare.ReadDir("."); err != nil {
		t.Fatal(err)
	}
	if v := cellVerdict(oldTap.Messages()); v != "signed" {
		t.Fatalf("established session after reload: %s\n%s", v, oldTap.Report())
	}
	newTap := wiretap.Start(t, wiretap.Config{Target: s.addr, Password: testPassword})
	fresh, err := d.Dial(ctx, newTap.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	freshShare, err := fresh.Mount(ctx, "share")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := freshShare.ReadDir("."); err != nil {
		t.Fatal(err)
	}
	if v := cellVerdict(newTap.Messages()); v != "not signed" {
		t.Fatalf("new session after reload: %s\n%s", v, newTap.Report())
	}
}
