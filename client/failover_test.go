package client_test

import (
	"errors"
	"testing"
	"time"

	"github.com/signetsmb/signet/client"
)

// TestFailoverToOtherAddress: a session whose server is gone (its
// address refuses connections) reconnects to the next address of
// Dialer.Failover, a server with another ServerGuid, and goes on there;
// a durable handle that server does not know is reported lost, not
// silently reopened. Without Failover the same loss fails.
func TestFailoverToOtherAddress(t *testing.T) {
	first, second := startServer(t), startServer(t)
	px := newCutter(t, first)
	d := dialer(0x0311)
	d.Failover = []string{"127.0.0.1:1", second} // a dead address is skipped
	s, sh := mount(t, d, px.addr())
	f, err := sh.Create("on-first.txt")
	if err != nil {
		t.Fatal(err)
	}
	if !f.Lease().Durable {
		t.Fatal("no durable handle")
	}
	px.l.Close() // the first server's address refuses from now on
	px.cut()
	time.Sleep(50 * time.Millisecond)
	if _, err := f.WriteAt([]byte("x"), 0); !errors.Is(err, client.ErrHandleLost) {
		t.Fatalf("write on a handle the failover server does not know: %v, want ErrHandleLost", err)
	}
	if s.Reconnects() != 1 {
		t.Fatalf("reconnects %d, want 1", s.Reconnects())
	}
	if err := sh.Mkdir("on-second", 0o755); err != nil {
		t.Fatalf("mkdir after the failover: %v", err)
	}
	// The file is on the second server.
	_, sh2 := mount(t, dialer(0x0311), second)
	if fi, err := sh2.Stat("on-second"); err != nil || !fi.IsDir() {
		t.Fatalf("on the second server: %v %v", fi, err)
	}

	// Without Failover the session has nowhere to go.
	px2 := newCutter(t, first)
	s3, sh3 := mount(t, dialer(0x0311), px2.addr())
	px2.l.Close()
	px2.cut()
	time.Sleep(50 * time.Millisecond)
	if err := sh3.Mkdir("nowhere", 0o755); err == nil {
		t.Fatal("a session without failover addresses survived the loss of its only server")
	}
	if s3.Reconnects() != 0 {
		t.Fatalf("reconnects %d without a server", s3.Reconnects())
	}
}

// TestFailoverAddressValidated: a malformed failover address fails Dial.
func TestFailoverAddressValidated(t *testing.T) {
	addr := startServer(t)
	d := dialer(0x0311)
	d.Failover = []string{"bad/addr"}
	if _, err := d.Dial(t.Context(), addr); err == nil {
		t.Fatal("Dial accepted a malformed failover address")
	}
}
