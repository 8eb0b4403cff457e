package server

import (
	"sync"
	"testing"
	"time"

	"github.com/signetsmb/signet/auth"
	"github.com/signetsmb/signet/auth/userdb"
	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
)

// Tests of account identity and revocation through the tester: share user
// lists, PreviousSessionId and re-authentication compare account IDs, and
// sessions of deleted or disabled accounts end.

const kelvinKate = "\u212Aate" // U+212A KELVIN SIGN + "ate": not kate

// accountDB is a UserDB the tests edit while the server runs.
type accountDB struct {
	mu    sync.Mutex
	accts map[string]auth.Account // by ID
}

func newAccountDB(passwords map[string]string) *accountDB {
	db := &accountDB{accts: map[string]auth.Account{}}
	for name, pw := range passwords {
		id := auth.FoldName(name)
		db.accts[id] = auth.Account{ID: id, Name: name, NTHash: userdb.NTHash(pw)}
	}
	return db
}

func (db *accountDB) Lookup(user string) (auth.Account, bool) {
	db.mu.Lock()
	defer db.mu.Unlock()
	a, ok := db.accts[auth.FoldName(user)]
	return a, ok
}

func (db *accountDB) remove(name string) {
	db.mu.Lock()
	defer db.mu.Unlock()
	delete(db.accts, auth.FoldName(name))
}

func (db *accountDB) disable(name string) {
	db.mu.Lock()
	defer db.mu.Unlock()
	a := db.accts[auth.FoldName(name)]
	a.Disabled = true
	db.accts[a.ID] = a
}

// identityTester starts a server with the users of db, the shares "share"
// (every user) and "kates" (users = ["kate"]), revalidation every
// revalidate (negative: off) and no logon failure delay, and logs on as
// user over 3.1.1.
func identityTester(t *testing.T, db *accountDB, revalidate time.Duration, user, password string) *tester {
	t.Helper()
	tc := newTester(t, &testerConfig{
		Settings: func(st *Settings) {
			st.Shares = append(st.Shares, &Share{Name: "kates", Users: []string{"kate"}, FS: st.Shares[0].FS})
			st.Limits.RevalidateInterval = revalidate
			st.Limits.AuthFailureDelay = -1
		},
		Options: func(o *Options) { o.Users = db },
	})
	tc.negotiate(wire.Dialect311)
	tc.mustSessionSetup(user, password)
	return tc
}

// logOn opens another connection to tc's server and logs on as user,
// naming prev (0: none) as PreviousSessionId.
func logOn(tc *tester, user, password string, prev uint64) *tester {
	tc.t.Helper()
	c := tc.dial()
	c.negotiate(wire.Dialect311)
	c.prevSessionID = prev
	c.mustSessionSetup(user, password)
	return c
}

func kateAndKelvin() *accountDB {
	return newAccountDB(map[string]string{"kate": "kate-pw", kelvinKate: "kelvin-pw"})
}

// TestKelvinSignCannotUseKatesShare: an account named KELVIN SIGN + "ate"
// is not kate for users = ["kate"] (strings.EqualFold would say it is).
func TestKelvinSignCannotUseKatesShare(t *testing.T) {
	kelvin := identityTester(t, kateAndKelvin(), -1, kelvinKate, "kelvin-pw")
	if _, st := kelvin.treeConnect("kates"); st != ntstatus.AccessDenied {
		t.Fatalf("KELVIN account connecting to kate's share: %v, want ACCESS_DENIED", st)
	}
	kelvin.mustTreeConnect("share")
	// kate, under any spelling that is her account, gets in.
	for _, name := range []string{"kate", "KATE"} {
		logOn(kelvin, name, "kate-pw", 0).mustTreeConnect("kates")
	}
}

// TestKelvinSignCannotEndKatesSession: PreviousSessionId only ends a
// session of the same account: the KELVIN account naming kate's session
// (session ids are guessable) leaves it alone; kate reconnecting, typed
// differently, ends it [MS-SMB2 3.3.5.5.3].
func TestKelvinSignCannotEndKatesSession(t *testing.T) {
	kate := identityTester(t, kateAndKelvin(), -1, "kate", "kate-pw")
	logOn(kate, kelvinKate, "kelvin-pw", kate.sessionID)
	if _, st := kate.treeConnect("kates"); st != ntstatus.Success {
		t.Fatalf("kate's session after the KELVIN account named it: %v", st)
	}
	logOn(kate, "KATE", "kate-pw", kate.sessionID)
	if _, st := kate.treeConnect("kates"); st != ntstatus.UserSessionDeleted {
		t.Fatalf("kate's old session after her own reconnect: %v, want USER_SESSION_DELETED", st)
	}
}

