package dcerpc

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// process handles one complete PDU. It must not retain pdu.
func (p *Pipe) process(h header, pdu []byte) {
	switch h.ptype {
	case ptypeBind:
		p.handleBind(h, pdu)
	case ptypeAlterContext:
		p.handleAlterContext(h, pdu)
	case ptypeRequest:
		p.handleRequest(h, pdu)
	case ptypeOrphaned:
		// The client abandoned a partly sent request (MS-RPCE 3.3.1.5.10).
		if p.call != nil && p.call.callID == h.callID {
			p.call = nil
		}
	case ptypeCoCancel:
		// Calls run to completion inside Write; nothing to cancel.
	default:
		// Server-to-client types, and auth3 (no auth is ever started).
		p.fatalFault(h.callID, faultProtoError)
	}
}

// handleRequest reassembles request fragments and runs complete calls.
func (p *Pipe) handleRequest(h header, pdu []byte) {
	switch {
	case !p.bound:
		p.fatalFault(h.callID, faultProtoError)
		return
	case h.authLen != 0:
		p.fatalFault(h.callID, faultAccessDenied)
		return
	}
	hdrLen := requestHeaderLen
	if h.flags&pfcObjectUUID != 0 {
		hdrLen += objectUUIDLen
	}
	if len(pdu) < hdrLen {
		p.fatalFault(h.callID, faultProtoError)
		return
	}
	ctxID := binary.LittleEndian.Uint16(pdu[20:])
	opnum := binary.LittleEndian.Uint16(pdu[22:])
	call, err := p.assemble(h, ctxID, opnum, pdu[hdrLen:])
	if err != nil {
		p.fatalFault(h.callID, faultProtoError)
		return
	}
	if call != nil {
		p.execute(call)
	}
}

// assemble adds one request fragment to the call being reassembled. It
// returns the call once its last fragment is in, nil before that.
func (p *Pipe) assemble(h header, ctxID, opnum uint16, stub []byte) (*pendingCall, error) {
	c := p.call
	if h.flags&pfcFirstFrag != 0 {
		if c != nil {
			return nil, fmt.Errorf("call %d started while call %d is incomplete", h.callID, c.callID)
		}
		c = &pendingCall{callID: h.callID, ctxID: ctxID, opnum: opnum}
	} else if c == nil || c.callID != h.callID || c.ctxID != ctxID || c.opnum != opnum {
		return nil, fmt.Errorf("unexpected continuation fragment of call %d", h.callID)
	}
	if len(c.stub)+len(stub) > maxRequestStub {
		return nil, fmt.Errorf("request stub over %d octets", maxRequestStub)
	}
	c.stub = append(c.stub, stub...)
	if h.flags&pfcLastFrag == 0 {
		p.call = c
		return nil, nil
	}
	p.call = nil
	return c, nil
}

// execute runs a complete call and queues its response or fault.
func (p *Pipe) execute(c *pendingCall) {
	if !p.hasContext(c.ctxID) {
		p.enqueue(buildFault(c.callID, c.ctxID, faultUnknownIf, pfcDidNotExec))
		return
	}
	stub, err := p.svc.dispatch(p.backend, p.user, c.opnum, c.stub)
	switch {
	case errors.Is(err, errOpRange):
		p.enqueue(buildFault(c.callID, c.ctxID, faultOpRangeError, pfcDidNotExec))
	case err != nil:
		p.enqueue(buildFault(c.callID, c.ctxID, faultBadStubData, pfcDidNotExec))
	default:
		pdus := buildResponses(c.callID, c.ctxID, stub, int(p.maxFrag))
		size := 0
		for _, pdu := range pdus {
			size += len(pdu)
		}
		if !p.room(size) {
			p.overflow = true // Write undoes the PDU that completed c
			return
		}
		for _, pdu := range pdus {
			p.enqueue(pdu)
		}
	}
}
