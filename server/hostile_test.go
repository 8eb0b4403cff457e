package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signetsmb/signet/client"
	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
)

// TestHostileLoad is the proof that no client, logged on or not,
// stops the server or starves other users: while a healthy signed client
// (Signet's client library over loopback TCP) keeps writing and reading
// 4 KiB blocks of a file and checks every byte, hostile clients (raw SMB2
// over in-memory connections) run the abuse of findings 1 to 6, bounded
// in count and time. The healthy client must see no error, no 4 KiB READ
// may wait more than 1 s, and the process's RSS stays under rssBound
// (the peak is logged).
func TestHostileLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("hostile load takes about 15 s")
	}
	const (
		duration = 8 * time.Second
		rssBound = 512 << 20 // under -race, which multiplies memory use; about 210 MiB seen
	)
	ts := startTestServer(t, &testerConfig{LogLevel: 4, Timeout: 30 * time.Second, Settings: func(st *Settings) {
		st.Limits.MaxOpensPerSession = 2000
		st.Limits.PreAuthTimeout = 10 * time.Second
		st.Limits.WriteTimeout = 2 * time.Second
	}})
	addr := ts.serveTCP(t)
	peak := watchRSS(t)

	// Hostile clients are set up first (on the test goroutine), then run
	// concurrently with the healthy client.
	var attacks []func(stop <-chan struct{}) string
	attacks = append(attacks, preAuthRaceAttack(ts))
	for i := range 4 {
		attacks = append(attacks, lockFloodAttack(ts, i))
	}
	attacks = append(attacks, lookAlikeAttack(ts), connFloodAttack(ts), halfSentAttack(ts),
		unreadEchoAttack(ts), unreadReadAttack(ts), openFloodAttack(ts), patternAttack(ts),
		forgedCancelAttack(ts))

	stop := make(chan struct{})
	var wg sync.WaitGroup
	results := make([]string, len(attacks))
	for i, a := range attacks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = a(stop)
		}()
	}
	worst, ops, err := healthyClient(addr, duration)
	close(stop)
	wg.Wait()
	for _, r := range results {
		t.Log("attack: " + r)
	}
	t.Logf("healthy client: %d write+read+verify rounds, slowest 4 KiB READ %v; peak RSS %d MiB (bound %d MiB)",
		ops, worst, peak()>>20, rssBound>>20)
	if err != nil {
		t.Fatalf("healthy client: %v", err)
	}
	if worst > time.Second {
		t.Errorf("a 4 KiB READ waited %v", worst)
	}
	if p := peak(); p > rssBound {
		t.Errorf("peak RSS %d MiB over %d MiB", p>>20, rssBound>>20)
	}
	if s := ts.srv.Stats(); s.Panics != 0 {
		t.Errorf("%d panics", s.Panics)
	}
}

// serveTCP makes the test server listen on loopback TCP as well.
func (ts *testServer) serveTCP(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts.served.Add(1)
	go func() {
		defer ts.served.Done()
		ts.srv.Serve(l)
	}()
	return l.Addr().String()
}

// watchRSS samples the process's resident set every 50 ms until the test
// ends; the returned function reports the peak so far.
func watchRSS(t *testing.T) func() int64 {
	var peak atomic.Int64
	sample := func() {
		b, err := os.ReadFile("/proc/self/status")
		if err != nil {
			return
		}
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				for {
					p := peak.Load()
					if kb<<10 <= p || peak.CompareAndSwap(p, kb<<10) {
						break
					}
				}
			}
		}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			sample()
			select {
			case <-tick.C:
			case <-done:
				return
			}
		}
	}()
	t.Cleanup(func() { close(done); wg.Wait() })
	return func() int64 { sample(); return peak.Load() }
}

