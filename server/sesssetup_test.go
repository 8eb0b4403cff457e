package server

import (
	"testing"
	"time"

	"github.com/signetsmb/signet/auth/userdb"
	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
)

// Tests of SESSION_SETUP, LOGOFF and TREE_CONNECT [MS-SMB2 3.3.5.5 -
// 3.3.5.8] through the tester.

// withBob adds user bob/pw2 to the server's users.
func withBob(o *Options) {
	o.Users = testUsers{"alice": userdb.NTHash("pw"), "bob": userdb.NTHash("pw2")}
}

// TestSessionSetupLogonFailure: a wrong password or an unknown user is
// STATUS_LOGON_FAILURE, counted, and the connection can try again.
func TestSessionSetupLogonFailure(t *testing.T) {
	for _, d := range allDialects {
		t.Run(wire.DialectName(d), func(t *testing.T) {
			tc := newTester(t, nil)
			tc.negotiate(d)
			if st := tc.sessionSetup("alice", "wrong"); st != ntstatus.LogonFailure {
				t.Fatalf("wrong password: %v, want LOGON_FAILURE", st)
			}
			if st := tc.sessionSetup("mallory", "pw"); st != ntstatus.LogonFailure {
				t.Fatalf("unknown user: %v, want LOGON_FAILURE", st)
			}
			tc.mustSessionSetup("ALICE", "pw")
			if s := tc.srv().Stats(); s.LogonFailures != 2 || s.Sessions != 1 {
				t.Fatalf("stats %+v", s)
			}
		})
	}
}

// TestSessionSetupMalformed: a security token that is not SPNEGO is
// STATUS_INVALID_PARAMETER; a binding request is
// STATUS_REQUEST_NOT_ACCEPTED (no multichannel); a SessionId the
// connection does not know is STATUS_USER_SESSION_DELETED.
func TestSessionSetupMalformed(t *testing.T) {
	tc := newTester(t, nil)
	tc.negotiate(wire.Dialect311)
	r := tc.sessionSetupReq(0, &wire.SessionSetupRequest{SecurityBuffer: []byte("not a token")})
	expectStatus(t, "garbage token", tc.roundTrip(r), ntstatus.InvalidParameter)
	r = tc.sessionSetupReq(0, &wire.SessionSetupRequest{Flags: wire.SessionFlagBinding, SecurityBuffer: []byte{1}})
	expectStatus(t, "binding", tc.roundTrip(r), ntstatus.RequestNotAccepted)
	r = tc.sessionSetupReq(0x5555, &wire.SessionSetupRequest{SecurityBuffer: []byte{1}})
	expectStatus(t, "unknown session", tc.roundTrip(r), ntstatus.UserSessionDeleted)
	r = tc.sessionSetupReq(0, &wire.SessionSetupRequest{SecurityBuffer: []byte{1}})
	r.truncate(10)
	expectStatus(t, "truncated", tc.roundTrip(r), ntstatus.InvalidParameter)
	tc.mustSessionSetup("alice", "pw")
}

// TestSessionSetupAnonymous: an anonymous (NTLM null) logon is refused
// with STATUS_ACCESS_DENIED when signing is required (it cannot sign),
// with STATUS_LOGON_FAILURE when anonymous access is off, and otherwise
// gets a null session that may use IPC$ but no disk share.
func TestSessionSetupAnonymous(t *testing.T) {
	tc := newTester(t, nil)
	tc.negotiate(wire.Dialect311)
	if st := tc.sessionSetup("", ""); st != ntstatus.AccessDenied {
		t.Fatalf("anonymous with signing required: %v", st)
	}
	if s := tc.srv().Stats(); s.RefusedAnonymous != 1 {
		t.Fatalf("stats %+v", s)
	}
	tc = newTester(t, &testerConfig{NoSigning: true})
	tc.negotiate(wire.Dialect210)
	if st := tc.sessionSetup("", ""); st != ntstatus.LogonFailure {
		t.Fatalf("anonymous not allowed: %v", st)
	}
	tc = newTester(t, &testerConfig{NoSigning: true, Settings: func(st *Settings) { st.AllowAnonymous = true }})
	tc.negotiate(wire.Dialect302)
	if st := tc.sessionSetup("", ""); st != ntstatus.Success {
		t.Fatalf("anonymous allowed: %v", st)
	}
	if _, st := tc.treeConnect("share"); st != ntstatus.AccessDenied {
		t.Fatalf("anonymous TREE_CONNECT to a disk share: %v", st)
	}
	tr, st := tc.treeConnect("IPC$")
	if st != ntstatus.Success || tr.ShareType != wire.ShareTypePipe {
		t.Fatalf("anonymous TREE_CONNECT to IPC$: %v %+v", st, tr)
	}
	if s := tc.srv().Stats(); s.RefusedAnonymous != 0 || s.Sessions != 1 {
		t.Fatalf("stats %+v", s)
	}
}

