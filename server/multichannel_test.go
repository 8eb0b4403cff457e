package server

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"testing"

	"github.com/signetsmb/signet/auth/userdb"
	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/smbcrypto"
	"github.com/signetsmb/signet/internal/wire"
)

// bind binds a new channel on tc (negotiated, same dialect) to the session
// of from, authenticating as user [MS-SMB2 3.2.4.2.3]: every binding
// request is signed with Session.SigningKey, interim responses verify with
// it, and the final response verifies with the channel key, derived from
// the binding's own session key (and, on 3.1.1, from this connection's
// preauth hash extended with the exchange). On success tc signs with the
// channel key and uses from's session and tree by default.
func (tc *tester) bind(from *tester, user, password string) ntstatus.Status {
	tc.t.Helper()
	sid := from.sessionID
	sessionKey := from.signers[sid]
	if k := from.sessKeys[sid]; k != nil {
		sessionKey = k // from is itself a bound channel
	}
	tc.signers[sid] = sessionKey
	tc.bindingSID = sid
	defer func() { tc.bindingSID = 0 }()
	mech := tc.authClient(user, password)
	out, _, err := mech.Step(tc.neg.SecurityBuffer)
	if err != nil {
		tc.t.Fatalf("tester: SPNEGO: %v", err)
	}
	preauth := tc.preauth
	for range 4 {
		r := tc.sessionSetupReq(sid, &wire.SessionSetupRequest{Flags: wire.SessionFlagBinding,
			SecurityMode: uint8(wire.SigningEnabled), SecurityBuffer: out})
		r.hdr.Flags |= wire.FlagSigned
		resp := tc.roundTrip(r)
		if tc.dialect == wire.Dialect311 {
			preauth = preauth.Update(r.msg)
		}
		switch resp.status {
		case ntstatus.MoreProcessingRequired:
			if resp.hdr.Flags&wire.FlagSigned == 0 {
				tc.t.Fatal("tester: interim binding response not signed")
			}
			if tc.dialect == wire.Dialect311 {
				preauth = preauth.Update(resp.msg)
			}
			ss, err := wire.ParseSessionSetupResponse(resp.msg)
			if err != nil {
				tc.t.Fatalf("tester: SESSION_SETUP response: %v", err)
			}
			if out, _, err = mech.Step(ss.SecurityBuffer); err != nil {
				tc.t.Fatalf("tester: NTLM: %v", err)
			}
		case ntstatus.Success:
			keys := smbcrypto.DeriveKeys(tc.dialect, mech.SessionKey(), preauth[:])
			sg, err := smbcrypto.NewSigner(tc.signingAlg, keys.Signing[:])
			if err != nil {
				tc.t.Fatal(err)
			}
			if resp.hdr.Flags&wire.FlagSigned == 0 || !sg.Verify(resp.msg) {
				tc.t.Fatal("tester: final binding response not signed with the channel key")
			}
			tc.signers[sid] = sg
			if tc.sessKeys == nil {
				tc.sessKeys = map[uint64]smbcrypto.Signer{}
			}
			tc.sessKeys[sid] = sessionKey
			tc.mustSign[sid] = from.mustSign[sid]
			tc.sessionID, tc.treeID = sid, from.treeID
			return resp.status
		default:
			delete(tc.signers, sid)
			return resp.status
		}
	}
	tc.t.Fatal("tester: binding did not finish")
	return 0
}

// multichannelConfig is a signing-required server with multichannel on,
// users alice/pw and bob/pw2, and no logon-failure delay.
func multichannelConfig(edit ...func(*Settings)) *testerConfig {
	return &testerConfig{
		Settings: func(st *Settings) {
			st.Multichannel = true
			st.Limits.AuthFailureDelay = -1
			for _, e := range edit {
				e(st)
			}
		},
		Options: func(o *Options) {
			o.Users = testUsers{"alice": userdb.NTHash("pw"), "bob": userdb.NTHash("pw2")}
		},
	}
}

