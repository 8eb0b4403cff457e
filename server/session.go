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

// session is an authenticated (or authenticating) user on a connection
// (MS-SMB2 3.3.1.8). An idle session holds only its identity, its signer
// and its trees: the handshake state is dropped when authentication ends.
type session struct {
	id uint64

	// Owned by the connection's reader goroutine: every compound holding
	// a SESSION_SETUP runs there, in order (conn.reader.check() enforces
	// it in tests).
	mech    auth.ServerMech       // nil outside an exchange
	preauth smbcrypto.PreauthHash // 3.1.1 exchange hash
	rounds  int                   // SESSION_SETUP rounds in this exchange

	// mu guards everything below.
	mu           orderedMutex[rankSession]
	state        sessionState
	loggingOff   bool // LOGOFF ran; torn down once its response is sent
	counted      bool // established: counted in liveSessions and registered
	identity     auth.Identity
	sign         smbcrypto.Signer // nil for anonymous/guest or before keys
	signRequired bool             // Session.SigningRequired
	appKey       [16]byte
	trees        map[uint32]*treeConnect
	nextTreeID   uint32

	// opens counts the session's opens and CREATEs in progress that
	// reserved one (openlimit.go).
	opens atomic.Int64

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

func (s *session) signer() smbcrypto.Signer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sign
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

func (c *conn) lookupSession(id uint64) *session {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sessions[id]
}

// dropSessionLocked removes a session and releases its trees. c.mu held.
func (c *conn) dropSessionLocked(id uint64, s *session) {
	delete(c.sessions, id)
	s.mu.Lock()
	counted := s.counted
	s.counted = false
	s.state = sessExpired
	s.mu.Unlock()
	for _, t := range s.takeTrees() {
		t.close()
	}
	if counted {
		c.srv.liveSessions.Add(-1)
		c.srv.unregisterSession(id, c)
	}
	c.srv.releaseSessionID(id)
}

func (c *conn) dropSession(id uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.sessions[id]; s != nil {
		c.dropSessionLocked(id, s)
	}
}

func atomicAdd(p *int32) int32 { return atomic.AddInt32(p, 1) }
