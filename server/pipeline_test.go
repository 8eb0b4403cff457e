package server

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
)

// Tests of the request pipeline (MS-SMB2 3.3.5.2): framing, the checks
// every request goes through before its handler, and compounds.

// expectStatus fails unless resp has status want.
func expectStatus(t testing.TB, what string, resp *resp, want ntstatus.Status) {
	t.Helper()
	if resp.status != want {
		t.Fatalf("%s: %v, want %v", what, resp.status, want)
	}
}

// unsignedTester is a session on a server that does not require signing,
// sending unsigned requests: the malformed-request checks are tested apart
// from signing (see TestPipelineSignedMalformedRequest).
func unsignedTester(t *testing.T, dialect uint16) *tester {
	tc := newSessionTester(t, &testerConfig{NoSigning: true}, dialect)
	tc.signAll = false
	return tc
}

// TestPipelineSignedMalformedRequest: a signed request that fails the
// checks made before the session is looked up (StructureSize, unknown
// command, undefined flags, async form), or a related element after one
// whose session is unknown, must get an error response signed with the
// session's key: MS-SMB2 3.3.5.2.4 verifies the signature before
// 3.3.5.2.6 checks the format, and 3.3.4.1.1 signs the response to a
// signed request.
func TestPipelineSignedMalformedRequest(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	expectStatus(t, "ECHO StructureSize 5", tc.roundTrip(tc.simpleReq(wire.CmdEcho).setStructSize(5)), ntstatus.InvalidParameter)
	expectStatus(t, "unknown command", tc.roundTrip(tc.simpleReq(wire.NumCommands)), ntstatus.InvalidParameter)
	a := tc.simpleReq(wire.CmdTreeDisconnect)
	a.hdr.SessionID = 0x77
	b := tc.simpleReq(wire.CmdEcho).related()
	tc.send(a, b)
	expectStatus(t, "related ECHO", tc.wait(b), ntstatus.InvalidParameter)
}

// TestPipelineStructureSize: a request whose StructureSize is not the
// command's fails with STATUS_INVALID_PARAMETER and the connection goes on
// [MS-SMB2 3.3.5.2.6].
func TestPipelineStructureSize(t *testing.T) {
	tc := unsignedTester(t, wire.Dialect311)
	for _, c := range []struct {
		r    *req
		size uint16
	}{
		{tc.simpleReq(wire.CmdEcho), 5},
		{tc.createReq(&wire.CreateRequest{Name: "x"}), 56},
		{tc.readReq(wire.FileID{}, 0, 1), 48},
		{tc.simpleReq(wire.CmdLogoff), 0},
	} {
		expectStatus(t, c.r.hdr.Command.String(), tc.roundTrip(c.r.setStructSize(c.size)), ntstatus.InvalidParameter)
	}
	if st := tc.echo(); st != ntstatus.Success {
		t.Fatalf("ECHO after the bad requests: %v", st)
	}
}

// TestPipelineTruncated: bodies cut short of their fixed part or of the
// buffers they point at fail with STATUS_INVALID_PARAMETER.
func TestPipelineTruncated(t *testing.T) {
	tc := unsignedTester(t, wire.Dialect300)
	id := tc.mustCreate("f")
	for _, r := range []*req{
		tc.readReq(id, 0, 1).truncate(20),                   // FileId cut
		tc.writeReq(id, 0, []byte("abcdefgh")).truncate(52), // data cut
		tc.createReq(&wire.CreateRequest{Name: "long-name"}).truncate(60),
		tc.queryInfoReq(id, wire.InfoFile, 4, 64, 0).truncate(30),
		tc.lockReq(id, wire.LockElement{Length: 1, Flags: wire.LockFlagExclusive}).truncate(30),
		tc.simpleReq(wire.CmdEcho).truncate(1),
	} {
		expectStatus(t, r.hdr.Command.String(), tc.roundTrip(r), ntstatus.InvalidParameter)
	}
}

