package wiretap

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/smbcrypto"
	"github.com/signetsmb/signet/internal/wire"
)

// dialectCases are the dialect / signing-algorithm combinations a session
// can end up with.
func dialectCases() []struct {
	name string
	neg  negOpts
} {
	return []struct {
		name string
		neg  negOpts
	}{
		{"3.1.1-GMAC", negOpts{dialect: wire.Dialect311, signingOffer: []uint16{2, 1, 0}, signingChoice: 2}},
		{"3.1.1-CMAC-context", negOpts{dialect: wire.Dialect311, signingOffer: []uint16{1, 0}, signingChoice: 1}},
		{"3.1.1-no-context", negOpts{dialect: wire.Dialect311, signingChoice: -1}},
		{"3.1.1-HMAC", negOpts{dialect: wire.Dialect311, signingOffer: []uint16{0}, signingChoice: 0}},
		{"3.0.2", negOpts{dialect: wire.Dialect302, signingChoice: -1}},
		{"3.0", negOpts{dialect: wire.Dialect300, signingChoice: -1}},
		{"2.1", negOpts{dialect: wire.Dialect210, signingChoice: -1}},
		{"2.0.2", negOpts{dialect: wire.Dialect202, signingChoice: -1}},
	}
}

// TestSignedSession: for every dialect and algorithm, a session set up with
// the known password yields Valid for every signed message, including the
// final SESSION_SETUP response and each element of a signed compound.
func TestSignedSession(t *testing.T) {
	for _, tc := range dialectCases() {
		t.Run(tc.name, func(t *testing.T) {
			tap := newTestTap(t, simPassword)
			s := newSim(t, tap)
			tc.neg.serverSecMode = wire.SigningRequired
			s.negotiate(tc.neg)
			ss := s.setup(setupOpts{sid: 0x0000100000000025, clientSecMode: uint8(wire.SigningRequired)})

			for _, cmd := range []wire.Command{wire.CmdTreeConnect, wire.CmdCreate, wire.CmdRead, wire.CmdEcho} {
				req, resp := s.roundTrip(ss, cmd, true, true)
				for _, m := range []Message{req, resp} {
					if m.SigValid != Valid || m.Class != ClassCounted || m.SessionID != ss.id {
						t.Errorf("%s", &m)
					}
				}
			}
			// A related compound of three requests and its responses.
			mid := s.mid
			s.mid += 3
			var reqs, resps []part
			for i := uint64(0); i < 3; i++ {
				rq := header(wire.CmdCreate+wire.Command(i), mid+i, ss.id, false, 0)
				rs := header(wire.CmdCreate+wire.Command(i), mid+i, ss.id, true, 0)
				if i > 0 {
					wire.SetFlags(rq, wire.Flags(rq)|wire.FlagRelated)
					wire.SetFlags(rs, wire.Flags(rs)|wire.FlagRelated)
				}
				reqs = append(reqs, part{append(rq, 9, 0, 1), ss.client}) // odd sizes: padding is signed too
				resps = append(resps, part{append(rs, 9, 0, 1, 2, 3), ss.server})
			}
			for _, batch := range [][]part{reqs, resps} {
				dir := ClientToServer
				if batch[0].signer == ss.server {
					dir = ServerToClient
				}
				msgs, _ := s.send(dir, batch...)
				if len(msgs) != 3 {
					t.Fatalf("compound recorded as %d messages", len(msgs))
				}
				for i, m := range msgs {
					if m.Index != i || m.SigValid != Valid || m.Size%8 != 0 && i < 2 {
						t.Errorf("compound element %d: %s", i, &m)
					}
				}
			}

			rep := tap.Report()
			if v := rep.Verdict(); v != "signed" {
				t.Fatalf("verdict %q\n%s\n%s", v, rep, tap.Transcript())
			}
			c := rep.Conns[0]
			wantAlg := tc.neg.algorithm()
			if c.Dialect != tc.neg.dialect || !c.SigningAlgorithmKnown || c.SigningAlgorithm != wantAlg {
				t.Errorf("dialect 0x%x alg %v known %v, want 0x%x %v", c.Dialect, c.SigningAlgorithm, c.SigningAlgorithmKnown, tc.neg.dialect, wantAlg)
			}
			if c.ServerSecurityMode != wire.SigningEnabled|wire.SigningRequired {
				t.Errorf("server security mode 0x%x", c.ServerSecurityMode)
			}
			if c.Requests != (Counts{Valid: 7}) || c.Responses != (Counts{Valid: 7}) {
				t.Errorf("counts %v / %v", c.Requests, c.Responses)
			}
			sr := s.sessionReport(ss.id)
			if !sr.Established || !sr.KeyKnown || sr.KeyNote != "" || !sr.SetupSigned || sr.SetupSig != Valid ||
				sr.User != simUser || sr.Domain != simDomain || !sr.SigningRequired {
				t.Errorf("session report %+v", sr)
			}
		})
	}
}

