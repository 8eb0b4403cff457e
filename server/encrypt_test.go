package server

import (
	"bytes"
	"crypto/cipher"
	"encoding/binary"
	"math"
	"strings"
	"testing"

	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/smbcrypto"
	"github.com/signetsmb/signet/internal/wire"
)

// testerEnc is the tester's side of SMB3 encryption [MS-SMB2 3.2.4.1.8,
// 3.2.5.1.1.1]: the negotiated cipher, each session's keys, and whether
// requests are sent encrypted.
type testerEnc struct {
	cipher   smbcrypto.Cipher
	sessions map[uint64]*testerSessionKeys
	// on encrypts every request of a session the tester holds keys for.
	on bool
	// flip, when non-zero, flips that byte of the next transform sent.
	flip  int
	nonce uint64
	// lastFlags are the SessionFlags of the last session established.
	lastFlags uint16
	// pad, when non-zero, appends that many zero bytes to the last
	// element of each frame sealed (a large frame of a small request).
	pad int
}

type testerSessionKeys struct {
	enc, dec cipher.AEAD // client-to-server, server-to-client
}

func (e *testerEnc) negotiated(tc *tester, nr *wire.NegotiateResponse) {
	e.cipher = 0
	if (nr.Dialect == wire.Dialect300 || nr.Dialect == wire.Dialect302) && nr.Capabilities&wire.CapEncryption != 0 {
		e.cipher = smbcrypto.AES128CCM
	}
	for _, c := range nr.Contexts {
		if c.Type == wire.CtxEncryption {
			ids, err := wire.ParseIDList(c.Data, 0)
			if err != nil || len(ids) != 1 {
				tc.t.Fatalf("tester: encryption context %x", c.Data)
			}
			e.cipher = smbcrypto.Cipher(ids[0])
		}
	}
}

func (e *testerEnc) established(tc *tester, resp *resp, key []byte, preauth smbcrypto.PreauthHash) {
	id := resp.hdr.SessionID
	if ss, err := wire.ParseSessionSetupResponse(resp.msg); err == nil {
		e.lastFlags = ss.SessionFlags
	}
	if e.cipher == 0 {
		return
	}
	keys, err := smbcrypto.DeriveCipherKeys(tc.dialect, e.cipher, key, preauth[:])
	if err != nil {
		tc.t.Fatal(err)
	}
	// The server's Decryption key is the client's encryption key.
	enc, err := smbcrypto.NewAEAD(e.cipher, keys.Decryption)
	if err != nil {
		tc.t.Fatal(err)
	}
	dec, err := smbcrypto.NewAEAD(e.cipher, keys.Encryption)
	if err != nil {
		tc.t.Fatal(err)
	}
	if e.sessions == nil {
		e.sessions = map[uint64]*testerSessionKeys{}
	}
	e.sessions[id] = &testerSessionKeys{enc: enc, dec: dec}
}

// seal wraps frame in a transform when encryption is on and the first
// request's session has keys.
func (e *testerEnc) seal(tc *tester, reqs []*req, frame []byte) []byte {
	k := e.sessions[reqs[0].hdr.SessionID]
	if !e.on || k == nil {
		return frame
	}
	if e.pad > 0 {
		frame = append(frame, make([]byte, e.pad)...)
	}
	buf := make([]byte, smbcrypto.TransformHeaderSize+len(frame), smbcrypto.TransformHeaderSize+len(frame)+16)
	copy(buf[smbcrypto.TransformHeaderSize:], frame)
	e.nonce++
	var nonce [16]byte
	binary.LittleEndian.PutUint64(nonce[:], e.nonce)
	nonce[15] = 0xC1 // a client nonce can never equal a server one here
	smbcrypto.SealTransform(k.enc, buf, nonce[:e.cipher.NonceSize()], reqs[0].hdr.SessionID)
	if e.flip != 0 {
		buf[e.flip] ^= 0x01
		e.flip = 0
	}
	return buf
}

