package server

import (
	"strings"

	"github.com/signetsmb/signet/auth"
	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
)

// Access masks granted on tree connects (MaximalAccess) [MS-SMB2 2.2.10].
const (
	accessFull     uint32 = 0x001F01FF
	accessReadOnly uint32 = 0x001200A9
)

// ipcShareName is the inter-process communication share, always present.
const ipcShareName = "IPC$"

// treeConnect is one TREE_CONNECT (MS-SMB2 3.3.1.10).
type treeConnect struct {
	srv   *Server
	id    uint32
	share *Share // nil for IPC$
	ipc   bool
	// readOnly is the share's setting when connected.
	readOnly bool
	// encrypt reports SMB2_SHAREFLAG_ENCRYPT_DATA: every request on the
	// tree must arrive encrypted (encrypt.go).
	encrypt bool

	mu     orderedMutex[rankTree]
	opens  map[*open]struct{}
	closed bool
}

// close releases every open of the tree.
func (t *treeConnect) close() {
	t.mu.Lock()
	opens := t.opens
	t.opens = nil
	t.closed = true
	t.mu.Unlock()
	for o := range opens {
		t.srv.closeOpen(o)
	}
}

// shareNameFromPath extracts "share" from "\\server\share".
func shareNameFromPath(p string) (string, bool) {
	p = strings.TrimPrefix(p, `\\`)
	i := strings.IndexByte(p, '\\')
	if i < 0 || i == len(p)-1 {
		return "", false
	}
	name := p[i+1:]
	if strings.ContainsAny(name, `\/`) {
		return "", false
	}
	return name, true
}

// treeConnect handles TREE_CONNECT [MS-SMB2 3.3.5.7].
func (r *request) treeConnect(w *response) error {
	c := r.c
	req, err := wire.ParseTreeConnectRequest(r.msg)
	if err != nil {
		return ntstatus.InvalidParameter
	}
	s := r.sess
	id := s.identityCopy()
	// 3.1.1: a real user's TREE_CONNECT must be signed (or encrypted);
	// Samba drops the connection otherwise [MS-SMB2 3.2.4.1.1].
	if c.dialect == wire.Dialect311 && !r.signed && !id.Anonymous && !id.Guest {
		return fatal("unsigned_tree_connect", "3.1.1 TREE_CONNECT without a signature from %s", id.User)
	}
	name, ok := shareNameFromPath(req.Path)
	if !ok {
		return ntstatus.BadNetworkName
	}
	t := &treeConnect{srv: c.srv}
	resp := &wire.TreeConnectResponse{ShareFlags: wire.ShareFlagManualCaching}
	if strings.EqualFold(name, ipcShareName) {
		t.ipc = true
		resp.ShareType = wire.ShareTypePipe
		resp.ShareFlags = wire.ShareFlagNoCaching
		resp.MaximalAccess = accessFull
	} else {
		sh := c.srv.settings().shareByName(name)
		if sh == nil {
			return ntstatus.BadNetworkName
		}
		if id.Anonymous || !sh.allows(id.Account) {
			c.log.Info("tree connect refused: user not allowed on share", "user", id.User, "account", id.Account, "share", sh.Name)
			return ntstatus.AccessDenied
		}
		if err := r.shareEncryption(sh, t, resp); err != nil {
			return err
		}
		t.share = sh
		t.readOnly = sh.ReadOnly
		resp.ShareType = wire.ShareTypeDisk
		resp.MaximalAccess = accessFull
		if sh.ReadOnly {
			resp.MaximalAccess = accessReadOnly
		}
	}
	r.hdr.TreeID = s.addTree(t)
	r.tree = t
	w.buf = wire.AppendTreeConnectResponse(w.buf, resp)
	return nil
}

// treeDisconnect handles TREE_DISCONNECT [MS-SMB2 3.3.5.8].
func (r *request) treeDisconnect(w *response) error {
	if err := wire.ParseSimpleRequest(r.msg); err != nil {
		return ntstatus.InvalidParameter
	}
	if t := r.sess.removeTree(r.hdr.TreeID); t != nil {
		t.close()
	}
	w.buf = wire.AppendSimple(w.buf)
	return nil
}

// echo handles ECHO [MS-SMB2 3.3.5.20].
func (r *request) echo(w *response) error {
	if err := wire.ParseSimpleRequest(r.msg); err != nil {
		return ntstatus.InvalidParameter
	}
	w.buf = wire.AppendSimple(w.buf)
	return nil
}

// cancel handles CANCEL [MS-SMB2 3.3.5.16]: never answered.
func (r *request) cancel(w *response) error {
	r.noResponse = true
	r.c.cancelRequest(&r.hdr)
	return nil
}

func (s *session) identityCopy() (id auth.Identity) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.identity
}
