package server

import (
	"encoding/binary"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
)

// limitsTester starts a tester whose server has the limits edit applied.
func limitsTester(t *testing.T, edit func(*Limits)) *tester {
	return newTester(t, &testerConfig{Settings: func(st *Settings) { edit(&st.Limits) }, Timeout: 5 * time.Second})
}

// floodEcho sends ECHOs from another goroutine until a write fails (the
// server closed the connection) or max were sent; the test never reads
// the answers. It returns a channel closed when the flood ends.
func floodEcho(tc *tester, max int) <-chan struct{} {
	frames := make([][]byte, max)
	for i := range frames {
		r := tc.simpleReq(wire.CmdEcho)
		frames[i] = tc.frame(r)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, f := range frames {
			tc.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if tc.trySendFrame(f) != nil {
				return
			}
		}
	}()
	return done
}

// TestPreAuthDeadlineCountsWrites is finding 4: a client that floods ECHO
// before logging on and never reads its answers used to stay connected
// indefinitely (the pre-auth limit was only a read deadline, and the
// reader waited for handlers blocked on the writer, itself blocked on
// the socket with no deadline). The pre-auth deadline now covers writes.
func TestPreAuthDeadlineCountsWrites(t *testing.T) {
	tc := limitsTester(t, func(l *Limits) { l.PreAuthTimeout = time.Second })
	tc.negotiate(wire.Dialect311)
	tc.ts.cfg.Timeout = 0
	start := time.Now()
	done := floodEcho(tc, 2000)
	// The tester's reader stops taking frames after 64: the socket backs up.
	eventually(t, "connection closed", func() bool { return tc.srv().Stats().OpenConnections == 0 })
	tc.nc.Close()
	<-done
	if d := time.Since(start); d > 4*time.Second {
		t.Fatalf("closed after %v, want about 1 s", d)
	}
	if !strings.Contains(tc.logs(), "pre_auth_timeout") && !strings.Contains(tc.logs(), "write_timeout") {
		t.Fatalf("no log line names the timeout:\n%s", tc.logs())
	}
}

// TestWriteTimeoutAfterLogon: a logged-on client that never reads is
// closed after WriteTimeout; another client is unaffected.
func TestWriteTimeoutAfterLogon(t *testing.T) {
	tc := newSessionTester(t, &testerConfig{Settings: func(st *Settings) { st.Limits.WriteTimeout = time.Second }}, wire.Dialect311)
	other := tc.dial()
	other.negotiate(wire.Dialect311)
	other.mustSessionSetup("alice", "pw")
	done := floodEcho(tc, 2000)
	eventually(t, "flooding connection closed", func() bool { return tc.srv().Stats().OpenConnections == 1 })
	tc.nc.Close()
	<-done
	if st := other.echo(); st != ntstatus.Success {
		t.Fatalf("other client: %v", st)
	}
	if !strings.Contains(tc.logs(), "write_timeout") {
		t.Fatalf("no write_timeout line:\n%s", tc.logs())
	}
}

// TestHalfSentPDU: the rest of a started PDU must arrive within the
// deadline, before logon (pre-auth deadline) and after (WriteTimeout).
func TestHalfSentPDU(t *testing.T) {
	for _, logon := range []bool{false, true} {
		tc := limitsTester(t, func(l *Limits) { l.PreAuthTimeout, l.WriteTimeout = time.Second, time.Second })
		tc.negotiate(wire.Dialect311)
		if logon {
			tc.mustSessionSetup("alice", "pw")
		}
		var hdr [4]byte
		binary.BigEndian.PutUint32(hdr[:], 60<<10)
		if err := tc.sendRaw(append(hdr[:], make([]byte, 100)...)); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		tc.expectClosed()
		if d := time.Since(start); d > 4*time.Second {
			t.Fatalf("logon=%v: closed after %v", logon, d)
		}
	}
}

// TestIdleTimeout: an authenticated connection with nothing open is
// closed after IdleTimeout; one that holds an open is kept.
func TestIdleTimeout(t *testing.T) {
	cfg := &testerConfig{Settings: func(st *Settings) { st.Limits.IdleTimeout = 500 * time.Millisecond }}
	idle := newSessionTester(t, cfg, wire.Dialect311)
	busy := idle.dial()
	busy.negotiate(wire.Dialect311)
	busy.mustSessionSetup("alice", "pw")
	busy.mustTreeConnect("share")
	id := busy.mustCreate("held")
	idle.expectClosed()
	time.Sleep(time.Second)
	if _, st := busy.read(id, 0, 1); st != ntstatus.Success && st != ntstatus.EndOfFile {
		t.Fatalf("busy connection: %v", st)
	}
	if !strings.Contains(idle.logs(), "idle_timeout") {
		t.Fatal("no idle_timeout line")
	}
}