// open decrypts a transform from the server; anything that does not
// authenticate fails the test.
func (e *testerEnc) open(tc *tester, frame []byte) ([]byte, bool) {
	tc.t.Helper()
	if len(frame) < 4 || frame[0] != 0xFD {
		return frame, false
	}
	t, err := smbcrypto.ParseTransform(frame)
	if err != nil {
		tc.t.Fatalf("tester: transform: %v", err)
	}
	k := e.sessions[t.SessionID]
	if k == nil {
		tc.t.Fatalf("tester: transform for unknown session 0x%x", t.SessionID)
	}
	if t.Flags != smbcrypto.TransformEncrypted || int(t.OriginalSize) != len(frame)-smbcrypto.TransformHeaderSize {
		tc.t.Fatalf("tester: transform header %+v for a %d-byte frame", t, len(frame))
	}
	msg, err := smbcrypto.OpenTransform(k.dec, frame)
	if err != nil {
		tc.t.Fatalf("tester: server's transform does not authenticate: %v", err)
	}
	return msg, true
}

// negotiateEncrypting negotiates dialect offering encryption: CAP_ENCRYPTION
// and, for 3.1.1, an ENCRYPTION_CAPABILITIES context with ciphers.
func (tc *tester) negotiateEncrypting(dialect uint16, ciphers ...smbcrypto.Cipher) {
	tc.t.Helper()
	nr := &wire.NegotiateRequest{SecurityMode: wire.SigningEnabled, Capabilities: wire.CapLargeMTU | wire.CapEncryption,
		ClientGUID: testClientGUID, Dialects: []uint16{dialect}}
	if dialect == wire.Dialect311 {
		if len(ciphers) == 0 {
			ciphers = []smbcrypto.Cipher{smbcrypto.AES256GCM, smbcrypto.AES256CCM, smbcrypto.AES128GCM, smbcrypto.AES128CCM}
		}
		ids := make([]uint16, len(ciphers))
		for i, c := range ciphers {
			ids[i] = uint16(c)
		}
		nr.Contexts = []wire.NegContext{wire.PreauthNegContext(bytes.Repeat([]byte{0x5A}, 32)),
			wire.IDListNegContext(wire.CtxEncryption, ids)}
	}
	r := tc.negotiateReqFrom(nr)
	resp := tc.roundTrip(r)
	expectStatus(tc.t, "NEGOTIATE", resp, ntstatus.Success)
	tc.negotiated(r, resp)
}

// encryptedSession is a tester with an encrypting session of alice on
// "share" (everything after SESSION_SETUP encrypted).
func encryptedSession(tb testing.TB, cfg *testerConfig, dialect uint16, ciphers ...smbcrypto.Cipher) *tester {
	tb.Helper()
	tc := newTester(tb, cfg)
	tc.negotiateEncrypting(dialect, ciphers...)
	if tc.enc.cipher == 0 {
		tb.Fatalf("no cipher negotiated for %s", wire.DialectName(dialect))
	}
	tc.mustSessionSetup("alice", "pw")
	tc.enc.on = true
	tc.mustTreeConnect("share")
	return tc
}

