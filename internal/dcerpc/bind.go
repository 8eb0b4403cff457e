package dcerpc

import (
	"encoding/binary"
	"fmt"
)

// Fragment size negotiation. Windows answers 4280 on named pipes; the
// lower bound is C706's MustRecvFragSize, which every implementation has
// to accept whatever the peer proposed.
const (
	serverMaxFrag = 4280
	minFrag       = 1432
)

// maxContexts bounds the presentation contexts one pipe keeps. Clients use
// one to three; alter_context cannot grow the table past this.
const maxContexts = 32

// defaultAssocGroup is the association group id handed out when the client
// asks for a new group (assoc_group_id 0). Nothing is shared between pipes,
// so any non-zero constant works; a client-supplied id is echoed.
const defaultAssocGroup = 0x0000534e

// ctxElem is one p_cont_elem_t of a bind or alter_context PDU.
type ctxElem struct {
	id        uint16
	abstract  []byte // syntaxLen octets
	transfers []byte // n * syntaxLen octets
}

func (e ctxElem) numTransfers() int { return len(e.transfers) / syntaxLen }

func (e ctxElem) transfer(i int) []byte { return e.transfers[i*syntaxLen : (i+1)*syntaxLen] }

// bindBody is the part of a bind or alter_context PDU after the header.
type bindBody struct {
	maxXmit uint16
	maxRecv uint16
	assoc   uint32
	elems   []ctxElem
}

// parseBindBody decodes the body of a bind or alter_context PDU (C706
// 12.6.4.3). The returned slices alias b.
func parseBindBody(b []byte) (bindBody, error) {
	const fixed = 12 // max_xmit, max_recv, assoc_group, n_context_elem, 3 reserved
	if len(b) < fixed {
		return bindBody{}, fmt.Errorf("%w: bind body of %d octets", ErrProtocol, len(b))
	}
	body := bindBody{
		maxXmit: binary.LittleEndian.Uint16(b[0:]),
		maxRecv: binary.LittleEndian.Uint16(b[2:]),
		assoc:   binary.LittleEndian.Uint32(b[4:]),
	}
	n := int(b[8])
	off := fixed
	body.elems = make([]ctxElem, 0, n)
	for i := 0; i < n; i++ {
		const elemFixed = 4 + syntaxLen // p_cont_id, n_transfer_syn, reserved, abstract
		if len(b)-off < elemFixed {
			return bindBody{}, fmt.Errorf("%w: context element %d truncated", ErrProtocol, i)
		}
		id := binary.LittleEndian.Uint16(b[off:])
		nts := int(b[off+2])
		abstract := b[off+4 : off+elemFixed]
		off += elemFixed
		if len(b)-off < nts*syntaxLen {
			return bindBody{}, fmt.Errorf("%w: transfer syntaxes of context element %d truncated", ErrProtocol, i)
		}
		body.elems = append(body.elems, ctxElem{id: id, abstract: abstract, transfers: b[off : off+nts*syntaxLen]})
		off += nts * syntaxLen
	}
	return body, nil
}

// negotiateFrag derives the fragment size used in both directions from the
// client's proposal, as Windows does: the smaller of the client's two
// values, clamped to [minFrag, serverMaxFrag], truncated to a multiple of 8.
func negotiateFrag(maxXmit, maxRecv uint16) uint16 {
	v := min(maxXmit, maxRecv, serverMaxFrag)
	v = max(v, minFrag)
	return v &^ 7
}

// isBTFN reports whether a transfer syntax is a bind time feature
// negotiation marker, returning its feature bitmask.
func isBTFN(ts []byte) (features uint8, ok bool) {
	if string(ts[:8]) != btfnPrefix || string(ts[16:]) != btfnVersion {
		return 0, false
	}
	return ts[8], true
}

// negotiation is the outcome of presentation context negotiation.
type negotiation struct {
	results  []ctxResult
	accepted []uint16 // context ids to add
	features uint8    // features acked, when a BTFN element was present
	btfn     bool
}

// negotiate evaluates the context elements of a bind (allowFeatures) or an
// alter_context against the pipe's interface (MS-RPCE 3.3.1.5.3, 3.3.1.5.6).
// It does not modify the pipe. An error means the PDU is malformed.
func (p *Pipe) negotiate(elems []ctxElem, allowFeatures bool) (negotiation, error) {
	neg := negotiation{results: make([]ctxResult, 0, len(elems))}
	for i, e := range elems {
		if e.numTransfers() == 0 {
			return negotiation{}, fmt.Errorf("%w: context element %d has no transfer syntax", ErrProtocol, i)
		}
		if f, ok := isBTFN(e.transfer(0)); ok && allowFeatures {
			if neg.btfn {
				return negotiation{}, fmt.Errorf("%w: more than one bind time feature negotiation element", ErrProtocol)
			}
			neg.btfn = true
			// Security context multiplexing needs auth, which is not
			// supported; orphaned PDUs never close the pipe.
			neg.features = f & featureKeepConnectionOnOrphan
			neg.results = append(neg.results, ctxResult{ctxNegotiateAck, uint16(neg.features), syntaxNull})
			continue
		}
		neg.results = append(neg.results, p.evaluate(e, neg.accepted))
		if neg.results[len(neg.results)-1].result == ctxAcceptance {
			neg.accepted = append(neg.accepted, e.id)
		}
	}
	return neg, nil
}

