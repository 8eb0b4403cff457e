package server

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/signetsmb/signet/internal/fscc"
	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
	"github.com/signetsmb/signet/vfs"
)

// Named data streams [MS-FSCC 2.1.4, MS-FSA 2.1.5.1]: a CREATE of
// "file:stream" or "file:stream:$DATA" opens a stream of file through the
// share's vfs.StreamFS; "file::$DATA" is the file itself. A stream open
// is an open of its own node (nodeKey.stream), with its own share modes,
// byte-range locks, oplocks and leases and delete disposition, as on NTFS.
// Across streams of one file: opening the file with DELETE access
// conflicts with an open of a stream that does not share delete, and a
// file whose delete is pending cannot have its streams opened
// (attachStream).
//
// Stream names are case-insensitive as on Windows: the CREATE looks the
// name up among the file's streams ignoring case, and creates it with
// the case the client gave. On a share whose backend has no StreamFS,
// a stream name is STATUS_OBJECT_NAME_INVALID, as on FAT, and the share
// does not announce FILE_NAMED_STREAMS.

// streamFS returns the share backend's StreamFS, if it has one.
func streamFS(fsys vfs.FS) (vfs.StreamFS, bool) {
	s, ok := fsys.(vfs.StreamFS)
	return s, ok
}

// parseName splits a CREATE name into components and a stream name
// (cc.stream), mapping errors as smbToPath does.
func (cc *createCall) parseName(name string) ([]string, error) {
	p, err := fscc.ParsePath(name)
	if err != nil {
		if errors.Is(err, fscc.ErrPathOutsideShare) {
			return nil, ntstatus.ObjectPathSyntaxBad
		}
		return nil, ntstatus.ObjectNameInvalid
	}
	cc.stream, cc.defaultStream = p.Stream, p.DefaultStream
	if (p.Stream != "" || p.DefaultStream) && len(p.Components) == 0 {
		return nil, ntstatus.ObjectNameInvalid
	}
	return p.Components, nil
}

// resolveDefaultStream: "name::$DATA" is the file itself, and a
// directory has no data stream [MS-FSA 2.1.5.1].
func (cc *createCall) resolveDefaultStream() error {
	switch {
	case cc.req.CreateOptions&wire.FileDirectoryFile != 0:
		return ntstatus.NotADirectory
	case cc.exists && cc.fi.IsDir():
		return ntstatus.FileIsADirectory
	}
	return nil
}

// resolveStream finishes resolve for a stream: cc.exists and cc.fi now
// describe the stream (a regular file with the file's identity, times and
// permissions, and the stream's size); the file's own state is kept in
// baseExists.
func (cc *createCall) resolveStream() error {
	sfs, ok := streamFS(cc.r.tree.share.FS)
	if !ok {
		return ntstatus.ObjectNameInvalid
	}
	if cc.req.CreateOptions&wire.FileDirectoryFile != 0 {
		return ntstatus.NotADirectory // a stream is never a directory
	}
	cc.baseExists = cc.exists
	cc.streamName = cc.stream
	if !cc.exists {
		return nil
	}
	list, err := sfs.Streams(cc.r.ctx(), openName(cc.path))
	if err != nil {
		return statusOf(err)
	}
	var size int64
	found := false
	for _, s := range list {
		if s.Name == cc.stream || !found && strings.EqualFold(s.Name, cc.stream) {
			cc.streamName, size, found = s.Name, s.Size, true
		}
	}
	cc.fi.Mode = cc.fi.Mode.Perm()
	cc.fi.Size, cc.fi.AllocationSize = size, (size+4095)&^4095
	cc.exists = found
	return nil
}