// TestReauthSameAccountOnly: re-authentication must be by the session's
// account, by ID; the KELVIN account re-authenticating on kate's session
// is refused and the session ends.
func TestReauthSameAccountOnly(t *testing.T) {
	kate := identityTester(t, kateAndKelvin(), -1, "kate", "kate-pw")
	if st := kate.reauth("KATE", "kate-pw"); st != ntstatus.Success {
		t.Fatalf("re-auth as KATE: %v", st)
	}
	if st := kate.reauth(kelvinKate, "kelvin-pw"); st != ntstatus.AccessDenied {
		t.Fatalf("re-auth as the KELVIN account: %v, want ACCESS_DENIED", st)
	}
	if _, st := kate.treeConnect("kates"); st != ntstatus.UserSessionDeleted {
		t.Fatalf("TREE_CONNECT after the refused re-auth: %v", st)
	}
}

// TestDeletedUserSessionEnds: the periodic revalidation ends a deleted
// user's live session within RevalidateInterval: its pending
// CHANGE_NOTIFY completes, its next request is USER_SESSION_DELETED;
// another user's session goes on.
func TestDeletedUserSessionEnds(t *testing.T) {
	db := newAccountDB(map[string]string{"alice": "pw-a", "bob": "pw-b"})
	const interval = 100 * time.Millisecond
	alice := identityTester(t, db, interval, "alice", "pw-a")
	alice.mustTreeConnect("share")
	n := alice.changeNotifyReq(alice.mustMkdir("d"), filterFileName, false, 1024)
	alice.send(n)
	expectStatus(t, "CHANGE_NOTIFY", alice.waitInterim(n), ntstatus.Pending)
	bob := logOn(alice, "bob", "pw-b", 0)
	bob.mustTreeConnect("share")

	db.remove("alice")
	start := time.Now()
	final := alice.wait(n) // the tester's timeout (10 s) bounds the wait
	t.Logf("pending CHANGE_NOTIFY ended %v after the account was deleted (interval %v): %v",
		time.Since(start), interval, final.status)
	if final.status != ntstatus.NotifyCleanup && final.status != ntstatus.Cancelled {
		t.Fatalf("pending CHANGE_NOTIFY: %v, want NOTIFY_CLEANUP or CANCELLED", final.status)
	}
	if _, st := alice.treeConnect("share"); st != ntstatus.UserSessionDeleted {
		t.Fatalf("deleted alice's next request: %v, want USER_SESSION_DELETED", st)
	}
	if _, st := bob.treeConnect("share"); st != ntstatus.Success {
		t.Fatalf("bob's session: %v", st)
	}
	// The session's end closes its trees (the NOTIFY answer above) before
	// it leaves the count, so the count may lag that answer briefly.
	eventually(t, "one session left in the stats", func() bool { return alice.srv().Stats().Sessions == 1 })
}

// TestDisabledAccount: Revalidate ends a disabled account's session at
// once; the account then cannot log on: STATUS_ACCOUNT_DISABLED with the
// right password, STATUS_LOGON_FAILURE with a wrong one.
func TestDisabledAccount(t *testing.T) {
	db := newAccountDB(map[string]string{"alice": "pw-a", "bob": "pw-b"})
	alice := identityTester(t, db, -1, "alice", "pw-a") // no periodic check: Revalidate alone
	bob := logOn(alice, "bob", "pw-b", 0)
	db.disable("bob")
	if n := alice.srv().Revalidate(); n != 1 {
		t.Fatalf("Revalidate ended %d sessions, want 1", n)
	}
	if _, st := bob.treeConnect("share"); st != ntstatus.UserSessionDeleted {
		t.Fatalf("disabled bob's request: %v, want USER_SESSION_DELETED", st)
	}
	if _, st := alice.treeConnect("share"); st != ntstatus.Success {
		t.Fatalf("alice's session: %v", st)
	}
	if n := alice.srv().Revalidate(); n != 0 {
		t.Errorf("second Revalidate ended %d sessions", n)
	}
	if st := bob.sessionSetup("bob", "pw-b"); st != ntstatus.AccountDisabled {
		t.Fatalf("disabled bob logging on: %v, want STATUS_ACCOUNT_DISABLED", st)
	}
	if st := bob.sessionSetup("bob", "wrong"); st != ntstatus.LogonFailure {
		t.Fatalf("disabled bob with a wrong password: %v, want STATUS_LOGON_FAILURE", st)
	}
}
