package client

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"slices"
	"time"

	"github.com/signetsmb/signet/internal/wire"
)

// DefaultPort is the SMB direct-TCP port.
const DefaultPort = "445"

// Default and maximum I/O sizes.
const (
	defaultIOSize      = 4 << 20 // bytes per READ/WRITE request
	maxIOSize          = 8 << 20 // cap on the negotiated MaxRead/WriteSize
	defaultMaxInFlight = 8       // READ/WRITE requests in flight per call
	smallIOSize        = 64 << 10
)

// MaxChannels is the largest Dialer.Channels: the most channels a
// Windows server allows per session.
const MaxChannels = 32

// A Dialer holds the options for connecting and logging on to an SMB2/3
// server. The zero value is secure: it offers every dialect and requires
// signing (the "Digitally sign communications (always)" client policy),
// so it refuses guest, anonymous and unsigned sessions; set AllowUnsigned
// to turn the policy off.
type Dialer struct {
	// User, Password and Domain are the NTLM credentials. An empty User
	// logs on anonymously, which never yields a signed session.
	User, Password, Domain string

	// Kerberos, when set, logs on with Kerberos (kerberos.go).
	Kerberos *Kerberos

	// RequireSigning is the client policy "Microsoft network client:
	// Digitally sign communications (always)". When set, NEGOTIATE and
	// SESSION_SETUP advertise SIGNING_REQUIRED and any session that would
	// not be signed (guest, anonymous, unsigned final SESSION_SETUP
	// response) is refused with ErrSigningRequired. Whether or not it is
	// set, a server that requires signing gets a signed session.
	//
	// The policy is on unless AllowUnsigned is set; RequireSigning = true
	// keeps it on even then (for callers written before AllowUnsigned).
	RequireSigning bool

	// AllowUnsigned turns the client signing policy off: the session is
	// signed only when the server requires it, and guest and anonymous
	// logons are possible.
	AllowUnsigned bool

	// MinDialect and MaxDialect bound the dialects offered (Dialect202 ..
	// Dialect311); zero means no bound.
	MinDialect, MaxDialect uint16

	// SigningAlgorithms is the SMB 3.1.1 SIGNING_CAPABILITIES offer, most
	// preferred first; nil means DefaultSigningAlgorithms() (AES-GMAC,
	// AES-CMAC, HMAC-SHA256).
	SigningAlgorithms []uint16

	// Timeout bounds Dial (connect, NEGOTIATE and logon) and every later
	// request; zero means no limit beyond the context's.
	Timeout time.Duration

	// IOSize is the payload of one READ or WRITE request; zero means 4 MiB.
	// It is capped by 8 MiB and by the server's MaxReadSize (READs) or
	// MaxWriteSize (WRITEs), and is 64 KiB on 2.0.2.
	IOSize int

	// MaxInFlight is how many READ or WRITE requests one ReadAt, WriteAt,
	// ReadFrom or WriteTo keeps outstanding per channel; zero means 8.
	MaxInFlight int

	// Channels is how many connections the session should use
	// (multichannel, SMB 3.x); zero or one means one. With more, the
	// NEGOTIATE request advertises SMB2_GLOBAL_CAP_MULTI_CHANNEL and, when
	// the server offers it too, Dial binds Channels-1 further connections
	// to the session (to the addresses the server's
	// FSCTL_QUERY_NETWORK_INTERFACE_INFO lists, or else to the dialed
	// address); a failed binding fails Dial. Large reads and writes are
	// spread over the channels, and a request in flight on a channel that
	// is lost is reissued on another. Without multichannel on the server
	// (or on 2.x, or for a guest logon) the session has one connection.
	Channels int

	// DialContext, when set, opens the TCP connections of the session
	// instead of a net.Dialer; network is "tcp".
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)

	// RequireEncryption encrypts every request after SESSION_SETUP and
	// refuses a server that does not negotiate a cipher (2.x, or 3.x
	// without encryption) with ErrNoEncryption (encrypt.go). Without it
	// the client still encrypts when the server or a share asks.
	RequireEncryption bool

	// Ciphers is the SMB 3.1.1 ENCRYPTION_CAPABILITIES offer, most
	// preferred first; nil means DefaultCiphers().
	Ciphers []uint16

	// NoLeases turns leases off: CREATE asks for none (and so gets no
	// durable handle, which needs one). By default, when the server
	// offers SMB2_GLOBAL_CAP_LEASING (2.1 and later), every open of a
	// file asks for a lease: read and handle caching, plus write caching
	// when it may write (v2 on 3.x, v1 on 2.1) (lease.go).
	NoLeases bool

	// NoDurable turns durable handles and reconnection off. By default an
	// open with a lease also asks for a durable handle (v2 with a random
	// CreateGuid on 3.x, v1 on 2.1), and a session with one channel whose
	// connection is lost reconnects and reclaims its durable handles
	// (durable.go). The session then keeps the password in memory to log
	// on again.
	NoDurable bool

	// NoReconnect keeps durable handles but never reconnects.
	NoReconnect bool

	// Failover lists other addresses ("host", "host:port") of the same
	// service, such as the other nodes of a Signet cluster: when the
	// connection is lost, each reconnect attempt tries the current
	// address first, then these in order, and the session moves to the
	// first that takes it (PreviousSessionId, durable handles reclaimed
	// there). A failover address may answer another ServerGuid (each
	// node has its own); the dialect, signing algorithm and cipher must
	// be the same (failover.go). Like reconnection, it applies to
	// sessions of one channel.
	Failover []string

	// DurableTimeout is the durable v2 timeout asked for; zero means
	// 60 s. The server may grant less (Signet caps it at 5 minutes).
	DurableTimeout time.Duration

	// WriteCache is how many bytes File.Write may keep back under a lease
	// with write caching (sequential writes, sent together later); zero
	// means 1 MiB, negative turns write caching off. It is capped by the
	// I/O size. Cached bytes are sent before any other operation on the
	// file, by Close and Sync, and before the client acknowledges a break
	// that takes write caching away, so another client opening the file
	// sees them [MS-SMB2 3.2.5.19.2].
	WriteCache int

	// ReadCache is how many bytes of data already read a file keeps
	// under a lease with read caching, to serve later Read and ReadAt
	// calls within that range without a READ; zero means 1 MiB, negative
	// turns read caching off. The cache is dropped when a break takes
	// read caching away (before the acknowledgment), by every write and
	// truncate of the file, by Close and by a reconnect. WriteTo (io.Copy)
	// does not use it.
	ReadCache int
}

