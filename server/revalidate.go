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
	var all []*session
	s.sessions.Range(func(_ uint64, sess *session) bool {
		all = append(all, sess)
		return true
	})
	ended := 0
	for _, sess := range all {
		if s.revalidate(sess) {
			ended++
		}
	}
	return ended
}

// revalidate ends one session if its account is gone or disabled, and
// reports whether it did.
func (s *Server) revalidate(sess *session) bool {
	if !sess.valid() {
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
	clients := sess.clients()
	if !sess.endSession() {
		return false // ended meanwhile (LOGOFF, another Revalidate)
	}
	s.log.Warn("session ended: "+reason, "user", who.User, "account", who.Account, "session_id", sess.id,
		"client", clients)
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