// newChannel dials ts, negotiates dialect offering CAP_MULTI_CHANNEL.
func newChannel(ts *testServer, dialect uint16) *tester {
	tc := ts.dial()
	tc.extraCaps = wire.CapMultiChannel
	tc.negotiate(dialect)
	return tc
}

// TestBindChannel: a second connection binds to a session on every 3.x
// dialect; it signs with a key of its own, uses the trees and opens made
// on the first, keeps the session alive when the first connection
// drops, and LOGOFF on one channel ends the session on all.
func TestBindChannel(t *testing.T) {
	for _, d := range []uint16{wire.Dialect300, wire.Dialect302, wire.Dialect311} {
		t.Run(wire.DialectName(d), func(t *testing.T) {
			ts := startTestServer(t, multichannelConfig())
			a := newChannel(ts, d)
			if a.neg.Capabilities&wire.CapMultiChannel == 0 {
				t.Fatal("CAP_MULTI_CHANNEL not offered")
			}
			a.mustSessionSetup("alice", "pw")
			a.mustTreeConnect("share")
			f := a.mustCreate("f.txt")
			if _, st := a.write(f, 0, []byte("from channel A")); st != ntstatus.Success {
				t.Fatal(st)
			}
			b := newChannel(ts, d)
			if st := b.bind(a, "alice", "pw"); st != ntstatus.Success {
				t.Fatalf("bind: %v", st)
			}
			if bytes.Equal(keyOf(t, a), keyOf(t, b)) {
				t.Fatal("both channels sign with the same key")
			}
			// The open made on A is used on B.
			data, st := b.read(f, 0, 64)
			if st != ntstatus.Success || string(data) != "from channel A" {
				t.Fatalf("read on B: %q %v", data, st)
			}
			// A request signed with A's key is refused on B.
			r := b.readReq(f, 0, 4)
			b.signers[b.sessionID], a.signers[a.sessionID] = a.signers[a.sessionID], b.signers[b.sessionID]
			b.send(r)
			b.signers[b.sessionID], a.signers[a.sessionID] = a.signers[a.sessionID], b.signers[b.sessionID]
			if resp := b.wait(r); resp.status != ntstatus.AccessDenied {
				t.Fatalf("request signed with channel A's key on channel B: %v, want ACCESS_DENIED", resp.status)
			}
			// A goes away; the session, its tree and its open live on B.
			a.close()
			eventually(t, "channel A gone", func() bool { return ts.srv.Stats().OpenConnections == 1 })
			if _, st := b.write(f, 0, []byte("FROM")); st != ntstatus.Success {
				t.Fatalf("write on B after A dropped: %v", st)
			}
			if got := ts.srv.Stats().Sessions; got != 1 {
				t.Fatalf("sessions = %d after one channel dropped", got)
			}
			// A third channel, then LOGOFF on B ends the session there too.
			c := newChannel(ts, d)
			if st := c.bind(b, "alice", "pw"); st != ntstatus.Success {
				t.Fatalf("bind third: %v", st)
			}
			if st := b.logoff(); st != ntstatus.Success {
				t.Fatalf("logoff: %v", st)
			}
			if _, st := c.read(f, 0, 4); st != ntstatus.UserSessionDeleted {
				t.Fatalf("read on C after LOGOFF on B: %v, want USER_SESSION_DELETED", st)
			}
			eventually(t, "session and opens released", func() bool { return ts.srv.Stats().Sessions == 0 && ts.srv.Stats().Opens == 0 })
		})
	}
}

// keyOf returns the signature a channel's signer puts on a fixed message,
// to compare channel keys without reaching into the signer.
func keyOf(t *testing.T, tc *tester) []byte {
	msg := make([]byte, wire.HeaderSize+8)
	copy(msg, wire.ProtocolSMB2[:])
	tc.signers[tc.sessionID].Sign(msg)
	return msg[wire.SignatureOffset : wire.SignatureOffset+16]
}

