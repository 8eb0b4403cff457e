//go:build !linux

package admin

import "net"

// checkPeer relies on the socket's mode 0600 where the peer's uid is not
// available.
func checkPeer(net.Conn) error { return nil }
