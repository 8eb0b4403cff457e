package krb5

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/signetsmb/signet/auth"
)

// FuzzAccept feeds arbitrary tokens to the acceptor: never a panic (the
// gokrb5 decoders run on untrusted bytes), only the two error classes, and
// the input left alone.
func FuzzAccept(f *testing.F) {
	kt := serviceKeytab(f, service, "service-secret", 2)
	a := newAcceptor(f, kt, nil)
	creds := ticket(f, kt, "alice", realm, service, t0.Add(-time.Minute), t0.Add(time.Hour))
	req, _, err := NewInitiator(creds, service, clock(t0)).Step(nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(req)
	f.Add(req[:40])
	f.Add(frame(tokAPReq, []byte{0x6e, 0x80}))
	f.Add(frame(tokAPRep, nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		orig := bytes.Clone(data)
		_, _, err := a.NewServer(lookup).Accept(data)
		if err != nil && !errors.Is(err, auth.ErrInvalidToken) && !errors.Is(err, auth.ErrLogonFailure) {
			t.Fatalf("unclassified error: %v", err)
		}
		if !bytes.Equal(orig, data) {
			t.Fatal("Accept modified its input")
		}
	})
}

// FuzzInitiatorAPRep feeds arbitrary AP-REPs to an initiator that sent its
// AP-REQ: never a panic, never a session key from a bad reply.
func FuzzInitiatorAPRep(f *testing.F) {
	kt := serviceKeytab(f, service, "service-secret", 2)
	a := newAcceptor(f, kt, nil)
	creds := ticket(f, kt, "alice", realm, service, t0.Add(-time.Minute), t0.Add(time.Hour))
	c := NewInitiator(creds, service, clock(t0))
	req, _, _ := c.Step(nil)
	rep, _, err := a.NewServer(lookup).Accept(req)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(rep)
	f.Add(frame(tokKRBError, []byte{0x7e, 0x03, 0x30, 0x01, 0x00}))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := NewInitiator(creds, service, clock(t0))
		if _, _, err := c.Step(nil); err != nil {
			t.Fatal(err)
		}
		if _, done, err := c.Step(data); err == nil && (!done || c.SessionKey() == nil) {
			t.Fatal("accepted an AP-REP without a session key")
		}
	})
}
