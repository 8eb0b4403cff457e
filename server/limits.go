package server

import "time"

// Limits bound every resource a client can make the server hold. A zero
// field takes its default (DefaultLimits); a negative count or duration
// means "no limit" (for AuthFailureDelay: no delay). Limits live in
// Settings, so a reload changes them: connection-level limits apply to
// connections accepted after the reload, the others at their next check.
//
// Hitting a limit refuses only the offending request or connection, with
// a log line naming the client address and the limit.
type Limits struct {
	// MaxConnections caps open TCP connections server-wide.
	MaxConnections int
	// MaxConnectionsPerAddr caps open connections from one client IP.
	MaxConnectionsPerAddr int
	// MaxSessionsPerConn caps sessions (established or authenticating)
	// on one connection.
	MaxSessionsPerConn int
	// MaxChannelsPerSession caps the connections bound to one session
	// (multichannel), its first included; Windows allows 32.
	MaxChannelsPerSession int
	// MaxOpensPerSession and MaxOpens cap opens (files, directories,
	// named pipes) per session and server-wide.
	MaxOpensPerSession int
	MaxOpens           int
	// MaxAsyncPerConn caps pending asynchronous requests (CHANGE_NOTIFY,
	// blocking LOCK, ...) per connection.
	MaxAsyncPerConn int
	// MaxLocksPerOpen and MaxLocksPerFile cap granted byte-range locks.
	MaxLocksPerOpen int
	MaxLocksPerFile int
	// MaxPipeOutput caps the bytes a named pipe queues for the client to
	// read (one answer larger than it is still queued into an empty pipe,
	// so that it can be read at all).
	MaxPipeOutput int
	// MaxReadBytesPending caps the bytes of READ responses built but not
	// yet written to the socket, per connection; further READs wait.
	MaxReadBytesPending int
	// MaxCredits caps the credits a connection may hold.
	MaxCredits int
	// MaxPDUBeforeNegotiate and MaxPDUBeforeSession cap the size of a
	// PDU before NEGOTIATE and before the first session is established.
	MaxPDUBeforeNegotiate int
	MaxPDUBeforeSession   int
	// PreAuthTimeout is the total time (reads and writes) a connection
	// has from accept to its first established session.
	PreAuthTimeout time.Duration
	// IdleTimeout closes an authenticated connection that has sent no
	// request for this long while it holds no open and no pending
	// request (as Windows' autodisconnect).
	IdleTimeout time.Duration
	// WriteTimeout closes a connection whose client does not take a
	// response frame off the socket for this long.
	WriteTimeout time.Duration
	// MaxSearchPattern caps the length, in characters, of a
	// QUERY_DIRECTORY search pattern.
	MaxSearchPattern int
	// AuthFailureDelay delays the answer to a failed logon on that
	// connection (as Windows Server 2025's SMB authentication rate
	// limiter); other connections are not delayed.
	AuthFailureDelay time.Duration
	// RevalidateInterval is how often established sessions are checked
	// against the users database: a deleted or disabled account's
	// sessions end within this time (at once on Server.Revalidate). A
	// negative value turns the periodic check off; a change applies from
	// the next check.
	RevalidateInterval time.Duration
}

// DefaultLimits returns the limits a zero Limits field takes, with the
// reason for each.
func DefaultLimits() Limits {
	return Limits{
		// Well under the file descriptors Go makes available on Linux
		// (it raises the soft limit to the hard one), leaving room for
		// open files.
		MaxConnections: 4096,
		// A NAT gateway may carry a whole office; one Windows client
		// uses one connection (a few with multichannel).
		MaxConnectionsPerAddr: 256,
		MaxSessionsPerConn:    64,
		MaxChannelsPerSession: 32,
		// Samba's "max open files" is 16384 per client process.
		MaxOpensPerSession: 16384,
		MaxOpens:           65536,
		MaxAsyncPerConn:    512,
		// Applications lock a few ranges per file; databases on SMB a
		// few thousand.
		MaxLocksPerOpen: 4096,
		MaxLocksPerFile: 16384,
		// DCE/RPC replies on srvsvc/wkssvc are kilobytes.
		MaxPipeOutput: 1 << 20,
		// 8 READs of the largest size (8 MiB) in flight fit; Signet's
		// client keeps 8 of 4 MiB.
		MaxReadBytesPending: 64 << 20,
		// Samba's default "smb2 max credits".
		MaxCredits: 8192,
		// A 3.1.1 NEGOTIATE with every context is under 1 KiB; a
		// Kerberos ticket in SESSION_SETUP can reach tens of KiB.
		MaxPDUBeforeNegotiate: 4 << 10,
		MaxPDUBeforeSession:   64 << 10,
		PreAuthTimeout:        60 * time.Second,
		// Windows' autodisconnect default.
		IdleTimeout:  15 * time.Minute,
		WriteTimeout: 60 * time.Second,
		// A path component is at most 255 UTF-16 units; wildcards do not
		// need more.
		MaxSearchPattern: 1024,
		// Windows Server 2025's default.
		AuthFailureDelay:   2 * time.Second,
		RevalidateInterval: 30 * time.Second,
	}
}

// withDefaults returns l with every zero field replaced by its default.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	fill := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	fillD := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	fill(&l.MaxConnections, d.MaxConnections)
	fill(&l.MaxConnectionsPerAddr, d.MaxConnectionsPerAddr)
	fill(&l.MaxSessionsPerConn, d.MaxSessionsPerConn)
	fill(&l.MaxChannelsPerSession, d.MaxChannelsPerSession)
	fill(&l.MaxOpensPerSession, d.MaxOpensPerSession)
	fill(&l.MaxOpens, d.MaxOpens)
	fill(&l.MaxAsyncPerConn, d.MaxAsyncPerConn)
	fill(&l.MaxLocksPerOpen, d.MaxLocksPerOpen)
	fill(&l.MaxLocksPerFile, d.MaxLocksPerFile)
	fill(&l.MaxPipeOutput, d.MaxPipeOutput)
	fill(&l.MaxReadBytesPending, d.MaxReadBytesPending)
	fill(&l.MaxCredits, d.MaxCredits)
	fill(&l.MaxPDUBeforeNegotiate, d.MaxPDUBeforeNegotiate)
	fill(&l.MaxPDUBeforeSession, d.MaxPDUBeforeSession)
	fillD(&l.PreAuthTimeout, d.PreAuthTimeout)
	fillD(&l.IdleTimeout, d.IdleTimeout)
	fillD(&l.WriteTimeout, d.WriteTimeout)
	fill(&l.MaxSearchPattern, d.MaxSearchPattern)
	fillD(&l.AuthFailureDelay, d.AuthFailureDelay)
	fillD(&l.RevalidateInterval, d.RevalidateInterval)
	return l
}

// exceeds reports whether n has reached limit (a negative limit never is).
func exceeds(n, limit int) bool { return limit >= 0 && n >= limit }

// limits returns the effective limits of the current settings.
func (s *Server) limits() Limits { return s.settings().Limits.withDefaults() }
