package mitm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/signetsmb/signet/client"
	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/smbtest/wiretap"
	"github.com/signetsmb/signet/internal/wire"
)

// flipWritePayload flips the lowest bit of the first data byte of a WRITE
// request.
func flipWritePayload(msg []byte) []byte {
	return wiretap.Corrupt(msg, int(binary.LittleEndian.Uint16(msg[wire.HeaderSize+2:])))
}

// flipReadPayload flips the lowest bit of data byte i of a READ response.
func flipReadPayload(i int) func([]byte) []byte {
	return func(msg []byte) []byte { return wiretap.Corrupt(msg, int(msg[wire.HeaderSize+2])+i) }
}

// TestFlippedWriteByte: one data byte of a signed WRITE flipped on the way
// to the server. The signature no longer verifies, so the server refuses
// the request with STATUS_ACCESS_DENIED [MS-SMB2 3.3.5.2.4] and keeps the
// connection (the section lets it disconnect; Windows does not <263>, and
// Signet drops a connection only after 16 bad signatures). The refusal is
// signed, so the client trusts it and reports it. Nothing reaches the
// file, and the same session and handle keep working.
func TestFlippedWriteByte(t *testing.T) {
	e := newEnv(t, true)
	original := []byte("original content, never overwritten by a tampered request\n")
	e.putFile("victim.txt", original)
	tr := &trap{dir: wiretap.ClientToServer, cmd: wire.CmdWrite, edit: flipWritePayload}
	tap := e.tap(tr.mutate)
	_, sh := e.mount(tap.Addr(), victim())
	f, err := sh.OpenFile("victim.txt", os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	tr.arm()
	n, err := f.WriteAt([]byte("TAMPERED"), 0)
	if tr.hits.Load() != 1 {
		t.Fatalf("the WRITE was not tampered with (%d hits)", tr.hits.Load())
	}
	if n != 0 || statusOf(err) != ntstatus.AccessDenied || !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("tampered WRITE: n=%d err=%v; want 0 and STATUS_ACCESS_DENIED", n, err)
	}
	if got := e.onDisk("victim.txt"); !bytes.Equal(got, original) {
		t.Fatalf("file on disk changed by a tampered WRITE: %q", got)
	}
	checkTamperedExchange(t, tap, wire.CmdWrite, wiretap.Invalid)
	if st := e.srv.Stats(); st.BadSignatures != 1 || st.UnsignedRejected != 0 {
		t.Errorf("server counted %d bad signatures, %d unsigned; want 1, 0", st.BadSignatures, st.UnsignedRejected)
	}
	if !e.waitLog("request refused: bad signature", "command=WRITE") {
		t.Error("the refusal was not logged")
	}

	// The connection, session and handle survive: a genuine WRITE works.
	if n, err := f.WriteAt([]byte("GENUINE!"), 0); n != 8 || err != nil {
		t.Fatalf("genuine WRITE after the refusal: %d, %v", n, err)
	}
	if got, want := e.onDisk("victim.txt"), append([]byte("GENUINE!"), original[8:]...); !bytes.Equal(got, want) {
		t.Fatalf("file on disk %q, want %q", got, want)
	}
	e.stillServes()
}

// checkTamperedExchange checks from the wire that the one tampered request
// of command cmd had signature status sig (as the tap judges it with the
// session key) and that the server's refusal, STATUS_ACCESS_DENIED, was
// signed with the session key, which is what lets the real client trust it.
func checkTamperedExchange(t *testing.T, tap *wiretap.Tap, cmd wire.Command, sig wiretap.SigStatus) {
	t.Helper()
	var req *wiretap.Message
	for _, m := range find(tap, wiretap.ClientToServer, cmd) {
		if m.Mutated {
			req = &m
		}
	}
	if req == nil || req.SigValid != sig {
		t.Fatalf("tampered %v request: %v, want signature %v\n%s", cmd, req, sig, tap.Transcript())
	}
	for _, m := range find(tap, wiretap.ServerToClient, cmd) {
		if m.MessageID == req.MessageID {
			if m.Status != ntstatus.AccessDenied || m.SigValid != wiretap.Valid {
				t.Fatalf("answer to the tampered request: %s; want STATUS_ACCESS_DENIED, validly signed", &m)
			}
			return
		}
	}
	t.Fatalf("no answer to the tampered request\n%s", tap.Transcript())
}