// TestSessionSetupReauth: re-authenticating a session as the same user
// keeps it (and its trees and keys); as another user the session is
// refused and deleted (Samba).
func TestSessionSetupReauth(t *testing.T) {
	tc := newSessionTester(t, &testerConfig{Options: withBob}, wire.Dialect311)
	id := tc.mustCreate("r")
	if st := tc.reauth("alice", "pw"); st != ntstatus.Success {
		t.Fatalf("re-auth as alice: %v", st)
	}
	if _, st := tc.write(id, 0, []byte("still open")); st != ntstatus.Success {
		t.Fatalf("WRITE after re-auth: %v", st)
	}
	if st := tc.reauth("alice", "bad"); st != ntstatus.LogonFailure {
		t.Fatalf("re-auth with a bad password: %v", st)
	}
	tc.mustSessionSetup("alice", "pw")
	if st := tc.reauth("bob", "pw2"); st != ntstatus.AccessDenied {
		t.Fatalf("re-auth as bob: %v, want ACCESS_DENIED", st)
	}
	if _, st := tc.treeConnect("share"); st != ntstatus.UserSessionDeleted {
		t.Fatalf("TREE_CONNECT after a refused re-auth: %v", st)
	}
}

// TestSessionSetupMaxSessions: Settings.MaxSessions caps established
// sessions server-wide with STATUS_REQUEST_NOT_ACCEPTED; a LOGOFF frees
// the slot.
func TestSessionSetupMaxSessions(t *testing.T) {
	tc := newTester(t, &testerConfig{Settings: func(st *Settings) { st.MaxSessions = 1 }})
	tc.negotiate(wire.Dialect300)
	tc.mustSessionSetup("alice", "pw")
	other := tc.dial()
	other.negotiate(wire.Dialect300)
	if st := other.sessionSetup("alice", "pw"); st != ntstatus.RequestNotAccepted {
		t.Fatalf("second session: %v, want REQUEST_NOT_ACCEPTED", st)
	}
	if st := tc.logoff(); st != ntstatus.Success {
		t.Fatalf("LOGOFF: %v", st)
	}
	other.mustSessionSetup("alice", "pw")
}

// TestSessionSetupPerConnectionCap: one connection cannot pile up more
// than Limits.MaxSessionsPerConn sessions, even unfinished ones
// (STATUS_INSUFFICIENT_RESOURCES).
func TestSessionSetupPerConnectionCap(t *testing.T) {
	tc := newTester(t, nil)
	tc.negotiate(wire.Dialect210)
	first := tc.authClient("alice", "pw")
	tok, _, _ := first.Step(tc.neg.SecurityBuffer)
	for i := 0; i < DefaultLimits().MaxSessionsPerConn; i++ {
		r := tc.sessionSetupReq(0, &wire.SessionSetupRequest{SecurityBuffer: tok})
		expectStatus(t, "first round", tc.roundTrip(r), ntstatus.MoreProcessingRequired)
	}
	r := tc.sessionSetupReq(0, &wire.SessionSetupRequest{SecurityBuffer: tok})
	expectStatus(t, "one session too many", tc.roundTrip(r), ntstatus.InsufficientResources)
}

// TestLogoff: LOGOFF's response is signed with the session's key before
// the session goes; afterwards the session's requests are
// STATUS_USER_SESSION_DELETED and its opens are closed [MS-SMB2 3.3.5.6].
func TestLogoff(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	id := tc.mustCreate("l")
	if st := tc.logoff(); st != ntstatus.Success {
		t.Fatalf("LOGOFF: %v", st)
	}
	expectStatus(t, "READ after LOGOFF", tc.roundTrip(tc.readReq(id, 0, 1)), ntstatus.UserSessionDeleted)
	if s := tc.srv().Stats(); s.Sessions != 0 {
		t.Fatalf("stats %+v", s)
	}
	// The file is no longer open: a new session can delete it at once.
	tc.mustSessionSetup("alice", "pw")
	tc.mustTreeConnect("share")
	cr, st := tc.create(&wire.CreateRequest{DesiredAccess: wire.Delete, ShareAccess: 0,
		CreateDisposition: wire.FileOpen, CreateOptions: wire.FileDeleteOnClose, Name: "l"})
	if st != ntstatus.Success {
		t.Fatalf("exclusive open after LOGOFF: %v", st)
	}
	tc.closeFile(cr.FileID)
}

