package spnego

import (
	"bytes"
	"errors"
	"testing"

	"github.com/signetsmb/signet/auth"
	"github.com/signetsmb/signet/auth/ntlm"
)

func FuzzParseInitialContextToken(f *testing.F) {
	w := loadWindows(f)
	f.Add(w.init)
	f.Add(w.hint)
	f.Add(NegTokenInit2())
	f.Add([]byte{0x60, 0x84, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		init, err := parseInitialContextToken(data)
		if err != nil {
			if !errors.Is(err, auth.ErrInvalidToken) {
				t.Fatalf("error not ErrInvalidToken: %v", err)
			}
			return
		}
		if len(init.mechTypes) == 0 || !bytes.Contains(data, init.mechTypesDER) {
			t.Fatalf("parsed %+v", init)
		}
		// Our encoding of what we understood parses back to the same.
		again, err := parseInitialContextToken(marshalInitialContextToken(init.mechTypesDER, init.mechToken))
		if err != nil || !bytes.Equal(again.mechTypesDER, init.mechTypesDER) || !bytes.Equal(again.mechToken, init.mechToken) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

func FuzzParseNegTokenResp(f *testing.F) {
	w := loadWindows(f)
	f.Add(w.challengeResp)
	f.Add(w.authResp)
	f.Add(rejectToken())
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := parseNegTokenResp(data)
		if err != nil {
			return
		}
		again, err := parseNegTokenResp(r.marshal())
		if err != nil || again.state != r.state || !bytes.Equal(again.supportedMech, r.supportedMech) ||
			!bytes.Equal(again.responseToken, r.responseToken) || !bytes.Equal(again.mechListMIC, r.mechListMIC) {
			t.Fatalf("round trip: %+v vs %+v, %v", again, r, err)
		}
		if (again.responseToken == nil) != (r.responseToken == nil) || (again.mechListMIC == nil) != (r.mechListMIC == nil) {
			t.Fatal("presence of a field changed in the round trip")
		}
	})
}

// FuzzServerAccept feeds an arbitrary first token, and an arbitrary second
// token after a valid NegTokenInit; the server must never panic and must
// fail with one of the two error classes.
func FuzzServerAccept(f *testing.F) {
	w := loadWindows(f)
	c := NewClient(newNTLMClient(testPassword))
	init, _, _ := c.Step(nil)
	s := NewServer(newNTLMServer(true))
	chal, _, _ := s.Accept(init)
	authTok, _, _ := c.Step(chal)
	f.Add(w.init)
	f.Add(w.authResp)
	f.Add(authTok)
	f.Add([]byte("NTLMSSP\x00\x01\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		check := func(_ []byte, _ bool, err error) {
			if err != nil && !errors.Is(err, auth.ErrInvalidToken) && !errors.Is(err, auth.ErrLogonFailure) {
				t.Fatalf("unclassified error: %v", err)
			}
		}
		orig := bytes.Clone(data)
		check(NewServer(newNTLMServer(true)).Accept(data))
		s := NewServer(newNTLMServer(true))
		if _, _, err := s.Accept(init); err != nil {
			t.Fatal(err)
		}
		check(s.Accept(data))
		if !bytes.Equal(orig, data) {
			t.Fatal("Accept modified its input")
		}
	})
}

// FuzzClientStep feeds an arbitrary server reply to a client that sent its
// NegTokenInit, then to one that sent its AUTHENTICATE.
func FuzzClientStep(f *testing.F) {
	w := loadWindows(f)
	f.Add(w.challengeResp)
	f.Add(rejectToken())
	f.Fuzz(func(t *testing.T, data []byte) {
		c := NewClient(newNTLMClient(testPassword))
		c.Step(nil)
		c.Step(data)

		c = NewClient(ntlm.NewClient(&ntlm.ClientConfig{User: "u", Password: "p"}))
		c.Step(data) // as a hint
	})
}
