package server_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signetsmb/signet/auth"
	"github.com/signetsmb/signet/auth/userdb"
	"github.com/signetsmb/signet/client"
	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/server"
	"github.com/signetsmb/signet/vfs"
	"github.com/signetsmb/signet/vfs/memfs"
)

// syncCountingFS records every File.Sync, so tests can tell that FLUSH and
// write-through reach stable storage before the response.
type syncCountingFS struct {
	vfs.FS
	syncs atomic.Int64
}

type syncCountingFile struct {
	vfs.File
	fs *syncCountingFS
}

func (f *syncCountingFS) OpenFile(ctx context.Context, name string, flag int, perm fs.FileMode) (vfs.File, error) {
	file, err := f.FS.OpenFile(ctx, name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &syncCountingFile{File: file, fs: f}, nil
}

func (f *syncCountingFile) Sync() error {
	f.fs.syncs.Add(1)
	return f.File.Sync()
}

func startServer(t *testing.T, fsys vfs.FS, require bool) (string, *server.Server) {
	t.Helper()
	return startServerWith(t, fsys, require, server.Limits{})
}

// startServerWith is startServer with limits.
func startServerWith(t *testing.T, fsys vfs.FS, require bool, lim server.Limits) (string, *server.Server) {
	t.Helper()
	return startServerUsers(t, fsys, require, lim, server.TestUsers{"alice": userdb.NTHash("pw")})
}

// startServerUsers is startServerWith with a user database.
func startServerUsers(t *testing.T, fsys vfs.FS, require bool, lim server.Limits, users server.UserDB) (string, *server.Server) {
	t.Helper()
	st := &server.Settings{RequireSigning: require, MinDialect: 0x0202, MaxDialect: 0x0311, ServerName: "TEST",
		Domain: "WORKGROUP", Shares: []*server.Share{{Name: "share", FS: fsys}}, Limits: lim}
	srv, err := server.New(server.Options{
		Settings: func() *server.Settings { return st },
		Users:    users,
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	return l.Addr().String(), srv
}

// mountShare signs in as alice, requiring signing, and mounts "share"; the
// session ends with the test.
func mountShare(t *testing.T, addr string) *client.Share {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := (&client.Dialer{User: "alice", Password: "pw", RequireSigning: true}).Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	sh, err := s.Mount(ctx, "share")
	if err != nil {
		t.Fatal(err)
	}
	return sh
}

// TestFlushSyncs: FLUSH answers only after File.Sync ran.
func TestFlushSyncs(t *testing.T) {
	fsys := &syncCountingFS{FS: memfs.New(memfs.Options{})}
	addr, _ := startServer(t, fsys, true)
	sh := mountShare(t, addr)
	f, err := sh.Create("a.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write([]byte("data")); err != nil {
		t.Fatal(err)
	}
	before := fsys.syncs.Load()
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if fsys.syncs.Load() != before+1 {
		t.Fatalf("FLUSH did not sync: %d syncs", fsys.syncs.Load()-before)
	}
}

// TestStatsCountRefusals: the server's counters see sessions and refusals.
func TestStatsCountSessions(t *testing.T) {
	addr, srv := startServer(t, memfs.New(memfs.Options{}), true)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := (&client.Dialer{User: "alice", Password: "wrong", RequireSigning: true}).Dial(ctx, addr); err == nil {
		t.Fatal("wrong password accepted")
	}
	s, err := (&client.Dialer{User: "alice", Password: "pw", RequireSigning: true}).Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	st := srv.Stats()
	if st.Sessions != 1 || st.LogonFailures != 1 {
		t.Fatalf("stats %+v", st)
	}
	s.Close()
	deadline := time.Now().Add(5 * time.Second)
	for srv.Stats().Sessions != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if srv.Stats().Sessions != 0 {
		t.Fatalf("session not released: %+v", srv.Stats())
	}
}

// racingFS creates the file itself just before the server's exclusive
// create of it, as another client on another connection would between the
// server's lookup and its open.
type racingFS struct {
	vfs.FS
	raced atomic.Int64
}

func (f *racingFS) OpenFile(ctx context.Context, name string, flag int, perm fs.FileMode) (vfs.File, error) {
	if flag&os.O_EXCL != 0 && f.raced.Add(1) == 1 {
		other, err := f.FS.OpenFile(ctx, name, os.O_RDWR|os.O_CREATE|os.O_EXCL, perm)
		if err != nil {
			return nil, err
		}
		other.WriteAt([]byte("theirs"), 0)
		other.Close()
	}
	return f.FS.OpenFile(ctx, name, flag, perm)
}

// TestOpenIfRacingCreate: FILE_OPEN_IF on a name someone else creates
// between lookup and open opens their file instead of failing with
// OBJECT_NAME_COLLISION; FILE_CREATE still fails.
func TestOpenIfRacingCreate(t *testing.T) {
	fsys := &racingFS{FS: memfs.New(memfs.Options{})}
	addr, _ := startServer(t, fsys, true)
	sh := mountShare(t, addr)
	f, err := sh.OpenFile("a.txt", os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatalf("OPEN_IF raced by another create: %v", err)
	}
	b, err := io.ReadAll(f)
	f.Close()
	if err != nil || string(b) != "theirs" {
		t.Fatalf("opened %q, %v; want the other creator's file", b, err)
	}
	fsys.raced.Store(0)
	if _, err := sh.OpenFile("b.txt", os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("FILE_CREATE raced by another create: %v, want fs.ErrExist", err)
	}
}

// revocableUsers is a user database the test can edit while the server
// runs.
type revocableUsers struct {
	mu    sync.Mutex
	users server.TestUsers
}

func (u *revocableUsers) Lookup(name string) (auth.Account, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.users.Lookup(name)
}

// TestClientSeesSessionDeleted: when the server ends a session (here the
// account was deleted), Signet's client reports the server's
// STATUS_USER_SESSION_DELETED, not a bad signature: the server has no key
// left to sign that answer with, as on Windows and Samba.
func TestClientSeesSessionDeleted(t *testing.T) {
	db := &revocableUsers{users: server.TestUsers{"alice": userdb.NTHash("pw")}}
	addr, srv := startServerUsers(t, memfs.New(memfs.Options{}), true, server.Limits{}, db)
	sh := mountShare(t, addr)
	if _, err := sh.Stat("."); err != nil {
		t.Fatal(err)
	}
	db.mu.Lock()
	delete(db.users, "alice")
	db.mu.Unlock()
	if n := srv.Revalidate(); n != 1 {
		t.Fatalf("Revalidate ended %d sessions", n)
	}
	_, err := sh.Stat(".")
	var se *client.StatusError
	if errors.Is(err, client.ErrBadSignature) || !errors.As(err, &se) || se.Status != ntstatus.UserSessionDeleted {
		t.Fatalf("after the session ended: %v", err)
	}
}