// TestBindRefusals: every refusal MS-SMB2 3.3.5.5 names for a binding,
// with the status smbtorture's bind_negative tests expect; a refused or
// failed binding leaves the session working.
func TestBindRefusals(t *testing.T) {
	ts := startTestServer(t, multichannelConfig())
	a := newChannel(ts, wire.Dialect311)
	a.mustSessionSetup("alice", "pw")
	a.mustTreeConnect("share")
	f := a.mustCreate("f.txt")

	bindReq := func(tc *tester, signed bool) *req {
		mech := tc.authClient("alice", "pw")
		out, _, _ := mech.Step(tc.neg.SecurityBuffer)
		r := tc.sessionSetupReq(a.sessionID, &wire.SessionSetupRequest{Flags: wire.SessionFlagBinding,
			SecurityMode: uint8(wire.SigningEnabled), SecurityBuffer: out})
		if signed {
			tc.signers[a.sessionID] = a.signers[a.sessionID]
			r.hdr.Flags |= wire.FlagSigned
		}
		return r
	}
	cases := []struct {
		name  string
		setup func() *tester
		sign  bool
		want  ntstatus.Status
	}{
		// The session signs with AES-GMAC (3.1.1): a connection signing
		// otherwise is refused before anything else (Samba's order).
		{"2.1 connection (HMAC)", func() *tester { return newChannel(ts, wire.Dialect210) }, true, ntstatus.RequestOutOfSequence},
		{"3.0.2 connection (CMAC)", func() *tester { return newChannel(ts, wire.Dialect302) }, true, ntstatus.RequestOutOfSequence},
		{"no CAP_MULTI_CHANNEL", func() *tester { tc := ts.dial(); tc.negotiate(wire.Dialect311); return tc }, true, ntstatus.RequestNotAccepted},
		{"unsigned", func() *tester { return newChannel(ts, wire.Dialect311) }, false, ntstatus.InvalidParameter},
		{"other ClientGuid", func() *tester {
			tc := ts.dial()
			tc.extraCaps = wire.CapMultiChannel
			g := [16]byte{1, 2, 3}
			tc.clientGUID = &g
			tc.negotiate(wire.Dialect311)
			return tc
		}, true, ntstatus.UserSessionDeleted},
	}
	for _, c := range cases {
		tc := c.setup()
		resp := tc.roundTrip(bindReq(tc, c.sign))
		if resp.status != c.want {
			t.Errorf("%s: %v, want %v", c.name, resp.status, c.want)
		}
	}
	// A forged signature.
	tc := newChannel(ts, wire.Dialect311)
	r := bindReq(tc, true)
	r.badSig = true
	if resp := tc.roundTrip(r); resp.status != ntstatus.AccessDenied {
		t.Errorf("bad signature: %v, want ACCESS_DENIED", resp.status)
	}
	// Wrong password, another user: refused, the session untouched.
	if st := newChannel(ts, wire.Dialect311).bind(a, "alice", "wrong"); st != ntstatus.LogonFailure {
		t.Errorf("wrong password: %v, want LOGON_FAILURE", st)
	}
	if st := newChannel(ts, wire.Dialect311).bind(a, "bob", "pw2"); st != ntstatus.AccessDenied {
		t.Errorf("another user: %v, want ACCESS_DENIED", st)
	}
	// Binding a connection twice.
	b := newChannel(ts, wire.Dialect311)
	if st := b.bind(a, "alice", "pw"); st != ntstatus.Success {
		t.Fatalf("bind: %v", st)
	}
	// Once bound, the connection's requests verify with its channel key,
	// a repeated binding too (Samba): signed with it, the binding is
	// refused as such; signed with the session's key, as a bad signature.
	r = bindReq(b, false)
	r.hdr.Flags |= wire.FlagSigned
	if resp := b.roundTrip(r); resp.status != ntstatus.RequestNotAccepted {
		t.Errorf("second binding on one connection: %v, want REQUEST_NOT_ACCEPTED", resp.status)
	}
	channelKey := b.signers[a.sessionID]
	r = bindReq(b, true) // signed with Session.SigningKey
	frame := b.frame(r)
	b.signers[a.sessionID] = channelKey // the refusal is signed with the channel's key
	b.sendFrame(frame)
	resp := b.wait(r)
	if resp.status != ntstatus.AccessDenied {
		t.Errorf("second binding signed with the session key: %v, want ACCESS_DENIED", resp.status)
	}
	if _, st := a.write(f, 0, []byte("x")); st != ntstatus.Success {
		t.Fatalf("session broken by refused bindings: %v", st)
	}
}