// TestTamperedMessages: a flipped byte anywhere in a signed message, or a
// signature made with another key, is Invalid; the verdict says mixed and
// names the message.
func TestTamperedMessages(t *testing.T) {
	for _, tc := range dialectCases() {
		t.Run(tc.name, func(t *testing.T) {
			tap := newTestTap(t, simPassword)
			s := newSim(t, tap)
			s.negotiate(tc.neg)
			ss := s.setup(setupOpts{sid: 77})
			s.roundTrip(ss, wire.CmdEcho, true, true)

			for _, off := range []int{4 + 12, 4 + 24, 4 + 50, 4 + 64, 4 + 67} { // command, MessageId, signature, body
				f := compoundFrame(part{append(header(wire.CmdWrite, s.nextMID(), ss.id, false, 0), echoBody()...), ss.client})
				f[off] ^= 0x80
				m := s.sendFrame(ClientToServer, f)[0]
				if m.SigValid != Invalid {
					t.Errorf("byte %d flipped: %s", off-4, &m)
				}
			}
			// Signed with the wrong key.
			other := mustSigner(t, s.alg, []byte("0123456789abcdef"))
			m, _ := s.send(ServerToClient, part{append(header(wire.CmdWrite, 1000, ss.id, true, 0), echoBody()...), other})
			if m[0].SigValid != Invalid {
				t.Errorf("foreign key: %s", &m[0])
			}
			rep := tap.Report()
			v := rep.Verdict()
			if !strings.HasPrefix(v, "mixed:") || !strings.Contains(v, "invalid e.g. conn 1 C->S frame") ||
				!strings.Contains(v, "WRITE") {
				t.Errorf("verdict %q", v)
			}
			if rep.Requests().Invalid != 5 || rep.Responses().Invalid != 1 {
				t.Errorf("counts %v / %v", rep.Requests(), rep.Responses())
			}
		})
	}
}

// TestWrongPassword: with a password that does not match the NTLMv2
// response the tap cannot derive a key: the session reports why, signed
// messages are NoKey (never a false Valid or Invalid), and the verdict is
// "unverified".
func TestWrongPassword(t *testing.T) {
	for _, tc := range dialectCases()[:1] {
		tap := newTestTap(t, "not-the-password")
		s := newSim(t, tap)
		s.negotiate(tc.neg)
		ss := s.setup(setupOpts{sid: 5})
		req, resp := s.roundTrip(ss, wire.CmdEcho, true, true)
		if req.SigValid != NoKey || resp.SigValid != NoKey {
			t.Errorf("%s / %s", &req, &resp)
		}
		sr := s.sessionReport(5)
		if !sr.Established || sr.KeyKnown || !strings.Contains(sr.KeyNote, "wrong password") || sr.SetupSig != NoKey {
			t.Errorf("session report %+v", sr)
		}
		v := tap.Report().Verdict()
		if !strings.HasPrefix(v, "unverified: 2 of 2") || !strings.Contains(v, "wrong password") {
			t.Errorf("verdict %q", v)
		}
	}
}

// TestPasswordPerUser: Config.Passwords supplies the password of a user
// other than the one Config.Password belongs to, matched
// case-insensitively.
func TestPasswordPerUser(t *testing.T) {
	tap := newTap(Config{Target: "unused", Password: "someone-else", Passwords: map[string]string{"ALICE": simPassword}})
	defer tap.Close()
	s := newSim(t, tap)
	s.negotiate(negOpts{dialect: wire.Dialect311, signingChoice: -1})
	ss := s.setup(setupOpts{sid: 5})
	if req, _ := s.roundTrip(ss, wire.CmdEcho, true, true); req.SigValid != Valid {
		t.Fatalf("%s", &req)
	}
}

