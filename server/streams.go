package server

import (
	"context"
	"errors"
	"io/fs"
	"os"
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
	cc.stream = p.Stream
	if p.Stream != "" && len(p.Components) == 0 {
		return nil, ntstatus.ObjectNameInvalid
	}
	return p.Components, nil
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
	if o.stream == "" {
		return o.fs.Remove(ctx, p)
	}
	sfs, ok := streamFS(o.fs)
	if !ok {
		return vfs.ErrNotSupported
	}
	return sfs.RemoveStream(ctx, openName(p), o.stream)
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
	if !o.isDir && o.stream == "" {
		out = append(out, fscc.StreamEntry{Size: info.EndOfFile, AllocationSize: info.AllocationSize})
	}
	sfs, ok := streamFS(o.fs)
	if !ok {
		return out, nil
	}
	list, err := sfs.Streams(ctx, openName(o.currentPath()))
	if err != nil {
		return nil, err
	}
	if o.stream != "" {
		// The main stream's size comes from the file, not this open.
		if fi, err := o.fs.Stat(ctx, openName(o.currentPath())); err == nil && fi.IsRegular() {
			out = append(out, fscc.StreamEntry{Size: fi.Size, AllocationSize: fi.AllocationSize})
		}
	}
	for _, s := range list {
		out = append(out, fscc.StreamEntry{Name: s.Name, Size: s.Size, AllocationSize: s.AllocationSize})
	}
	return out, nil
}

// currentPath is the open's path under its mutex.
func (o *open) currentPath() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.path
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