// TestBindRefusalsCMAC: a session signing with AES-CMAC (3.0.2) refuses a
// binding from a 2.1 connection (REQUEST_NOT_ACCEPTED), from another 3.x
// dialect (INVALID_PARAMETER) and from an AES-GMAC connection
// (NOT_SUPPORTED).
func TestBindRefusalsCMAC(t *testing.T) {
	ts := startTestServer(t, multichannelConfig())
	a := newChannel(ts, wire.Dialect302)
	a.mustSessionSetup("alice", "pw")
	for _, c := range []struct {
		dialect uint16
		want    ntstatus.Status
	}{
		{wire.Dialect210, ntstatus.RequestNotAccepted},
		{wire.Dialect300, ntstatus.InvalidParameter},
		{wire.Dialect311, ntstatus.NotSupported},
	} {
		if st := newChannel(ts, c.dialect).bind(a, "alice", "pw"); st != c.want {
			t.Errorf("binding from %s: %v, want %v", wire.DialectName(c.dialect), st, c.want)
		}
	}
	if st := newChannel(ts, wire.Dialect302).bind(a, "alice", "pw"); st != ntstatus.Success {
		t.Fatalf("binding from 3.0.2: %v", st)
	}
}

// TestBindChannelLimit: a session takes at most MaxChannelsPerSession
// connections; the next binding gets INSUFFICIENT_RESOURCES.
func TestBindChannelLimit(t *testing.T) {
	ts := startTestServer(t, multichannelConfig(func(st *Settings) { st.Limits.MaxChannelsPerSession = 3 }))
	a := newChannel(ts, wire.Dialect311)
	a.mustSessionSetup("alice", "pw")
	for i := range 2 {
		if st := newChannel(ts, wire.Dialect311).bind(a, "alice", "pw"); st != ntstatus.Success {
			t.Fatalf("bind %d: %v", i, st)
		}
	}
	if st := newChannel(ts, wire.Dialect311).bind(a, "alice", "pw"); st != ntstatus.InsufficientResources {
		t.Fatalf("fourth channel: %v, want INSUFFICIENT_RESOURCES", st)
	}
}

