package server

import (
	"encoding/binary"
	"encoding/hex"
	"testing"

	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
)

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
	o := openFile(t, c, s, tree, &wire.CreateRequest{ImpersonationLevel: 2, DesiredAccess: wire.GenericRead | wire.GenericWrite,
		ShareAccess: wire.FileShareRead | wire.FileShareWrite, CreateDisposition: wire.FileOpen, Name: "srvsvc"})
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
