package client

import (
	"context"
	"fmt"
	"slices"

	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/smbcrypto"
	"github.com/signetsmb/signet/internal/wire"
)

// Dialects this client implements, in ascending order [MS-SMB2 2.2.3].
const (
	Dialect202 uint16 = 0x0202
	Dialect210 uint16 = 0x0210
	Dialect300 uint16 = 0x0300
	Dialect302 uint16 = 0x0302
	Dialect311 uint16 = 0x0311
)

var allDialects = []uint16{Dialect202, Dialect210, Dialect300, Dialect302, Dialect311}

// DialectName formats a dialect as "2.0.2", "2.1", "3.0", "3.0.2" or
// "3.1.1".
func DialectName(d uint16) string { return wire.DialectName(d) }

// ParseDialect is the inverse of DialectName; it also accepts the hex form
// ("0x0311", "311") and Samba's names ("SMB3_11").
func ParseDialect(s string) (uint16, error) {
	for _, d := range allDialects {
		hex := fmt.Sprintf("%x", d)
		smb := fmt.Sprintf("SMB%d_%02x", d>>8, d&0xFF)
		if s == DialectName(d) || s == hex || s == "0x0"+hex || s == "0"+hex || s == smb {
			return d, nil
		}
	}
	return 0, fmt.Errorf("smb: unknown dialect %q (want 2.0.2, 2.1, 3.0, 3.0.2 or 3.1.1)", s)
}

// Signing algorithm ids of the SMB 3.1.1 SIGNING_CAPABILITIES context
// [MS-SMB2 2.2.3.1.7].
const (
	SigningHMACSHA256 uint16 = 0
	SigningAESCMAC    uint16 = 1
	SigningAESGMAC    uint16 = 2
)

// DefaultSigningAlgorithms returns the 3.1.1 offer order used when
// Dialer.SigningAlgorithms is nil: AES-GMAC, AES-CMAC, HMAC-SHA256.
func DefaultSigningAlgorithms() []uint16 {
	return []uint16{SigningAESGMAC, SigningAESCMAC, SigningHMACSHA256}
}

// SigningAlgorithmName returns "HMAC-SHA256", "AES-128-CMAC" or
// "AES-128-GMAC".
func SigningAlgorithmName(id uint16) string {
	switch id {
	case SigningHMACSHA256:
		return "HMAC-SHA256"
	case SigningAESCMAC:
		return "AES-128-CMAC"
	case SigningAESGMAC:
		return "AES-128-GMAC"
	}
	return fmt.Sprintf("signing-algorithm(%d)", id)
}

// preauthSaltSize is the salt length of our PREAUTH_INTEGRITY context, as
// Windows and Samba send [MS-SMB2 2.2.3.1.1] <287>.
const preauthSaltSize = 32

// minServerIOSize is the smallest MaxTransact/Read/WriteSize a client
// accepts [MS-SMB2 3.2.5.2].
const minServerIOSize = 65536

// negotiateRequest is the client's NEGOTIATE request [MS-SMB2 2.2.3]. It is
// kept after the exchange: VALIDATE_NEGOTIATE_INFO repeats its fields.
type negotiateRequest struct {
	SecurityMode uint16
	Capabilities uint32
	ClientGUID   [16]byte
	Dialects     []uint16
	Contexts     []wire.NegContext // sent only when 3.1.1 is offered
}

// appendNegotiateRequest appends the request body to dst, whose first
// byte is the start of the SMB2 header [MS-SMB2 2.2.3].
func appendNegotiateRequest(dst []byte, r *negotiateRequest) []byte {
	return wire.AppendNegotiateRequest(dst, &wire.NegotiateRequest{SecurityMode: r.SecurityMode,
		Capabilities: r.Capabilities, ClientGUID: r.ClientGUID, Dialects: r.Dialects, Contexts: r.Contexts})
}