// dialects returns the dialects to offer, ascending.
func (d *Dialer) dialects() ([]uint16, error) {
	lo, hi := d.MinDialect, d.MaxDialect
	if lo == 0 {
		lo = Dialect202
	}
	if hi == 0 {
		hi = Dialect311
	}
	for _, v := range []uint16{lo, hi} {
		if !slices.Contains(allDialects, v) {
			return nil, fmt.Errorf("smb: unsupported dialect 0x%04X", v)
		}
	}
	var out []uint16
	for _, v := range allDialects {
		if v >= lo && v <= hi {
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("smb: MinDialect %s is above MaxDialect %s", DialectName(lo), DialectName(hi))
	}
	return out, nil
}

// signingAlgorithms returns the validated 3.1.1 offer.
func (d *Dialer) signingAlgorithms() ([]uint16, error) {
	if d.SigningAlgorithms == nil {
		return DefaultSigningAlgorithms(), nil
	}
	if len(d.SigningAlgorithms) == 0 {
		return nil, errors.New("smb: SigningAlgorithms is empty")
	}
	for i, a := range d.SigningAlgorithms {
		if a > SigningAESGMAC || slices.Contains(d.SigningAlgorithms[:i], a) {
			return nil, fmt.Errorf("smb: bad or repeated signing algorithm %d", a)
		}
	}
	return d.SigningAlgorithms, nil
}

// securityMode is the NEGOTIATE SecurityMode of the client policy
// [MS-SMB2 3.2.4.2.2.2].
func (d *Dialer) securityMode() uint16 {
	if d.signingRequired() {
		return wire.SigningRequired
	}
	return wire.SigningEnabled
}

// signingRequired is the effective client policy.
func (d *Dialer) signingRequired() bool { return d.RequireSigning || !d.AllowUnsigned }

// negotiateRequest builds the NEGOTIATE request of this Dialer.
func (d *Dialer) negotiateRequest() (*negotiateRequest, error) {
	dialects, err := d.dialects()
	if err != nil {
		return nil, err
	}
	req := &negotiateRequest{SecurityMode: d.securityMode(), Dialects: dialects}
	if dialects[len(dialects)-1] >= Dialect210 {
		req.Capabilities = wire.CapLargeMTU
		if _, err := rand.Read(req.ClientGUID[:]); err != nil {
			return nil, err
		}
	}
	if dialects[len(dialects)-1] >= Dialect300 && d.Channels > 1 {
		req.Capabilities |= wire.CapMultiChannel
	}
	if slices.Contains(dialects, Dialect311) {
		algs, err := d.signingAlgorithms()
		if err != nil {
			return nil, err
		}
		salt, err := newSalt()
		if err != nil {
			return nil, err
		}
		req.Contexts = []wire.NegContext{preauthContext(salt), signingContext(algs)}
	}
	if err := d.offerEncryption(req); err != nil {
		return nil, err
	}
	return req, nil
}

// newSalt returns a random PREAUTH_INTEGRITY salt.
func newSalt() ([]byte, error) {
	salt := make([]byte, preauthSaltSize)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	return salt, nil
}

// SplitAddr splits "host", "host:port", "[v6]:port" or a bare IPv6
// address into the server name and a dialable host:port (port 445 by
// default).
func SplitAddr(addr string) (host, hostport string, err error) {
	if addr == "" {
		return "", "", errors.New("smb: empty address")
	}
	if h, p, err := net.SplitHostPort(addr); err == nil {
		if h == "" || p == "" {
			return "", "", fmt.Errorf("smb: bad address %q", addr)
		}
		return h, net.JoinHostPort(h, p), nil
	}
	h := addr
	if len(h) > 2 && h[0] == '[' && h[len(h)-1] == ']' {
		h = h[1 : len(h)-1]
	}
	if net.ParseIP(h) == nil && (slices.Contains([]byte(h), ':') || slices.Contains([]byte(h), '/')) {
		return "", "", fmt.Errorf("smb: bad address %q", addr)
	}
	return h, net.JoinHostPort(h, DefaultPort), nil
}

// withTimeout applies d.Timeout to ctx.
func (d *Dialer) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if d.Timeout > 0 {
		return context.WithTimeout(ctx, d.Timeout)
	}
	return context.WithCancel(ctx)
}

