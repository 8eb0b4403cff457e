package server

import (
	"time"

	"github.com/signetsmb/signet/auth"
)

// lookupAccount resolves the name a client typed to its account. An
// account the UserDB returns without an ID is treated as unknown, so that
// no session ever has an empty identity that could match another.
func (s *Server) lookupAccount(user string) (auth.Account, bool) {
	a, ok := s.opts.Users.Lookup(user)
	if !ok || a.ID == "" {
		return auth.Account{}, false
	}
	return a, true
}

// Revalidate checks the account of every established session against
// Options.Users and ends the sessions whose account no longer exists or is
// disabled, as LOGOFF would: trees and opens are released, pending
// requests on them end (CHANGE_NOTIFY with STATUS_NOTIFY_CLEANUP), and the
// client's next request on the session gets STATUS_USER_SESSION_DELETED. Each ended session is logged with its
// user and client address. Anonymous and guest sessions have no account
// and are left alone. It returns the number of sessions ended.
//
// The server runs it every Limits.RevalidateInterval; call it after
// reloading the users database to end sessions at once. It is safe to call
// from any goroutine, concurrently with everything else.
func (s *Server) Revalidate() int {
	ended := 0
	for _, e := range s.establishedSessions() {
		if s.revalidate(e.id, e.c) {
			ended++
		}
	}
	return ended
}

type sessionRef struct {
	id uint64
	c  *conn
}

// establishedSessions snapshots the server-wide session registry, so that
// no lock is held while sessions are looked up and torn down.
func (s *Server) establishedSessions() []sessionRef {
	s.sessMu.Lock()
	defer s.sessMu.Unlock()
	out := make([]sessionRef, 0, len(s.sessions))
	for id, c := range s.sessions {
		out = append(out, sessionRef{id, c})
	}
	return out
}

// revalidate ends one session if its account is gone or disabled, and
// reports whether it did.
func (s *Server) revalidate(id uint64, c *conn) bool {
	sess := c.lookupSession(id)
	if sess == nil || !sess.valid() {
		return false
	}
	who := sess.identityCopy()
	if who.Account == "" {
		return false // anonymous or guest: no account to revoke
	}
	a, ok := s.lookupAccount(who.Account)
	reason := ""
	switch {
	case !ok || a.ID != who.Account:
		reason = "account deleted"
	case a.Disabled:
		reason = "account disabled"
	default:
		return false
	}
	if !c.revokeSession(id, sess) {
		return false // ended meanwhile (LOGOFF, another Revalidate)
	}
	c.log.Warn("session ended: "+reason, "user", who.User, "account", who.Account, "session_id", id)
	return true
}

// revokeSession tears session id down as LOGOFF does (its trees and
// opens close, which cancels the pending requests on those opens), unless
// it is already gone or replaced. It reports whether it ended the session.
func (c *conn) revokeSession(id uint64, s *session) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sessions[id] != s {
		return false
	}
	c.dropSessionLocked(id, s)
	return true
}

// startRevalidatorLocked starts the revalidation goroutine on the first
// Serve; Shutdown stops it and waits for it through s.wg. s.mu held.
func (s *Server) startRevalidatorLocked() {
	if s.revalStop != nil || s.closed {
		return
	}
	s.revalStop = make(chan struct{})
	stop := s.revalStop
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.revalidateLoop(stop)
	}()
}

// revalidateLoop runs Revalidate every Limits.RevalidateInterval (read
// anew each round, so a reload applies from the next round) until stop is
// closed. A negative interval turns the periodic check off.
func (s *Server) revalidateLoop(stop <-chan struct{}) {
	for {
		d := s.limits().RevalidateInterval
		run := d > 0
		if !run {
			d = DefaultLimits().RevalidateInterval // look at the setting again later
		}
		t := time.NewTimer(d)
		select {
		case <-stop:
			t.Stop()
			return
		case <-t.C:
		}
		if run {
			s.Revalidate()
		}
	}
}