// TestDomainFallback: the tap retries NTOWFv2 with an empty domain, as
// servers do, when the client computed its response without the domain it
// sends.
func TestDomainFallback(t *testing.T) {
	tap := newTestTap(t, simPassword)
	s := newSim(t, tap)
	s.negotiate(negOpts{dialect: wire.Dialect302, signingChoice: -1})
	ss := s.setup(setupOpts{sid: 9, noDomain: true, mutateReq2: func(m []byte) []byte {
		// Point the AUTHENTICATE's DomainName field at "SIMDOM" appended
		// after the SPNEGO token. Only the tap sees this copy; the
		// simulated server authenticates the original token.
		i := bytes.Index(m, []byte("NTLMSSP\x00\x03"))
		if i < 0 {
			t.Fatal("no AUTHENTICATE in request 2")
		}
		dom := []byte{'S', 0, 'I', 0, 'M', 0, 'D', 0, 'O', 0, 'M', 0}
		binary.LittleEndian.PutUint16(m[i+28:], uint16(len(dom)))
		binary.LittleEndian.PutUint16(m[i+30:], uint16(len(dom)))
		binary.LittleEndian.PutUint32(m[i+32:], uint32(len(m)-i))
		bl := binary.LittleEndian.Uint16(m[64+14:])
		binary.LittleEndian.PutUint16(m[64+14:], bl+uint16(len(dom)))
		return append(m, dom...)
	}})
	if r, _ := s.roundTrip(ss, wire.CmdEcho, true, true); r.SigValid != Valid {
		t.Fatalf("%s", &r)
	}
	if sr := s.sessionReport(9); sr.Domain != "SIMDOM" || !sr.KeyKnown {
		t.Errorf("%+v", sr)
	}
}

// TestUnsignedSession: peers that do not sign after SESSION_SETUP give the
// verdict "not signed"; the (signed) final SESSION_SETUP response is
// reported separately and does not count.
func TestUnsignedSession(t *testing.T) {
	tap := newTestTap(t, simPassword)
	s := newSim(t, tap)
	s.negotiate(negOpts{dialect: wire.Dialect311, signingOffer: []uint16{2}, signingChoice: 2})
	ss := s.setup(setupOpts{sid: 3})
	for i := 0; i < 3; i++ {
		req, resp := s.roundTrip(ss, wire.CmdRead, false, false)
		if req.Signed || resp.Signed || req.SigValid != NotChecked || req.Class != ClassCounted {
			t.Errorf("%s / %s", &req, &resp)
		}
	}
	rep := tap.Report()
	if v := rep.Verdict(); v != "not signed" {
		t.Fatalf("verdict %q", v)
	}
	if sr := s.sessionReport(3); sr.SetupSig != Valid || !sr.KeyKnown {
		t.Errorf("%+v", sr)
	}
	if rep.Requests() != (Counts{Unsigned: 3}) || rep.Responses() != (Counts{Unsigned: 3}) {
		t.Errorf("%v %v", rep.Requests(), rep.Responses())
	}
}

// TestMixedSigning: signed requests with unsigned responses (a server that
// ignores signing) are "mixed", with the unsigned responses as examples.
func TestMixedSigning(t *testing.T) {
	tap := newTestTap(t, simPassword)
	s := newSim(t, tap)
	s.negotiate(negOpts{dialect: wire.Dialect210, signingChoice: -1})
	ss := s.setup(setupOpts{sid: 3, unsignedFinal: true})
	s.roundTrip(ss, wire.CmdTreeConnect, true, false)
	s.roundTrip(ss, wire.CmdCreate, true, false)
	rep := tap.Report()
	v := rep.Verdict()
	if !strings.HasPrefix(v, "mixed: requests 2 valid, 0 invalid, 0 no-key, 0 unsigned; responses 0 valid, 0 invalid, 0 no-key, 2 unsigned") ||
		!strings.Contains(v, "unsigned e.g. conn 1 S->C frame 4 TREE_CONNECT") {
		t.Errorf("verdict %q", v)
	}
	if sr := s.sessionReport(3); sr.SetupSigned || !strings.Contains(rep.String(), "setup response unsigned") {
		t.Errorf("%+v\n%s", sr, rep)
	}
}

