// Package server is Signet's SMB2/SMB3 file server.
//
// A Server accepts connections and runs, per connection, one reader
// goroutine (framing, NEGOTIATE and SESSION_SETUP in order, sequence-window
// checks), handler goroutines for every other request (signature
// verification, the command, response signing — so that signing work is
// spread over all cores), and one writer goroutine that puts each response
// frame on the wire with a single Write.
//
// Configuration is a snapshot (Settings) read through Options.Settings at
// the moments the protocol consults policy: NEGOTIATE reads the signing
// requirement for that connection, SESSION_SETUP and TREE_CONNECT read users
// and shares. Swapping the snapshot therefore changes the behaviour of new
// connections at once while established sessions keep what they negotiated.
//
// # Identity and revocation
//
// A session belongs to one account: Options.Users maps the name the client
// typed to an auth.Account, and the session records its canonical ID
// (auth.FoldName of the account name). Share user lists, PreviousSessionId
// and re-authentication compare account IDs, never typed names, so a name
// that only a looser comparison would confuse with another account (U+212A
// KELVIN SIGN for 'K') gets nothing of that account's. A disabled account
// cannot log on (STATUS_ACCOUNT_DISABLED).
//
// Deleting or disabling an account ends its sessions within
// Limits.RevalidateInterval (30 s by default), and at once when the owner
// of the users database calls Server.Revalidate after a reload (signet
// serve does so when the users file changes): each session is torn down
// as LOGOFF would tear it down, its pending requests are cancelled, and
// the client's next request on it gets STATUS_USER_SESSION_DELETED.
package server

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/signetsmb/signet/auth"
	"github.com/signetsmb/signet/auth/krb5"
	"github.com/signetsmb/signet/internal/fscc"
	"github.com/signetsmb/signet/internal/smbcrypto"
	"github.com/signetsmb/signet/internal/state"
	"github.com/signetsmb/signet/vfs"
)

// Settings is an immutable policy snapshot. Callers build a new one on
// every configuration change and never modify one that was handed out.
type Settings struct {
	// RequireSigning is the server side of "Microsoft network server:
	// Digitally sign communications (always)" (RequireSecuritySignature).
	RequireSigning bool
	// AuditSigning (require_signing = "audit") does not require signing
	// but records, once per session, what RequireSigning would refuse
	// (ops.go: AuditEvents, AuditReport). It is read on every request, so
	// it applies to established sessions at once.
	AuditSigning bool
	// AuditMinDialect and AuditMinSigning are the floors an audit checks:
	// under AuditSigning a session whose dialect is below AuditMinDialect
	// (0: no floor) or whose signing algorithm is weaker than
	// AuditMinSigning (HMAC-SHA256 < AES-CMAC < AES-GMAC; HMAC-SHA256 is no
	// floor) is recorded ("dialect", "signing_algorithm").
	AuditMinDialect uint16
	AuditMinSigning smbcrypto.Algorithm
	// MinDialect and MaxDialect bound the dialects offered (wire values).
	MinDialect, MaxDialect uint16
	// SigningAlgorithms is the 3.1.1 preference order (most preferred
	// first). Empty means GMAC, CMAC, HMAC-SHA256.
	SigningAlgorithms []smbcrypto.Algorithm
	// EncryptData encrypts every session that can encrypt (SMB 3.x with a
	// cipher): SMB2_SESSION_FLAG_ENCRYPT_DATA, every share encrypted.
	EncryptData bool
	// AllowUnencryptedAccess lets a client that cannot encrypt use an
	// encrypted share or server unencrypted (the inverse of Windows'
	// RejectUnencryptedAccess, which is on by default); also accepts
	// unencrypted requests on encrypted sessions and trees.
	AllowUnencryptedAccess bool
	// Ciphers is the encryption preference order for 3.1.1 (most
	// preferred first); 3.0/3.0.2 use AES-128-CCM if listed. Empty means
	// AES-128-GCM, AES-128-CCM, AES-256-GCM, AES-256-CCM.
	Ciphers []smbcrypto.Cipher
	// ServerName and Domain are the NetBIOS names announced in NTLM.
	ServerName, Domain string
	// AllowAnonymous permits NTLM anonymous logons (never when signing is
	// required: such sessions cannot sign).
	AllowAnonymous bool
	// Multichannel offers SMB2_GLOBAL_CAP_MULTI_CHANNEL on 3.x
	// connections whose client asks for it, so that the client can bind
	// further connections to a session (each signing with its own key).
	Multichannel bool
	// Interfaces, when set, is what FSCTL_QUERY_NETWORK_INTERFACE_INFO
	// reports instead of the interfaces found on the machine.
	Interfaces []NetInterface
	// MaxSessions caps established sessions server-wide (0 = no cap).
	MaxSessions int
	// Kerberos, when set, accepts Kerberos logons (package auth/krb5).
	Kerberos *krb5.Acceptor
	// DisableNTLM refuses NTLM logons, in SPNEGO or raw, with a log line
	// (Windows' "Restrict NTLM: Incoming NTLM traffic" = Deny all).
	DisableNTLM bool
	// AuthOrder is the SPNEGO offer order by name ("kerberos", "ntlm");
	// empty means Kerberos first. Mechanisms that are off are skipped.
	AuthOrder []string
	// Shares are the disk shares; IPC$ is always added.
	Shares []*Share
	// Limits bound what clients can make the server hold; zero fields
	// take DefaultLimits.
	Limits Limits
}