// evaluate decides one ordinary context element.
func (p *Pipe) evaluate(e ctxElem, pending []uint16) ctxResult {
	if !p.svc.matches(e.abstract) {
		return ctxResult{ctxProviderRejection, reasonAbstractSyntaxUnsupported, syntaxNull}
	}
	ndr20 := false
	for i := 0; i < e.numTransfers(); i++ {
		if string(e.transfer(i)) == syntaxNDR20 {
			ndr20 = true
			break
		}
	}
	if !ndr20 {
		return ctxResult{ctxProviderRejection, reasonTransferSyntaxesUnsupported, syntaxNull}
	}
	if !p.hasContext(e.id) && !containsID(pending, e.id) && len(p.contexts)+len(pending) >= maxContexts {
		return ctxResult{ctxProviderRejection, reasonLocalLimitExceeded, syntaxNull}
	}
	return ctxResult{ctxAcceptance, reasonNotSpecified, syntaxNDR20}
}

// commit records the accepted contexts of a successful negotiation.
func (p *Pipe) commit(neg negotiation) {
	for _, id := range neg.accepted {
		if !p.hasContext(id) {
			p.contexts = append(p.contexts, id)
		}
	}
	if neg.btfn {
		p.features = neg.features
	}
}

func (p *Pipe) hasContext(id uint16) bool { return containsID(p.contexts, id) }

func containsID(ids []uint16, id uint16) bool {
	for _, v := range ids {
		if v == id {
			return true
		}
	}
	return false
}

// handleBind answers a bind PDU with bind_ack or bind_nak. A bind_nak
// breaks the pipe, as the client is expected to close it.
func (p *Pipe) handleBind(h header, pdu []byte) {
	switch {
	case p.bound:
		p.nak(h.callID, nakReasonNotSpecified)
		return
	case h.authLen != 0:
		p.nak(h.callID, nakAuthTypeNotRecognized)
		return
	}
	body, err := parseBindBody(pdu[commonHeaderLen:])
	if err != nil || len(body.elems) == 0 {
		p.nak(h.callID, nakProtocolVersionNotSupported)
		return
	}
	neg, err := p.negotiate(body.elems, true)
	if err != nil {
		p.nak(h.callID, nakReasonNotSpecified)
		return
	}
	p.commit(neg)
	p.bound = true
	p.maxFrag = negotiateFrag(body.maxXmit, body.maxRecv)
	p.assoc = body.assoc
	if p.assoc == 0 {
		p.assoc = defaultAssocGroup
	}
	p.enqueue(buildBindAck(ptypeBindAck, h.callID, p.maxFrag, p.maxFrag, p.assoc, `\PIPE\`+p.svc.name, neg.results))
}

// handleAlterContext answers an alter_context PDU. Bind time feature
// negotiation only happens in bind; here such an element is an ordinary
// proposal (and is rejected, its transfer syntax not being NDR20).
func (p *Pipe) handleAlterContext(h header, pdu []byte) {
	switch {
	case !p.bound:
		p.fatalFault(h.callID, faultProtoError)
		return
	case h.authLen != 0:
		p.fatalFault(h.callID, faultAccessDenied)
		return
	}
	body, err := parseBindBody(pdu[commonHeaderLen:])
	if err != nil {
		p.fatalFault(h.callID, faultProtoError)
		return
	}
	neg, err := p.negotiate(body.elems, false)
	if err != nil {
		p.fatalFault(h.callID, faultProtoError)
		return
	}
	p.commit(neg)
	p.enqueue(buildBindAck(ptypeAlterContextResp, h.callID, p.maxFrag, p.maxFrag, p.assoc, "", neg.results))
}

// nak queues a bind_nak and breaks the pipe.
func (p *Pipe) nak(callID uint32, reason uint16) {
	p.enqueue(buildBindNak(callID, reason))
	p.broken = true
}

// fatalFault queues a fault for a protocol violation and breaks the pipe.
func (p *Pipe) fatalFault(callID uint32, status uint32) {
	p.enqueue(buildFault(callID, 0, status, pfcDidNotExec))
	p.broken = true
}