// TestReportFor: a 3.1.1 session without signing policy signs TREE_CONNECT
// (as clients must) but not the file traffic: the full verdict is mixed,
// the verdict over file operations "not signed".
func TestReportFor(t *testing.T) {
	tap := newTestTap(t, simPassword)
	s := newSim(t, tap)
	s.negotiate(negOpts{dialect: wire.Dialect311, signingOffer: []uint16{2}, signingChoice: 2})
	ss := s.setup(setupOpts{sid: 3})
	s.roundTrip(ss, wire.CmdTreeConnect, true, true)
	s.roundTrip(ss, wire.CmdCreate, false, false)
	s.roundTrip(ss, wire.CmdRead, false, false)
	if v := tap.Report().Verdict(); !strings.HasPrefix(v, "mixed: requests 1 valid, 0 invalid, 0 no-key, 2 unsigned") {
		t.Errorf("verdict %q", v)
	}
	files := tap.ReportFor(func(m *Message) bool { return m.Cmd >= wire.CmdCreate })
	if v := files.Verdict(); v != "not signed" || files.Requests().Total() != 2 || len(files.Sessions()) != 1 {
		t.Errorf("file verdict %q %v", v, files.Requests())
	}
	if v := tap.ReportFor(func(m *Message) bool { return m.Cmd == wire.CmdTreeConnect }).Verdict(); v != "signed" {
		t.Errorf("tree connect verdict %q", v)
	}
}

// TestExemptMessages: interim responses, breaks, CANCEL and SessionId-0
// traffic do not enter the verdict; CANCEL is counted on its own.
func TestExemptMessages(t *testing.T) {
	tap := newTestTap(t, simPassword)
	s := newSim(t, tap)
	s.negotiate(negOpts{dialect: wire.Dialect311, signingOffer: []uint16{2}, signingChoice: 2})
	ss := s.setup(setupOpts{sid: 0x44})
	s.roundTrip(ss, wire.CmdEcho, true, true)

	mid := s.nextMID()
	cases := []struct {
		dir   Direction
		p     part
		class Class
		sig   SigStatus
	}{
		// Interim response: unsigned, with the request's signature bytes copied (Samba).
		{ServerToClient, part{msg: func() []byte {
			m := append(header(wire.CmdChangeNotify, mid, ss.id, true, ntstatus.Pending), 9, 0, 0, 0, 0, 0, 0, 0, 0x21)
			wire.SetFlags(m, wire.Flags(m)|wire.FlagAsyncCommand)
			copy(m[48:], "copied-signature")
			return m
		}()}, ClassInterim, NotChecked},
		// Oplock break: MessageId all-ones, unsigned.
		{ServerToClient, part{msg: append(header(wire.CmdOplockBreak, wire.MessageIDUnsolicited, ss.id, true, 0), make([]byte, 24)...)}, ClassNotification, NotChecked},
		// Lease break: SessionId 0.
		{ServerToClient, part{msg: append(header(wire.CmdOplockBreak, wire.MessageIDUnsolicited, 0, true, 0), make([]byte, 44)...)}, ClassNotification, NotChecked},
		// Signed CANCEL (GMAC nonce has the cancel bit).
		{ClientToServer, part{append(header(wire.CmdCancel, mid, ss.id, false, 0), 4, 0, 0, 0), ss.client}, ClassCancel, Valid},
		// Unsigned CANCEL.
		{ClientToServer, part{msg: append(header(wire.CmdCancel, mid, ss.id, false, 0), 4, 0, 0, 0)}, ClassCancel, NotChecked},
		// ECHO without a session.
		{ClientToServer, part{msg: append(header(wire.CmdEcho, s.nextMID(), 0, false, 0), echoBody()...)}, ClassNoSession, NotChecked},
		// Signed, but SessionId 0: nothing to check it with.
		{ClientToServer, part{append(header(wire.CmdEcho, s.nextMID(), 0, false, 0), echoBody()...), ss.client}, ClassNoSession, NoKey},
		// A session the tap never saw.
		{ClientToServer, part{msg: append(header(wire.CmdEcho, s.nextMID(), 0x99, false, 0), echoBody()...)}, ClassUnknownSession, NotChecked},
	}
	for i, c := range cases {
		m, _ := s.send(c.dir, c.p)
		if m[0].Class != c.class || m[0].SigValid != c.sig {
			t.Errorf("case %d: %s, want class %s sig %s", i, &m[0], c.class, c.sig)
		}
	}
	rep := tap.Report()
	if v := rep.Verdict(); v != "signed" {
		t.Errorf("verdict %q\n%s", v, rep)
	}
	if rep.Cancels() != (Counts{Valid: 1, Unsigned: 1}) {
		t.Errorf("cancels %v", rep.Cancels())
	}
	c := rep.Conns[0]
	if c.Classes[ClassInterim] != 1 || c.Classes[ClassNotification] != 2 || c.Classes[ClassNoSession] != 4 ||
		c.Classes[ClassUnknownSession] != 1 || c.Classes[ClassSetup] != 3 || c.Classes[ClassSetupFinal] != 1 {
		t.Errorf("classes %v", c.Classes)
	}
}