// openData opens the file, or the stream a stream CREATE names (creating
// the file first when it does not exist, as Windows does).
func (cc *createCall) openData(ctx context.Context, flag int, perm fs.FileMode) (vfs.File, error) {
	fsys := cc.r.tree.share.FS
	if cc.stream == "" {
		return fsys.OpenFile(ctx, openName(cc.path), flag, perm)
	}
	sfs, ok := streamFS(fsys)
	if !ok {
		return nil, ntstatus.ObjectNameInvalid
	}
	cc.baseCreated = false
	if !cc.baseExists {
		bf, err := fsys.OpenFile(ctx, cc.path, os.O_RDWR|os.O_CREATE|os.O_EXCL, perm)
		if err != nil {
			return nil, err
		}
		bf.Close()
		cc.baseCreated = true
	}
	f, err := sfs.OpenStream(ctx, openName(cc.path), cc.streamName, flag)
	if err != nil && cc.baseCreated {
		fsys.Remove(ctx, cc.path)
		cc.baseCreated = false
	}
	return f, err
}

// undoCreate removes what a failed CREATE created: the file, or the
// stream (and the file when the CREATE made it for the stream).
func (cc *createCall) undoCreate(ctx context.Context) {
	if cc.exists {
		return
	}
	fsys := cc.r.tree.share.FS
	if cc.stream != "" {
		if sfs, ok := streamFS(fsys); ok {
			sfs.RemoveStream(ctx, openName(cc.path), cc.streamName)
		}
		if !cc.baseCreated {
			return
		}
	}
	fsys.Remove(ctx, cc.path)
}

// nodeKey is the node of the CREATE's file or stream.
func (cc *createCall) nodeKey(fsys vfs.FS, id uint64) nodeKey {
	return nodeKey{fs: fsys, id: id, stream: strings.ToLower(cc.streamName)}
}

// removeData removes the open's file, or its stream (delete on close).
func (o *open) removeData(ctx context.Context, p string) error {
	stream := o.streamNow()
	if stream == "" {
		return o.fs.Remove(ctx, p)
	}
	sfs, ok := streamFS(o.fs)
	if !ok {
		return vfs.ErrNotSupported
	}
	return sfs.RemoveStream(ctx, openName(p), stream)
}

// attachStream applies the rules across the streams of one file when o
// joins the node of key k [MS-FSA 2.1.5.1.2]: a stream of a file whose delete is
// pending cannot be opened, and opening the file itself with DELETE
// access conflicts with a stream open that does not share delete (the
// file cannot go while the stream is open). The caller holds t.mu.
func (t *nodeTable) attachStream(k nodeKey, o *open) error {
	if k.stream != "" {
		if b := t.nodes[nodeKey{fs: k.fs, id: k.id}]; b != nil && b.deletePending {
			return ntstatus.DeletePending
		}
		return nil
	}
	if o.access&wire.Delete == 0 || len(t.streamNodes[k]) == 0 {
		return nil
	}
	for _, sn := range t.streamNodes[k] {
		for _, other := range sn.opens {
			if other.share&wire.FileShareDelete == 0 {
				return ntstatus.SharingViolation
			}
		}
	}
	return nil
}