// TestPipelineUnknownCommand: a command code past OPLOCK_BREAK is answered
// with STATUS_INVALID_PARAMETER, not a disconnect (as Samba).
func TestPipelineUnknownCommand(t *testing.T) {
	tc := unsignedTester(t, wire.Dialect210)
	for _, cmd := range []wire.Command{wire.NumCommands, 0x00FF, 0xFFFF} {
		r := tc.simpleReq(cmd)
		expectStatus(t, cmd.String(), tc.roundTrip(r), ntstatus.InvalidParameter)
	}
	if st := tc.echo(); st != ntstatus.Success {
		t.Fatalf("ECHO: %v", st)
	}
}

// TestPipelineFlags: undefined header flags, and the async form on
// anything but CANCEL, are STATUS_INVALID_PARAMETER.
func TestPipelineFlags(t *testing.T) {
	tc := unsignedTester(t, wire.Dialect302)
	r := tc.simpleReq(wire.CmdEcho)
	r.hdr.Flags |= 0x00000100
	expectStatus(t, "ECHO with flag 0x100", tc.roundTrip(r), ntstatus.InvalidParameter)
	r = tc.simpleReq(wire.CmdEcho)
	r.hdr.Flags |= wire.FlagAsyncCommand
	r.hdr.AsyncID = 7
	expectStatus(t, "async ECHO", tc.roundTrip(r), ntstatus.InvalidParameter)
	r = tc.simpleReq(wire.CmdEcho)
	r.hdr.Flags |= wire.FlagPriorityMask | wire.FlagDFSOperations
	resp := tc.roundTrip(r)
	expectStatus(t, "ECHO with priority and DFS", resp, ntstatus.Success)
	if resp.hdr.Flags&wire.FlagPriorityMask != wire.FlagPriorityMask {
		t.Fatalf("response flags %#x do not echo the priority", resp.hdr.Flags)
	}
}

// TestPipelineFileClosed: a FileId that names no open of the session and
// tree is STATUS_FILE_CLOSED for every handle-based command
// [MS-SMB2 3.3.5.2.10 ... 3.3.5.22]; an open of another session or tree
// is not reachable either.
func TestPipelineFileClosed(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	bogus := wire.FileID{Persistent: 1, Volatile: 0xDEAD}
	reqs := []*req{
		tc.closeReq(bogus, 0), tc.flushReq(bogus), tc.readReq(bogus, 0, 1), tc.writeReq(bogus, 0, []byte("x")),
		tc.lockReq(bogus, wire.LockElement{Length: 1, Flags: wire.LockFlagExclusive}),
		tc.queryDirReq(bogus, 1, 0, "*", 1024), tc.changeNotifyReq(bogus, 1, false, 1024),
		tc.queryInfoReq(bogus, wire.InfoFile, 4, 64, 0), tc.setInfoReq(bogus, wire.InfoFile, 14, make([]byte, 8), 0),
		tc.oplockAckReq(bogus, wire.OplockLevelII), tc.ioctlReq(bogus, wire.FsctlGetCompression, nil, 16),
	}
	for _, r := range reqs {
		expectStatus(t, r.hdr.Command.String(), tc.roundTrip(r), ntstatus.FileClosed)
	}

	// The same FileId through another tree of the session.
	id := tc.mustCreate("mine")
	first := tc.treeID
	tc.mustTreeConnect("share")
	expectStatus(t, "READ through another tree", tc.roundTrip(tc.readReq(id, 0, 1)), ntstatus.FileClosed)
	// ... and through another session on the connection.
	tc.treeID = first
	tc.mustSessionSetup("alice", "pw")
	r := tc.readReq(id, 0, 1)
	r.hdr.TreeID = first
	expectStatus(t, "READ through another session", tc.roundTrip(r), ntstatus.NetworkNameDeleted)
}

