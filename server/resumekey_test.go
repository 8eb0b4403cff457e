package server

import (
	"testing"

	"github.com/signetsmb/signet/internal/wire"
	"github.com/signetsmb/signet/vfs/memfs"
)

// TestResumeKeysBounded: an open asking for its resume key again and again
// gets the same key and holds one table entry; the entry goes when the
// open is closed, and the key then names nothing.
func TestResumeKeysBounded(t *testing.T) {
	c := newTestConn(t, Limits{})
	s := &session{id: 1}
	tree := &treeConnect{srv: c.srv, share: &Share{Name: "share", FS: memfs.New(memfs.Options{})}}
	o := openFile(t, c, s, tree, &wire.CreateRequest{ImpersonationLevel: 2, DesiredAccess: wire.FileReadData | wire.FileWriteData,
		ShareAccess: wire.FileShareValid, CreateDisposition: wire.FileCreate, Name: "src"})
	keyOf := func() [24]byte {
		r := &request{c: c, sess: s, tree: tree, open: o}
		w := &response{buf: header()}
		if err := r.resumeKey(&wire.IoctlRequest{CtlCode: wire.FsctlSrvRequestResumeKey, MaxOutputResponse: 32}, w); err != nil {
			t.Fatal(err)
		}
		resp, err := wire.ParseIoctlResponse(w.buf)
		if err != nil {
			t.Fatal(err)
		}
		return [24]byte(resp.Output[:24])
	}
	first := keyOf()
	for i := 0; i < 1000; i++ {
		if keyOf() != first {
			t.Fatal("a second resume key for the same open")
		}
	}
	if n := len(c.srv.resume.keys); n != 1 {
		t.Fatalf("%d resume keys held for one open", n)
	}
	if c.srv.resume.get(first) != o {
		t.Fatal("key does not name its open")
	}
	if _, err := call(c, s, tree, o, wire.AppendCloseRequest(header(), 0, o.id), (*request).closeFile); err != nil {
		t.Fatal(err)
	}
	if n := len(c.srv.resume.keys); n != 0 || c.srv.resume.get(first) != nil {
		t.Fatalf("%d resume keys held after close", n)
	}
}