// TestEncryptedIO: every dialect and cipher (3.0/3.0.2 AES-128-CCM; 3.1.1
// each of the four, chosen by the server's preference) carries a
// CREATE/WRITE/READ/CLOSE exchange encrypted both ways, with responses
// unsigned inside their transforms.
func TestEncryptedIO(t *testing.T) {
	cases := []struct {
		dialect uint16
		cipher  smbcrypto.Cipher
	}{
		{wire.Dialect300, smbcrypto.AES128CCM}, {wire.Dialect302, smbcrypto.AES128CCM},
		{wire.Dialect311, smbcrypto.AES128CCM}, {wire.Dialect311, smbcrypto.AES128GCM},
		{wire.Dialect311, smbcrypto.AES256CCM}, {wire.Dialect311, smbcrypto.AES256GCM},
	}
	for _, c := range cases {
		t.Run(wire.DialectName(c.dialect)+"/"+c.cipher.String(), func(t *testing.T) {
			cfg := &testerConfig{Settings: func(st *Settings) {
				if c.dialect == wire.Dialect311 {
					st.Ciphers = []smbcrypto.Cipher{c.cipher}
				}
			}}
			tc := encryptedSession(t, cfg, c.dialect)
			if tc.enc.cipher != c.cipher {
				t.Fatalf("negotiated %v, want %v", tc.enc.cipher, c.cipher)
			}
			id := tc.mustCreate("f")
			data := bytes.Repeat([]byte("encrypted payload "), 5000)
			if n, st := tc.write(id, 0, data); st != ntstatus.Success || int(n) != len(data) {
				t.Fatalf("WRITE: %d %v", n, st)
			}
			resp := tc.roundTrip(tc.readReq(id, 0, uint32(len(data))))
			expectStatus(t, "READ", resp, ntstatus.Success)
			got, _ := wire.ParseReadResponse(resp.msg)
			if !bytes.Equal(got, data) {
				t.Fatal("READ data differs")
			}
			if !resp.encrypted || resp.hdr.Flags&wire.FlagSigned != 0 || !bytes.Equal(resp.msg[48:64], make([]byte, 16)) {
				t.Fatalf("READ response: encrypted=%v flags=%x signature=%x", resp.encrypted, resp.hdr.Flags, resp.msg[48:64])
			}
			if st := tc.closeFile(id); st != ntstatus.Success {
				t.Fatal(st)
			}
			if tc.srv().Stats().EncryptedResponses < 4 {
				t.Fatalf("encrypted responses %d", tc.srv().Stats().EncryptedResponses)
			}
		})
	}
}

// TestEncryptedCompound: a related CREATE+WRITE+CLOSE in one transform is
// answered by one transform holding the three responses.
func TestEncryptedCompound(t *testing.T) {
	tc := encryptedSession(t, nil, wire.Dialect311)
	cr := tc.createReq(&wire.CreateRequest{DesiredAccess: rwAccess, ShareAccess: shareAll,
		CreateDisposition: wire.FileOpenIf, CreateOptions: wire.FileNonDirectoryFile, Name: "c"})
	w := tc.writeReq(relatedFileID, 0, []byte("compound")).related()
	cl := tc.closeReq(relatedFileID, 0).related()
	tc.send(cr, w, cl)
	for _, r := range []*req{cr, w, cl} {
		resp := tc.wait(r)
		expectStatus(t, r.hdr.Command.String(), resp, ntstatus.Success)
		if !resp.encrypted {
			t.Fatalf("%v response not encrypted", r.hdr.Command)
		}
	}
}

// relatedFileID is the FileId that names the previous element's open.
var relatedFileID = wire.FileID{Persistent: math.MaxUint64, Volatile: math.MaxUint64}

// TestTamperedTransform: a flipped byte anywhere in an encrypted WRITE
// (header, nonce, ciphertext, tag) is refused: the connection is closed,
// the refusal counted and logged, and the file is unchanged.
func TestTamperedTransform(t *testing.T) {
	for _, at := range []struct {
		name string
		off  func(n int) int
	}{
		{"signature", func(int) int { return 4 }},
		{"nonce", func(int) int { return 21 }},
		{"session id", func(int) int { return 45 }},
		{"ciphertext", func(n int) int { return n - 100 }},
		{"last byte", func(n int) int { return n - 1 }},
	} {
		t.Run(at.name, func(t *testing.T) {
			tc := encryptedSession(t, nil, wire.Dialect311)
			id := tc.mustCreate("f")
			if _, st := tc.write(id, 0, []byte("original")); st != ntstatus.Success {
				t.Fatal(st)
			}
			w := tc.writeReq(id, 0, bytes.Repeat([]byte("X"), 400))
			frame := tc.frame(w)
			tc.enc.flip = at.off(smbcrypto.TransformHeaderSize + len(frame))
			tc.sendFrame(tc.enc.seal(tc, []*req{w}, frame))
			tc.expectClosed()

			other := tc.dial()
			other.negotiateEncrypting(wire.Dialect311)
			other.mustSessionSetup("alice", "pw")
			other.enc.on = true
			other.mustTreeConnect("share")
			id2 := other.mustCreate("f")
			got, st := other.read(id2, 0, 100)
			if st != ntstatus.Success || string(got) != "original" {
				t.Fatalf("file after a tampered WRITE: %q %v", got, st)
			}
			if n := tc.srv().Stats().BadTransforms; n != 1 {
				t.Fatalf("BadTransforms %d", n)
			}
			if !strings.Contains(tc.logs(), "encrypted message refused") {
				t.Fatal("no log line for the refused transform")
			}
		})
	}
}