// TestPipelineUnknownTreeAndSession: a TreeId the session does not hold is
// STATUS_NETWORK_NAME_DELETED; a SessionId the connection does not hold is
// STATUS_USER_SESSION_DELETED, and for a signed request the response keeps
// the SIGNED flag [MS-SMB2 3.3.5.2.9, 3.3.5.2.11].
func TestPipelineUnknownTreeAndSession(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	r := tc.createReq(&wire.CreateRequest{Name: "x", CreateDisposition: wire.FileOpenIf})
	r.hdr.TreeID = 0x4242
	expectStatus(t, "CREATE on an unknown tree", tc.roundTrip(r), ntstatus.NetworkNameDeleted)

	r = tc.simpleReq(wire.CmdEcho)
	r.hdr.SessionID = 0x1234
	expectStatus(t, "ECHO of an unknown session", tc.roundTrip(r), ntstatus.Success)
	r = tc.simpleReq(wire.CmdTreeConnect)
	r.hdr.SessionID = 0x1234
	expectStatus(t, "TREE_CONNECT of an unknown session", tc.roundTrip(r.setStructSize(9)), ntstatus.UserSessionDeleted)
	r = tc.simpleReq(wire.CmdLogoff)
	r.hdr.SessionID = 0x1234
	r.signFlag = true
	resp := tc.roundTrip(r)
	expectStatus(t, "signed LOGOFF of an unknown session", resp, ntstatus.UserSessionDeleted)
	if resp.hdr.Flags&wire.FlagSigned == 0 {
		t.Fatal("the response to a signed request of a deleted session lost the SIGNED flag")
	}
	r = tc.simpleReq(wire.CmdLogoff)
	r.hdr.SessionID = 0
	expectStatus(t, "LOGOFF without a session", tc.roundTrip(r), ntstatus.UserSessionDeleted)
}

// TestPipelineSigningRequired: on a session that requires signing an
// unsigned request is refused with STATUS_ACCESS_DENIED, counted, and the
// connection dropped after badSignatureLimit failures [MS-SMB2 3.3.5.2.4].
func TestPipelineSigningRequired(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect300)
	for i := 1; i < badSignatureLimit; i++ {
		r := tc.simpleReq(wire.CmdEcho)
		r.noSign = true
		if i%2 == 0 {
			r.noSign, r.badSig = false, true
		}
		expectStatus(t, "unsigned ECHO", tc.roundTrip(r), ntstatus.AccessDenied)
	}
	if st := tc.echo(); st != ntstatus.Success {
		t.Fatalf("signed ECHO: %v", st)
	}
	r := tc.simpleReq(wire.CmdEcho)
	r.noSign = true
	tc.send(r)
	tc.expectClosed()
	if s := tc.srv().Stats(); s.UnsignedRejected+s.BadSignatures != badSignatureLimit {
		t.Fatalf("stats %+v, want %d refusals", s, badSignatureLimit)
	}
}

// TestPipelineSigningOptional: when neither side requires signing an
// unsigned request is served and its response is not signed; a signed one
// gets a signed response [MS-SMB2 3.3.4.1.1].
func TestPipelineSigningOptional(t *testing.T) {
	tc := newSessionTester(t, &testerConfig{NoSigning: true}, wire.Dialect311)
	tc.signAll = false
	resp := tc.roundTrip(tc.simpleReq(wire.CmdEcho))
	expectStatus(t, "unsigned ECHO", resp, ntstatus.Success)
	if resp.hdr.Flags&wire.FlagSigned != 0 {
		t.Fatal("response to an unsigned request is signed")
	}
	tc.signAll = true
	resp = tc.roundTrip(tc.simpleReq(wire.CmdEcho))
	if resp.hdr.Flags&wire.FlagSigned == 0 {
		t.Fatal("response to a signed request is not signed")
	}
	// A corrupt signature is refused even when signing is optional.
	r := tc.simpleReq(wire.CmdEcho)
	r.badSig = true
	expectStatus(t, "ECHO with a bad signature", tc.roundTrip(r), ntstatus.AccessDenied)
}

// TestPipelineCompoundRelatedAfterFailedCreate: when a CREATE fails, the
// related requests after it fail with the CREATE's status, and an
// unrelated request after them runs [MS-SMB2 3.3.5.2.7.2].
func TestPipelineCompoundRelatedAfterFailedCreate(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	c := tc.createReq(&wire.CreateRequest{DesiredAccess: rwAccess, CreateDisposition: wire.FileOpen, Name: "missing"})
	rd := tc.readReq(wire.AllOnes, 0, 1).related()
	cl := tc.closeReq(wire.AllOnes, 0).related()
	e := tc.simpleReq(wire.CmdEcho)
	tc.send(c, rd, cl, e)
	for _, r := range []*req{c, rd, cl} {
		expectStatus(t, r.hdr.Command.String(), tc.wait(r), ntstatus.ObjectNameNotFound)
	}
	expectStatus(t, "unrelated ECHO", tc.wait(e), ntstatus.Success)
}

