package server

import (
	"sync/atomic"

	"github.com/signetsmb/signet/auth"
	"github.com/signetsmb/signet/internal/smbcrypto"
)

// sessionState follows MS-SMB2 3.3.1.8 Session.State.
type sessionState uint8

const (
	sessInProgress sessionState = iota
	sessValid
	sessExpired
)

// session is an authenticated (or authenticating) user (MS-SMB2 3.3.1.8).
// It lives in the server-wide session table (Server.sessions, the
// GlobalSessionTable) and in the session table of every connection that
// is one of its channels (conn.sessions, Connection.SessionTable); on 3.x
// a client may bind further connections to it (multichannel), each with
// its own signing key. Trees and opens belong to the session, not to a
// connection: a request on any channel may use them, and the session
// lives while one channel does. An idle session holds only its identity,
// its signers and its trees.
//
// Ownership. The fields before mu are set when the session is created
// (from the creating connection's negotiated state) and never change.
// Handshake state (the SPNEGO exchange, the 3.1.1 preauth hash) is not
// here but in the handshakes of the connection whose reader runs the
// exchange (conn.handshakes), so that a binding or a re-authentication on
// another channel never shares it. mu guards everything after it. Lock
// order: conn.mu, then session.mu (lockorder.go); endSession takes the
// channels' conn.mu one at a time, never while holding session.mu.
type session struct {
	id  uint64
	srv *Server
	// Session.Connection's negotiated values, which a binding must match.
	dialect    uint16
	clientGUID [16]byte
	signingAlg smbcrypto.Algorithm

	mu           orderedMutex[rankSession]
	state        sessionState
	loggingOff   bool // LOGOFF ran; torn down once its response is sent
	counted      bool // established: counted in liveSessions
	identity     auth.Identity
	sign         smbcrypto.Signer // Session.SigningKey (2.x: the session key); nil for anonymous/guest
	signRequired bool             // Session.SigningRequired
	appKey       [16]byte
	// channels is Session.ChannelList: each connection bound to the
	// session and its Channel.SigningKey signer (nil for anonymous and
	// guest sessions, which do not sign, and for the creating connection
	// until authentication completes).
	channels map[*conn]smbcrypto.Signer
	// chans mirrors the keys of channels, replaced (under mu) whenever
	// they change, so that code holding locks ranked after session.mu
	// (an oplock break sent under nodeTable.mu) can read it without mu.
	chans      atomic.Pointer[[]*conn]
	trees      map[uint32]*treeConnect
	nextTreeID uint32

	// opens counts the session's opens and CREATEs in progress that
	// reserved one (openlimit.go).
	opens atomic.Int64
	// ops holds request counts and audit state (ops.go).
	ops sessionOps

	// enc is the session's encryption state (encrypt.go), set once by
	// authDone when the connection negotiated a cipher and never cleared;
	// atomic, not under mu, so the send and receive paths read it without
	// locking.
	enc atomic.Pointer[sessionCipher]
}

// valid reports that the session is established and not logging off.
func (s *session) valid() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state == sessValid && !s.loggingOff
}

// established reports Session.State == Valid, LOGOFF or not (for
// re-authentication decisions the handshake makes).
func (s *session) established() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state == sessValid
}

// sessionSigner is Session.SigningKey's signer: it verifies binding
// requests and signs the interim responses of a binding exchange.
func (s *session) sessionSigner() smbcrypto.Signer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sign
}

// signerFor is the signer of the channel on connection c
// (Channel.SigningKey; 2.x: the session key), nil when c is not one of
// the session's channels or the session does not sign.
func (s *session) signerFor(c *conn) smbcrypto.Signer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.channels[c]
}

// channelCount is the number of connections bound to the session.
func (s *session) channelCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.channels)
}

// hasChannel reports whether c is bound to the session.
func (s *session) hasChannel(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.channels[c]
	return ok
}

// channelConns returns the session's channels, first among them when it
// is one. It takes no lock (see chans).
func (s *session) channelConns(first *conn) []*conn {
	p := s.chans.Load()
	if p == nil {
		return nil
	}
	out := make([]*conn, 0, len(*p))
	for _, c := range *p {
		if c == first {
			out = append(out, c)
		}
	}
	for _, c := range *p {
		if c != first {
			out = append(out, c)
		}
	}
	return out
}

// channelsChangedLocked republishes chans after channels changed. s.mu held.
func (s *session) channelsChangedLocked() {
	l := make([]*conn, 0, len(s.channels))
	for c := range s.channels {
		if s.state != sessExpired {
			l = append(l, c)
		}
	}
	s.chans.Store(&l)
}

// setChannel records c as a channel of s with its signer. s.mu held.
func (s *session) setChannelLocked(c *conn, sg smbcrypto.Signer) {
	if s.channels == nil {
		s.channels = map[*conn]smbcrypto.Signer{}
	}
	s.channels[c] = sg
	s.channelsChangedLocked()
}