// trackStream records a new stream node under its file's key, and forgets
// it when it goes (added false). The caller holds t.mu.
func (t *nodeTable) trackStream(n *fileNode, added bool) {
	k := n.key
	if k.stream == "" {
		return
	}
	base := nodeKey{fs: k.fs, id: k.id}
	if added {
		if t.streamNodes == nil {
			t.streamNodes = map[nodeKey][]*fileNode{}
		}
		t.streamNodes[base] = append(t.streamNodes[base], n)
		return
	}
	list := t.streamNodes[base]
	for i, x := range list {
		if x == n {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(t.streamNodes, base)
	} else {
		t.streamNodes[base] = list
	}
}

// streamEntries lists the streams of the open's file for
// FileStreamInformation: the unnamed stream first (files only), then
// the named ones.
func (o *open) streamEntries(ctx context.Context, info *fscc.FileInfo) ([]fscc.StreamEntry, error) {
	var out []fscc.StreamEntry
	stream := o.streamNow()
	if !o.isDir && stream == "" {
		out = append(out, fscc.StreamEntry{Size: info.EndOfFile, AllocationSize: info.AllocationSize})
	}
	sfs, ok := streamFS(o.fs)
	if !ok {
		return out, nil
	}
	list, err := sfs.Streams(ctx, openName(o.pathNow()))
	if err != nil {
		return nil, err
	}
	if stream != "" {
		// The main stream's size comes from the file, not this open.
		if fi, err := o.fs.Stat(ctx, openName(o.pathNow())); err == nil && fi.IsRegular() {
			out = append(out, fscc.StreamEntry{Size: fi.Size, AllocationSize: fi.AllocationSize})
		}
	}
	for _, s := range list {
		out = append(out, fscc.StreamEntry{Name: s.Name, Size: s.Size, AllocationSize: s.AllocationSize})
	}
	return out, nil
}

// fsStreamAttributes adds FILE_NAMED_STREAMS for a backend with streams.
func fsStreamAttributes(fsys vfs.FS, a uint32) uint32 {
	if _, ok := streamFS(fsys); ok {
		a |= fscc.FSAttrNamedStreams
	}
	return a
}

// queryStreams answers FileStreamInformation [MS-FSCC 2.4.49].
func (o *open) queryStreams(info *fscc.FileInfo, outLen uint32) ([]byte, bool, error) {
	entries, err := o.streamEntries(context.Background(), info)
	if err != nil {
		return nil, false, err
	}
	return fscc.FitFileInfo(fscc.FileStreamInformation, fscc.AppendStreamEntries(nil, entries), outLen)
}

// renameStream handles FileRenameInformation when the open is a stream or
// the target names one (":name[:$DATA]", MS-FSA 2.1.5.14.11): a stream
// is renamed among its file's streams, or onto the unnamed stream
// ("::$DATA", its data moves into the file). It reports false for a
// rename it does not handle (a file to a path).
func (r *request) renameStream(o *open, ri fscc.RenameInfo) (bool, error) {
	target := ri.FileName
	stream := o.streamNow()
	if !strings.HasPrefix(target, ":") {
		switch {
		case stream == "":
			return false, nil
		case strings.Contains(target, ":"):
			return true, ntstatus.SharingViolation // a path with a stream (Samba, Windows)
		}
		return true, ntstatus.InvalidParameter // a stream cannot become a file
	}
	sfs, ok := streamFS(o.fs)
	if !ok {
		return true, ntstatus.ObjectNameInvalid
	}
	p, err := fscc.ParsePath("x" + target)
	if err != nil || len(p.Components) != 1 {
		return true, ntstatus.ObjectNameInvalid
	}
	if stream == "" {
		if p.DefaultStream {
			return true, nil // the file onto itself
		}
		return true, ntstatus.InvalidParameter // the unnamed stream cannot be renamed
	}
	ctx := r.ctx()
	base := openName(o.pathNow())
	if p.DefaultStream {
		return true, r.streamToDefault(ctx, o, sfs, base, stream, ri.ReplaceIfExists)
	}
	list, err := sfs.Streams(ctx, base)
	if err != nil {
		return true, statusOf(err)
	}
	newName := p.Stream
	for _, s := range list {
		if strings.EqualFold(s.Name, newName) && !strings.EqualFold(s.Name, stream) {
			if !ri.ReplaceIfExists {
				return true, ntstatus.ObjectNameCollision
			}
			if r.c.srv.nodes.isOpenKey(nodeKey{fs: o.fs, id: o.node.key.id, stream: strings.ToLower(s.Name)}) {
				return true, ntstatus.AccessDenied
			}
			newName = s.Name
		}
	}
	if newName == stream {
		return true, nil
	}
	if err := sfs.RenameStream(ctx, base, stream, newName, ri.ReplaceIfExists); err != nil {
		return true, statusOf(err)
	}
	r.c.srv.nodes.renameStreamNode(o.node, newName)
	return true, nil
}

// streamToDefault moves a stream's data into its file's unnamed stream,
// which must be empty unless replace is set, and removes the stream.
func (r *request) streamToDefault(ctx context.Context, o *open, sfs vfs.StreamFS, base, stream string, replace bool) error {
	fi, err := o.fs.Stat(ctx, base)
	if err != nil {
		return statusOf(err)
	}
	if fi.IsDir() {
		return ntstatus.InvalidParameter
	}
	if fi.Size > 0 && !replace {
		return ntstatus.ObjectNameCollision
	}
	st, err := o.file.Stat()
	if err != nil {
		return statusOf(err)
	}
	if st.Size > copyMaxTotalBytes {
		return ntstatus.InvalidParameter // bounded like a server-side copy
	}
	data := make([]byte, st.Size)
	if n, err := o.file.ReadAt(data, 0); err != nil && n < len(data) {
		return statusOf(err)
	}
	mf, err := o.fs.OpenFile(ctx, base, os.O_RDWR|os.O_TRUNC, 0)
	if err != nil {
		return statusOf(err)
	}
	defer mf.Close()
	if _, err := mf.WriteAt(data, 0); err != nil {
		return statusOf(err)
	}
	if err := sfs.RemoveStream(ctx, base, stream); err != nil {
		return statusOf(err)
	}
	return nil
}

// isOpenKey reports whether the node of k has opens.
func (t *nodeTable) isOpenKey(k nodeKey) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := t.nodes[k]
	return n != nil && len(n.opens) > 0
}