// Share is one disk share.
type Share struct {
	Name     string
	Comment  string
	ReadOnly bool
	// EncryptData is SMB2_SHAREFLAG_ENCRYPT_DATA: requests on the share
	// must be encrypted; a client that cannot encrypt is refused unless
	// Settings.AllowUnencryptedAccess.
	EncryptData bool
	// Users allowed to connect, by account name; empty allows every
	// authenticated user. Names match accounts under auth.FoldName.
	Users []string
	FS    vfs.FS
}

// allows reports whether the account with the given ID (auth.Account.ID;
// "" for anonymous and guest sessions) may connect to the share: each
// listed name is folded with auth.FoldName and compared exactly.
func (s *Share) allows(account string) bool {
	if len(s.Users) == 0 {
		return true
	}
	for _, u := range s.Users {
		if account != "" && auth.FoldName(u) == account {
			return true
		}
	}
	return false
}

// UserDB is the users database. Lookup returns the account a name denotes,
// matching it under auth.FoldName: any spelling that folds to an
// account's ID, the ID itself included, finds that account. The account's
// ID must not be empty (an account without one is treated as unknown).
// Lookup is called from many goroutines at once.
type UserDB interface {
	Lookup(user string) (acct auth.Account, ok bool)
}

// Options configure a Server.
type Options struct {
	// Settings returns the current policy snapshot. Required.
	Settings func() *Settings
	// Users authenticates NTLM logons and is consulted again by
	// Revalidate. Required.
	Users UserDB
	// Logger receives one line per notable event. Defaults to slog.Default().
	Logger *slog.Logger
	// Rand is the source of challenges, GUIDs, salts. Defaults to crypto/rand.
	Rand io.Reader
	// Now is the clock. Defaults to time.Now.
	Now func() time.Time
	// Observer, when set, receives request, session, refusal and audit
	// events (ops.go), for metrics.
	Observer Observer
	// MaxInFlight caps concurrently executing requests per connection.
	// Defaults to 64.
	MaxInFlight int
	// MachineSID is the domain part of the users' SIDs ("S-1-5-21-a-b-c"),
	// kept with the users file so that stored descriptors keep naming
	// the same users (security.go). Empty: a random one for this process.
	MachineSID string
	// Cluster, when set, is the node's membership of a cluster whose
	// nodes serve one shared file system (cluster.go, docs/cluster.md);
	// nil is a single server.
	Cluster Cluster
}

// Stats are cumulative counters, safe to read at any time.
type Stats struct {
	Connections      int64 // accepted
	OpenConnections  int64
	Sessions         int64 // currently established
	Opens            int64 // open files, directories and pipes (and CREATEs opening one)
	LogonFailures    int64
	BadSignatures    int64 // signed requests whose signature did not verify
	UnsignedRejected int64 // unsigned requests on sessions that must sign
	ProtocolErrors   int64 // connections dropped for malformed input
	SignedResponses  int64
	RefusedSMB1      int64
	RefusedAnonymous int64
	RefusedConns     int64 // connections refused by a connection limit
	Panics           int64 // recovered panics (each closed one connection)
	// BadTransforms counts encrypted messages refused (unknown session,
	// bad tag, malformed header); each closed its connection.
	BadTransforms int64
	// RefusedUnencrypted counts sessions, tree connects and requests
	// refused because they were not (or could not be) encrypted.
	RefusedUnencrypted int64
	EncryptedResponses int64
}

