package server

import (
	"encoding/binary"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/signetsmb/signet/internal/fscc"
	"github.com/signetsmb/signet/internal/smbcrypto"
	"github.com/signetsmb/signet/internal/wire"
)

// FuzzServer feeds fuzzer-chosen SMB2 messages and compounds to a whole
// server over the tester, in one of three phases the input picks:
//
//	phase 0: on a fresh connection, before NEGOTIATE (frames sent as is);
//	phase 1: after NEGOTIATE of a chosen dialect;
//	phase 2: after alice's signed session and a tree connect to "share":
//	         every element gets the session's SessionId (and the tree's
//	         TreeId where it has none) and is signed by the harness, so
//	         that the input reaches the handlers;
//	phase 3: as phase 2 with an encrypting session (the dialect bits
//	         pick a dialect and cipher from fuzzCiphers): the harness
//	         seals each frame in a transform instead of signing it, so
//	         that the input reaches the handlers through decryption; with
//	         bit 6 the frame is sent as the input has it (a transform of
//	         the fuzzer's own, or a plain message on an encrypting
//	         session).
//
// In phases 1 and 2 the harness can also renumber MessageIds into the
// credit window. The server must never panic (a panic in a handler kills
// the process; a recovered one is logged and fails the test) and never
// hang: after the input, a sentinel request must be answered or the
// connection closed within sentinelTimeout, and Shutdown must finish.
//
// Input: mode, then messages, each a little-endian uint16 length and that
// many bytes (an SMB2 message or compound, without transport header).
// mode bits 0-1: phase; bits 2-4: dialect (index into allDialects;
// phase 3: into fuzzCiphers); bit 5: keep the input's MessageIds; bit 6:
// do not sign (phase 3: do not seal); bit 7: keep the input's SessionId
// and TreeId.
//
// Responses in transforms must authenticate under the session's keys.
// Every response frame must split into well-formed response headers.
func FuzzServer(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s.mode, s.data)
	}
	f.Fuzz(func(t *testing.T, mode byte, data []byte) {
		fuzzOnce(t, mode, data)
	})
}

const (
	fuzzKeepIDs     = 1 << 5
	fuzzNoSign      = 1 << 6
	fuzzKeepSession = 1 << 7
	sentinelTimeout = 10 * time.Second
	// fuzzMaxMessages bounds the messages of one input.
	fuzzMaxMessages = 64
)

// fuzzCiphers are the dialect and cipher pairs of phase 3.
var fuzzCiphers = []struct {
	dialect uint16
	cipher  smbcrypto.Cipher
}{
	{wire.Dialect300, smbcrypto.AES128CCM}, {wire.Dialect302, smbcrypto.AES128CCM},
	{wire.Dialect311, smbcrypto.AES128CCM}, {wire.Dialect311, smbcrypto.AES128GCM},
	{wire.Dialect311, smbcrypto.AES256CCM}, {wire.Dialect311, smbcrypto.AES256GCM},
}

// fuzzOnce runs one input against a fresh, deterministic server.
func fuzzOnce(t *testing.T, mode byte, data []byte) {
	cfg := &testerConfig{Seed: 1, LogLevel: slog.LevelWarn, Timeout: sentinelTimeout,
		// A failed logon is not delayed: the fuzzer finds them often.
		Settings: func(st *Settings) { st.Limits.AuthFailureDelay = -1 }}
	dialect := allDialects[int(mode>>2&7)%len(allDialects)]
	var tc *tester
	switch mode & 3 {
	case 0:
		tc = newTester(t, cfg)
	case 1:
		tc = newTester(t, cfg)
		tc.negotiate(dialect)
	case 2:
		tc = newSessionTester(t, cfg, dialect)
	default:
		fc := fuzzCiphers[int(mode>>2&7)%len(fuzzCiphers)]
		base := cfg.Settings
		cfg.Settings = func(st *Settings) {
			base(st)
			st.Ciphers = []smbcrypto.Cipher{fc.cipher}
		}
		tc = encryptedSession(t, cfg, fc.dialect)
	}
	for i := 0; len(data) > 0 && i < fuzzMaxMessages; i++ {
		n := len(data)
		if n >= 2 {
			n = min(int(binary.LittleEndian.Uint16(data)), n-2)
			data = data[2:]
		}
		msg := append([]byte(nil), data[:n]...)
		data = data[n:]
		if mode&3 != 0 {
			tc.fuzzFixup(msg, mode)
		}
		if mode&3 == 3 && mode&fuzzNoSign == 0 {
			msg = tc.fuzzSeal(msg)
		}
		if tc.trySendFrame(msg) != nil {
			return // the server closed the connection
		}
		if !tc.fuzzDrain(0) {
			return
		}
	}
	tc.fuzzSentinel(mode)
}