// TestPipelineCompoundFirstRelated: a compound whose first element is
// related fails it and the related elements after it with
// STATUS_INVALID_PARAMETER; an unrelated element after them runs
// [MS-SMB2 3.3.5.2.7.2] <269>.
func TestPipelineCompoundFirstRelated(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	a := tc.simpleReq(wire.CmdEcho).related()
	b := tc.createReq(&wire.CreateRequest{DesiredAccess: rwAccess, CreateDisposition: wire.FileOpenIf, Name: "f"}).related()
	c := tc.simpleReq(wire.CmdEcho)
	tc.send(a, b, c)
	expectStatus(t, "first related ECHO", tc.wait(a), ntstatus.InvalidParameter)
	expectStatus(t, "related CREATE after it", tc.wait(b), ntstatus.InvalidParameter)
	expectStatus(t, "unrelated ECHO", tc.wait(c), ntstatus.Success)
}

// TestPipelineCompoundUnrelated: unrelated elements each carry their own
// ids; one failing does not affect the others, and a FileId of all-ones in
// an unrelated element names nothing.
func TestPipelineCompoundUnrelated(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect210)
	id := tc.mustCreate("u")
	w := tc.writeReq(id, 0, []byte("unrelated"))
	bad := tc.readReq(wire.AllOnes, 0, 1)
	rd := tc.readReq(id, 0, 9)
	tc.send(w, bad, rd)
	expectStatus(t, "WRITE", tc.wait(w), ntstatus.Success)
	expectStatus(t, "unrelated READ of FileId all-ones", tc.wait(bad), ntstatus.FileClosed)
	resp := tc.wait(rd)
	expectStatus(t, "READ", resp, ntstatus.Success)
	if data, _ := wire.ParseReadResponse(resp.msg); string(data) != "unrelated" {
		t.Fatalf("READ returned %q", data)
	}
}

// TestPipelineCompoundRelatedNoSession: a related element after one whose
// session does not exist fails with STATUS_INVALID_PARAMETER (Samba).
func TestPipelineCompoundRelatedNoSession(t *testing.T) {
	tc := unsignedTester(t, wire.Dialect311)
	a := tc.simpleReq(wire.CmdTreeDisconnect)
	a.hdr.SessionID = 0x77
	b := tc.simpleReq(wire.CmdEcho).related()
	tc.send(a, b)
	expectStatus(t, "TREE_DISCONNECT of an unknown session", tc.wait(a), ntstatus.UserSessionDeleted)
	expectStatus(t, "related ECHO", tc.wait(b), ntstatus.InvalidParameter)
}

// TestPipelineCompoundAsyncInMiddle: a request that would go
// asynchronous anywhere but last in a compound fails with
// STATUS_INTERNAL_ERROR, as Windows <162>.
func TestPipelineCompoundAsyncInMiddle(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	dir := tc.mustMkdir("d")
	n := tc.changeNotifyReq(dir, filterFileName, false, 1024)
	e := tc.simpleReq(wire.CmdEcho)
	tc.send(n, e)
	expectStatus(t, "CHANGE_NOTIFY in the middle", tc.wait(n), ntstatus.InternalError)
	expectStatus(t, "ECHO", tc.wait(e), ntstatus.Success)
}

// TestPipelineMultiCredit: a READ larger than its CreditCharge covers, or
// larger than MaxReadSize, is STATUS_INVALID_PARAMETER [MS-SMB2 3.3.5.2.5].
func TestPipelineMultiCredit(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	id := tc.mustCreate("m")
	if _, st := tc.write(id, 0, make([]byte, 200<<10)); st != ntstatus.Success {
		t.Fatal(st)
	}
	r := tc.readReq(id, 0, 128<<10)
	r.payload = 64 << 10 // charge 1 for 2
	expectStatus(t, "under-charged READ", tc.roundTrip(r), ntstatus.InvalidParameter)
	r = tc.readReq(id, 0, tc.neg.MaxReadSize+1)
	expectStatus(t, "READ over MaxReadSize", tc.roundTrip(r), ntstatus.InvalidParameter)
	b, st := tc.read(id, 0, 192<<10)
	if st != ntstatus.Success || len(b) != 192<<10 {
		t.Fatalf("3-credit READ: %v, %d bytes", st, len(b))
	}
}