// TestTransformRefusals: transforms that are not acceptable close the
// connection: no cipher negotiated, unknown session, wrong Flags, an
// OriginalMessageSize that is not the payload's.
func TestTransformRefusals(t *testing.T) {
	mk := func(tc *tester, edit func(b []byte)) []byte {
		r := tc.simpleReq(wire.CmdEcho)
		frame := tc.frame(r)
		k := tc.enc.sessions[tc.sessionID]
		buf := make([]byte, smbcrypto.TransformHeaderSize+len(frame), smbcrypto.TransformHeaderSize+len(frame)+16)
		copy(buf[smbcrypto.TransformHeaderSize:], frame)
		if k != nil {
			smbcrypto.SealTransform(k.enc, buf, []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}[:tc.enc.cipher.NonceSize()], tc.sessionID)
		} else {
			buf[0], buf[1], buf[2], buf[3] = 0xFD, 'S', 'M', 'B'
			binary.LittleEndian.PutUint32(buf[36:], uint32(len(frame)))
			binary.LittleEndian.PutUint16(buf[42:], 1)
			binary.LittleEndian.PutUint64(buf[44:], tc.sessionID)
		}
		if edit != nil {
			edit(buf)
		}
		return buf
	}
	t.Run("no cipher", func(t *testing.T) {
		tc := newSessionTester(t, nil, wire.Dialect311) // offers no cipher
		tc.sendFrame(mk(tc, nil))
		tc.expectClosed()
		if !strings.Contains(tc.logs(), "encryption_not_negotiated") {
			t.Fatal("no log line")
		}
	})
	for name, edit := range map[string]func(b []byte){
		"unknown session": func(b []byte) { binary.LittleEndian.PutUint64(b[44:], 0x777) },
		"flags":           func(b []byte) { binary.LittleEndian.PutUint16(b[42:], 2) },
		"size too large":  func(b []byte) { binary.LittleEndian.PutUint32(b[36:], uint32(len(b))) },
		"size too small":  func(b []byte) { binary.LittleEndian.PutUint32(b[36:], uint32(len(b)-60)) },
		"short":           nil,
	} {
		t.Run(name, func(t *testing.T) {
			tc := encryptedSession(t, nil, wire.Dialect311)
			b := mk(tc, edit)
			if edit == nil {
				b = b[:40]
			}
			tc.sendFrame(b)
			tc.expectClosed()
			if n := tc.srv().Stats().BadTransforms; n != 1 {
				t.Fatalf("BadTransforms %d", n)
			}
		})
	}
}

