package dcerpc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// maxRequestStub caps the reassembled stub of one request. The requests
// of these interfaces are a few hundred octets.
const maxRequestStub = 64 << 10

// Backend supplies the data the pipes report. It is called with the pipe's
// lock held, from whatever goroutine calls Write or Transact.
type Backend interface {
	// Shares returns the shares user may see, in the order to list them,
	// including IPC$ (Type ShareTypeIPC|ShareTypeSpecial).
	Shares(user string) []ShareInfo
	// Server describes the server for NetrServerGetInfo and
	// NetrWkstaGetInfo.
	Server() ServerInfo
}

// Pipe is the server end of one open of \PIPE\srvsvc or \PIPE\wkssvc on
// IPC$. It is safe for concurrent use.
type Pipe struct {
	mu      sync.Mutex
	svc     service
	backend Backend
	user    string

	in     []byte   // octets of an incomplete PDU
	out    [][]byte // queued PDUs, one message each; out[0] may be partly read
	outLen int      // octets in out
	maxOut int      // cap on outLen (see NewPipe); negative: none
	// overflow is set by execute when a call's response did not fit
	// under maxOut and was dropped; Write then undoes the PDU.
	overflow bool

	bound    bool
	broken   bool
	maxFrag  uint16 // negotiated max_xmit_frag == max_recv_frag
	assoc    uint32
	contexts []uint16 // accepted presentation context ids (all NDR20)
	features uint8    // bind time features acked
	call     *pendingCall
}

// pendingCall is a request whose fragments are being reassembled.
type pendingCall struct {
	callID uint32
	ctxID  uint16
	opnum  uint16
	stub   []byte
}

// NewPipe returns the server end of a new open of the named pipe. name is
// "srvsvc" or "wkssvc", case-insensitive, optionally prefixed by \PIPE\ (or
// PIPE\, or a lone \). Other names fail with an error wrapping
// ErrUnknownPipe, for which the SMB layer answers
// STATUS_OBJECT_NAME_NOT_FOUND. user is passed to Backend.Shares.
//
// maxOutput caps the response octets queued for the client to read: a
// request whose response would take the queue past it is refused
// (ErrPipeBusy) and left unconsumed until the client reads. A response
// into an empty queue is always accepted, so one answer larger than the
// cap (NetrShareEnum answers reach about 1 MiB) cannot wedge the pipe. A
// negative maxOutput means no cap.
func NewPipe(name string, b Backend, user string, maxOutput int) (*Pipe, error) {
	if b == nil {
		return nil, errors.New("dcerpc: NewPipe with a nil Backend")
	}
	svc, ok := lookupService(name)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownPipe, name)
	}
	return &Pipe{svc: svc, backend: b, user: user, maxOut: maxOutput}, nil
}

// IsPipeName reports whether NewPipe accepts name.
func IsPipeName(name string) bool {
	_, ok := lookupService(name)
	return ok
}

// Name returns the canonical pipe name, "srvsvc" or "wkssvc".
func (p *Pipe) Name() string { return p.svc.name }

// lookupService maps a pipe name to the interface it serves.
func lookupService(name string) (service, bool) {
	n := strings.TrimLeft(name, `\/`)
	if len(n) >= 5 && strings.EqualFold(n[:4], "pipe") && (n[4] == '\\' || n[4] == '/') {
		n = n[5:]
	}
	switch {
	case strings.EqualFold(n, "srvsvc"):
		return srvsvcService(), true
	case strings.EqualFold(n, "wkssvc"):
		return wkssvcService(), true
	case strings.EqualFold(n, "lsarpc"):
		return lsarpcService(), true // lsarpc.go
	}
	return service{}, false
}

// Write takes PDU octets from an SMB WRITE. PDUs may be split across
// writes or several may arrive in one; each is processed as soon as its
// frag_length octets are in, and its response is queued for Read.
//
// RPC-level errors (unknown opnum, bad stub, rejected bind, request before
// bind, ...) are answered in-band with a fault or bind_nak PDU, and Write
// reports success. Some of them break the pipe: later writes fail with
// ErrPipeBroken. A malformed byte stream (bad version, frag_length, data
// representation) returns an error wrapping ErrProtocol, with n the octets
// consumed before the offending PDU, and also breaks the pipe.
//
// When a request's response would take the unread responses past the
// pipe's output cap (NewPipe), Write stops before that request's PDU and
// returns the octets consumed so far with ErrPipeBusy; the rest of b can
// be written again once the client has read.
func (p *Pipe) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.write(b)
}

func (p *Pipe) write(b []byte) (int, error) {
	if p.broken {
		return 0, ErrPipeBroken
	}
	done := 0
	mark, start := 0, p.mark() // where the current PDU began in b
	for done < len(b) && !p.broken {
		if !p.room(1) {
			// Checked per PDU: one large write of small requests must not
			// amplify into unbounded output. Past this check only a
			// control PDU (bind_ack, fault: under 1 KiB) is queued
			// without checking its size.
			return done, ErrPipeBusy
		}
		if len(p.in) == 0 {
			mark, start = done, p.mark()
		}
		n, err := p.feed(b[done:])
		if err != nil {
			p.breakPipe()
			return done, err
		}
		if p.overflow {
			// The PDU completed a call whose response does not fit: undo
			// the PDU, as if its octets in b had not been written.
			p.overflow = false
			p.rewind(start)
			return mark, ErrPipeBusy
		}
		done += n
	}
	if p.broken {
		// Broken by a violation answered in-band: drop what follows.
		p.breakPipe()
		return len(b), nil
	}
	return done, nil
}