// clients lists the remote addresses of the session's channels (for logs).
func (s *session) clients() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.channels))
	for c := range s.channels {
		out = append(out, c.remote)
	}
	return out
}

// cipherID is the cipher the session encrypts with, 0 when it cannot.
func (s *session) cipherID() smbcrypto.Cipher {
	if sc := s.enc.Load(); sc != nil {
		return sc.cipher
	}
	return 0
}

// isGuestOrAnonymous reports a session without a real user.
func (s *session) isGuestOrAnonymous() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.identity.Anonymous || s.identity.Guest
}

// mustSign reports Session.SigningRequired for an established session.
func (s *session) mustSign() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.signRequired && s.sign != nil && s.state == sessValid
}

func (s *session) tree(id uint32) *treeConnect {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.trees[id]
}

// account is the session's account ID (auth.Identity.Account); "" for
// anonymous and guest sessions.
func (s *session) account() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.identity.Account
}

// addTree registers t under a fresh TreeId.
func (s *session) addTree(t *treeConnect) uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.trees == nil {
		s.trees = map[uint32]*treeConnect{}
	}
	for {
		s.nextTreeID++
		if s.nextTreeID == 0 || s.nextTreeID == ^uint32(0) {
			continue
		}
		if _, used := s.trees[s.nextTreeID]; !used {
			break
		}
	}
	t.id = s.nextTreeID
	s.trees[t.id] = t
	return t.id
}

func (s *session) removeTree(id uint32) *treeConnect {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.trees[id]
	delete(s.trees, id)
	return t
}

// takeTrees empties the tree table and returns what it held.
func (s *session) takeTrees() []*treeConnect {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*treeConnect, 0, len(s.trees))
	for _, t := range s.trees {
		out = append(out, t)
	}
	s.trees = nil
	return out
}

// lookupSession finds a session in this connection's session table
// (Connection.SessionTable): one bound to this connection, or one being
// set up on it.
func (c *conn) lookupSession(id uint64) *session {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sessions[id]
}

// newSession creates an in-progress session on c, in the server-wide
// table and in c's; ErrFull-like failures come back as an error.
// c.mu held.
func (c *conn) newSession() (*session, error) {
	var s *session
	_, err := c.srv.sessions.Insert(func(id uint64) *session {
		s = &session{id: id, srv: c.srv, dialect: c.dialect, clientGUID: c.clientGUID,
			signingAlg: c.signingAlg}
		s.setChannelLocked(c, nil) // not yet shared: no lock needed
		return s
	})
	if err != nil {
		return nil, err
	}
	c.sessions[s.id] = s
	return s, nil
}

// endSession tears a session down everywhere, as LOGOFF does: it stops
// accepting requests, leaves every channel's session table and the
// server's, and its trees close (which closes its opens and ends their
// pending requests). It reports whether this call ended it (false when it
// had already ended). It takes no lock of the caller's: call it holding
// none of conn.mu or session.mu.
func (s *session) endSession() bool { return s.end(false) }

// endSessionLost ends a session whose last connection was lost, that a
// reconnect named as its previous session, or that logged off: its
// durable opens are kept for their reconnect (durable.go), the others
// close.
func (s *session) endSessionLost() bool { return s.end(true) }

func (s *session) end(keepDurable bool) bool {
	s.mu.Lock()
	if s.state == sessExpired {
		s.mu.Unlock()
		return false
	}
	s.state = sessExpired
	counted := s.counted
	s.counted = false
	chans := make([]*conn, 0, len(s.channels))
	for c := range s.channels {
		chans = append(chans, c)
	}
	// The channel signers stay: the responses still owed to requests
	// already verified (a LOGOFF, a failed re-authentication, a pending
	// request ending) are signed with them. No break is sent any more.
	s.chans.Store(&[]*conn{})
	s.mu.Unlock()
	for _, c := range chans {
		c.forgetSession(s)
	}
	for _, t := range s.takeTrees() {
		t.closeKeep(keepDurable)
	}
	if counted {
		s.srv.liveSessions.Add(-1)
	}
	s.srv.sessions.Delete(s.id)
	s.opsEnded(counted)
	return true
}

// forgetSession removes s from c's session table if it is there.
func (c *conn) forgetSession(s *session) {
	c.mu.Lock()
	if c.sessions[s.id] == s {
		delete(c.sessions, s.id)
	}
	c.mu.Unlock()
}

// dropChannel unbinds connection c from s (c is closing). The session
// ends when c was its last channel, or when it was still being set up.
func (s *session) dropChannel(c *conn) {
	s.mu.Lock()
	delete(s.channels, c)
	s.channelsChangedLocked()
	last := len(s.channels) == 0 || s.state != sessValid
	s.mu.Unlock()
	if last {
		s.endSessionLost()
	}
}

func atomicAdd(p *int32) int32 { return atomic.AddInt32(p, 1) }
