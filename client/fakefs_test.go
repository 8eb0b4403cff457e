package client

import (
	"encoding/binary"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/signetsmb/signet/internal/dcerpc"
	"github.com/signetsmb/signet/internal/fscc"
	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
)

// The fake server's file operations, over an in-memory tree keyed by
// lower-case wire paths.

func (c *fakeConn) fileOp(h wire.Header, msg, resp []byte) (ntstatus.Status, []byte) {
	switch h.Command {
	case wire.CmdCreate:
		return c.create(h, msg, resp)
	case wire.CmdClose:
		return c.closeOp(msg, resp)
	case wire.CmdRead:
		return c.read(msg, resp)
	case wire.CmdWrite:
		return c.writeOp(msg, resp)
	case wire.CmdQueryDirectory:
		return c.queryDirectory(msg, resp)
	case wire.CmdQueryInfo:
		return c.queryInfo(msg, resp)
	case wire.CmdSetInfo:
		return c.setInfo(msg, resp)
	}
	return ntstatus.NotSupported, resp
}

func key(p string) string { return strings.ToLower(p) }

func parentKey(p string) string {
	if i := strings.LastIndexByte(p, '\\'); i >= 0 {
		return key(p[:i])
	}
	return ""
}

func (c *fakeConn) create(h wire.Header, msg, resp []byte) (ntstatus.Status, []byte) {
	r, err := wire.ParseCreateRequest(msg)
	if err != nil {
		return ntstatus.InvalidParameter, resp
	}
	c.mu.Lock()
	share := c.trees[h.TreeID]
	c.mu.Unlock()
	if strings.EqualFold(share, "IPC$") {
		return c.createPipe(r, resp)
	}
	s := c.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	if strings.HasPrefix(path.Base(strings.ReplaceAll(r.Name, `\`, "/")), "denied") {
		return ntstatus.AccessDenied, resp
	}
	n, action, st := s.resolve(r)
	if st != ntstatus.Success {
		return st, resp
	}
	return ntstatus.Success, c.createResponse(resp, r.Name, n, action)
}

// resolve applies the create disposition; s.mu is held.
func (s *fakeServer) resolve(r *wire.CreateRequest) (*fakeNode, uint32, ntstatus.Status) {
	n := s.files[key(r.Name)]
	if parent := s.files[parentKey(r.Name)]; parent == nil || !parent.dir {
		return nil, 0, ntstatus.ObjectPathNotFound
	}
	wantDir := r.CreateOptions&wire.FileDirectoryFile != 0
	switch {
	case n != nil && r.CreateDisposition == wire.FileCreate:
		return nil, 0, ntstatus.ObjectNameCollision
	case n != nil && wantDir && !n.dir:
		return nil, 0, ntstatus.NotADirectory
	case n != nil && n.dir && r.CreateOptions&wire.FileNonDirectoryFile != 0:
		return nil, 0, ntstatus.FileIsADirectory
	case n != nil && (r.CreateDisposition == wire.FileOverwrite || r.CreateDisposition == wire.FileOverwriteIf):
		n.data, n.mtime = nil, time.Now()
		return n, wire.FileOverwritten, ntstatus.Success
	case n != nil:
		return n, wire.FileOpened, ntstatus.Success
	case r.CreateDisposition == wire.FileOpen || r.CreateDisposition == wire.FileOverwrite:
		return nil, 0, ntstatus.ObjectNameNotFound
	}
	n = &fakeNode{dir: wantDir, mtime: time.Now(), name: r.Name}
	s.files[key(r.Name)] = n
	return n, wire.FileCreated, ntstatus.Success
}

func (c *fakeConn) createResponse(resp []byte, name string, n *fakeNode, action uint32) []byte {
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	c.opens[id] = &fakeOpen{path: name, seq: c.srv.opt.openSeq}
	c.mu.Unlock()
	ft := fscc.Filetime(n.mtime)
	return wire.AppendCreateResponse(resp, &wire.CreateResponse{
		CreateAction: action, CreationTime: ft, LastAccessTime: ft, LastWriteTime: ft, ChangeTime: ft,
		EndOfFile: uint64(len(n.data)), AllocationSize: uint64(len(n.data)),
		FileAttributes: attrsOf(n), FileID: wire.FileID{Persistent: id, Volatile: id},
	})
}

func attrsOf(n *fakeNode) uint32 {
	if n.dir {
		return fscc.FileAttributeDirectory
	}
	return fscc.FileAttributeArchive
}

func (c *fakeConn) createPipe(r *wire.CreateRequest, resp []byte) (ntstatus.Status, []byte) {
	p, err := dcerpc.NewPipe(r.Name, fakeBackend{}, fakeUser, 1<<20)
	if err != nil {
		return ntstatus.ObjectNameNotFound, resp
	}
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	c.opens[id] = &fakeOpen{path: r.Name, pipe: p}
	c.mu.Unlock()
	return ntstatus.Success, wire.AppendCreateResponse(resp, &wire.CreateResponse{
		CreateAction: wire.FileOpened, FileAttributes: fscc.FileAttributeNormal, FileID: wire.FileID{Persistent: id, Volatile: id},
	})
}

// fakeBackend lists the fake server's shares.
type fakeBackend struct{}

func (fakeBackend) Shares(string) []dcerpc.ShareInfo {
	return []dcerpc.ShareInfo{
		{Name: "share", Comment: "the fake share", Type: dcerpc.ShareTypeDisk},
		{Name: "IPC$", Comment: "IPC Service", Type: dcerpc.ShareTypeIPC | dcerpc.ShareTypeSpecial},
	}
}

func (fakeBackend) Server() dcerpc.ServerInfo { return dcerpc.ServerInfo{Name: "FAKE"} }

func (c *fakeConn) closeOp(msg, resp []byte) (ntstatus.Status, []byte) {
	r, err := wire.ParseCloseRequest(msg)
	if err != nil {
		return ntstatus.InvalidParameter, resp
	}
	c.mu.Lock()
	o := c.opens[r.FileID.Volatile]
	delete(c.opens, r.FileID.Volatile)
	c.mu.Unlock()
	if o == nil {
		return ntstatus.FileClosed, resp
	}
	if o.del {
		c.srv.mu.Lock()
		delete(c.srv.files, key(o.path))
		c.srv.mu.Unlock()
	}
	return ntstatus.Success, wire.AppendCloseResponse(resp, &wire.CloseResponse{})
}

// node returns the open's node; s.mu is held.
func (c *fakeConn) node(id wire.FileID) (*fakeOpen, *fakeNode) {
	o := c.open(id)
	if o == nil {
		return nil, nil
	}
	return o, c.srv.files[key(o.path)]
}

func (c *fakeConn) read(msg, resp []byte) (ntstatus.Status, []byte) {
	r, err := wire.ParseReadRequest(msg)
	if err != nil {
		return ntstatus.InvalidParameter, resp
	}
	if o := c.open(r.FileID); o != nil && o.pipe != nil {
		buf := make([]byte, r.Length)
		n, more, err := o.pipe.ReadMessage(buf)
		if err != nil {
			return ntstatus.PipeEmpty, resp
		}
		return statusMore(more), appendReadResponse(resp, buf[:n])
	}
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	_, n := c.node(r.FileID)
	if n == nil {
		return ntstatus.FileClosed, resp
	}
	if r.Offset >= uint64(len(n.data)) {
		return ntstatus.EndOfFile, resp
	}
	end := min(r.Offset+uint64(r.Length), uint64(len(n.data)))
	return ntstatus.Success, appendReadResponse(resp, n.data[r.Offset:end])
}

func statusMore(more bool) ntstatus.Status {
	if more {
		return ntstatus.BufferOverflow
	}
	return ntstatus.Success
}

func appendReadResponse(resp, data []byte) []byte {
	n := len(resp)
	resp = append(resp, make([]byte, wire.ReadResponseHeaderSize)...)
	wire.PutReadResponse(resp[n:], uint32(len(data)))
	return append(resp, data...)
}

func (c *fakeConn) writeOp(msg, resp []byte) (ntstatus.Status, []byte) {
	r, err := wire.ParseWriteRequest(msg)
	if err != nil {
		return ntstatus.InvalidParameter, resp
	}
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	o, n := c.node(r.FileID)
	if n == nil {
		return ntstatus.FileClosed, resp
	}
	// ChannelSequence [MS-SMB2 3.3.5.2.10]: an older one than the open
	// has seen is refused before the write, a newer one is adopted.
	if c.dialect >= Dialect300 {
		seq := binary.LittleEndian.Uint16(msg[8:])
		if d := int16(seq - o.seq); d < 0 {
			c.srv.stats.staleWrites.Add(1)
			return ntstatus.FileNotAvailable, resp
		} else if d > 0 {
			o.seq = seq
		}
	}
	if end := int(r.Offset) + len(r.Data); end > len(n.data) {
		n.data = append(n.data, make([]byte, end-len(n.data))...)
	}
	copy(n.data[r.Offset:], r.Data)
	n.mtime = time.Now()
	return ntstatus.Success, wire.AppendWriteResponse(resp, uint32(len(r.Data)))
}

func (c *fakeConn) queryDirectory(msg, resp []byte) (ntstatus.Status, []byte) {
	r, err := wire.ParseQueryDirectoryRequest(msg)
	if err != nil {
		return ntstatus.InvalidParameter, resp
	}
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	o, n := c.node(r.FileID)
	switch {
	case n == nil || !n.dir:
		return ntstatus.InvalidParameter, resp
	case o.listed:
		return ntstatus.NoMoreFiles, resp
	}
	o.listed = true
	out := appendDirEntry(nil, ".", n)
	out = appendDirEntry(out, "..", n)
	prefix := key(o.path)
	if prefix != "" {
		prefix += `\`
	}
	var names []string
	for k := range c.srv.files {
		if k != "" && strings.HasPrefix(k, prefix) && !strings.Contains(k[len(prefix):], `\`) {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	for _, k := range names {
		n := c.srv.files[k]
		out = appendDirEntry(out, n.name[strings.LastIndexByte(n.name, '\\')+1:], n)
	}
	return ntstatus.Success, wire.AppendOutputBuffer(resp, out)
}

// appendDirEntry appends a FileDirectoryInformation entry, linking the
// previous one; entries are 8-aligned.
func appendDirEntry(b []byte, name string, n *fakeNode) []byte {
	start := len(b)
	if start > 0 {
		for len(b)%8 != 0 {
			b = append(b, 0)
		}
		start = len(b)
		prev := lastEntry(b[:start])
		binary.LittleEndian.PutUint32(b[prev:], uint32(start-prev))
	}
	u := wire.EncodeUTF16(name)
	e := make([]byte, 64)
	ft := fscc.Filetime(n.mtime)
	for i := 8; i < 40; i += 8 {
		binary.LittleEndian.PutUint64(e[i:], ft)
	}
	binary.LittleEndian.PutUint64(e[40:], uint64(len(n.data)))
	binary.LittleEndian.PutUint64(e[48:], uint64(len(n.data)))
	binary.LittleEndian.PutUint32(e[56:], attrsOf(n))
	binary.LittleEndian.PutUint32(e[60:], uint32(len(u)))
	return append(append(b, e...), u...)
}

// lastEntry returns the offset of the last entry of a chain.
func lastEntry(b []byte) int {
	off := 0
	for {
		next := int(binary.LittleEndian.Uint32(b[off:]))
		if next == 0 {
			return off
		}
		off += next
	}
}

func (c *fakeConn) queryInfo(msg, resp []byte) (ntstatus.Status, []byte) {
	r, err := wire.ParseQueryInfoRequest(msg)
	if err != nil {
		return ntstatus.InvalidParameter, resp
	}
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	_, n := c.node(r.FileID)
	if n == nil {
		return ntstatus.FileClosed, resp
	}
	std := make([]byte, 24)
	binary.LittleEndian.PutUint64(std, uint64(len(n.data)))
	binary.LittleEndian.PutUint64(std[8:], uint64(len(n.data)))
	binary.LittleEndian.PutUint32(std[16:], 1)
	if n.dir {
		std[21] = 1
	}
	switch fscc.InfoClass(r.InfoClass) {
	case fscc.FileStandardInformation:
		return ntstatus.Success, wire.AppendOutputBuffer(resp, std)
	case fscc.FileAllInformation:
		basic := make([]byte, 40)
		ft := fscc.Filetime(n.mtime)
		for i := 0; i < 32; i += 8 {
			binary.LittleEndian.PutUint64(basic[i:], ft)
		}
		binary.LittleEndian.PutUint32(basic[32:], attrsOf(n))
		all := append(append(basic, std...), make([]byte, 36)...) // Internal..Alignment, Name length 0
		return ntstatus.Success, wire.AppendOutputBuffer(resp, all)
	}
	return ntstatus.InvalidInfoClass, resp
}

func (c *fakeConn) setInfo(msg, resp []byte) (ntstatus.Status, []byte) {
	r, err := wire.ParseSetInfoRequest(msg)
	if err != nil {
		return ntstatus.InvalidParameter, resp
	}
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	o, n := c.node(r.FileID)
	if n == nil {
		return ntstatus.FileClosed, resp
	}
	switch fscc.InfoClass(r.InfoClass) {
	case fscc.FileDispositionInformation:
		return c.dispose(o, n, resp)
	case fscc.FileRenameInformation:
		return c.rename(o, n, r.Buffer, resp)
	case fscc.FileEndOfFileInformation:
		size := binary.LittleEndian.Uint64(r.Buffer)
		n.data = append(n.data[:min(uint64(len(n.data)), size)], make([]byte, size-min(uint64(len(n.data)), size))...)
		return ntstatus.Success, wire.AppendSetInfoResponse(resp)
	}
	return ntstatus.InvalidInfoClass, resp
}

func (c *fakeConn) dispose(o *fakeOpen, n *fakeNode, resp []byte) (ntstatus.Status, []byte) {
	if n.dir {
		prefix := key(o.path) + `\`
		for k := range c.srv.files {
			if strings.HasPrefix(k, prefix) {
				return ntstatus.DirectoryNotEmpty, resp
			}
		}
	}
	o.del = true
	return ntstatus.Success, wire.AppendSetInfoResponse(resp)
}

func (c *fakeConn) rename(o *fakeOpen, n *fakeNode, b, resp []byte) (ntstatus.Status, []byte) {
	if len(b) < 20 || int(binary.LittleEndian.Uint32(b[16:])) != len(b)-20 {
		return ntstatus.InvalidParameter, resp
	}
	target := wire.DecodeUTF16(b[20:])
	if old := c.srv.files[key(target)]; old != nil && b[0] == 0 {
		return ntstatus.ObjectNameCollision, resp
	}
	delete(c.srv.files, key(o.path))
	c.srv.files[key(target)] = n
	o.path, n.name = target, target
	return ntstatus.Success, wire.AppendSetInfoResponse(resp)
}
