package server

import (
	"net"
	"testing"

	"github.com/signetsmb/signet/internal/wire"
)

// newTestConn returns a connection of a server with these limits, not
// connected to anything (its socket is one end of a net.Pipe).
func newTestConn(t *testing.T, lim Limits) *conn {
	srv := newBareServer(t, lim)
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	c := newConn(srv, a, srv.limits())
	c.dialect, c.maxIO, c.maxWrite = wire.Dialect311, 1<<20, 1<<20
	return c
}

// call runs one request (msg: header space and body) on c in session s
// and tree t, with the open o, returning the response body and the
// status.
func call(c *conn, s *session, t *treeConnect, o *open, msg []byte, run func(*request, *response) error) ([]byte, error) {
	r := &request{c: c, msg: msg, sess: s, tree: t, open: o, hdr: wire.Header{CreditCharge: 1}}
	w := &response{buf: header()} // as the pipeline builds it
	err := run(r, w)
	if err == nil && w.status != 0 {
		err = w.status
	}
	return w.buf[wire.HeaderSize:], err
}

// header returns room for the SMB2 header of a request built by call's
// callers (the wire.Append*Request functions count offsets from it).
func header() []byte { return make([]byte, wire.HeaderSize) }

// openFile runs a CREATE of name on c and returns the open.
func openFile(t *testing.T, c *conn, s *session, tree *treeConnect, q *wire.CreateRequest) *open {
	t.Helper()
	body, err := call(c, s, tree, nil, wire.AppendCreateRequest(header(), q), (*request).create)
	if err != nil {
		t.Fatalf("create %q: %v", q.Name, err)
	}
	resp, err := wire.ParseCreateResponse(append(header(), body...))
	if err != nil {
		t.Fatal(err)
	}
	return c.srv.lookupOpen(resp.FileID)
}