// TestGuestAndAnonymous: sessions without a key are reported as such; their
// (unsigned) traffic is "not signed".
func TestGuestAndAnonymous(t *testing.T) {
	for _, o := range []setupOpts{{sid: 8, guest: true, unsignedFinal: true}, {sid: 8, anonymous: true, unsignedFinal: true}} {
		tap := newTestTap(t, simPassword)
		s := newSim(t, tap)
		s.negotiate(negOpts{dialect: wire.Dialect311, signingChoice: -1})
		ss := s.setup(o)
		s.roundTrip(ss, wire.CmdTreeConnect, false, false)
		sr := s.sessionReport(8)
		want := "guest session"
		if o.anonymous {
			want = "anonymous session"
		}
		if !sr.Established || sr.KeyKnown || !strings.HasPrefix(sr.KeyNote, want) || sr.Guest != o.guest || sr.Anonymous != o.anonymous {
			t.Errorf("%+v", sr)
		}
		if v := tap.Report().Verdict(); v != "not signed" {
			t.Errorf("verdict %q", v)
		}
	}
}

// TestLogonFailure: a failed SESSION_SETUP leaves a failed session record;
// later traffic with its id is not counted.
func TestLogonFailure(t *testing.T) {
	tap := newTestTap(t, simPassword)
	s := newSim(t, tap)
	s.negotiate(negOpts{dialect: wire.Dialect311, signingChoice: -1})
	ss := s.setup(setupOpts{sid: 0x21, serverPassword: "other"})
	if ss.status != ntstatus.LogonFailure {
		t.Fatalf("status %v", ss.status)
	}
	sr := s.sessionReport(0x21)
	if sr.Established || sr.Status != ntstatus.LogonFailure || sr.User != simUser {
		t.Errorf("%+v", sr)
	}
	req, _ := s.roundTrip(ss, wire.CmdEcho, false, false)
	if req.Class != ClassUnknownSession {
		t.Errorf("%s", &req)
	}
	if v := tap.Report().Verdict(); v != "no session traffic" {
		t.Errorf("verdict %q", v)
	}
}

// TestNonNTLM: a session set up with another mechanism (Kerberos) has no
// key; signed traffic is NoKey with the reason in the verdict.
func TestNonNTLM(t *testing.T) {
	tap := newTestTap(t, simPassword)
	s := newSim(t, tap)
	s.negotiate(negOpts{dialect: wire.Dialect311, signingChoice: -1})
	ss := s.setup(setupOpts{sid: 0x21, nonNTLM: true})
	ss.client = mustSigner(t, smbcrypto.AESCMAC, []byte("kerberos-derived"))
	ss.server = ss.client
	s.roundTrip(ss, wire.CmdEcho, true, true)
	v := tap.Report().Verdict()
	if !strings.HasPrefix(v, "unverified:") || !strings.Contains(v, "Kerberos") {
		t.Errorf("verdict %q", v)
	}
}

// TestReauthentication: a second SESSION_SETUP on an established session is
// ordinary signed traffic and does not change the keys [MS-SMB2 3.3.5.5].
func TestReauthentication(t *testing.T) {
	for _, tc := range dialectCases()[:1] {
		tap := newTestTap(t, simPassword)
		s := newSim(t, tap)
		s.negotiate(tc.neg)
		ss := s.setup(setupOpts{sid: 0x31})
		s.setup(setupOpts{reauth: ss})
		req, resp := s.roundTrip(ss, wire.CmdEcho, true, true)
		if req.SigValid != Valid || resp.SigValid != Valid {
			t.Errorf("%s / %s", &req, &resp)
		}
		rep := tap.Report()
		if v := rep.Verdict(); v != "signed" {
			t.Fatalf("verdict %q\n%s", v, tap.Transcript())
		}
		// 4 re-auth messages (all signed) + the ECHO pair.
		if rep.Requests().Valid != 3 || rep.Responses().Valid != 3 {
			t.Errorf("%v %v", rep.Requests(), rep.Responses())
		}
		if n := len(rep.Conns[0].Sessions); n != 1 {
			t.Errorf("%d session records", n)
		}
	}
}

