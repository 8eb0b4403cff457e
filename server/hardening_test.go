package server

import (
	"context"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signetsmb/signet/auth"
	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
)

// newBareServer is a Server with no shares and no users, for tests that
// drive connection internals directly.
func newBareServer(t *testing.T, lim Limits) *Server {
	t.Helper()
	st := &Settings{MinDialect: wire.Dialect202, MaxDialect: wire.Dialect311, Limits: lim}
	srv, err := New(Options{
		Settings: func() *Settings { return st },
		Users:    noUsers{},
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

type noUsers struct{}

func (noUsers) Lookup(string) (auth.Account, bool) { return auth.Account{}, false }

// TestBreakAfterConnectionEnds: an oplock break for an open whose
// connection has ended (another connection's open triggers it late) is
// dropped. It used to be sent from an untracked goroutine into the closed
// response channel, which panicked the whole process about half the time.
func TestBreakAfterConnectionEnds(t *testing.T) {
	srv := newBareServer(t, Limits{})
	a, b := net.Pipe()
	c := newConn(srv, a, srv.limits())
	done := make(chan struct{})
	go func() { defer close(done); c.serve() }()
	b.Close()
	<-done
	o := &open{conn: c, sess: &session{id: 1}, tree: &treeConnect{id: 1}}
	for range 200 {
		o.sendBreak(wire.OplockLevelII)
	}
	time.Sleep(10 * time.Millisecond) // the old code sent from goroutines
	if got := c.breaks.take(); len(got) != 0 {
		t.Fatalf("%d breaks queued on a closed connection", len(got))
	}
}

// TestReserveSessionNoOvershoot: many sessions completing at once never
// exceed MaxSessions (the old check read the stats counter, then added).
func TestReserveSessionNoOvershoot(t *testing.T) {
	srv := newBareServer(t, Limits{})
	const max = 10
	var ok atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if srv.reserveSession(max) {
				ok.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	if ok.Load() != max || srv.Stats().Sessions != max {
		t.Fatalf("reserved %d, stats %d; want %d", ok.Load(), srv.Stats().Sessions, max)
	}
}

// TestReadBudget: acquire waits for release, gives up with its context,
// and a request larger than the budget takes all of it.
func TestReadBudget(t *testing.T) {
	var b byteBudget
	b.init(100)
	ctx := context.Background()
	if n, _ := b.acquire(ctx, 60); n != 60 {
		t.Fatalf("took %d", n)
	}
	if b.tryAcquire(50) != -1 {
		t.Fatal("tryAcquire went over the budget")
	}
	got := make(chan int64)
	go func() { n, _ := b.acquire(ctx, 1000); got <- n }()
	select {
	case <-got:
		t.Fatal("acquire did not wait")
	case <-time.After(20 * time.Millisecond):
	}
	b.release(60)
	if n := <-got; n != 100 {
		t.Fatalf("oversized acquire took %d, want the whole budget", n)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := b.acquire(cctx, 1); err == nil {
		t.Fatal("acquire ignored its context")
	}
	var unlimited byteBudget
	unlimited.init(-1)
	if n, err := unlimited.acquire(ctx, 1<<40); n != 0 || err != nil {
		t.Fatal("unlimited budget")
	}
}

// TestSessionIDsUnpredictable: consecutive session ids are not
// sequential, and never 0 or all-ones.
func TestSessionIDsUnpredictable(t *testing.T) {
	srv := newBareServer(t, Limits{})
	newID := func() (uint64, error) { return srv.sessions.Insert(func(uint64) *session { return nil }) }
	prev, _ := newID()
	close := 0
	for range 1000 {
		id, err := newID()
		if err != nil || id == 0 || id == ^uint64(0) {
			t.Fatalf("id %x err %v", id, err)
		}
		if d := int64(id - prev); d > -1<<20 && d < 1<<20 {
			close++
		}
		prev = id
	}
	if close > 1 {
		t.Fatalf("%d of 1000 session ids within 2^20 of the previous one", close)
	}
}

// eventually fails the test unless cond becomes true within 5 s (for
// effects that follow a connection's end on the server's side).
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestSessionSetupCompoundRace is finding 1: after NEGOTIATE (3.1.1) and
// a first SESSION_SETUP round, two compounds [ECHO, SESSION_SETUP(same
// session)] are sent back to back, one with a large token and one with
// garbage. They used to run on two handler goroutines (only a compound
// whose first element was SESSION_SETUP ran on the reader): the failing
// one cleared the session's mechanism while the other was hashing its
// large request, which then called Accept on nil and took the whole
// process down (about 1 in 20 tries). Now every compound holding a
// SESSION_SETUP runs on the reader, in order, and the ownership check
// (on in tests) would turn any other path into a logged panic, which
// fails the tester.
func TestSessionSetupCompoundRace(t *testing.T) {
	n := 2000
	if testing.Short() {
		n = 200
	}
	tc := newTester(t, &testerConfig{Settings: func(st *Settings) { st.Limits.AuthFailureDelay = -1 }})
	tc.negotiate(wire.Dialect311)
	mech := tc.authClient("alice", "pw")
	tok, _, err := mech.Step(tc.neg.SecurityBuffer)
	if err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 60<<10)
	for i := range big {
		big[i] = byte(i)
	}
	for i := range n {
		first := tc.roundTrip(tc.sessionSetupReq(0, &wire.SessionSetupRequest{SecurityBuffer: tok}))
		expectStatus(t, "first round", first, ntstatus.MoreProcessingRequired)
		sid := first.hdr.SessionID
		e1 := tc.simpleReq(wire.CmdEcho)
		s1 := tc.sessionSetupReq(sid, &wire.SessionSetupRequest{SecurityBuffer: big})
		e2 := tc.simpleReq(wire.CmdEcho)
		s2 := tc.sessionSetupReq(sid, &wire.SessionSetupRequest{SecurityBuffer: []byte{0x60, byte(i), 0xff}})
		for _, r := range []*req{e1, s1, e2, s2} {
			r.noSign = true
		}
		tc.send(e1, s1)
		tc.send(e2, s2)
		expectStatus(t, "ECHO", tc.wait(e1), ntstatus.Success)
		expectStatus(t, "ECHO", tc.wait(e2), ntstatus.Success)
		// Serialized: the first fails the exchange and deletes the
		// session, the second finds no session.
		expectStatus(t, "large token", tc.wait(s1), ntstatus.InvalidParameter)
		expectStatus(t, "garbage after it", tc.wait(s2), ntstatus.UserSessionDeleted)
	}
	if p := tc.srv().Stats().Panics; p != 0 {
		t.Fatalf("%d panics", p)
	}
}

// TestAuthFailureDelayIsPerConnection: a failed logon is answered after
// AuthFailureDelay (2 s by default, as Windows Server 2025), and while it
// waits another client logs on and works without delay.
func TestAuthFailureDelayIsPerConnection(t *testing.T) {
	guesser := newTester(t, nil)
	guesser.negotiate(wire.Dialect311)
	mech := guesser.authClient("alice", "wrong password")
	tok, _, err := mech.Step(guesser.neg.SecurityBuffer)
	if err != nil {
		t.Fatal(err)
	}
	first := guesser.roundTrip(guesser.sessionSetupReq(0, &wire.SessionSetupRequest{SecurityBuffer: tok}))
	expectStatus(t, "first round", first, ntstatus.MoreProcessingRequired)
	ss, err := wire.ParseSessionSetupResponse(first.msg)
	if err != nil {
		t.Fatal(err)
	}
	if tok, _, err = mech.Step(ss.SecurityBuffer); err != nil {
		t.Fatal(err)
	}
	final := guesser.sessionSetupReq(first.hdr.SessionID, &wire.SessionSetupRequest{SecurityBuffer: tok})
	start := time.Now()
	guesser.send(final)

	other := guesser.dial()
	other.negotiate(wire.Dialect311)
	other.mustSessionSetup("alice", "pw")
	other.mustTreeConnect("share")
	other.mustCreate("not-delayed")
	if d := time.Since(start); d > time.Second {
		t.Fatalf("another client's logon took %v while a failed logon was being delayed", d)
	}
	expectStatus(t, "wrong password", guesser.wait(final), ntstatus.LogonFailure)
	if d := time.Since(start); d < 1900*time.Millisecond {
		t.Fatalf("failed logon answered after %v, want the 2 s delay", d)
	}
}