// TestPipelineCredits: the server grants what is asked for within its cap,
// at least one, and a MessageId outside the window or used twice ends the
// connection [MS-SMB2 3.3.5.2.3].
func TestPipelineCredits(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	before := tc.credits()
	r := tc.simpleReq(wire.CmdEcho)
	r.hdr.Credits = 0
	tc.roundTrip(r)
	if tc.credits() != before {
		t.Fatalf("credits %d -> %d after an ECHO asking none (grant 1 for 1)", before, tc.credits())
	}
	r = tc.simpleReq(wire.CmdEcho)
	r.hdr.Credits = 500
	tc.roundTrip(r)
	if tc.credits() != before+499 {
		t.Fatalf("credits %d after asking 500, want %d", tc.credits(), before+499)
	}
	r = tc.simpleReq(wire.CmdEcho)
	r.keepID = true
	r.hdr.MessageID = tc.nextID - 1 // already used
	tc.send(r)
	tc.expectClosed()
	eventually(t, "ProtocolErrors counted", func() bool { return tc.srv().Stats().ProtocolErrors == 1 })
}

// TestPipelineMessageIDBeyondWindow: a MessageId past the granted credits
// ends the connection.
func TestPipelineMessageIDBeyondWindow(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect202)
	r := tc.simpleReq(wire.CmdEcho)
	r.keepID = true
	r.hdr.MessageID = tc.nextID + uint64(tc.credits())
	tc.send(r)
	tc.expectClosed()
}

// TestPipelineFatalFraming: malformed frames end the connection before
// anything else is read from it.
func TestPipelineFatalFraming(t *testing.T) {
	echo := func(tc *tester) []byte { return tc.frame(tc.simpleReq(wire.CmdEcho)) }
	tests := map[string]func(tc *tester){
		"request before NEGOTIATE": func(tc *tester) { tc.sendFrame(echo(tc)) },
		"second NEGOTIATE": func(tc *tester) {
			tc.negotiate(wire.Dialect210)
			tc.sendFrame(tc.frame(tc.negotiateReq(wire.Dialect210)))
		},
		"transform header": func(tc *tester) {
			tc.negotiate(wire.Dialect300)
			f := echo(tc)
			copy(f, wire.ProtocolTransform[:])
			tc.sendFrame(f)
		},
		"bad protocol id": func(tc *tester) { tc.sendFrame([]byte("GARBAGE-GARBAGE-GARBAGE")) },
		"bad transport byte": func(tc *tester) {
			tc.sendRaw([]byte{0x85, 0, 0, 0}) // NetBIOS keep-alive is not SMB2 direct TCP
		},
		"tiny PDU":     func(tc *tester) { tc.sendRaw([]byte{0, 0, 0, 2, 0xFE, 'S'}) },
		"huge PDU":     func(tc *tester) { tc.sendRaw([]byte{0, 0, 0x20, 0}) },
		"short header": func(tc *tester) { tc.sendFrame(wire.ProtocolSMB2[:]) },
		"response from client": func(tc *tester) {
			r := tc.negotiateReq(wire.Dialect311)
			r.hdr.Flags |= wire.FlagServerToRedir
			tc.send(r)
		},
		"bad NextCommand": func(tc *tester) {
			tc.negotiate(wire.Dialect311)
			f := tc.frame(tc.simpleReq(wire.CmdEcho), tc.simpleReq(wire.CmdEcho))
			wire.SetNextCommand(f, 68) // not 8-aligned
			tc.sendFrame(f)
		},
		"NextCommand past the frame": func(tc *tester) {
			tc.negotiate(wire.Dialect311)
			f := echo(tc)
			wire.SetNextCommand(f, 4096)
			tc.sendFrame(f)
		},
		"compound too long": func(tc *tester) {
			tc.negotiate(wire.Dialect311)
			var rs []*req
			for range maxCompound + 1 {
				rs = append(rs, tc.simpleReq(wire.CmdEcho))
			}
			tc.sendFrame(tc.frame(rs...))
		},
	}
	for name, send := range tests {
		t.Run(name, func(t *testing.T) {
			tc := newTester(t, &testerConfig{Timeout: 5 * time.Second})
			send(tc)
			tc.expectClosed()
		})
	}
}

