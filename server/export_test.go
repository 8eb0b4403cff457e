package server

import (
	"context"
	"net"
	"testing"
)

// ServeLoopback serves srv on a fresh loopback listener until the test
// ends (Shutdown in cleanup) and returns the listener's address. Shared by
// the in-package tests and the server_test package.
func ServeLoopback(t testing.TB, srv *Server) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	return l.Addr().String()
}
