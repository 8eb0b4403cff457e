//go:build !linux

package netio

import "net"

// rcvLowat is Linux-only (lowat_linux.go); elsewhere bodies are read as
// they come.
func rcvLowat(net.Conn) func(int) { return nil }