// fuzzFixup renumbers, re-addresses and signs the elements of msg in
// place, as the mode asks. A frame that does not split into elements is
// left as it is.
func (tc *tester) fuzzFixup(msg []byte, mode byte) {
	elems, err := wire.SplitCompound(msg, maxCompound)
	if err != nil {
		return
	}
	for _, e := range elems {
		cmd := wire.Command(binary.LittleEndian.Uint16(e[12:]))
		if mode&fuzzKeepIDs == 0 && cmd != wire.CmdCancel {
			binary.LittleEndian.PutUint64(e[24:], tc.nextID)
			charge := uint64(max(binary.LittleEndian.Uint16(e[6:]), 1))
			if tc.dialect == wire.Dialect202 {
				charge = 1
			}
			tc.nextID += charge
		}
		if mode&3 < 2 {
			continue
		}
		if mode&fuzzKeepSession == 0 {
			binary.LittleEndian.PutUint64(e[40:], tc.sessionID)
			if wire.Flags(e)&wire.FlagAsyncCommand == 0 && binary.LittleEndian.Uint32(e[36:]) == 0 {
				binary.LittleEndian.PutUint32(e[36:], tc.treeID)
			}
		}
		if sg := tc.signers[binary.LittleEndian.Uint64(e[40:])]; sg != nil && mode&fuzzNoSign == 0 && mode&3 == 2 {
			sg.Sign(e)
		}
	}
}

// fuzzSeal wraps msg in a transform under the keys of the session its
// first header names (the tester's session when it names none the tester
// holds), as an encrypting client sends it.
func (tc *tester) fuzzSeal(msg []byte) []byte {
	id := tc.sessionID
	if len(msg) >= wire.HeaderSize {
		if sid := binary.LittleEndian.Uint64(msg[40:]); tc.enc.sessions[sid] != nil {
			id = sid
		}
	}
	return tc.enc.seal(tc, []*req{{hdr: wire.Header{SessionID: id}}}, msg)
}

// fuzzDrain reads the frames the server sent, checking that each is a
// well-formed response; it waits up to d for the first. It reports false
// once the connection has ended.
func (tc *tester) fuzzDrain(d time.Duration) bool {
	tc.t.Helper()
	for {
		select {
		case f, ok := <-tc.frames:
			if !ok {
				return false
			}
			tc.fuzzCheckFrame(f)
			continue
		default:
		}
		if d == 0 {
			return true
		}
		f, err := tc.tryRecvFrame(d)
		switch {
		case errors.Is(err, errTimeout):
			return true
		case err != nil:
			return false
		}
		tc.fuzzCheckFrame(f)
	}
}

// fuzzCheckFrame fails the test unless f is a response frame the client
// can parse: a transform that authenticates under the session's keys
// (testerEnc.open), elements that split, headers with the response flag.
// It returns the frame, opened.
func (tc *tester) fuzzCheckFrame(f []byte) []byte {
	tc.t.Helper()
	f, _ = tc.enc.open(tc, f)
	elems, err := wire.SplitCompound(f, maxCompound)
	if err != nil {
		tc.t.Fatalf("server sent a malformed frame: %v: % x", err, f[:min(len(f), 128)])
	}
	for _, e := range elems {
		h, err := wire.ParseHeader(e)
		if err != nil || !h.IsResponse() {
			tc.t.Fatalf("server sent a bad header (%v): % x", err, e[:min(len(e), 64)])
		}
	}
	return f
}