// TestEncryptDataServerWide: with encrypt_data on the server, a session
// that can encrypt gets SMB2_SESSION_FLAG_ENCRYPT_DATA and its unencrypted
// requests are refused; a client that cannot encrypt (3.1.1 without a
// cipher, 2.1) is refused at SESSION_SETUP with ACCESS_DENIED and a log
// line, and other sessions carry on.
func TestEncryptDataServerWide(t *testing.T) {
	cfg := &testerConfig{Settings: func(st *Settings) { st.EncryptData = true }}
	ts := startTestServer(t, cfg)
	tc := ts.dial()
	tc.negotiateEncrypting(wire.Dialect311)
	r := tc.sessionSetupFlags(t)
	if r&wire.SessionEncryptData == 0 {
		t.Fatalf("SessionFlags %#x without ENCRYPT_DATA", r)
	}
	// Unencrypted TREE_CONNECT (signed): refused, the answer encrypted.
	tr := tc.newReq(wire.CmdTreeConnect)
	tr.hdr.TreeID = 0
	tr.msg = wire.AppendTreeConnectRequest(tr.msg, `\\TEST\share`)
	resp := tc.roundTrip(tr)
	expectStatus(t, "unencrypted TREE_CONNECT", resp, ntstatus.AccessDenied)
	if !resp.encrypted {
		t.Fatal("refusal not encrypted")
	}
	tc.enc.on = true
	tcr, st := tc.treeConnect("share")
	if st != ntstatus.Success || tcr.ShareFlags&wire.ShareFlagEncryptData == 0 {
		t.Fatalf("encrypted TREE_CONNECT: %v flags %#x", st, tcr)
	}
	id := tc.mustCreate("a")
	tc.closeFile(id)

	for _, d := range []uint16{wire.Dialect311, wire.Dialect210} {
		plain := ts.dial()
		plain.negotiate(d) // offers no encryption
		if st := plain.sessionSetup("alice", "pw"); st != ntstatus.AccessDenied {
			t.Fatalf("%s client without encryption: %v, want ACCESS_DENIED", wire.DialectName(d), st)
		}
	}
	if !strings.Contains(tc.logs(), "the server requires encryption and the client cannot encrypt") {
		t.Fatal("no log line for the refused client")
	}
	// The encrypting session is unaffected, and the refused ones are not
	// counted.
	if st := tc.echo(); st != ntstatus.Success {
		t.Fatal(st)
	}
	if n := ts.srv.Stats().Sessions; n != 1 {
		t.Fatalf("%d sessions counted, want 1", n)
	}
}

// sessionSetupFlags authenticates alice and returns the final response's
// SessionFlags.
func (tc *tester) sessionSetupFlags(tb testing.TB) uint16 {
	tb.Helper()
	tc.mustSessionSetup("alice", "pw")
	return tc.enc.lastFlags
}

// TestEncryptedShare: a share with encrypt_data answers an encrypting
// client with SMB2_SHAREFLAG_ENCRYPT_DATA and refuses its unencrypted
// requests on that tree; a client that cannot encrypt is refused with
// ACCESS_DENIED and a log line, while its access to other shares and other
// clients' sessions carry on; allow_unencrypted_access lets it in.
func TestEncryptedShare(t *testing.T) {
	for _, allow := range []bool{false, true} {
		cfg := &testerConfig{Settings: func(st *Settings) {
			st.Shares = append(st.Shares, &Share{Name: "secret", FS: st.Shares[0].FS, EncryptData: true})
			st.AllowUnencryptedAccess = allow
		}}
		ts := startTestServer(t, cfg)
		enc := ts.dial()
		enc.negotiateEncrypting(wire.Dialect302)
		enc.mustSessionSetup("alice", "pw")
		// An unencrypted (signed) TREE_CONNECT is answered in the clear
		// with the share flag: the client learns from it to encrypt.
		treq := enc.newReq(wire.CmdTreeConnect)
		treq.hdr.TreeID = 0
		treq.msg = wire.AppendTreeConnectRequest(treq.msg, `\\TEST\secret`)
		tresp := enc.roundTrip(treq)
		expectStatus(t, "TREE_CONNECT secret", tresp, ntstatus.Success)
		tcr, _ := wire.ParseTreeConnectResponse(tresp.msg)
		if tresp.encrypted || tcr.ShareFlags&wire.ShareFlagEncryptData == 0 {
			t.Fatalf("TREE_CONNECT secret: encrypted=%v flags %#x", tresp.encrypted, tcr.ShareFlags)
		}
		enc.treeID = tresp.hdr.TreeID
		plainReq := enc.newReq(wire.CmdCreate)
		plainReq.msg = wire.AppendCreateRequest(plainReq.msg, &wire.CreateRequest{DesiredAccess: rwAccess, ShareAccess: shareAll,
			CreateDisposition: wire.FileOpenIf, Name: "x"})
		resp := enc.roundTrip(plainReq)
		if want := ntstatus.AccessDenied; !allow && (resp.status != want || !resp.encrypted) {
			t.Fatalf("unencrypted CREATE on an encrypted tree: %v encrypted=%v", resp.status, resp.encrypted)
		}
		enc.enc.on = true
		id := enc.mustCreate("y")
		enc.closeFile(id)

		plain := ts.dial()
		plain.negotiate(wire.Dialect311) // offers no cipher
		plain.mustSessionSetup("alice", "pw")
		_, st := plain.treeConnect("secret")
		if allow {
			if st != ntstatus.Success {
				t.Fatalf("allowed unencrypted client: %v", st)
			}
			continue
		}
		if st != ntstatus.AccessDenied {
			t.Fatalf("client without encryption on an encrypted share: %v", st)
		}
		if !strings.Contains(ts.log.String(), "tree connect refused: the share requires encryption") {
			t.Fatal("no log line")
		}
		if _, st := plain.treeConnect("share"); st != ntstatus.Success {
			t.Fatalf("same client, unencrypted share: %v", st)
		}
		if st := enc.echo(); st != ntstatus.Success {
			t.Fatalf("other session: %v", st)
		}
	}
}