// pduStart is the reassembly state before a request PDU, which is all
// that processing a request PDU changes besides the output.
type pduStart struct {
	in   []byte
	call *pendingCall
	stub []byte
}

func (p *Pipe) mark() pduStart {
	s := pduStart{in: p.in, call: p.call}
	if p.call != nil {
		s.stub = p.call.stub
	}
	return s
}

// rewind restores the state of s (appends since only wrote past the
// lengths it kept).
func (p *Pipe) rewind(s pduStart) {
	p.in, p.call = s.in, s.call
	if s.call != nil {
		s.call.stub = s.stub
	}
}

func (p *Pipe) breakPipe() {
	p.broken = true
	p.in = nil
	p.call = nil
}

// feed consumes octets of b toward the current PDU, processing the PDU
// once complete. It consumes at least one octet unless it fails.
func (p *Pipe) feed(b []byte) (int, error) {
	if len(p.in) == 0 && len(b) >= commonHeaderLen {
		// Common case: a whole PDU at the start of b, process in place.
		h, err := parseHeader(b)
		if err != nil {
			return 0, err
		}
		if int(h.fragLen) <= len(b) {
			p.process(h, b[:h.fragLen])
			return int(h.fragLen), nil
		}
	}
	want := commonHeaderLen
	if len(p.in) >= commonHeaderLen {
		want = int(binary.LittleEndian.Uint16(p.in[8:]))
	}
	n := min(want-len(p.in), len(b))
	p.in = append(p.in, b[:n]...)
	if len(p.in) < commonHeaderLen {
		return n, nil
	}
	h, err := parseHeader(p.in)
	if err != nil {
		return n, err
	}
	if len(p.in) < int(h.fragLen) {
		return n, nil
	}
	pdu := p.in
	p.in = nil
	p.process(h, pdu)
	return n, nil
}

// room reports whether n more octets of output may be queued: into an
// empty queue always, otherwise up to the cap.
func (p *Pipe) room(n int) bool {
	return p.outLen == 0 || p.maxOut < 0 || p.outLen+n <= p.maxOut
}

func (p *Pipe) enqueue(pdu []byte) {
	p.out = append(p.out, pdu)
	p.outLen += len(pdu)
}

// Read copies response octets into b for an SMB READ. It never returns
// octets of two PDUs: when the current PDU is longer than b, the rest of it
// stays queued and the next Read continues it (the SMB layer answers
// STATUS_BUFFER_OVERFLOW meanwhile; use ReadMessage to learn that
// atomically). With nothing queued it returns ErrNoData.
func (p *Pipe) Read(b []byte) (int, error) {
	n, _, err := p.ReadMessage(b)
	return n, err
}

// ReadMessage is Read that also reports whether the current message (PDU)
// has octets left that did not fit in b, which the SMB layer reports as
// STATUS_BUFFER_OVERFLOW.
func (p *Pipe) ReadMessage(b []byte) (n int, more bool, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.readMessage(b)
}

func (p *Pipe) readMessage(b []byte) (int, bool, error) {
	if len(p.out) == 0 {
		return 0, false, ErrNoData
	}
	head := p.out[0]
	n := copy(b, head)
	p.outLen -= n
	if n < len(head) {
		p.out[0] = head[n:]
		return n, true, nil
	}
	p.out[0] = nil
	p.out = p.out[1:]
	if len(p.out) == 0 {
		p.out = nil
	}
	return n, false, nil
}

// Transact serves FSCTL_PIPE_TRANSCEIVE: it writes in, then returns the
// first queued response message, truncated to maxOut octets; more reports
// that the message was truncated (STATUS_BUFFER_OVERFLOW), the rest being
// left for Read. Further response fragments, if any, also stay queued for
// Read (see Pending). When in produces no response yet (a non-final
// request fragment) out is empty and err nil.
//
// Transact fails with ErrPipeBusy when response data is already waiting,
// as a Windows transceive does, and otherwise with Write's errors.
func (p *Pipe) Transact(in []byte, maxOut int) (out []byte, more bool, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.outLen > 0 {
		return nil, false, ErrPipeBusy
	}
	if _, err := p.write(in); err != nil {
		return nil, false, err
	}
	if len(p.out) == 0 {
		return nil, false, nil
	}
	out = make([]byte, min(max(maxOut, 0), len(p.out[0])))
	n, more, _ := p.readMessage(out)
	return out[:n], more, nil
}

// Pending returns the number of response octets queued, over all messages
// (FSCTL_PIPE_PEEK ReadDataAvailable).
func (p *Pipe) Pending() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.outLen
}

// MessageRemaining returns the unread octets of the current message
// (FSCTL_PIPE_PEEK MessageLength), 0 when nothing is queued.
func (p *Pipe) MessageRemaining() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.out) == 0 {
		return 0
	}
	return len(p.out[0])
}