// fuzzSentinel sends a request that must be answered (or the connection
// closed) and waits for that: a NEGOTIATE before negotiation, else an
// ECHO of the session.
func (tc *tester) fuzzSentinel(mode byte) {
	tc.t.Helper()
	var r *req
	if mode&3 == 0 {
		r = tc.negotiateReq(allDialects...)
		r.keepID = true // whatever the input consumed, id 0 is the first
	} else {
		r = tc.simpleReq(wire.CmdEcho)
	}
	if tc.trySendFrame(tc.frame(r)) != nil {
		return
	}
	deadline := time.Now().Add(sentinelTimeout)
	for {
		f, err := tc.tryRecvFrame(time.Until(deadline))
		switch {
		case errors.Is(err, errTimeout):
			tc.t.Fatalf("server neither answered %v nor closed the connection within %v", r.hdr.Command, sentinelTimeout)
		case err != nil:
			return
		}
		f = tc.fuzzCheckFrame(f)
		elems, _ := wire.SplitCompound(f, maxCompound)
		for _, e := range elems {
			h, _ := wire.ParseHeader(e)
			if h.MessageID == r.hdr.MessageID && h.Command == r.hdr.Command && h.Status != 0x103 {
				return
			}
		}
	}
}

// fuzzSeed is one seed corpus entry.
type fuzzSeed struct {
	mode byte
	data []byte
}