// TestNonceNeverWraps: a session whose nonce counter is spent refuses to
// seal rather than reuse a nonce.
func TestNonceNeverWraps(t *testing.T) {
	aead, err := smbcrypto.NewAEAD(smbcrypto.AES128GCM, make([]byte, 16))
	if err != nil {
		t.Fatal(err)
	}
	sc := &sessionCipher{id: 1, cipher: smbcrypto.AES128GCM, enc: aead}
	buf := make([]byte, smbcrypto.TransformHeaderSize+wire.HeaderSize, 200)
	if err := sc.seal(buf); err != nil {
		t.Fatal(err)
	}
	first := bytes.Clone(buf[20:36])
	if err := sc.seal(buf); err != nil || bytes.Equal(first, buf[20:36]) {
		t.Fatalf("second seal: %v, nonce repeated: %v", err, bytes.Equal(first, buf[20:36]))
	}
	sc.nonces.Store(math.MaxUint64 - 2)
	if err := sc.seal(buf); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := sc.seal(buf); err == nil {
			t.Fatal("sealed past the end of the nonce counter")
		}
	}
}

// TestEncryptedOplockBreak: an oplock holder whose session encrypts gets
// its OPLOCK_BREAK notification encrypted (the tester decrypts it), and
// acknowledges it encrypted; a holder that does not encrypt gets it in
// the clear.
func TestEncryptedOplockBreak(t *testing.T) {
	for _, encrypting := range []bool{true, false} {
		var holder *tester
		if encrypting {
			holder = encryptedSession(t, nil, wire.Dialect311)
		} else {
			holder = newTester(t, nil)
			holder.negotiateEncrypting(wire.Dialect311) // keys, but never used
			holder.mustSessionSetup("alice", "pw")
			holder.mustTreeConnect("share")
		}
		cr := holder.mustBatch(holder.createOplock("o", wire.OplockBatch), "first open")
		other := holder.secondClient(wire.Dialect302)
		second := other.createOplock("o", wire.OplockExclusive)
		other.send(second)
		var brk *resp
		for brk == nil {
			for k, r := range holder.queue {
				if r.isBreak() {
					brk = r
					holder.queue = append(holder.queue[:k:k], holder.queue[k+1:]...)
					break
				}
			}
			if brk == nil {
				holder.receive(holder.recvFrame())
			}
		}
		if brk.encrypted != encrypting {
			t.Fatalf("holder encrypting=%v: break encrypted=%v", encrypting, brk.encrypted)
		}
		ack := holder.roundTrip(holder.oplockAckReq(cr.FileID, wire.OplockLevelII))
		expectStatus(t, "acknowledgment", ack, ntstatus.Success)
		if ack.encrypted != encrypting {
			t.Fatalf("acknowledgment response encrypted=%v", ack.encrypted)
		}
		if cr2 := other.parseCreate(other.wait(second)); cr2 == nil || cr2.OplockLevel != wire.OplockLevelII {
			t.Fatalf("second open: %+v", cr2)
		}
	}
}

