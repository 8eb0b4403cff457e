package server

import (
	"context"
	"strings"

	"github.com/signetsmb/signet/internal/dcerpc"
	"github.com/signetsmb/signet/internal/wire"
	"github.com/signetsmb/signet/vfs"
)

func init() {
	registerFileCommands = func() {
		commands[wire.CmdCreate] = command{structSize: 57, needSession: true, needTree: true, run: (*request).create}
		commands[wire.CmdClose] = command{structSize: 24, needSession: true, needTree: true, fileIDAt: 8, run: (*request).closeFile}
		commands[wire.CmdFlush] = command{structSize: 24, needSession: true, needTree: true, fileIDAt: 8, run: (*request).flush}
		commands[wire.CmdRead] = command{structSize: 49, needSession: true, needTree: true, fileIDAt: 16, run: (*request).read}
		commands[wire.CmdWrite] = command{structSize: 49, needSession: true, needTree: true, fileIDAt: 16, run: (*request).write}
		commands[wire.CmdLock] = command{structSize: 48, needSession: true, needTree: true, fileIDAt: 8, run: (*request).lock}
		commands[wire.CmdQueryDirectory] = command{structSize: 33, needSession: true, needTree: true, fileIDAt: 8, run: (*request).queryDirectory}
		commands[wire.CmdChangeNotify] = command{structSize: 32, needSession: true, needTree: true, fileIDAt: 8, run: (*request).changeNotify}
		commands[wire.CmdQueryInfo] = command{structSize: 41, needSession: true, needTree: true, fileIDAt: 24, run: (*request).queryInfo}
		commands[wire.CmdSetInfo] = command{structSize: 33, needSession: true, needTree: true, fileIDAt: 16, run: (*request).setInfo}
		commands[wire.CmdOplockBreak] = command{structSize: 24, needSession: true, needTree: true, fileIDAt: 8, run: (*request).oplockBreak}
	}
}

// maximalAccess is the access a user gets on the tree.
func (t *treeConnect) maximalAccess() uint32 {
	if t.readOnly {
		return accessReadOnly
	}
	return accessFull
}

func (t *treeConnect) shareName() string {
	if t.share == nil {
		return ipcShareName
	}
	return t.share.Name
}

// addOpen registers an open on the tree; false when the tree is gone.
func (t *treeConnect) addOpen(o *open) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	if t.opens == nil {
		t.opens = map[*open]struct{}{}
	}
	t.opens[o] = struct{}{}
	return true
}

func (t *treeConnect) removeOpen(o *open) {
	t.mu.Lock()
	delete(t.opens, o)
	t.mu.Unlock()
}

// isOpen reports whether a file has any open.
func (t *nodeTable) isOpen(fsys vfs.FS, id uint64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := t.nodes[nodeKey{fs: fsys, id: id}]
	return n != nil && len(n.opens) > 0
}

// hasOpensBelow reports whether any open other than self lies below dir
// (a directory with open children cannot be renamed on Windows).
func (t *nodeTable) hasOpensBelow(fsys vfs.FS, dir string, self *open) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	prefix := dir + "/"
	for k, n := range t.nodes {
		if k.fs != fsys {
			continue
		}
		for _, o := range n.opens {
			if o != self && strings.HasPrefix(o.pathNow(), prefix) {
				return true
			}
		}
	}
	return false
}

// ctx is the server's background context for work not tied to a request.
func (s *Server) ctx() context.Context { return context.Background() }

// pipeBackend answers srvsvc/wkssvc queries from the live settings.
type pipeBackend struct {
	srv *Server
}

// Shares lists the shares the account (its ID, as given to dcerpc.NewPipe)
// may connect to.
func (b pipeBackend) Shares(account string) []dcerpc.ShareInfo {
	st := b.srv.settings()
	var out []dcerpc.ShareInfo
	for _, sh := range st.Shares {
		if !sh.allows(account) {
			continue
		}
		out = append(out, dcerpc.ShareInfo{Name: sh.Name, Comment: sh.Comment, Type: dcerpc.ShareTypeDisk, Path: "C:\\" + sh.Name})
	}
	out = append(out, dcerpc.ShareInfo{Name: ipcShareName, Comment: "IPC Service", Type: dcerpc.ShareTypeIPC | dcerpc.ShareTypeSpecial})
	return out
}

func (b pipeBackend) Server() dcerpc.ServerInfo {
	st := b.srv.settings()
	return dcerpc.ServerInfo{Name: st.ServerName, Comment: "Signet", Domain: st.Domain}
}

// closeOpen releases an open whose tree or session is going away; its
// FileId and its pending requests, on whichever channel, go with it.
func (s *Server) closeOpen(o *open) {
	s.forgetOpen(o)
	cancelOpenEverywhere(o)
	o.release()
}

// cancelOpenEverywhere ends the pending requests on o on every channel of
// its session (a request may wait on any of them), and on the connection
// that created it.
func cancelOpenEverywhere(o *open) {
	if o.conn != nil {
		o.conn.cancelOpen(o)
	}
	if o.sess == nil {
		return
	}
	for _, c := range o.sess.channelConns(o.conn) {
		if c != o.conn {
			c.cancelOpen(o)
		}
	}
}
