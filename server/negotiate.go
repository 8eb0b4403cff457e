package server

import (
	"encoding/binary"
	"errors"
	"io"
	"slices"
	"strings"

	"github.com/signetsmb/signet/auth/spnego"
	"github.com/signetsmb/signet/internal/fscc"
	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/smbcrypto"
	"github.com/signetsmb/signet/internal/wire"
)

// allDialects in ascending order.
var allDialects = []uint16{wire.Dialect202, wire.Dialect210, wire.Dialect300, wire.Dialect302, wire.Dialect311}

// defaultSigningAlgorithms is the 3.1.1 preference order: GMAC is the
// fastest, then CMAC; HMAC-SHA256 only for compatibility.
var defaultSigningAlgorithms = []smbcrypto.Algorithm{smbcrypto.AESGMAC, smbcrypto.AESCMAC, smbcrypto.HMACSHA256}

// negotiate handles SMB2 NEGOTIATE [MS-SMB2 3.3.5.4].
func (r *request) negotiate(w *response) error {
	c := r.c
	c.reader.check() // the negotiated state is the reader's
	if c.negotiated {
		// "If Connection.NegotiateDialect is 0x0202 ... 0x0311, the server
		// MUST disconnect the connection."
		return fatal("renegotiate", "second NEGOTIATE on a negotiated connection")
	}
	if r.hdr.Flags&wire.FlagSigned != 0 {
		return ntstatus.InvalidParameter
	}
	req, err := wire.ParseNegotiateRequest(r.msg)
	if err != nil {
		return ntstatus.InvalidParameter
	}
	st := c.srv.settings()
	dialect := pickDialect(req.Dialects, st)
	if dialect == 0 {
		c.log.Info("negotiate refused: no common dialect", "offered", dialectList(req.Dialects))
		return ntstatus.NotSupported
	}
	c.settings = st
	c.dialect = dialect
	c.clientGUID = req.ClientGUID
	c.clientCaps = req.Capabilities
	c.clientSecMode = req.SecurityMode
	c.clientDialects = req.Dialects
	c.shouldSign = req.SecurityMode&wire.SigningRequired != 0
	c.requireSigning = st.RequireSigning
	c.signingAlg = smbcrypto.AESCMAC
	c.cipher = 0
	if dialect < wire.Dialect300 {
		c.signingAlg = smbcrypto.HMACSHA256
	}
	resp := c.negotiateResponse(dialect)
	if dialect == wire.Dialect311 {
		ctxs, err := c.negotiateContexts(req, st)
		if err != nil {
			return err
		}
		resp.Contexts = ctxs
	}
	w.buf = wire.AppendNegotiateResponse(w.buf, resp)
	c.negotiated = true
	c.shownDialect.Store(uint32(dialect))
	c.maxIO, c.maxWrite = resp.MaxReadSize, resp.MaxWriteSize
	if dialect == wire.Dialect311 {
		// H = SHA512(H || request); the response is hashed once its header
		// is final [MS-SMB2 3.3.5.4].
		c.preauth = smbcrypto.PreauthHash{}.Update(r.msg)
		r.afterSend = func(elem []byte) { c.preauth = c.preauth.Update(elem) }
	}
	c.log.Debug("negotiated", "dialect", wire.DialectName(dialect), "client_requires_signing", c.shouldSign,
		"server_requires_signing", c.requireSigning, "signing", c.signingAlg.String())
	return nil
}

// negotiateResponse builds the parts common to SMB2 and SMB1-initiated
// negotiation.
func (c *conn) negotiateResponse(dialect uint16) *wire.NegotiateResponse {
	mode := wire.SigningEnabled
	if c.srv.settings().RequireSigning {
		mode |= wire.SigningRequired
	}
	c.serverSecMode = mode
	var caps uint32
	maxIO, maxWrite := uint32(maxIOSize), uint32(maxWriteSize)
	switch {
	case dialect == wire.Dialect202:
		maxIO, maxWrite = maxIOSize202, maxIOSize202
	case dialect == wire.DialectWildcard:
		caps = wire.CapLargeMTU
		maxIO, maxWrite = maxIOSize202, maxIOSize202
	default:
		caps = wire.CapLargeMTU | wire.CapLeasing | c.offerEncryption(dialect, c.srv.settings()) // leasing: 2.1 and later
		caps |= c.dirLeaseCaps(dialect)                                                          // dirlease.go: 3.x
	}
	if dialect >= wire.Dialect300 && dialect != wire.DialectWildcard && c.srv.settings().Multichannel &&
		c.clientCaps&wire.CapMultiChannel != 0 {
		caps |= wire.CapMultiChannel
	}
	c.serverCaps = caps
	return &wire.NegotiateResponse{
		SecurityMode:    mode,
		Dialect:         dialect,
		ServerGUID:      c.srv.guid,
		Capabilities:    caps,
		MaxTransactSize: maxIO,
		MaxReadSize:     maxIO,
		MaxWriteSize:    maxWrite,
		SystemTime:      fscc.Filetime(c.srv.opts.Now()),
		SecurityBuffer:  spnego.NegTokenInit2(c.mechanisms(c.srv.settings())...),
	}
}

// pickDialect returns the highest dialect offered by the client within the
// configured range, or 0.
func pickDialect(offered []uint16, st *Settings) uint16 {
	best := uint16(0)
	for _, d := range offered {
		if slices.Contains(allDialects, d) && d >= st.MinDialect && d <= st.MaxDialect && d > best {
			best = d
		}
	}
	return best
}

func dialectList(ds []uint16) string {
	names := make([]string, len(ds))
	for i, d := range ds {
		names[i] = wire.DialectName(d)
	}
	return strings.Join(names, " ")
}