// TestConnectionLimits: connections past MaxConnectionsPerAddr are
// refused at once (logged, counted), and a slot freed is usable again.
func TestConnectionLimits(t *testing.T) {
	ts := startTestServer(t, &testerConfig{Settings: func(st *Settings) { st.Limits.MaxConnectionsPerAddr = 3 }})
	var tcs []*tester
	for range 3 {
		tc := ts.dial()
		tc.negotiate(wire.Dialect311)
		tcs = append(tcs, tc)
	}
	extra := ts.dial()
	extra.expectClosed()
	if s := ts.srv.Stats(); s.RefusedConns != 1 {
		t.Fatalf("stats %+v", s)
	}
	if !strings.Contains(ts.log.String(), "max_connections_per_addr") {
		t.Fatal("refusal not logged")
	}
	tcs[0].close()
	eventually(t, "slot freed", func() bool { return ts.srv.Stats().OpenConnections == 2 })
	again := ts.dial()
	again.negotiate(wire.Dialect311)
	if st := tcs[1].echo(); st != ntstatus.Success {
		t.Fatal(st)
	}
}

// TestReadBudgetBoundsMemory is finding 5's unread READs: a client that
// sends READs and never reads the answers used to make the server hold
// every READ buffer (32 reads of 8 MiB: +231 MiB). With
// MaxReadBytesPending the server builds no more READ responses than the
// budget until the client reads.
func TestReadBudgetBoundsMemory(t *testing.T) {
	tc := newSessionTester(t, &testerConfig{Settings: func(st *Settings) {
		st.Limits.MaxReadBytesPending = 4 << 20
		st.Limits.WriteTimeout = -1
	}}, wire.Dialect311)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", tc.logs())
		}
	})
	const reads = 48
	id := tc.mustCreate("big")
	chunk := make([]byte, 1<<20)
	for off := 0; off < 8<<20; off += len(chunk) {
		if _, st := tc.write(id, uint64(off), chunk); st != ntstatus.Success {
			t.Fatal(st)
		}
	}
	// Enough credits for every READ up front: a client may not send past
	// the window it was granted, and the READs' own grants come only as
	// the server answers them.
	tc.creditAsk = 1024
	for tc.credits() < reads*16 {
		tc.echo()
	}
	tc.pause()
	// Live heap only: two collections also empty sync.Pool's victim cache.
	var before runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	frames := make([][]byte, reads)
	for i := range frames {
		frames[i] = tc.frame(tc.readReq(id, uint64(i%8)<<20, 1<<20))
	}
	go func() {
		for _, f := range frames {
			if tc.trySendFrame(f) != nil {
				return
			}
		}
	}()
	time.Sleep(500 * time.Millisecond) // the server does what it can
	var after runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("heap grew %d MiB for %d unread 1 MiB READs (budget 4 MiB)", grew>>20, reads)
	if grew > 8<<20 {
		t.Fatalf("heap grew %d MiB: READ buffers not bounded", grew>>20)
	}
	// Once the client reads, every READ completes.
	tc.resume()
	for range reads {
		r := tc.recv()
		if r.status != ntstatus.Success {
			t.Fatalf("READ: %v", r)
		}
	}
}

// TestLogoffRelated is finding 6: in [LOGOFF, related CREATE] the CREATE
// used to run under the logged-off session. It now gets
// STATUS_USER_SESSION_DELETED and creates nothing.
func TestLogoffRelated(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	l := tc.simpleReq(wire.CmdLogoff)
	c := tc.createReq(&wire.CreateRequest{DesiredAccess: wire.GenericAll, CreateDisposition: wire.FileCreate,
		Name: "after-logoff"}).related()
	tc.send(l, c)
	expectStatus(t, "LOGOFF", tc.wait(l), ntstatus.Success)
	expectStatus(t, "related CREATE", tc.wait(c), ntstatus.UserSessionDeleted)
	if _, err := tc.ts.fs.Stat(t.Context(), "after-logoff"); err == nil {
		t.Fatal("the CREATE after LOGOFF created the file")
	}
}

// TestCancelNeedsValidSignature is finding 6: a CANCEL used to be
// honoured when unsigned and when its signature was corrupted on a
// session that signs. It is now ignored (as Samba does), and a properly
// signed one still cancels.
func TestCancelNeedsValidSignature(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	dir := tc.mustMkdir("watched")
	n := tc.changeNotifyReq(dir, filterFileName, false, 4096)
	tc.send(n)
	tc.waitInterim(n)
	for _, forge := range []func(*req){func(r *req) { r.badSig = true }, func(r *req) { r.noSign = true }} {
		r := tc.simpleReq(wire.CmdCancel)
		r.keepID, r.hdr.MessageID, r.hdr.Credits = true, n.hdr.MessageID, 0
		r.hdr.Flags |= wire.FlagAsyncCommand
		r.hdr.AsyncID = tc.asyncID(n)
		forge(r)
		tc.send(r)
	}
	tc.expectNoFrame(300 * time.Millisecond)
	tc.cancel(n)
	expectStatus(t, "signed CANCEL", tc.wait(n), ntstatus.Cancelled)
}