// renameStreamNode moves a stream node and its opens to a new stream name.
func (t *nodeTable) renameStreamNode(n *fileNode, name string) {
	t.mu.Lock()
	if t.nodes[n.key] == n {
		delete(t.nodes, n.key)
	}
	n.key.stream = strings.ToLower(name)
	t.nodes[n.key] = n
	opens := slices.Clone(n.opens)
	t.mu.Unlock()
	for _, o := range opens {
		o.mu.Lock()
		o.stream = name
		o.mu.Unlock()
	}
}

// streamNow is the open's stream name, under its mutex (a rename of the
// stream changes it).
func (o *open) streamNow() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.stream
}

// dropNode forgets node n, whose last open closed; del is whether its
// delete is pending. A file whose delete is pending while streams of it
// are open stays (its node kept, without opens, so that new opens get
// STATUS_DELETE_PENDING) until the last stream open closes, as on NTFS:
// dropNode then reports delBase for the caller to remove the file. The
// caller holds t.mu.
func (t *nodeTable) dropNode(n *fileNode, del bool) (delNode, delBase bool) {
	k := n.key
	base := nodeKey{fs: k.fs, id: k.id}
	if k.stream == "" && del && len(t.streamNodes[base]) > 0 {
		return false, false // deferred: streams of the file are open
	}
	delete(t.nodes, k)
	t.trackStream(n, false)
	if k.stream != "" && len(t.streamNodes[base]) == 0 {
		if b := t.nodes[base]; b != nil && len(b.opens) == 0 && b.deletePending {
			delete(t.nodes, base)
			return del, true
		}
	}
	return del, false
}

// removeDeferred removes a file whose delete was deferred by its open
// streams, once the last of them (o) closed; p is the file's path.
func (s *Server) removeDeferred(o *open, p string) {
	if err := o.fs.Remove(context.Background(), p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.log.Warn("delete on close failed", "path", p, "err", err)
		return
	}
	s.notifyChange(o, notifyRemoved)
}

// dropStreams removes the named streams of a file that a CREATE
// overwrites or supersedes: the new file has only its unnamed stream
// [MS-FSA 2.1.5.1.2.1].
func (cc *createCall) dropStreams(ctx context.Context) {
	if cc.stream != "" {
		return
	}
	sfs, ok := streamFS(cc.r.tree.share.FS)
	if !ok {
		return
	}
	list, err := sfs.Streams(ctx, openName(cc.path))
	if err != nil {
		return
	}
	for _, s := range list {
		if !cc.r.c.srv.nodes.isOpenKey(nodeKey{fs: cc.r.tree.share.FS, id: cc.fi.FileID, stream: strings.ToLower(s.Name)}) {
			sfs.RemoveStream(ctx, openName(cc.path), s.Name)
		}
	}
}
