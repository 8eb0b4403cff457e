package server

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signetsmb/signet/auth"
	"github.com/signetsmb/signet/auth/ntlm"
	"github.com/signetsmb/signet/client"
	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/vfs/memfs"
)

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
		db.accts[id] = auth.Account{ID: id, Name: name, NTHash: ntlm.NTHash(pw)}
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

// startAccountServer serves "kates" (users = ["kate"]) and "open" (every
// user) with the given users and revalidation interval.
func startAccountServer(t *testing.T, users UserDB, revalidate time.Duration) (string, *Server) {
	t.Helper()
	fsys := memfs.New(memfs.Options{})
	st := &Settings{RequireSigning: true, MinDialect: 0x0202, MaxDialect: 0x0311, ServerName: "TEST", Domain: "WORKGROUP",
		Shares: []*Share{{Name: "kates", Users: []string{"kate"}, FS: fsys}, {Name: "open", FS: fsys}},
		Limits: Limits{RevalidateInterval: revalidate, AuthFailureDelay: -1}}
	srv, err := New(Options{Settings: func() *Settings { return st }, Users: users,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return ServeLoopback(t, srv), srv
}

func dialAs(t *testing.T, addr, user, password string) (*client.Session, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := (&client.Dialer{User: user, Password: password, RequireSigning: true}).Dial(ctx, addr)
	if err == nil {
		t.Cleanup(func() { s.Close() })
	}
	return s, err
}

// mountAs logs on as user and mounts share.
func mountAs(t *testing.T, addr, user, password, share string) *client.Share {
	t.Helper()
	s, err := dialAs(t, addr, user, password)
	if err != nil {
		t.Fatal(err)
	}
	return mustMount(t, s, share)
}

func mustMount(t *testing.T, s *client.Session, share string) *client.Share {
	t.Helper()
	sh, err := s.Mount(context.Background(), share)
	if err != nil {
		t.Fatalf("mount %s: %v", share, err)
	}
	return sh
}

// sessionOf returns the id of the one established session of account.
func sessionOf(t *testing.T, srv *Server, account string) (uint64, *session) {
	t.Helper()
	var found []uint64
	var sess *session
	for _, e := range srv.establishedSessions() {
		if s := e.c.lookupSession(e.id); s != nil && s.account() == account {
			found = append(found, e.id)
			sess = s
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d sessions of %q, want 1", len(found), account)
	}
	return found[0], sess
}

// TestKelvinSignCannotUseKatesShare: an account named KELVIN SIGN + "ate"
// is not kate for users = ["kate"] (strings.EqualFold would say it is).
func TestKelvinSignCannotUseKatesShare(t *testing.T) {
	users := newAccountDB(map[string]string{"kate": "kate-pw", kelvinKate: "kelvin-pw"})
	addr, _ := startAccountServer(t, users, -1)

	kelvin, err := dialAs(t, addr, kelvinKate, "kelvin-pw")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kelvin.Mount(context.Background(), "kates"); !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("KELVIN account mounting kate's share: %v, want access denied", err)
	}
	mustMount(t, kelvin, "open")

	// kate, under any spelling that is her account, gets in.
	for _, name := range []string{"kate", "KATE"} {
		mountAs(t, addr, name, "kate-pw", "kates")
	}
}

// TestKelvinSignCannotEndKatesSession: PreviousSessionId only ends a
// session of the same account; the KELVIN account naming kate's session
// (session ids are guessable) leaves it alone, kate herself does not.
func TestKelvinSignCannotEndKatesSession(t *testing.T) {
	users := newAccountDB(map[string]string{"kate": "kate-pw", kelvinKate: "kelvin-pw"})
	addr, srv := startAccountServer(t, users, -1)
	sh := mountAs(t, addr, "kate", "kate-pw", "kates")
	if _, err := dialAs(t, addr, kelvinKate, "kelvin-pw"); err != nil {
		t.Fatal(err)
	}
	kateID, _ := sessionOf(t, srv, "KATE")
	_, kelvinSess := sessionOf(t, srv, auth.FoldName(kelvinKate))

	// What authDone does with the KELVIN session's PreviousSessionId.
	srv.expirePrevious(kateID, kelvinSess.identityCopy().Account)
	if _, err := fs.Stat(sh, "."); err != nil {
		t.Fatalf("kate's session after the KELVIN account named it: %v", err)
	}

	// Control: kate reconnecting, typed differently, is the same account.
	if _, err := dialAs(t, addr, "KATE", "kate-pw"); err != nil {
		t.Fatal(err)
	}
	srv.expirePrevious(kateID, "KATE")
	if _, err := fs.Stat(sh, "."); !sessionDeleted(err) {
		t.Fatalf("kate's old session after her own reconnect: %v, want USER_SESSION_DELETED", err)
	}
}

// sessionDeleted reports a request failed with STATUS_USER_SESSION_DELETED.
// The server cannot sign that answer (the session key is gone); the client
// package reports it as a bad signature naming the status, where Samba's
// smbXcli passes the status through.
func sessionDeleted(err error) bool {
	return err != nil && (errors.Is(err, ntstatus.UserSessionDeleted) ||
		strings.Contains(err.Error(), ntstatus.UserSessionDeleted.String()))
}

// waitSessionDeleted polls with requests on sh until one fails with
// STATUS_USER_SESSION_DELETED, and returns how long that took.
func waitSessionDeleted(t *testing.T, sh *client.Share, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		_, err := fs.Stat(sh, ".")
		if sessionDeleted(err) {
			return time.Since(start)
		}
		if err != nil {
			t.Fatalf("request failed with %v, want USER_SESSION_DELETED", err)
		}
		if time.Since(start) > within {
			t.Fatalf("session still usable after %v", within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestDeletedUserSessionEnds: the periodic revalidation ends a deleted
// user's live session within RevalidateInterval, cancelling its pending
// requests; another user's session goes on.
func TestDeletedUserSessionEnds(t *testing.T) {
	users := newAccountDB(map[string]string{"alice": "pw-a", "bob": "pw-b"})
	const interval = 100 * time.Millisecond
	addr, srv := startAccountServer(t, users, interval)
	aliceShare := mountAs(t, addr, "alice", "pw-a", "open")
	bobShare := mountAs(t, addr, "bob", "pw-b", "open")

	// A pending request of alice's session (as CHANGE_NOTIFY would be).
	id, sess := sessionOf(t, srv, "ALICE")
	pending := registerPending(t, srv, id)

	users.remove("alice")
	// Nothing but the periodic check ends it; the generous bound only
	// absorbs a loaded test machine.
	took := waitSessionDeleted(t, aliceShare, 50*interval)
	t.Logf("session ended %v after the account was deleted (interval %v)", took, interval)
	select {
	case <-pending.Done():
	default:
		t.Error("pending request of the ended session not cancelled")
	}
	if sess.valid() || srv.Stats().Sessions != 1 {
		t.Errorf("session valid=%v, sessions=%d", sess.valid(), srv.Stats().Sessions)
	}
	if _, err := fs.Stat(bobShare, "."); err != nil {
		t.Fatalf("bob's session: %v", err)
	}
}

// registerPending adds a pending asynchronous request to session id, as
// goAsync does, and returns the context its cancellation ends.
func registerPending(t *testing.T, srv *Server, id uint64) context.Context {
	t.Helper()
	srv.sessMu.Lock()
	c := srv.sessions[id]
	srv.sessMu.Unlock()
	ctx, cancel := context.WithCancelCause(context.Background())
	t.Cleanup(func() { cancel(nil) })
	c.async.mu.Lock()
	defer c.async.mu.Unlock()
	if c.async.ops == nil {
		c.async.ops = map[uint64]*asyncOp{}
	}
	c.async.next++
	c.async.ops[c.async.next] = &asyncOp{id: c.async.next, sessionID: id, cancel: cancel}
	return ctx
}

// TestDisabledAccount: Revalidate ends a disabled account's session at
// once; the account then cannot log on (STATUS_ACCOUNT_DISABLED, but only
// with the right password).
func TestDisabledAccount(t *testing.T) {
	users := newAccountDB(map[string]string{"alice": "pw-a", "bob": "pw-b"})
	addr, srv := startAccountServer(t, users, -1) // no periodic check: Revalidate alone
	aliceShare := mountAs(t, addr, "alice", "pw-a", "open")
	bobShare := mountAs(t, addr, "bob", "pw-b", "open")

	users.disable("bob")
	if n := srv.Revalidate(); n != 1 {
		t.Fatalf("Revalidate ended %d sessions, want 1", n)
	}
	if _, err := fs.Stat(bobShare, "."); !sessionDeleted(err) {
		t.Fatalf("disabled bob's request: %v, want USER_SESSION_DELETED", err)
	}
	if _, err := fs.Stat(aliceShare, "."); err != nil {
		t.Fatalf("alice's session: %v", err)
	}
	if n := srv.Revalidate(); n != 0 {
		t.Errorf("second Revalidate ended %d sessions", n)
	}

	_, err := dialAs(t, addr, "bob", "pw-b")
	if !errors.Is(err, ntstatus.AccountDisabled) {
		t.Fatalf("disabled bob logging on: %v, want STATUS_ACCOUNT_DISABLED", err)
	}
	_, err = dialAs(t, addr, "bob", "wrong")
	if !errors.Is(err, ntstatus.LogonFailure) || strings.Contains(err.Error(), "DISABLED") {
		t.Fatalf("disabled bob with a wrong password: %v, want STATUS_LOGON_FAILURE", err)
	}
}

// TestReauthSameAccountOnly: a re-authentication must be by the session's
// account (by ID); the KELVIN account re-authenticating on kate's session
// is refused and the session ends.
func TestReauthSameAccountOnly(t *testing.T) {
	srv, err := New(Options{Settings: func() *Settings { return &Settings{} }, Users: newAccountDB(nil),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	c := newConn(srv, a)
	kate := auth.Identity{User: "kate", Account: "KATE"}
	for _, tc := range []struct {
		id   auth.Identity
		want error
	}{
		{auth.Identity{User: "Kate", Account: "KATE"}, nil},
		{auth.Identity{User: kelvinKate, Account: auth.FoldName(kelvinKate)}, ntstatus.AccessDenied},
	} {
		s := &session{id: 7, state: sessValid, identity: kate}
		c.sessions[s.id] = s
		w := newResponse()
		err := (&request{c: c}).reauthDone(s, tc.id, nil, &w)
		if err != tc.want {
			t.Errorf("re-authentication as %+q: %v, want %v", tc.id.User, err, tc.want)
		}
		if ended := c.lookupSession(7) == nil; ended != (tc.want != nil) {
			t.Errorf("re-authentication as %+q: session ended = %v", tc.id.User, ended)
		}
		putBuf(w.raw)
	}
}
