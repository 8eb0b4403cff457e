package mitm

import (
	"bytes"
	"os"
	"testing"

	"github.com/signetsmb/signet/client"
	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/smbtest/wiretap"
	"github.com/signetsmb/signet/internal/wire"
)

// captured returns a copy of the i-th recorded message going dir with
// command cmd.
func captured(t *testing.T, tap *wiretap.Tap, dir wiretap.Direction, cmd wire.Command, i int) wiretap.Message {
	t.Helper()
	ms := find(tap, dir, cmd)
	if i >= len(ms) {
		t.Fatalf("only %d %v messages recorded\n%s", len(ms), cmd, tap.Transcript())
	}
	m := ms[i]
	m.Raw = append([]byte(nil), m.Raw...)
	return m
}

// openWrite opens name for writing and writes data at offset 0.
func openWrite(t *testing.T, sh *client.Share, name string, data ...[]byte) *client.File {
	t.Helper()
	f, err := sh.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	for _, d := range data {
		if _, err := f.WriteAt(d, 0); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// TestReplaySameConnection: the attacker re-sends a signed WRITE it saw,
// byte for byte, on the victim's own connection after the victim wrote
// something else at the same offset. Its signature is valid, but its
// MessageId was used: a sequence number is never accepted twice [MS-SMB2
// 3.3.1.1], and a request outside the command sequence window makes the
// server terminate the connection [MS-SMB2 3.3.5.2.3], which Signet does
// before looking at the request. The file keeps the later data.
func TestReplaySameConnection(t *testing.T) {
	e := newEnv(t, true)
	tap := e.tap(nil)
	_, sh := e.mount(tap.Addr(), victim())
	f := openWrite(t, sh, "replay.txt", []byte("AAAA-first"), []byte("BBBB-second"))
	w1 := captured(t, tap, wiretap.ClientToServer, wire.CmdWrite, 0)
	if w1.SigValid != wiretap.Valid {
		t.Fatalf("captured WRITE: %s", &w1)
	}

	if err := tap.Inject(w1.Conn, wiretap.ClientToServer, w1.Raw); err != nil {
		t.Fatal(err)
	}
	if !e.waitLog("connection closed", "reason=bad_message_id", "WRITE") {
		t.Error("the replayed WRITE did not end the connection")
	}
	if got := e.onDisk("replay.txt"); string(got) != "BBBB-second" {
		t.Fatalf("file on disk %q after the replay, want %q", got, "BBBB-second")
	}
	if _, err := f.WriteAt([]byte("CCCC"), 0); err == nil {
		t.Fatal("the victim's connection still works after the server dropped it")
	}
	if st := e.srv.Stats(); st.ProtocolErrors != 1 {
		t.Errorf("protocol errors %d, want 1", st.ProtocolErrors)
	}
	e.stillServes()
}

// TestReplayNewConnection: the attacker opens a connection of its own,
// negotiates with a copy of the victim's (unsigned) NEGOTIATE, and
// replays the victim's signed CREATE and WRITE while the victim's session
// and handle are still open. With few credits the replayed MessageIds lie
// outside the new connection's window: the server terminates the
// connection [MS-SMB2 3.3.5.2.3]. With enough credits they are in the
// window, but sessions belong to their connection: a signed request whose
// SessionId is not in Connection.SessionTable fails with
// STATUS_USER_SESSION_DELETED [MS-SMB2 3.3.5.2.4, 3.3.5.2.9]. Neither
// replay changes anything on disk, and the victim keeps working.
func TestReplayNewConnection(t *testing.T) {
	e := newEnv(t, true)
	tap := e.tap(nil)
	_, sh := e.mount(tap.Addr(), victim())
	if err := writeAll(sh, "gone.txt", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := sh.Remove("gone.txt"); err != nil {
		t.Fatal(err)
	}
	f := openWrite(t, sh, "kept.txt", []byte("AAAA-first"), []byte("BBBB-second"))
	neg := captured(t, tap, wiretap.ClientToServer, wire.CmdNegotiate, 0)
	create := captured(t, tap, wiretap.ClientToServer, wire.CmdCreate, 0) // gone.txt
	write := captured(t, tap, wiretap.ClientToServer, wire.CmdWrite, 1)   // "AAAA-first" into kept.txt
	if !bytes.Contains(write.Raw, []byte("AAAA-first")) || !bytes.Contains(create.Raw, []byte("g\x00o\x00n\x00e\x00")) {
		t.Fatalf("captured the wrong requests: %s, %s", &create, &write)
	}

	t.Run("outside the window", func(t *testing.T) {
		a := dialRaw(t, e.addr)
		a.negotiate(neg.Raw, 1) // window {1}
		if err := a.send(write.Raw); err != nil {
			t.Fatal(err)
		}
		if !a.closed() {
			t.Fatal("the server answered a replay outside the sequence window")
		}
		if !e.waitLog("reason=bad_message_id", "WRITE") {
			t.Error("the refusal was not logged")
		}
	})
	t.Run("inside the window", func(t *testing.T) {
		a := dialRaw(t, e.addr)
		a.negotiate(neg.Raw, 512)
		for _, m := range []wiretap.Message{create, write} {
			h, err := a.roundTrip(m.Raw)
			if err != nil {
				t.Fatalf("replayed %v: %v", m.Cmd, err)
			}
			if st := ntstatus.Status(h.Status); st != ntstatus.UserSessionDeleted {
				t.Errorf("replayed %v on a new connection: %v, want STATUS_USER_SESSION_DELETED", m.Cmd, st)
			}
		}
	})
	if e.existsOnDisk("gone.txt") {
		t.Error("the replayed CREATE recreated the file")
	}
	if got := e.onDisk("kept.txt"); string(got) != "BBBB-second" {
		t.Errorf("file on disk %q after the replays", got)
	}
	if _, err := f.WriteAt([]byte("CCCC"), 0); err != nil {
		t.Fatalf("the victim after the replays: %v", err)
	}
	if got := e.onDisk("kept.txt"); string(got) != "CCCC-second" {
		t.Errorf("file on disk %q, want the victim's write", got)
	}
	e.stillServes()
}