// preauthContext returns a PREAUTH_INTEGRITY_CAPABILITIES context offering
// SHA-512 with salt [MS-SMB2 2.2.3.1.1].
func preauthContext(salt []byte) wire.NegContext { return wire.PreauthNegContext(salt) }

// signingContext returns a SIGNING_CAPABILITIES context offering algs in
// order [MS-SMB2 2.2.3.1.7].
func signingContext(algs []uint16) wire.NegContext {
	return wire.IDListNegContext(wire.CtxSigning, algs)
}

// NegotiateInfo is what a server answered to NEGOTIATE.
type NegotiateInfo struct {
	Dialect         uint16
	SigningEnabled  bool // SecurityMode has SIGNING_ENABLED
	SigningRequired bool // SecurityMode has SIGNING_REQUIRED
	// SigningAlgorithm is the algorithm signed messages use: HMAC-SHA256
	// for 2.x, AES-CMAC for 3.0/3.0.2, and for 3.1.1 the server's choice
	// from the SIGNING_CAPABILITIES context, or AES-CMAC without one.
	SigningAlgorithm uint16
	// SigningAlgorithmNegotiated reports that the 3.1.1 server answered
	// with a SIGNING_CAPABILITIES context, i.e. accepted one of the
	// offered algorithms.
	SigningAlgorithmNegotiated bool
	ServerGUID                 [16]byte
	Capabilities               uint32
	MaxTransactSize            uint32
	MaxReadSize                uint32
	MaxWriteSize               uint32
	// Cipher is the negotiated encryption cipher (CipherAES128CCM ...),
	// 0 when the connection cannot encrypt: AES-128-CCM for 3.0/3.0.2
	// servers with SMB2_GLOBAL_CAP_ENCRYPTION, the server's choice from
	// the ENCRYPTION_CAPABILITIES context for 3.1.1.
	Cipher uint16
}

// negotiation is the outcome of the NEGOTIATE exchange on one connection.
type negotiation struct {
	req     negotiateRequest
	resp    *wire.NegotiateResponse
	info    NegotiateInfo
	preauth smbcrypto.PreauthHash // 3.1.1: hash over the request and response
}

// negotiate runs the NEGOTIATE exchange [MS-SMB2 3.2.4.2.2.2, 3.2.5.2].
func (c *conn) negotiate(ctx context.Context, req *negotiateRequest) (*negotiation, error) {
	msg := newMessage(wire.CmdNegotiate, 128)
	msg = appendNegotiateRequest(msg, req)
	resp, err := c.roundTrip(ctx, &request{msg: msg, payload: 0})
	if err != nil {
		return nil, err
	}
	if s := ntstatus.Status(resp.hdr.Status); s != ntstatus.Success {
		return nil, statusError("NEGOTIATE", s)
	}
	n := &negotiation{req: *req}
	if n.resp, err = wire.ParseNegotiateResponse(resp.msg); err != nil {
		return nil, invalidResponse("NEGOTIATE", err)
	}
	if err := n.check(); err != nil {
		return nil, err
	}
	if n.info.Dialect == Dialect311 {
		n.preauth = n.preauth.Update(msg).Update(resp.msg)
	}
	return n, nil
}

// check validates the response against the request and fills n.info.
func (n *negotiation) check() error {
	r := n.resp
	if !slices.Contains(n.req.Dialects, r.Dialect) {
		return invalidResponse("NEGOTIATE", fmt.Errorf("server selected dialect 0x%04X, which was not offered", r.Dialect))
	}
	if r.MaxTransactSize < minServerIOSize || r.MaxReadSize < minServerIOSize || r.MaxWriteSize < minServerIOSize {
		return invalidResponse("NEGOTIATE", fmt.Errorf("server I/O sizes %d/%d/%d below 64 KiB",
			r.MaxTransactSize, r.MaxReadSize, r.MaxWriteSize))
	}
	n.info = NegotiateInfo{
		Dialect:         r.Dialect,
		SigningEnabled:  r.SecurityMode&wire.SigningEnabled != 0,
		SigningRequired: r.SecurityMode&wire.SigningRequired != 0,
		ServerGUID:      r.ServerGUID,
		Capabilities:    r.Capabilities,
		MaxTransactSize: r.MaxTransactSize,
		MaxReadSize:     r.MaxReadSize,
		MaxWriteSize:    r.MaxWriteSize,
	}
	switch {
	case r.Dialect == Dialect311:
		return n.checkContexts()
	case r.Dialect >= Dialect300:
		n.info.SigningAlgorithm = SigningAESCMAC
		n.cipher30()
	default:
		n.info.SigningAlgorithm = SigningHMACSHA256
	}
	return nil
}