type counters struct {
	connections, open, logonFailures, badSignatures,
	unsignedRejected, protocolErrors, signedResponses, refusedSMB1,
	refusedAnonymous, refusedConns, panics,
	badTransforms, refusedUnencrypted, encryptedResponses atomic.Int64
	decrypts decryptCounters // decrypt.go
}

// Server is an SMB2/SMB3 server.
type Server struct {
	opts      Options
	log       *slog.Logger
	guid      [16]byte
	startTime time.Time
	stats     counters
	ops       opsState // ops.go

	// Server-wide file state shared by every connection.
	nodes   nodeTable
	watches watchTable
	resume  resumeKeys
	// opens counts every open and CREATE in progress that reserved one,
	// server-wide (openlimit.go).
	opens atomic.Int64

	// sessions is the GlobalSessionTable (every session, authenticating
	// or established, by SessionId) and files the GlobalOpenTable (every
	// open by FileId, unique server-wide) [MS-SMB2 3.3.1.1]. They guard
	// themselves and are leaves of the lock order (internal/state).
	sessions state.Sessions[*session]
	files    state.Opens[*open]
	// durables holds the durable opens whose connection was lost, until
	// reclaimed or scavenged (durable.go); scavKick wakes the scavenger,
	// scavStop (guarded by mu) ends it.
	durables state.Durables[*open]
	// replays are the CreateGuids of durable v2 CREATEs waiting
	// asynchronously (replay.go).
	replays  pendingCreates
	scavKick chan struct{}
	scavStop chan struct{}
	msid     fscc.SID // Options.MachineSID (security.go)
	// cluster maps opens to their entries in Options.Cluster (cluster.go).
	cluster clusterTable
	// clCache lists the files whose caching the node published to its
	// cluster (cluster_lease.go).
	clCache clusterCacheTable

	// liveSessions counts established sessions; it is the control for
	// MaxSessions (reserveSession), and Stats reports it.
	liveSessions atomic.Int64

	mu        orderedMutex[rankServer]
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	perAddr   map[string]int // open connections by client IP
	closed    bool
	// revalStop, guarded by mu, is closed by Shutdown to end the
	// revalidation goroutine; nil until the first Serve starts it.
	revalStop chan struct{}
	wg        sync.WaitGroup
}

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("server: closed")

// New validates opts and returns a Server.
func New(opts Options) (*Server, error) {
	if opts.Settings == nil || opts.Users == nil {
		return nil, errors.New("server: Options.Settings and Options.Users are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = 64
	}
	s := &Server{
		opts:      opts,
		log:       opts.Logger,
		startTime: opts.Now(),
		listeners: map[net.Listener]struct{}{},
		conns:     map[*conn]struct{}{},
		perAddr:   map[string]int{},
		files:     state.NewMemOpens[*open](),
		durables:  state.NewMemDurables[*open](),
		scavKick:  make(chan struct{}, 1),
	}
	sessions := state.NewMemSessions[*session]()
	sessions.Rand = func(b []byte) {
		if _, err := io.ReadFull(opts.Rand, b); err != nil {
			clear(b) // 0 is never an id: the table draws again
		}
	}
	s.sessions = sessions
	// Directory leases stay off on cluster nodes; file leases and oplocks
	// are granted and broken across nodes (cluster_lease.go).
	s.nodes.noDirLease = opts.Cluster != nil
	if opts.Cluster != nil {
		opts.Cluster.ServeBreaks(s.clusterServeBreak)
	}
	s.hookClusterLost()     // cluster_lost.go
	s.clusterWatchDurable() // cluster_durable.go
	if _, err := io.ReadFull(opts.Rand, s.guid[:]); err != nil {
		return nil, err
	}
	if err := s.setMachineSID(opts.MachineSID); err != nil { // security.go
		return nil, err
	}
	return s, nil
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	c := &s.stats
	return Stats{
		Connections:      c.connections.Load(),
		OpenConnections:  c.open.Load(),
		Sessions:         s.liveSessions.Load(),
		Opens:            s.opens.Load(),
		LogonFailures:    c.logonFailures.Load(),
		BadSignatures:    c.badSignatures.Load(),
		UnsignedRejected: c.unsignedRejected.Load(),
		ProtocolErrors:   c.protocolErrors.Load(),
		SignedResponses:  c.signedResponses.Load(),
		RefusedSMB1:      c.refusedSMB1.Load(),
		RefusedAnonymous: c.refusedAnonymous.Load(),
		RefusedConns:     c.refusedConns.Load(),
		Panics:           c.panics.Load(),

		BadTransforms:      c.badTransforms.Load(),
		RefusedUnencrypted: c.refusedUnencrypted.Load(),
		EncryptedResponses: c.encryptedResponses.Load(),
	}
}

// Serve accepts connections on l until Shutdown or a permanent error.
func (s *Server) Serve(l net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.listeners[l] = struct{}{}
	s.startRevalidatorLocked()
	s.startScavengerLocked()
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, l)
		s.mu.Unlock()
	}()
	var backoff time.Duration
	for {
		nc, err := l.Accept()
		if err != nil {
			if s.isClosed() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, errTemporary(err)) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.log.Warn("accept error; retrying", "err", err, "delay", backoff)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		c := newConn(s, nc, s.limits())
		if err := s.track(c); err != nil {
			nc.Close()
			if err == ErrServerClosed {
				return err
			}
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.untrack(c)
			c.serve()
		}()
	}
}

