package client

import (
	"context"
	"errors"
	"time"
)

// Failover: a session whose connection is lost reconnects to its current
// address or, when that fails, to the other addresses of
// Dialer.Failover in order (the other nodes of a Signet cluster, which
// reclaim the session's durable handles from etcd; docs/cluster.md). The
// reconnect itself is durable.go's: NEGOTIATE with the same ClientGuid,
// SESSION_SETUP with PreviousSessionId, TREE_CONNECT, DH2C/DHnC.
//
// Ownership: hostport moves to the address that took the session, under
// the reconnect semaphore s.rc, like the rest of a reconnect.

// failoverConnectTimeout bounds the TCP connect to one address when
// there are others to try, so that an unreachable node (a dead host,
// not a refused port) does not use up the reconnect's time.
const failoverConnectTimeout = 3 * time.Second

// reconnectTarget is one address a reconnect tries.
type reconnectTarget struct {
	host, hostport string
	connectTimeout time.Duration
}

// reconnectTargets returns the addresses to try, the current one first,
// each once.
func (s *Session) reconnectTargets() []reconnectTarget {
	var out []reconnectTarget
	seen := map[string]bool{}
	add := func(addr string) {
		host, hostport, err := SplitAddr(addr)
		if err != nil || seen[hostport] {
			return
		}
		seen[hostport] = true
		out = append(out, reconnectTarget{host: host, hostport: hostport})
	}
	add(s.hostport)
	out[0].host = s.host // the name the session was dialed by
	for _, a := range s.cfg.Failover {
		add(a)
	}
	if len(out) > 1 {
		for i := range out {
			out[i].connectTimeout = failoverConnectTimeout
		}
	}
	return out
}

// reconnectAny makes one reconnect attempt on each address in turn and
// stops at the first that succeeds, or at an error that no other address
// would cure (a bad signature, a closed session, the caller's context).
func (s *Session) reconnectAny(ctx context.Context, dead *channel) error {
	var err error
	for _, to := range s.reconnectTargets() {
		if err = s.reconnectOnce(ctx, dead, to); err == nil {
			s.hostport = to.hostport
			return nil
		}
		if ctx.Err() != nil || errors.Is(err, ErrClosed) {
			return err
		}
	}
	return err
}