// TestFileIDsUniqueAcrossConnections hunts for FileId collisions: 1,000
// connections, each with its own session, open files at once; every
// FileId (persistent and volatile halves alike) must be unique
// server-wide, and no connection can use another's.
func TestFileIDsUniqueAcrossConnections(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 connections")
	}
	ts := startTestServer(t, &testerConfig{NoSigning: true, LogLevel: slog.LevelWarn, Settings: func(st *Settings) {
		st.Limits.MaxConnectionsPerAddr, st.Limits.MaxConnections = -1, -1
	}})
	const conns, workers = 1000, 8
	var mu sync.Mutex
	persistent := map[uint64]int{}
	volatile := map[uint64]int{}
	var first struct {
		id wire.FileID
	}
	var wg sync.WaitGroup
	next := make(chan int)
	testers := make([]*tester, conns)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				// A tester's Fatal ends this worker (runtime.Goexit); the
				// deferred Done still runs and the test fails.
				tc := ts.dial()
				tc.negotiate(wire.Dialect311)
				tc.mustSessionSetup("alice", "pw")
				tc.mustTreeConnect("share")
				id := tc.mustCreate(fmt.Sprintf("f%d", i))
				mu.Lock()
				persistent[id.Persistent]++
				volatile[id.Volatile]++
				if i == 0 {
					first.id = id
				}
				testers[i] = tc
				mu.Unlock()
			}
		}()
	}
	for i := range conns {
		next <- i
	}
	close(next)
	wg.Wait()
	if t.Failed() {
		return
	}
	for id, n := range persistent {
		if n > 1 {
			t.Errorf("persistent FileId %#x issued %d times", id, n)
		}
	}
	for id, n := range volatile {
		if n > 1 {
			t.Errorf("volatile FileId %#x issued %d times", id, n)
		}
	}
	if len(persistent) != conns {
		t.Fatalf("%d FileIds for %d opens", len(persistent), conns)
	}
	// Another session cannot use connection 0's FileId.
	if _, st := testers[1].read(first.id, 0, 1); st != ntstatus.FileClosed {
		t.Fatalf("FileId of another session: %v, want FILE_CLOSED", st)
	}
}

// TestBreakGoesToLiveChannel: an oplock granted on channel A is broken on
// channel B once A is gone, and B's acknowledgment completes the break
// [MS-SMB2 3.3.4.6: the break goes to a channel of the session].
func TestBreakGoesToLiveChannel(t *testing.T) {
	ts := startTestServer(t, multichannelConfig())
	a := newChannel(ts, wire.Dialect311)
	a.mustSessionSetup("alice", "pw")
	a.mustTreeConnect("share")
	cr := a.mustBatch(a.createOplock("o", wire.OplockBatch), "open")
	b := newChannel(ts, wire.Dialect311)
	if st := b.bind(a, "alice", "pw"); st != ntstatus.Success {
		t.Fatalf("bind: %v", st)
	}
	a.close()
	eventually(t, "channel A gone", func() bool { return ts.srv.Stats().OpenConnections == 1 })
	other := b.secondClient(wire.Dialect311)
	second := other.createOplock("o", wire.OplockNone)
	other.send(second)
	level, id := b.recvBreak()
	if level != wire.OplockLevelII || id != cr.FileID {
		t.Fatalf("break on B: level %d for %v, want level II for %v", level, id, cr.FileID)
	}
	expectStatus(t, "acknowledgment on B", b.roundTrip(b.oplockAckReq(cr.FileID, wire.OplockLevelII)), ntstatus.Success)
	if cr2 := other.parseCreate(other.wait(second)); cr2 == nil {
		t.Fatal("the conflicting open did not complete")
	}
}