// TestInterleavedSessions: two sessions set up concurrently on one
// connection keep separate preauth chains, tied to their first requests by
// MessageId.
func TestInterleavedSessions(t *testing.T) {
	tap := newTap(Config{Target: "unused", Password: simPassword, Passwords: map[string]string{"bob": "b0b's"}})
	defer tap.Close()
	s := newSim(t, tap)
	s.negotiate(negOpts{dialect: wire.Dialect311, signingOffer: []uint16{2}, signingChoice: 2})

	// Frames interleave: A1 B1 A2 B2 A3 B3 B4 A4 (B finishes first).
	sa, stepsA := s.setupSteps(setupOpts{sid: 0xA})
	sb, stepsB := s.setupSteps(setupOpts{sid: 0xB, user: "bob", password: "b0b's"})
	for _, step := range []func(){stepsA[0], stepsB[0], stepsA[1], stepsB[1], stepsA[2], stepsB[2], stepsB[3], stepsA[3]} {
		step()
	}
	for _, ss := range []*simSession{sa, sb} {
		req, resp := s.roundTrip(ss, wire.CmdEcho, true, true)
		if req.SigValid != Valid || resp.SigValid != Valid {
			t.Errorf("%s / %s\n%s", &req, &resp, tap.Transcript())
		}
	}
	rep := tap.Report()
	if v := rep.Verdict(); v != "signed" {
		t.Errorf("verdict %q", v)
	}
	if ss := rep.Sessions(); len(ss) != 2 || ss[0].User != simUser || ss[1].User != "bob" || !ss[0].KeyKnown || !ss[1].KeyKnown {
		t.Errorf("%+v", ss)
	}
}

// TestChannelBinding: a 3.x session bound to a second connection through
// the same tap: binding requests and the MORE_PROCESSING response are
// signed with Session.SigningKey, the final response and all later traffic
// on the new connection with the new Channel.SigningKey (3.1.1: derived
// from that connection's own preauth chain).
func TestChannelBinding(t *testing.T) {
	for _, tc := range []negOpts{
		{dialect: wire.Dialect311, signingOffer: []uint16{2}, signingChoice: 2},
		{dialect: wire.Dialect311, signingChoice: -1},
		{dialect: wire.Dialect302, signingChoice: -1},
	} {
		tap := newTestTap(t, simPassword)
		s1 := newSim(t, tap)
		s1.negotiate(tc)
		ss := s1.setup(setupOpts{sid: 0x1234})
		s1.roundTrip(ss, wire.CmdEcho, true, true)

		s2 := newSim(t, tap)
		s2.negotiate(tc)
		ch := s2.setup(setupOpts{binding: ss})
		for _, m := range tap.Messages() {
			if m.Conn == 2 && m.Cmd == wire.CmdSessionSetup && m.Signed && m.SigValid != Valid {
				t.Errorf("binding: %s", &m)
			}
		}
		if tc.dialect == wire.Dialect311 && ch.client == ss.client {
			t.Fatal("sim bug: channel key equals session key")
		}
		req, resp := s2.roundTrip(ch, wire.CmdRead, true, true)
		if req.SigValid != Valid || resp.SigValid != Valid {
			t.Errorf("%s / %s", &req, &resp)
		}
		// A non-SESSION_SETUP message on the bound channel signed with the
		// session key instead of the channel key is wrong (3.1.1; in 3.0.2
		// the two keys are equal).
		if tc.dialect == wire.Dialect311 {
			m, _ := s2.send(ClientToServer, part{append(header(wire.CmdRead, 500, ch.id, false, 0), echoBody()...), ss.client})
			if m[0].SigValid != Invalid {
				t.Errorf("session key on bound channel: %s", &m[0])
			}
		}
		sr := s2.sessionReport(0x1234)
		if !sr.Binding || !sr.Established || !sr.KeyKnown || sr.SetupSig != Valid || sr.User != simUser {
			t.Errorf("%+v\n%s", sr, tap.Transcript())
		}
	}
}