// fuzzSeeds returns valid requests of every command, alone and in
// compounds, for each phase.
func fuzzSeeds(tb testing.TB) []fuzzSeed {
	// An offline tester builds the messages; the harness fixes ids,
	// session and tree and signs them at run time.
	tc := &tester{t: tb, signers: nil, creditAsk: 8, dialect: wire.Dialect311}
	raw := func(f []byte) []byte { return append(binary.LittleEndian.AppendUint16(nil, uint16(len(f))), f...) }
	msgs := func(rs ...[]*req) []byte {
		var out []byte
		for _, c := range rs {
			out = append(out, raw(tc.frame(c...))...)
		}
		return out
	}
	cancel := tc.simpleReq(wire.CmdCancel)
	cancel.keepID = true
	one := func(r *req) []*req { return []*req{r} }
	file := func(name string, options uint32) *req {
		return tc.createReq(&wire.CreateRequest{RequestedOplockLevel: wire.OplockBatch, DesiredAccess: rwAccess,
			ShareAccess: shareAll, CreateDisposition: wire.FileOpenIf, CreateOptions: options, Name: name,
			Contexts: []wire.CreateContext{{Name: wire.CtxNameMxAc}, {Name: wire.CtxNameQFid}}})
	}
	all := wire.AllOnes
	first := wire.FileID{Persistent: 1, Volatile: 1}
	fileOps := [][]*req{{
		file("f.txt", wire.FileNonDirectoryFile),
		tc.writeReq(all, 0, []byte("hello, fuzzer")).related(),
		tc.readReq(all, 0, 64).related(),
		tc.flushReq(all).related(),
		tc.queryInfoReq(all, wire.InfoFile, uint8(fscc.FileAllInformation), 1024, 0).related(),
		tc.queryInfoReq(all, wire.InfoFilesystem, uint8(fscc.FileFsFullSizeInformation), 64, 0).related(),
		tc.queryInfoReq(all, wire.InfoSecurity, 0, 1024, 7).related(),
		tc.setInfoReq(all, wire.InfoFile, uint8(fscc.FileEndOfFileInformation), le64(5), 0).related(),
		tc.lockReq(all, excl(0, 4)).related(),
		tc.lockReq(all, unlock(0, 4)).related(),
		tc.ioctlReq(all, wire.FsctlSrvRequestResumeKey, nil, 32).related(),
		tc.setInfoReq(all, wire.InfoFile, uint8(fscc.FileRenameInformation), renameInfo("g.txt", true), 0).related(),
		tc.closeReq(all, wire.CloseFlagPostQueryAttrib).related(),
	}, {
		file("d", wire.FileDirectoryFile),
		tc.queryDirReq(all, uint8(fscc.FileIDBothDirectoryInformation), wire.QueryDirRestartScans, "*", 4096).related(),
		tc.changeNotifyReq(all, filterFileName, true, 1024).related(),
	}}
	var seeds []fuzzSeed
	for d := range allDialects {
		dm := byte(d) << 2
		seeds = append(seeds,
			fuzzSeed{0 | dm, msgs(one(tc.negotiateReq(allDialects...)), one(tc.simpleReq(wire.CmdEcho)))},
			fuzzSeed{0 | dm, raw(smb1Negotiate("NT LM 0.12", "SMB 2.002", "SMB 2.???"))},
			fuzzSeed{1 | dm, msgs(one(tc.sessionSetupReq(0, &wire.SessionSetupRequest{SecurityBuffer: ntlmNegotiateToken(tb)})),
				one(tc.simpleReq(wire.CmdEcho)), one(tc.simpleReq(wire.CmdLogoff)))},
			fuzzSeed{2 | dm, msgs(fileOps...)},
			fuzzSeed{2 | dm, msgs(one(file("o", 0)), one(tc.oplockAckReq(first, wire.OplockLevelII)),
				one(tc.ioctlReq(all, wire.FsctlValidateNegotiateInfo, make([]byte, 26), 24)),
				one(tc.ioctlReq(all, wire.FsctlQueryNetworkInterfaceInfo, nil, 4096)))},
			fuzzSeed{2 | dm, msgs(one(tc.treeConnectReq(`\\TEST\IPC$`)), one(tc.simpleReq(wire.CmdTreeDisconnect)),
				one(cancel), one(tc.simpleReq(wire.CmdLogoff)))},
		)
	}
	for c := range fuzzCiphers {
		cm := 3 | byte(c)<<2
		seeds = append(seeds, fuzzSeed{cm, msgs(fileOps...)},
			fuzzSeed{cm, msgs(one(tc.simpleReq(wire.CmdEcho)), one(tc.ioctlReq(all, wire.FsctlValidateNegotiateInfo, make([]byte, 26), 24)))})
	}
	// Unsealed on an encrypting session: a plain ECHO, and a transform
	// header with a tag that cannot authenticate.
	forged := make([]byte, smbcrypto.TransformHeaderSize+wire.HeaderSize+4)
	copy(forged, []byte{0xFD, 'S', 'M', 'B'})
	binary.LittleEndian.PutUint32(forged[36:], uint32(len(forged)-smbcrypto.TransformHeaderSize))
	binary.LittleEndian.PutUint16(forged[42:], smbcrypto.TransformEncrypted)
	seeds = append(seeds, fuzzSeed{3 | fuzzNoSign | 3<<2, msgs(one(tc.simpleReq(wire.CmdEcho)))},
		fuzzSeed{3 | fuzzNoSign | 3<<2, raw(forged)})
	return seeds
}

// treeConnectReq returns a TREE_CONNECT request for path.
func (tc *tester) treeConnectReq(path string) *req {
	r := tc.newReq(wire.CmdTreeConnect)
	r.msg = wire.AppendTreeConnectRequest(r.msg, path)
	return r
}

// ntlmNegotiateToken returns the SPNEGO-wrapped NTLM NEGOTIATE_MESSAGE of
// the project's client, a valid first SESSION_SETUP token.
func ntlmNegotiateToken(tb testing.TB) []byte {
	tc := &tester{ts: &testServer{}}
	tok, _, err := tc.authClient("alice", "pw").Step(nil)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

// TestFuzzServerSeeds runs the seed corpus as a test, so that the harness
// and the seeds are exercised by every `go test`.
func TestFuzzServerSeeds(t *testing.T) {
	for _, s := range fuzzSeeds(t) {
		t.Run("", func(t *testing.T) { fuzzOnce(t, s.mode, s.data) })
	}
}