// errTemporary classifies resource-exhaustion accept errors (EMFILE and
// friends) as retryable.
func errTemporary(err error) error {
	type temporary interface{ Temporary() bool }
	var t temporary
	if errors.As(err, &t) && t.Temporary() {
		return err
	}
	return errNotTemporary
}

var errNotTemporary = errors.New("not temporary")

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// track admits a new connection, or refuses it when the server is closed
// or a connection limit is reached (logged with the client address).
func (s *Server) track(c *conn) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrServerClosed
	}
	var limit string
	switch {
	case exceeds(len(s.conns), c.lim.MaxConnections):
		limit = "max_connections"
	case exceeds(s.perAddr[c.addr], c.lim.MaxConnectionsPerAddr):
		limit = "max_connections_per_addr"
	}
	if limit != "" {
		s.stats.refusedConns.Add(1)
		c.log.Warn("connection refused: limit reached", "limit", limit, "open_connections", len(s.conns),
			"from_this_address", s.perAddr[c.addr])
		return errConnLimit
	}
	s.conns[c] = struct{}{}
	s.perAddr[c.addr]++
	s.stats.connections.Add(1)
	s.stats.open.Add(1)
	return nil
}

var errConnLimit = errors.New("connection limit reached")

func (s *Server) untrack(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	if s.perAddr[c.addr]--; s.perAddr[c.addr] <= 0 {
		delete(s.perAddr, c.addr)
	}
	s.mu.Unlock()
	s.stats.open.Add(-1)
}

// Shutdown closes the listeners and every connection, then waits for the
// connection goroutines to finish or ctx to end.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	if s.revalStop != nil {
		close(s.revalStop)
		s.revalStop = nil
	}
	if s.scavStop != nil {
		close(s.scavStop)
		s.scavStop = nil
	}
	for l := range s.listeners {
		l.Close()
	}
	for c := range s.conns {
		c.close(errors.New("server shutting down"))
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// expirePrevious tears down the session a reconnecting client names in
// PreviousSessionId, when it belongs to the same account (same
// auth.Account.ID, never a case-insensitive match of typed names), on
// another connection or on this one, so that its opens and locks are
// released and its pending requests end [MS-SMB2 3.3.5.5.3].
func (s *Server) expirePrevious(prev uint64, account string, by *conn) {
	old, ok := s.sessions.Get(prev)
	if !ok {
		s.clusterExpirePrevious(prev, account) // cluster_durable.go; nothing unless clustered
		return
	}
	if account == "" || !old.established() || old.account() != account {
		return
	}
	if old.endSessionLost() {
		by.log.Info("previous session closed by the client's reconnect", "session_id", prev)
	}
}

// reserveSession counts a newly established session against MaxSessions
// atomically (no check-then-add race); false when the cap is reached.
func (s *Server) reserveSession(maxSessions int) bool {
	for {
		n := s.liveSessions.Load()
		if maxSessions > 0 && n >= int64(maxSessions) {
			return false
		}
		if s.liveSessions.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

func (s *Server) settings() *Settings { return s.opts.Settings() }

// shareByName finds a share in st (case-insensitively).
func (st *Settings) shareByName(name string) *Share {
	for _, sh := range st.Shares {
		if strings.EqualFold(sh.Name, name) {
			return sh
		}
	}
	return nil
}