// TestFlippedReadByte: one data byte of a signed READ response flipped on
// the way to the client. The client verifies every signed response before
// using it [MS-SMB2 3.2.5.1.3]: the read fails with ErrBadSignature, the
// caller's buffer never receives the tampered data, and the client closes
// the connection, so every later request of the session fails too.
// Covered for ReadAt (into the caller's buffer) and for ReadFile, whose
// parallel read-ahead hands data to the caller chunk by chunk.
func TestFlippedReadByte(t *testing.T) {
	e := newEnv(t, true)
	data := make([]byte, 200<<10)
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rnd.Uint32())
	}
	e.putFile("data.bin", data)
	tr := &trap{dir: wiretap.ServerToClient, cmd: wire.CmdRead, edit: flipReadPayload(10)}
	tap := e.tap(tr.mutate)

	t.Run("ReadAt", func(t *testing.T) {
		_, sh := e.mount(tap.Addr(), victim())
		f, err := sh.OpenFile("data.bin", os.O_RDONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		buf := bytes.Repeat([]byte{0xEE}, 1000)
		tr.arm()
		n, err := f.ReadAt(buf, 0)
		if tr.hits.Load() != 1 {
			t.Fatalf("the READ response was not tampered with")
		}
		if n != 0 || !errors.Is(err, client.ErrBadSignature) || !strings.Contains(err.Error(), "bad signature") {
			t.Fatalf("tampered READ: n=%d err=%v; want 0 and ErrBadSignature", n, err)
		}
		if !bytes.Equal(buf, bytes.Repeat([]byte{0xEE}, 1000)) {
			t.Fatalf("the caller's buffer was written: byte 10 is %#x (genuine %#x)", buf[10], data[10])
		}
		if _, err := sh.Stat("data.bin"); !errors.Is(err, client.ErrBadSignature) {
			t.Fatalf("session after a bad signature: %v; want the connection closed with ErrBadSignature", err)
		}
	})
	t.Run("ReadFile", func(t *testing.T) {
		d := victim()
		d.IOSize = 64 << 10 // several READs in flight
		_, sh := e.mount(tap.Addr(), d)
		tr.hits.Store(0)
		tr.skip.Store(1) // tamper with the second response, after data went to the caller
		tr.arm()
		got, err := sh.ReadFile("data.bin")
		if tr.hits.Load() != 1 {
			t.Fatalf("no READ response was tampered with")
		}
		if !errors.Is(err, client.ErrBadSignature) {
			t.Fatalf("ReadFile with a tampered chunk: %d bytes, %v; want ErrBadSignature", len(got), err)
		}
		if !bytes.HasPrefix(data, got) {
			t.Fatalf("ReadFile handed over %d bytes that are not the file's", len(got))
		}
	})
	if got := e.onDisk("data.bin"); !bytes.Equal(got, data) {
		t.Fatal("file on disk changed")
	}
	e.stillServes()
}

// TestStrippedSignature: SMB2_FLAGS_SIGNED cleared and the signature
// zeroed in transit, as if the peer did not sign.
//
// On a request of a session that requires signing the server must answer
// STATUS_ACCESS_DENIED [MS-SMB2 3.3.5.2.4] (it may disconnect; Windows
// does not <264>; Signet does not either, until 16 refusals). The server
// logs and counts the refusal, the CREATE has no effect on disk, and the
// next genuine request of the same session succeeds.
//
// On a response of such a session the client must refuse it [MS-SMB2
// 3.2.5.1.3]: ErrBadSignature, and the connection is closed.
func TestStrippedSignature(t *testing.T) {
	e := newEnv(t, true)
	t.Run("request", func(t *testing.T) {
		tr := &trap{dir: wiretap.ClientToServer, cmd: wire.CmdCreate, edit: wiretap.StripSignature}
		tap := e.tap(tr.mutate)
		_, sh := e.mount(tap.Addr(), victim())
		tr.arm()
		_, err := sh.Create("stripped.txt")
		if tr.hits.Load() != 1 {
			t.Fatal("the CREATE was not tampered with")
		}
		if statusOf(err) != ntstatus.AccessDenied {
			t.Fatalf("unsigned CREATE: %v; want STATUS_ACCESS_DENIED", err)
		}
		if e.existsOnDisk("stripped.txt") {
			t.Fatal("the unsigned CREATE created the file")
		}
		checkTamperedExchange(t, tap, wire.CmdCreate, wiretap.NotChecked)
		if st := e.srv.Stats(); st.UnsignedRejected != 1 || st.BadSignatures != 0 {
			t.Errorf("server counted %d unsigned, %d bad signatures; want 1, 0", st.UnsignedRejected, st.BadSignatures)
		}
		if !e.waitLog("request refused: unsigned request on a session that requires signing", "command=CREATE") {
			t.Error("the refusal was not logged")
		}
		// The session keeps working for genuine requests.
		if err := writeAll(sh, "after.txt", []byte("genuine")); err != nil {
			t.Fatalf("genuine CREATE/WRITE after the refusal: %v", err)
		}
		if got := e.onDisk("after.txt"); string(got) != "genuine" {
			t.Fatalf("file on disk %q", got)
		}
	})
	t.Run("response", func(t *testing.T) {
		e.putFile("r.txt", []byte("content"))
		tr := &trap{dir: wiretap.ServerToClient, cmd: wire.CmdRead, edit: wiretap.StripSignature}
		tap := e.tap(tr.mutate)
		_, sh := e.mount(tap.Addr(), victim())
		tr.arm()
		got, err := sh.ReadFile("r.txt")
		if tr.hits.Load() != 1 {
			t.Fatal("the READ response was not tampered with")
		}
		if len(got) != 0 || !errors.Is(err, client.ErrBadSignature) || !strings.Contains(err.Error(), "unsigned READ response") {
			t.Fatalf("unsigned READ response: %q, %v; want nothing and ErrBadSignature", got, err)
		}
		if _, err := sh.Stat("r.txt"); !errors.Is(err, client.ErrBadSignature) {
			t.Fatalf("session after an unsigned response: %v; want the connection closed", err)
		}
	})
	e.stillServes()
}