// TestPipelineCancelUnknown: a CANCEL naming nothing gets no response and
// the connection continues [MS-SMB2 3.3.5.16]; so does a CANCEL with a
// bad signature.
func TestPipelineCancelUnknown(t *testing.T) {
	tc := newSessionTester(t, nil, wire.Dialect311)
	r := tc.simpleReq(wire.CmdCancel)
	r.keepID, r.hdr.MessageID = true, 999
	tc.send(r)
	r = tc.simpleReq(wire.CmdCancel)
	r.keepID, r.hdr.MessageID, r.badSig = true, 998, true
	tc.send(r)
	r = tc.simpleReq(wire.CmdCancel)
	r.keepID, r.hdr.MessageID = true, 997
	r.hdr.Flags |= wire.FlagAsyncCommand
	r.hdr.AsyncID = 12345
	tc.send(r)
	r = tc.simpleReq(wire.CmdCancel)
	r.keepID, r.hdr.MessageID, r.hdr.SessionID, r.signFlag = true, 996, 0xABC, true
	tc.send(r)
	tc.expectNoFrame(50 * time.Millisecond)
	if st := tc.echo(); st != ntstatus.Success {
		t.Fatalf("ECHO: %v", st)
	}
}

// smb1Negotiate returns an SMB1 SMB_COM_NEGOTIATE offering dialects.
func smb1Negotiate(dialects ...string) []byte {
	msg := make([]byte, 35)
	copy(msg, wire.ProtocolSMB1[:])
	msg[4] = 0x72
	var d []byte
	for _, s := range dialects {
		d = append(append(append(d, 0x02), s...), 0)
	}
	binary.LittleEndian.PutUint16(msg[33:], uint16(len(d)))
	return append(msg, d...)
}

// TestSMB1Negotiate: an SMB1 NEGOTIATE offering "SMB 2.???" gets an SMB2
// NEGOTIATE response with dialect 0x02FF and the client then negotiates
// again; one offering only "SMB 2.002" negotiates 2.0.2 at once; one
// without SMB2 dialects is refused by closing [MS-SMB2 3.3.5.3.1].
func TestSMB1Negotiate(t *testing.T) {
	t.Run("wildcard", func(t *testing.T) {
		tc := newTester(t, nil)
		tc.sendFrame(smb1Negotiate("NT LM 0.12", "SMB 2.002", "SMB 2.???"))
		resp := tc.recv()
		tc.nextID = 1
		nr, err := wire.ParseNegotiateResponse(resp.msg)
		if err != nil || nr.Dialect != wire.DialectWildcard {
			t.Fatalf("response %v: %+v, %v", resp, nr, err)
		}
		tc.negotiate(wire.Dialect210, wire.Dialect311)
		tc.mustSessionSetup("alice", "pw")
		tc.mustTreeConnect("share")
		// A second SMB1 negotiate is fatal.
		tc.sendFrame(smb1Negotiate("SMB 2.???"))
		tc.expectClosed()
	})
	t.Run("2.002", func(t *testing.T) {
		tc := newTester(t, nil)
		tc.sendFrame(smb1Negotiate("SMB 2.002"))
		resp := tc.recv()
		tc.nextID = 1
		tc.negotiated(&req{}, resp)
		if tc.dialect != wire.Dialect202 {
			t.Fatalf("dialect %#x", tc.dialect)
		}
		tc.mustSessionSetup("alice", "pw")
		if st := tc.echo(); st != ntstatus.Success {
			t.Fatal(st)
		}
	})
	t.Run("SMB1 only", func(t *testing.T) {
		tc := newTester(t, nil)
		tc.sendFrame(smb1Negotiate("NT LM 0.12"))
		tc.expectClosed()
		if s := tc.srv().Stats(); s.RefusedSMB1 != 1 {
			t.Fatalf("stats %+v", s)
		}
	})
	t.Run("not a negotiate", func(t *testing.T) {
		tc := newTester(t, nil)
		m := smb1Negotiate("SMB 2.???")
		m[4] = 0x73
		tc.sendFrame(m)
		tc.expectClosed()
	})
}