// checkContexts validates the 3.1.1 negotiate contexts: exactly one
// PREAUTH_INTEGRITY context selecting SHA-512, and at most one
// SIGNING_CAPABILITIES context selecting one offered algorithm; without it
// 3.1.1 signs with AES-CMAC [MS-SMB2 3.2.5.2].
func (n *negotiation) checkContexts() error {
	n.info.SigningAlgorithm = SigningAESCMAC
	var preauth, signing, encryption int
	for _, c := range n.resp.Contexts {
		var err error
		switch c.Type {
		case wire.CtxPreauthIntegrity:
			preauth++
			err = checkPreauthContext(c.Data)
		case wire.CtxSigning:
			signing++
			err = n.checkSigningContext(c.Data)
		case wire.CtxEncryption:
			encryption++
			err = n.checkEncryptionContext(c.Data)
		case wire.CtxCompression, wire.CtxRDMATransform, wire.CtxTransport:
			// Not offered; a server must not send them. Tolerate an
			// empty selection, refuse anything else.
			err = checkUnofferedContext(c)
		}
		if err != nil {
			return invalidResponse("NEGOTIATE", err)
		}
	}
	if preauth != 1 || signing > 1 || encryption > 1 {
		return invalidResponse("NEGOTIATE", fmt.Errorf("%d preauth, %d signing and %d encryption contexts", preauth, signing, encryption))
	}
	return nil
}

func checkPreauthContext(d []byte) error {
	pc, err := wire.ParsePreauthContext(d)
	if err != nil {
		return err
	}
	if len(pc.HashAlgorithms) != 1 || pc.HashAlgorithms[0] != wire.HashSHA512 {
		return fmt.Errorf("preauth hash algorithms %v, want SHA-512", pc.HashAlgorithms)
	}
	return nil
}

func (n *negotiation) checkSigningContext(d []byte) error {
	ids, err := wire.ParseIDList(d, 0)
	if err != nil {
		return err
	}
	offered := signingAlgorithmsOffered(n.req.Contexts)
	if len(ids) != 1 || !slices.Contains(offered, ids[0]) {
		return fmt.Errorf("server selected signing algorithms %v; offered %v", ids, offered)
	}
	n.info.SigningAlgorithm = ids[0]
	n.info.SigningAlgorithmNegotiated = true
	return nil
}

// checkUnofferedContext accepts a context we did not offer only when it
// selects nothing (cipher or algorithm id 0).
func checkUnofferedContext(c wire.NegContext) error {
	if c.Type == wire.CtxEncryption {
		if ids, err := wire.ParseIDList(c.Data, 0); err == nil && len(ids) == 1 && ids[0] == 0 {
			return nil
		}
	}
	return fmt.Errorf("unexpected negotiate context 0x%04X", c.Type)
}

// signingAlgorithmsOffered returns the ids of our SIGNING_CAPABILITIES
// context.
func signingAlgorithmsOffered(ctxs []wire.NegContext) []uint16 {
	for _, c := range ctxs {
		if c.Type == wire.CtxSigning {
			ids, _ := wire.ParseIDList(c.Data, 0)
			return ids
		}
	}
	return nil
}