// healthyClient writes and reads back random 4 KiB blocks of a 1 MiB file
// for d, checking every byte, and returns the slowest READ.
func healthyClient(addr string, d time.Duration) (worst time.Duration, rounds int, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), d+30*time.Second)
	defer cancel()
	s, err := (&client.Dialer{User: "alice", Password: "pw", RequireSigning: true}).Dial(ctx, addr)
	if err != nil {
		return 0, 0, err
	}
	defer s.Close()
	sh, err := s.Mount(ctx, "share")
	if err != nil {
		return 0, 0, err
	}
	model := make([]byte, 1<<20)
	rand.Read(model)
	f, err := sh.Create("healthy.bin")
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	if _, err := f.WriteAt(model, 0); err != nil {
		return 0, 0, err
	}
	block := make([]byte, 4096)
	got := make([]byte, 4096)
	for end := time.Now().Add(d); time.Now().Before(end); rounds++ {
		off := int64(mrand.IntN(len(model)/4096)) * 4096
		rand.Read(block)
		if _, err := f.WriteAt(block, off); err != nil {
			return worst, rounds, fmt.Errorf("write at %d: %w", off, err)
		}
		copy(model[off:], block)
		for _, at := range []int64{off, int64(mrand.IntN(len(model)/4096)) * 4096} {
			start := time.Now()
			if _, err := f.ReadAt(got, at); err != nil {
				return worst, rounds, fmt.Errorf("read at %d: %w", at, err)
			}
			worst = max(worst, time.Since(start))
			if !bytes.Equal(got, model[at:at+4096]) {
				return worst, rounds, fmt.Errorf("data at %d differs", at)
			}
		}
	}
	return worst, rounds, nil
}

// attackTester is a logged-on hostile connection with a file of its own.
func attackTester(ts *testServer, name string) (*tester, wire.FileID) {
	tc := ts.dial()
	tc.negotiate(wire.Dialect311)
	tc.mustSessionSetup("alice", "pw")
	tc.mustTreeConnect("share")
	return tc, tc.mustCreate(name)
}

// exchange sends reqs as one frame and reads until every element was
// answered (credits accounted), the connection ends, or 20 s pass. It
// never fails the test: hostile clients expect refusals.
func (tc *tester) exchange(reqs ...*req) ([]*resp, error) {
	if err := tc.trySendFrame(tc.frame(reqs...)); err != nil {
		return nil, err
	}
	return tc.collect(len(reqs))
}

// collect reads until n final responses arrived (credits accounted), the
// connection ends, or 20 s pass.
func (tc *tester) collect(n int) ([]*resp, error) {
	var out []*resp
	deadline := time.Now().Add(20 * time.Second)
	for len(out) < n {
		f, err := tc.tryRecvFrame(time.Until(deadline))
		if err != nil {
			return out, err
		}
		tc.receive(f)
		for _, r := range tc.queue {
			if !r.isInterim() && !r.isBreak() {
				out = append(out, r)
			}
		}
		tc.queue = nil
	}
	return out, nil
}

// preAuthRaceAttack: finding 1's racing SESSION_SETUP compounds.
func preAuthRaceAttack(ts *testServer) func(<-chan struct{}) string {
	tc := ts.dial()
	tc.negotiate(wire.Dialect311)
	tok, _, _ := tc.authClient("alice", "pw").Step(tc.neg.SecurityBuffer)
	big := bytes.Repeat([]byte{0xA5}, 60<<10)
	return func(stop <-chan struct{}) string {
		n := 0
		for ; n < 300 && !stopped(stop); n++ {
			first, err := tc.exchange(tc.sessionSetupReq(0, &wire.SessionSetupRequest{SecurityBuffer: tok}))
			if err != nil {
				return fmt.Sprintf("pre-auth race: connection ended after %d rounds: %v", n, err)
			}
			sid := first[0].hdr.SessionID
			e1, s1 := tc.simpleReq(wire.CmdEcho), tc.sessionSetupReq(sid, &wire.SessionSetupRequest{SecurityBuffer: big})
			e2, s2 := tc.simpleReq(wire.CmdEcho), tc.sessionSetupReq(sid, &wire.SessionSetupRequest{SecurityBuffer: []byte{1}})
			for _, r := range []*req{e1, s1, e2, s2} {
				r.noSign = true
			}
			if tc.trySendFrame(tc.frame(e1, s1)) != nil || tc.trySendFrame(tc.frame(e2, s2)) != nil {
				break
			}
			if _, err := tc.collect(4); err != nil {
				break
			}
		}
		return fmt.Sprintf("pre-auth SESSION_SETUP race: %d rounds", n)
	}
}

