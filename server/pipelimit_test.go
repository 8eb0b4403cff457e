package server

import (
	"encoding/binary"
	"encoding/hex"
	"net"
	"testing"

	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
)

type noUsers struct{}

func (noUsers) Lookup(string) ([16]byte, bool) { return [16]byte{}, false }

// newTestConn returns a connection of a server with these limits, not
// connected to anything (its socket is one end of a net.Pipe).
func newTestConn(t *testing.T, lim Limits) *conn {
	st := &Settings{ServerName: "TEST", Limits: lim}
	srv, err := New(Options{Settings: func() *Settings { return st }, Users: noUsers{}})
	if err != nil {
		t.Fatal(err)
	}
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	c := newConn(srv, a)
	c.dialect, c.maxIO = wire.Dialect311, 1<<20
	return c
}

// call runs one request (msg: header space and body) on c in session s
// and tree t, returning the response body and the status.
func call(c *conn, s *session, t *treeConnect, o *open, msg []byte, run func(*request, *response) error) ([]byte, error) {
	r := &request{c: c, msg: msg, sess: s, tree: t, open: o, hdr: wire.Header{CreditCharge: 1}}
	w := &response{}
	err := run(r, w)
	if err == nil && w.status != 0 {
		err = w.status
	}
	return w.buf, err
}

// srvsvcBind is a bind to srvsvc 3.0 over NDR20, as impacket sends it.
const srvsvcBind = "05000b03100000004800000001000000b810b810000000000100000000000100" +
	"c84f324b7016d30112785a47bf6ee18803000000045d888aeb1cc9119fe808002b10486002000000"

// getInfoRequest is a NetrServerGetInfo level 101 request PDU.
func getInfoRequest(callID uint32) []byte {
	b := []byte{5, 0, 0, 3, 0x10, 0, 0, 0, 0, 0, 0, 0}
	b = binary.LittleEndian.AppendUint32(b, callID)
	b = binary.LittleEndian.AppendUint32(b, 8)  // alloc_hint
	b = binary.LittleEndian.AppendUint16(b, 0)  // context
	b = binary.LittleEndian.AppendUint16(b, 21) // opnum
	b = append(b, 0, 0, 0, 0, 101, 0, 0, 0)     // NULL server name, level
	binary.LittleEndian.PutUint16(b[8:], uint16(len(b)))
	return b
}

// TestPipeOutputCap: a named pipe opened by CREATE on IPC$ queues no more
// unread output than MaxPipeOutput allows (one response into an empty
// queue); a WRITE whose request would go past it fails with
// STATUS_PIPE_BUSY, one that carries a request that fits and one that
// does not takes the first and reports that count.
func TestPipeOutputCap(t *testing.T) {
	c := newTestConn(t, Limits{MaxPipeOutput: 1})
	s := &session{id: 1}
	tree := &treeConnect{srv: c.srv, ipc: true}
	header := func() []byte { return make([]byte, wire.HeaderSize) }
	create := wire.AppendCreateRequest(header(), &wire.CreateRequest{ImpersonationLevel: 2, DesiredAccess: wire.GenericRead | wire.GenericWrite,
		ShareAccess: wire.FileShareRead | wire.FileShareWrite, CreateDisposition: wire.FileOpen, Name: "srvsvc"})
	body, err := call(c, s, tree, nil, create, (*request).create)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := wire.ParseCreateResponse(append(make([]byte, wire.HeaderSize), body...))
	if err != nil {
		t.Fatal(err)
	}
	o := c.opens.get(resp.FileID)
	write := func(data []byte) (uint32, error) {
		body, err := call(c, s, tree, o, wire.AppendWriteRequest(header(), &wire.WriteRequest{FileID: o.id, Data: data}), (*request).write)
		if err != nil {
			return 0, err
		}
		return wire.ParseWriteResponse(append(make([]byte, wire.HeaderSize), body...))
	}
	drain := func() {
		for o.pipe.Pending() > 0 {
			o.pipe.Read(make([]byte, 4096))
		}
	}
	bind, _ := hex.DecodeString(srvsvcBind)
	if _, err := write(bind); err != nil {
		t.Fatal(err)
	}
	drain()
	req := getInfoRequest(2)
	if n, err := write(req); err != nil || n != uint32(len(req)) {
		t.Fatalf("first request: %d, %v", n, err)
	}
	one := o.pipe.Pending()
	if _, err := write(req); err != ntstatus.PipeBusy {
		t.Fatalf("request past MaxPipeOutput: %v, want STATUS_PIPE_BUSY", err)
	}
	if o.pipe.Pending() != one {
		t.Fatalf("%d octets queued, want %d", o.pipe.Pending(), one)
	}
	drain()
	if n, err := write(append(getInfoRequest(3), getInfoRequest(4)...)); err != nil || n != uint32(len(req)) {
		t.Fatalf("two requests, room for one: %d, %v", n, err)
	}
}