// negotiateContexts processes the 3.1.1 contexts and returns the response
// contexts [MS-SMB2 3.3.5.4].
func (c *conn) negotiateContexts(req *wire.NegotiateRequest, st *Settings) ([]wire.NegContext, error) {
	var out []wire.NegContext
	var sawPreauth bool
	for _, ctx := range req.Contexts {
		switch ctx.Type {
		case wire.CtxPreauthIntegrity:
			if sawPreauth {
				return nil, ntstatus.InvalidParameter
			}
			sawPreauth = true
			p, err := wire.ParsePreauthContext(ctx.Data)
			if err != nil {
				return nil, ntstatus.InvalidParameter
			}
			if !slices.Contains(p.HashAlgorithms, wire.HashSHA512) {
				return nil, ntstatus.NoPreauthIntegrityHashOverlap
			}
			salt := make([]byte, 32)
			if _, err := io.ReadFull(c.srv.opts.Rand, salt); err != nil {
				return nil, err
			}
			d := binary.LittleEndian.AppendUint16(nil, 1)
			d = binary.LittleEndian.AppendUint16(d, 32)
			d = binary.LittleEndian.AppendUint16(d, wire.HashSHA512)
			out = append(out, wire.NegContext{Type: wire.CtxPreauthIntegrity, Data: append(d, salt...)})
		case wire.CtxEncryption:
			ids, err := wire.ParseIDList(ctx.Data, 0)
			if err != nil {
				return nil, ntstatus.InvalidParameter
			}
			if ec, ok := c.chooseCipher(ids, st); ok {
				out = append(out, ec)
			}
		case wire.CtxSigning:
			ids, err := wire.ParseIDList(ctx.Data, 0)
			if err != nil {
				return nil, ntstatus.InvalidParameter
			}
			if alg, ok := chooseSigning(ids, st.SigningAlgorithms); ok {
				c.signingAlg = alg
				d := binary.LittleEndian.AppendUint16(nil, 1)
				d = binary.LittleEndian.AppendUint16(d, uint16(alg))
				out = append(out, wire.NegContext{Type: wire.CtxSigning, Data: d})
			}
		default:
			// Netname, compression, transport, RDMA and unknown contexts are
			// tolerated and not answered (we support none of them).
		}
	}
	if !sawPreauth {
		return nil, ntstatus.InvalidParameter
	}
	return out, nil
}

// chooseSigning picks the server's most preferred algorithm among those the
// client offered (Samba's rule).
func chooseSigning(offered []uint16, prefs []smbcrypto.Algorithm) (smbcrypto.Algorithm, bool) {
	if len(prefs) == 0 {
		prefs = defaultSigningAlgorithms
	}
	for _, p := range prefs {
		if slices.Contains(offered, uint16(p)) {
			return p, true
		}
	}
	return 0, false
}

var errSMB1Refused = errors.New("SMB1-only client refused")

// smb1Negotiate answers an SMB1 multi-protocol NEGOTIATE that offers SMB2
// with an SMB2 NEGOTIATE response [MS-SMB2 3.3.5.3.1]; anything else is
// refused by closing the connection.
func (c *conn) smb1Negotiate(buf []byte) error {
	c.reader.check() // the negotiated state is the reader's
	if c.negotiated || c.wildcardSent {
		return fatal("smb1_after_negotiate", "SMB1 message on a negotiated connection")
	}
	dialects, err := wire.ParseSMB1Negotiate(buf)
	if err != nil {
		c.srv.stats.refusedSMB1.Add(1)
		c.log.Info("SMB1 message refused: SMBv1 is not supported", "err", err)
		return errSMB1Refused
	}
	st := c.srv.settings()
	var dialect uint16
	switch {
	case slices.Contains(dialects, wire.SMB1DialectSMB2Wildcard) && st.MaxDialect >= wire.Dialect210:
		dialect = wire.DialectWildcard
	case slices.Contains(dialects, wire.SMB1DialectSMB2002) && st.MinDialect <= wire.Dialect202:
		dialect = wire.Dialect202
	default:
		c.srv.stats.refusedSMB1.Add(1)
		c.log.Info("SMB1-only client refused: SMBv1 is not supported; the client offered no SMB2 dialect",
			"dialects", strings.Join(dialects, ","))
		return errSMB1Refused
	}
	if err := c.credits.consume(0, 1); err != nil {
		return fatal("bad_message_id", "%v", err)
	}
	resp := c.negotiateResponse(dialect)
	frame := getBuf(1 << 10)[:4+wire.HeaderSize]
	h := wire.Header{Command: wire.CmdNegotiate, Flags: wire.FlagServerToRedir, Credits: c.credits.grant(1, 1)}
	h.Put(frame[4:])
	msg := wire.AppendNegotiateResponse(frame[4:], resp)
	frame = frame[:4+len(msg)]
	binary.BigEndian.PutUint32(frame, uint32(len(msg)))
	if dialect == wire.Dialect202 {
		// The connection's client fields are those of an SMB2 NEGOTIATE
		// offering 2.0.2 alone (as Samba's server records them): a client
		// that offered nothing newer validates against them, and one whose
		// SMB2 NEGOTIATE a man in the middle replaced with this SMB1 one
		// fails VALIDATE_NEGOTIATE_INFO [MS-SMB2 3.3.5.15.12].
		c.clientDialects = []uint16{wire.Dialect202}
		c.settings = st
		c.dialect = dialect
		c.requireSigning = st.RequireSigning
		c.signingAlg = smbcrypto.HMACSHA256
		c.maxIO, c.maxWrite = maxIOSize202, maxIOSize202
		c.negotiated = true
		c.shownDialect.Store(uint32(dialect))
	} else {
		c.wildcardSent = true
	}
	c.send(frame)
	return nil
}