// connect opens the TCP connection and runs NEGOTIATE.
func (d *Dialer) connect(ctx context.Context, addr string) (*conn, *negotiation, string, error) {
	req, err := d.negotiateRequest()
	if err != nil {
		return nil, nil, "", err
	}
	host, hostport, err := SplitAddr(addr)
	if err != nil {
		return nil, nil, "", err
	}
	c, neg, err := d.open(ctx, hostport, req, 0)
	if err != nil {
		return nil, nil, "", err
	}
	return c, neg, host, nil
}

// open dials hostport, within connectTimeout when it is not zero, and runs
// NEGOTIATE with req.
func (d *Dialer) open(ctx context.Context, hostport string, req *negotiateRequest, connectTimeout time.Duration) (*conn, *negotiation, error) {
	dial := d.DialContext
	if dial == nil {
		var nd net.Dialer
		dial = nd.DialContext
	}
	dctx := ctx
	if connectTimeout > 0 {
		var cancel context.CancelFunc
		dctx, cancel = context.WithTimeout(ctx, connectTimeout)
		defer cancel()
	}
	nc, err := dial(dctx, "tcp", hostport)
	if err != nil {
		return nil, nil, err
	}
	c := newConn(nc)
	neg, err := c.negotiate(ctx, req)
	if err != nil {
		c.close()
		return nil, nil, fmt.Errorf("smb: negotiate with %s: %w", hostport, err)
	}
	return c, neg, nil
}

// Negotiate connects to addr, runs NEGOTIATE only (no logon) and reports
// the server's answer. It is what a protocol probe needs: offer one
// dialect or one signing algorithm at a time with MinDialect, MaxDialect
// and SigningAlgorithms. A server that accepts none of the offered
// dialects typically answers STATUS_NOT_SUPPORTED (a *StatusError) or
// closes the connection.
func (d *Dialer) Negotiate(ctx context.Context, addr string) (*NegotiateInfo, error) {
	ctx, cancel := d.withTimeout(ctx)
	defer cancel()
	c, neg, _, err := d.connect(ctx, addr)
	if err != nil {
		return nil, err
	}
	c.close()
	info := neg.info
	return &info, nil
}

// Dial connects to addr ("host", "host:port"; port 445 by default),
// negotiates a dialect and logs on. The returned Session is safe for
// concurrent use.
func (d *Dialer) Dial(ctx context.Context, addr string) (*Session, error) {
	if d.signingRequired() && d.User == "" && d.Kerberos == nil {
		return nil, fmt.Errorf("%w: anonymous logons are never signed", ErrSigningRequired)
	}
	if d.Channels < 0 || d.Channels > MaxChannels {
		return nil, fmt.Errorf("smb: Channels %d out of range 0..%d", d.Channels, MaxChannels)
	}
	ctx, cancel := d.withTimeout(ctx)
	defer cancel()
	c, neg, host, err := d.connect(ctx, addr)
	if err != nil {
		return nil, err
	}
	if d.RequireEncryption && neg.info.Cipher == 0 {
		c.close()
		return nil, fmt.Errorf("%w (%s, dialect %s)", ErrNoEncryption, addr, DialectName(neg.info.Dialect))
	}
	s := newSession(d, c, neg, host)
	_, s.hostport, _ = SplitAddr(addr)
	s.firstHostport = s.hostport
	for _, a := range d.Failover {
		if _, _, err := SplitAddr(a); err != nil {
			c.close()
			return nil, fmt.Errorf("smb: failover address: %w", err)
		}
	}
	err = s.logon(ctx)
	if err != nil {
		s.cfg.Password = ""
		c.close()
		return nil, fmt.Errorf("smb: logon to %s: %w", addr, err)
	}
	err = s.bindChannels(ctx)
	if !s.canReconnect() {
		s.cfg.Password = "" // only the logon and the bindings need it
	}
	if err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}