// lockFloodAttack: finding 2's LOCK requests of 20,000 ranges, then of
// 4,000 (within the per-open limit), four attackers on one file.
func lockFloodAttack(ts *testServer, n int) func(<-chan struct{}) string {
	tc, id := attackTester(ts, "locks")
	return func(stop <-chan struct{}) string {
		var sts []string
		for round, count := range []int{20000, 20000, 4000, 4000} {
			if stopped(stop) {
				break
			}
			els := make([]wire.LockElement, count)
			for i := range els {
				els[i] = wire.LockElement{Offset: uint64(n)<<40 + uint64(round)<<32 + uint64(i)*2, Length: 1,
					Flags: wire.LockFlagExclusive | wire.LockFlagFailImmediately}
			}
			st, err := tc.exchange(tc.lockReq(id, els...))
			if err != nil {
				return fmt.Sprintf("lock flood: %v", err)
			}
			sts = append(sts, st[0].status.String())
		}
		return "LOCKs of 20,000, 20,000, 4,000, 4,000 ranges: " + strings.Join(sts, ", ")
	}
}

// lookAlikeAttack: finding 3's KELVIN SIGN name guessing a password.
func lookAlikeAttack(ts *testServer) func(<-chan struct{}) string {
	tc := ts.dial()
	tc.negotiate(wire.Dialect311)
	return func(stop <-chan struct{}) string {
		start := time.Now()
		n := 0
		for ; n < 3 && !stopped(stop); n++ {
			if st := tc.setup("\u212Aate", fmt.Sprint("guess", n), 0); st != ntstatus.LogonFailure {
				return fmt.Sprintf("look-alike logon: %v", st)
			}
		}
		return fmt.Sprintf("look-alike name guessing: %d failures in %v", n, time.Since(start).Round(time.Millisecond))
	}
}

// connFloodAttack: finding 4's connection exhaustion without a password.
func connFloodAttack(ts *testServer) func(<-chan struct{}) string {
	return func(stop <-chan struct{}) string {
		var conns []net.Conn
		refused := 0
		for i := 0; i < 400 && !stopped(stop); i++ {
			nc, err := ts.ln.dial()
			if err != nil {
				break
			}
			conns = append(conns, nc)
		}
		for _, nc := range conns {
			nc.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
			var b [1]byte
			if _, err := nc.Read(b[:]); err != nil && !isTimeout(err) {
				refused++
			}
		}
		<-stop
		for _, nc := range conns {
			nc.Close()
		}
		return fmt.Sprintf("connection flood: %d connections, %d refused at once", len(conns), refused)
	}
}

// halfSentAttack: finding 4's half-sent 64 KiB requests before logon.
func halfSentAttack(ts *testServer) func(<-chan struct{}) string {
	return func(stop <-chan struct{}) string {
		closed := 0
		for i := 0; i < 20 && !stopped(stop); i++ {
			nc, err := ts.ln.dial()
			if err != nil {
				break
			}
			defer nc.Close()
			var hdr [4]byte
			binary.BigEndian.PutUint32(hdr[:], 4000)
			nc.SetWriteDeadline(time.Now().Add(time.Second))
			nc.Write(append(hdr[:], 0xFE, 'S', 'M', 'B'))
		}
		return fmt.Sprintf("half-sent requests: %d connections", 20-closed)
	}
}

// unreadEchoAttack: finding 4's ECHO flood that never reads.
func unreadEchoAttack(ts *testServer) func(<-chan struct{}) string {
	tc := ts.dial()
	tc.negotiate(wire.Dialect311)
	frames := make([][]byte, 3000)
	for i := range frames {
		frames[i] = tc.frame(tc.simpleReq(wire.CmdEcho))
	}
	return unreadFlood(tc, frames, "unread ECHO flood")
}