// TestLogoff: after a successful LOGOFF the session's id is no longer
// counted.
func TestLogoff(t *testing.T) {
	tap := newTestTap(t, simPassword)
	s := newSim(t, tap)
	s.negotiate(negOpts{dialect: wire.Dialect302, signingChoice: -1})
	ss := s.setup(setupOpts{sid: 0x50})
	req, resp := s.roundTrip(ss, wire.CmdLogoff, true, true)
	if req.Class != ClassCounted || resp.Class != ClassCounted || resp.SigValid != Valid {
		t.Errorf("%s / %s", &req, &resp)
	}
	req, _ = s.roundTrip(ss, wire.CmdEcho, false, false)
	if req.Class != ClassUnknownSession {
		t.Errorf("%s", &req)
	}
	if !s.sessionReport(0x50).LoggedOff || tap.Report().Verdict() != "signed" {
		t.Errorf("%s", tap.Report())
	}
}

// TestRelatedElementSession: a related compound element belongs to the
// previous element's session whatever its SessionId field says.
func TestRelatedElementSession(t *testing.T) {
	tap := newTestTap(t, simPassword)
	s := newSim(t, tap)
	s.negotiate(negOpts{dialect: wire.Dialect311, signingOffer: []uint16{1}, signingChoice: 1})
	ss := s.setup(setupOpts{sid: 0x60})
	first := append(header(wire.CmdCreate, 100, ss.id, false, 0), 1, 2, 3)
	second := append(header(wire.CmdClose, 101, 0xFFFFFFFFFFFFFFFF, false, 0), 4, 5)
	wire.SetFlags(second, wire.Flags(second)|wire.FlagRelated)
	msgs, _ := s.send(ClientToServer, part{first, ss.client}, part{second, ss.client})
	if len(msgs) != 2 || msgs[1].SessionID != ss.id || msgs[1].SigValid != Valid || msgs[1].Class != ClassCounted {
		t.Fatalf("%v", msgs)
	}
}

// TestSMB1Wildcard: an SMB1 NEGOTIATE answered with the 0x02FF wildcard is
// not part of the 3.1.1 preauth chain.
func TestSMB1Wildcard(t *testing.T) {
	tap := newTestTap(t, simPassword)
	s := newSim(t, tap)
	smb1 := []byte{0xFF, 'S', 'M', 'B', 0x72}
	smb1 = append(smb1, make([]byte, 27)...)
	smb1 = append(smb1, 0, 12, 0)
	smb1 = append(smb1, "\x02SMB 2.???\x00"...)
	if m := s.sendFrame(ClientToServer, tcpFrame(smb1)); m[0].Kind != KindSMB1 || m[0].Class != ClassOther {
		t.Fatalf("%s", &m[0])
	}
	wild := wire.AppendNegotiateResponse(header(wire.CmdNegotiate, 0, 0, true, 0),
		&wire.NegotiateResponse{Dialect: wire.DialectWildcard, SecurityMode: 1})
	s.send(ServerToClient, part{msg: wild})
	s.mid = 1
	s.negotiate(negOpts{dialect: wire.Dialect311, signingOffer: []uint16{2}, signingChoice: 2})
	ss := s.setup(setupOpts{sid: 0x70})
	if req, _ := s.roundTrip(ss, wire.CmdEcho, true, true); req.SigValid != Valid {
		t.Fatalf("%s\n%s", &req, tap.Transcript())
	}
	c := s.connReport()
	if !c.SMB1Negotiate || c.Dialect != wire.Dialect311 || c.SigningAlgorithm != smbcrypto.AESGMAC {
		t.Errorf("%+v", c)
	}
}

// TestUnknownSigningAlgorithm: a 3.1.1 SIGNING_CAPABILITIES answer the tap
// does not know leaves the session without a key, explained.
func TestUnknownSigningAlgorithm(t *testing.T) {
	tap := newTestTap(t, simPassword)
	s := newSim(t, tap)
	s.negotiate(negOpts{dialect: wire.Dialect311, signingOffer: []uint16{7}, signingChoice: 7})
	s.alg = smbcrypto.AESCMAC // the peers' own choice does not matter here
	ss := s.setup(setupOpts{sid: 0x80})
	s.roundTrip(ss, wire.CmdEcho, true, true)
	sr := s.sessionReport(0x80)
	if sr.KeyKnown || !strings.Contains(sr.KeyNote, "unknown signing algorithm 0x0007") {
		t.Errorf("%+v", sr)
	}
}