// TestPreviousSessionID: a SESSION_SETUP naming the user's session of
// another connection as PreviousSessionId ends that session
// [MS-SMB2 3.3.5.5.3]; another user's session is left alone.
func TestPreviousSessionID(t *testing.T) {
	old := newSessionTester(t, &testerConfig{Options: withBob}, wire.Dialect311)
	oldID := old.sessionID
	bob := old.dial()
	bob.negotiate(wire.Dialect311)
	bob.prevSessionID = oldID
	bob.mustSessionSetup("bob", "pw2")
	if st := old.echo(); st != ntstatus.Success {
		t.Fatal(st)
	}
	if _, st := old.treeConnect("share"); st != ntstatus.Success {
		t.Fatalf("bob's PreviousSessionId ended alice's session: %v", st)
	}
	nc := old.dial()
	nc.negotiate(wire.Dialect311)
	nc.prevSessionID = oldID
	nc.mustSessionSetup("alice", "pw")
	if _, st := old.treeConnect("share"); st != ntstatus.UserSessionDeleted {
		t.Fatalf("old session after the reconnect: %v, want USER_SESSION_DELETED", st)
	}
}

// TestTreeConnect: share lookup, per-share users, read-only shares, IPC$,
// TREE_DISCONNECT [MS-SMB2 3.3.5.7, 3.3.5.8].
func TestTreeConnect(t *testing.T) {
	tc := newSessionTester(t, &testerConfig{Settings: func(st *Settings) {
		st.Shares = append(st.Shares,
			&Share{Name: "ro", ReadOnly: true, FS: st.Shares[0].FS},
			&Share{Name: "bobs", Users: []string{"bob"}, FS: st.Shares[0].FS})
	}}, wire.Dialect311)
	for path, want := range map[string]ntstatus.Status{
		"nosuch": ntstatus.BadNetworkName,
		"bobs":   ntstatus.AccessDenied,
		`a\b`:    ntstatus.BadNetworkName,
		"":       ntstatus.BadNetworkName,
	} {
		if _, st := tc.treeConnect(path); st != want {
			t.Errorf("TREE_CONNECT %q: %v, want %v", path, st, want)
		}
	}
	tr, st := tc.treeConnect("RO")
	if st != ntstatus.Success || tr.MaximalAccess != accessReadOnly || tr.ShareType != wire.ShareTypeDisk {
		t.Fatalf("read-only share: %v %+v", st, tr)
	}
	if _, st := tc.openFile("new", wire.FileCreate, 0); st != ntstatus.AccessDenied {
		t.Fatalf("CREATE on a read-only share: %v", st)
	}
	if st := tc.treeDisconnect(); st != ntstatus.Success {
		t.Fatalf("TREE_DISCONNECT: %v", st)
	}
	if st := tc.treeDisconnect(); st != ntstatus.NetworkNameDeleted {
		t.Fatalf("second TREE_DISCONNECT: %v", st)
	}
	tr, st = tc.treeConnect("ipc$")
	if st != ntstatus.Success || tr.ShareType != wire.ShareTypePipe || tr.ShareFlags != wire.ShareFlagNoCaching {
		t.Fatalf("IPC$: %v %+v", st, tr)
	}
	r := tc.newReq(wire.CmdTreeConnect)
	r.msg = append(r.msg, 9, 0, 0, 0, 72, 0, 3, 0, 'x', 0, 'y') // odd path length
	expectStatus(t, "odd path length", tc.roundTrip(r), ntstatus.InvalidParameter)
}

// TestTreeConnectUnsigned311: on 3.1.1 an unsigned TREE_CONNECT of a
// real user ends the connection even when signing is optional, as Samba
// [MS-SMB2 3.2.4.1.1].
func TestTreeConnectUnsigned311(t *testing.T) {
	tc := newTester(t, &testerConfig{NoSigning: true, Timeout: 5 * time.Second})
	tc.negotiate(wire.Dialect311)
	tc.mustSessionSetup("alice", "pw")
	tc.signAll = false
	tc.treeConnectNoWait("share")
	tc.expectClosed()
}

// treeConnectNoWait sends a TREE_CONNECT without waiting for the answer.
func (tc *tester) treeConnectNoWait(share string) *req {
	r := tc.newReq(wire.CmdTreeConnect)
	r.msg = wire.AppendTreeConnectRequest(r.msg, `\\TEST\`+share)
	tc.send(r)
	return r
}