// unreadReadAttack: finding 5's 8 MiB READs whose answers are never read.
func unreadReadAttack(ts *testServer) func(<-chan struct{}) string {
	tc, id := attackTester(ts, "unread")
	chunk := make([]byte, tc.neg.MaxWriteSize)
	for off := 0; off < 8<<20; off += len(chunk) {
		if _, st := tc.write(id, uint64(off), chunk); st != ntstatus.Success {
			tc.t.Fatalf("unread READs: filling the file: %v", st)
		}
	}
	frames := make([][]byte, 32)
	for i := range frames {
		frames[i] = tc.frame(tc.readReq(id, 0, 8<<20))
	}
	return unreadFlood(tc, frames, "unread 8 MiB READs")
}

// unreadFlood sends frames on a connection that has stopped reading,
// until the server stops taking them or closes the connection.
func unreadFlood(tc *tester, frames [][]byte, what string) func(<-chan struct{}) string {
	return func(stop <-chan struct{}) string {
		tc.pause()
		sent := 0
		for _, f := range frames {
			tc.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
			if stopped(stop) || tc.trySendFrame(f) != nil {
				break
			}
			sent++
		}
		return fmt.Sprintf("%s: %d of %d sent before the server stopped taking them", what, sent, len(frames))
	}
}

// openFloodAttack: finding 5's unbounded opens.
func openFloodAttack(ts *testServer) func(<-chan struct{}) string {
	tc, _ := attackTester(ts, "opens")
	return func(stop <-chan struct{}) string {
		n := 0
		for ; n < 3000 && !stopped(stop); n++ {
			st, err := tc.exchange(tc.createReq(&wire.CreateRequest{DesiredAccess: wire.FileReadAttributes,
				ShareAccess:       wire.FileShareRead | wire.FileShareWrite | wire.FileShareDelete,
				CreateDisposition: wire.FileOpenIf, Name: "opens"}))
			if err != nil {
				return fmt.Sprintf("open flood: %v", err)
			}
			if st[0].status != ntstatus.Success {
				return fmt.Sprintf("open flood: refused after %d opens with %v", n, st[0].status)
			}
		}
		return fmt.Sprintf("open flood: %d opens, never refused", n)
	}
}

// patternAttack: finding 6's 32,767-character search patterns.
func patternAttack(ts *testServer) func(<-chan struct{}) string {
	tc, _ := attackTester(ts, "pattern-file")
	dir := tc.mustMkdir("pattern-dir")
	pattern := strings.Repeat("*a", 32767/2) + "b"
	return func(stop <-chan struct{}) string {
		var last ntstatus.Status
		start := time.Now()
		n := 0
		for ; n < 20 && !stopped(stop); n++ {
			st, err := tc.exchange(tc.queryDirReq(dir, 1, wire.QueryDirRestartScans, pattern, 4096))
			if err != nil {
				return fmt.Sprintf("long patterns: %v", err)
			}
			last = st[0].status
		}
		return fmt.Sprintf("32,767-character patterns: %d in %v, last %v", n, time.Since(start).Round(time.Millisecond), last)
	}
}

// forgedCancelAttack: finding 6's CANCELs with corrupted signatures.
func forgedCancelAttack(ts *testServer) func(<-chan struct{}) string {
	tc, _ := attackTester(ts, "cancel")
	return func(stop <-chan struct{}) string {
		n := 0
		for ; n < 10 && !stopped(stop); n++ {
			r := tc.simpleReq(wire.CmdCancel)
			r.keepID, r.hdr.MessageID, r.hdr.Credits, r.badSig = true, uint64(n), 0, true
			if tc.trySendFrame(tc.frame(r)) != nil {
				break
			}
		}
		return fmt.Sprintf("forged CANCELs: %d", n)
	}
}

func stopped(stop <-chan struct{}) bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}
