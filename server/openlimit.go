package server

import "github.com/signetsmb/signet/internal/ntstatus"

// Every open (file, directory or named pipe) holds one unit of its
// session's allowance (session.opens, MaxOpensPerSession) and one of the
// server's (Server.opens, MaxOpens). A CREATE reserves both before it
// opens anything; the open, once registered on its tree, owns the
// reservation (open.counted) and gives it back in open.release, which
// every way an open ends goes through (CLOSE, TREE_DISCONNECT, LOGOFF, a
// session expired by a reconnect, the connection's end). A CREATE that
// fails gives it back itself.
//
// A reservation adds first and checks the sum it got, undoing the add when
// the sum is over the limit, so concurrent CREATEs can never hold more than
// the limit between them (there is no window between a check and an add).

// reserveOpen takes one open from the session's and the server's
// allowance, or fails with STATUS_INSUFFICIENT_RESOURCES, which Samba
// answers when its table of opens is full (smbXsrv_open_create) and
// Windows when it cannot allocate an open, logging the limit.
func (r *request) reserveOpen() error {
	lim := r.c.srv.limits()
	if n := r.sess.opens.Add(1); exceeds(int(n-1), lim.MaxOpensPerSession) {
		r.sess.opens.Add(-1)
		return r.openRefused("MaxOpensPerSession", lim.MaxOpensPerSession)
	}
	if n := r.c.srv.opens.Add(1); exceeds(int(n-1), lim.MaxOpens) {
		r.c.srv.opens.Add(-1)
		r.sess.opens.Add(-1)
		return r.openRefused("MaxOpens", lim.MaxOpens)
	}
	return nil
}

func (r *request) openRefused(limit string, max int) error {
	r.c.log.Warn("CREATE refused: limit reached", "limit", limit, "max", max, "account", r.sess.account())
	return ntstatus.InsufficientResources
}

// unreserveOpen gives back a reservation of sess.
func (s *Server) unreserveOpen(sess *session) {
	sess.opens.Add(-1)
	s.opens.Add(-1)
}

// claimReservation hands the CREATE's reservation to o, before o is
// registered where a disconnect could release it.
func (cc *createCall) claimReservation(o *open) {
	o.counted = true
	cc.reserved = false
}

// giveBackReservation returns the CREATE's reservation if no open took it.
func (cc *createCall) giveBackReservation() {
	if cc.reserved {
		cc.reserved = false
		cc.r.c.srv.unreserveOpen(cc.r.sess)
	}
}