// TestNetworkInterfacesConfigured: configured interfaces are reported as
// NETWORK_INTERFACE_INFO entries, one per address, linked by Next, with
// index, capabilities, link speed and socket address [MS-SMB2 2.2.32.5].
func TestNetworkInterfacesConfigured(t *testing.T) {
	tc := newSessionTester(t, multichannelConfig(func(st *Settings) {
		st.Interfaces = []NetInterface{
			{Index: 3, RSS: true, LinkSpeed: 10_000_000_000,
				Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("2001:db8::1")}},
			{Index: 4, RDMA: true, LinkSpeed: 2_500_000_000, Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.11")}},
		}
	}), wire.Dialect311)
	ir, st := tc.ioctl(wire.AllOnes, wire.FsctlQueryNetworkInterfaceInfo, nil, 4096)
	if st != ntstatus.Success || len(ir.Output) != 3*152 {
		t.Fatalf("%v, %d bytes", st, len(ir.Output))
	}
	type entry struct {
		next, index, caps uint32
		speed             uint64
		family            uint16
		addr              string
	}
	var got []entry
	for off := 0; off < len(ir.Output); off += 152 {
		e := ir.Output[off:]
		x := entry{next: binary.LittleEndian.Uint32(e), index: binary.LittleEndian.Uint32(e[4:]),
			caps: binary.LittleEndian.Uint32(e[8:]), speed: binary.LittleEndian.Uint64(e[16:]),
			family: binary.LittleEndian.Uint16(e[24:])}
		if x.family == 2 {
			x.addr = netip.AddrFrom4([4]byte(e[28:32])).String()
		} else {
			x.addr = netip.AddrFrom16([16]byte(e[32:48])).String()
		}
		got = append(got, x)
	}
	want := []entry{
		{152, 3, 1, 10_000_000_000, 2, "192.0.2.10"},
		{152, 3, 1, 10_000_000_000, 0x17, "2001:db8::1"},
		{0, 4, 2, 2_500_000_000, 2, "192.0.2.11"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("entries\n got %v\nwant %v", got, want)
	}
}

// TestLockSequenceReplay: on a multichannel connection a LOCK that repeats
// the sequence number of the last successful LOCK in its bucket was
// applied already (a resend after a lost channel) and succeeds without
// being applied again; bucket 0 is not checked, and a new number in the
// bucket is applied [MS-SMB2 3.3.5.14]. Without multichannel nothing is
// checked.
func TestLockSequenceReplay(t *testing.T) {
	lockSeq := func(tc *tester, id wire.FileID, seq uint32, e wire.LockElement) ntstatus.Status {
		r := tc.newReq(wire.CmdLock)
		r.msg = wire.AppendLockRequest(r.msg, &wire.LockRequest{FileID: id, LockSequence: seq, Locks: []wire.LockElement{e}})
		return tc.roundTrip(r).status
	}
	excl := func(off uint64) wire.LockElement {
		return wire.LockElement{Offset: off, Length: 1, Flags: wire.LockFlagExclusive | wire.LockFlagFailImmediately}
	}
	ts := startTestServer(t, multichannelConfig())
	tc := newChannel(ts, wire.Dialect311)
	tc.mustSessionSetup("alice", "pw")
	tc.mustTreeConnect("share")
	f := tc.mustCreate("l")
	seq := func(bucket, num uint32) uint32 { return bucket<<4 | num }
	expect := func(what string, got, want ntstatus.Status) {
		t.Helper()
		if got != want {
			t.Errorf("%s: %v, want %v", what, got, want)
		}
	}
	expect("first lock, bucket 1", lockSeq(tc, f, seq(1, 1), excl(0)), ntstatus.Success)
	expect("resent lock, bucket 1", lockSeq(tc, f, seq(1, 1), excl(0)), ntstatus.Success)
	expect("same range, next number", lockSeq(tc, f, seq(1, 2), excl(0)), ntstatus.LockNotGranted)
	expect("the refused one resent", lockSeq(tc, f, seq(1, 2), excl(0)), ntstatus.LockNotGranted)
	expect("bucket 0 is not checked", lockSeq(tc, f, seq(0, 3), excl(0)), ntstatus.LockNotGranted)
	expect("bucket 64", lockSeq(tc, f, seq(64, 5), excl(10)), ntstatus.Success)
	expect("bucket 64 resent", lockSeq(tc, f, seq(64, 5), excl(10)), ntstatus.Success)
	expect("bucket 65 is not checked", lockSeq(tc, f, seq(65, 5), excl(10)), ntstatus.LockNotGranted)

	plain := newSessionTester(t, nil, wire.Dialect311) // no multichannel
	g := plain.mustCreate("m")
	expect("no multichannel: first", lockSeq(plain, g, seq(1, 1), excl(0)), ntstatus.Success)
	expect("no multichannel: resent is applied", lockSeq(plain, g, seq(1, 1), excl(0)), ntstatus.LockNotGranted)
}