// TestTransformSessionMismatch: a request whose header names one session
// but that arrived in another session's transform is refused with
// ACCESS_DENIED (the transform's key authenticates only its own
// session's requests) and logged.
func TestTransformSessionMismatch(t *testing.T) {
	tc := encryptedSession(t, nil, wire.Dialect311)
	a := tc.sessionID
	tc.enc.on = false
	tc.mustSessionSetup("alice", "pw") // session B on the same connection
	b := tc.sessionID
	tc.enc.on = true
	r := tc.simpleReq(wire.CmdEcho)
	r.hdr.SessionID = b
	frame := tc.frame(r)
	buf := make([]byte, smbcrypto.TransformHeaderSize+len(frame), smbcrypto.TransformHeaderSize+len(frame)+16)
	copy(buf[smbcrypto.TransformHeaderSize:], frame)
	smbcrypto.SealTransform(tc.enc.sessions[a].enc, buf, []byte{9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9}, a)
	tc.sendFrame(buf)
	resp := tc.wait(r)
	expectStatus(t, "ECHO of session B in session A's transform", resp, ntstatus.AccessDenied)
	if !strings.Contains(tc.logs(), "encrypted under another session's key") {
		t.Fatal("no log line")
	}
	// Each session's own encrypted requests still work.
	for _, sid := range []uint64{a, b} {
		tc.sessionID = sid
		if st := tc.echo(); st != ntstatus.Success {
			t.Fatalf("session 0x%x: %v", sid, st)
		}
	}
}

// TestCipherPreference: without AES-128-CCM in Settings.Ciphers a 3.0.2
// client gets no SMB2_GLOBAL_CAP_ENCRYPTION; a 3.1.1 client offering
// nothing the server lists gets no encryption context; a 2.1 client never
// gets the capability.
func TestCipherPreference(t *testing.T) {
	cfg := &testerConfig{Settings: func(st *Settings) { st.Ciphers = []smbcrypto.Cipher{smbcrypto.AES256GCM} }}
	tc := newTester(t, cfg)
	tc.negotiateEncrypting(wire.Dialect302)
	if tc.neg.Capabilities&wire.CapEncryption != 0 || tc.enc.cipher != 0 {
		t.Fatalf("3.0.2 without CCM listed: caps %#x", tc.neg.Capabilities)
	}
	tc = newTester(t, cfg)
	tc.negotiateEncrypting(wire.Dialect311, smbcrypto.AES128GCM, smbcrypto.AES128CCM)
	for _, c := range tc.neg.Contexts {
		if c.Type == wire.CtxEncryption {
			t.Fatalf("encryption context %x without a common cipher", c.Data)
		}
	}
	tc = newTester(t, cfg)
	tc.negotiateEncrypting(wire.Dialect311, smbcrypto.AES128GCM, smbcrypto.AES256GCM)
	if tc.enc.cipher != smbcrypto.AES256GCM {
		t.Fatalf("3.1.1: cipher %v", tc.enc.cipher)
	}
	tc = newTester(t, nil)
	tc.negotiateEncrypting(wire.Dialect210)
	if tc.neg.Capabilities&wire.CapEncryption != 0 {
		t.Fatal("2.1 got CAP_ENCRYPTION")
	}
}
