package client

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/signetsmb/signet/internal/fscc"
	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
)

// Share is a mounted disk share. It implements fs.FS, fs.ReadDirFS,
// fs.ReadFileFS and fs.StatFS, plus os-like methods that modify the
// share. Paths are io/fs paths: slash-separated, relative to the share
// root, "." for the root (fs.ValidPath); they travel with backslashes.
//
// Methods use the context set by WithContext (context.Background by
// default). A Share is safe for concurrent use.
type Share struct {
	t   *tree
	ctx context.Context
}

var (
	_ fs.FS         = (*Share)(nil)
	_ fs.ReadDirFS  = (*Share)(nil)
	_ fs.ReadFileFS = (*Share)(nil)
	_ fs.StatFS     = (*Share)(nil)
)

// Mount connects to the disk share name (TREE_CONNECT). On every dialect
// but 3.1.1 the first Mount of a session also validates the negotiation.
func (s *Session) Mount(ctx context.Context, name string) (*Share, error) {
	t, err := s.treeConnect(ctx, name)
	if err != nil {
		return nil, err
	}
	if t.shareType != wire.ShareTypeDisk {
		t.disconnect(ctx)
		return nil, &fs.PathError{Op: "mount", Path: name, Err: errors.New("not a disk share")}
	}
	return &Share{t: t, ctx: context.Background()}, nil
}

// WithContext returns a view of the share whose methods, and the files
// they open, use ctx.
func (sh *Share) WithContext(ctx context.Context) *Share {
	return &Share{t: sh.t, ctx: ctx}
}

// Name returns the share name.
func (sh *Share) Name() string { return sh.t.name }

// Umount disconnects the share (TREE_DISCONNECT). Open files become
// unusable.
func (sh *Share) Umount() error {
	sh.t.s.flushFiles(sh.t)
	return sh.t.disconnect(sh.ctx)
}

// wirePath validates an io/fs path and converts it to the wire form.
func wirePath(op, name string) (string, error) {
	if !fs.ValidPath(name) || strings.ContainsAny(name, `\:`) {
		return "", &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	if name == "." {
		return "", nil
	}
	return strings.ReplaceAll(name, "/", `\`), nil
}

// openSpec is the CREATE request of one operation.
type openSpec struct {
	access      uint32
	disposition uint32
	options     uint32
	attributes  uint32
	oplock      uint8                // RequestedOplockLevel (OplockLease with a lease)
	contexts    []wire.CreateContext // lease and durable handle requests
}

// Access masks used by the client [MS-SMB2 2.2.13.1].
const (
	accessRead   = fscc.FileReadData | fscc.FileReadAttributes | fscc.FileReadEA | fscc.ReadControl | fscc.Synchronize
	accessWrite  = fscc.FileWriteData | fscc.FileAppendData | fscc.FileWriteAttributes | fscc.FileWriteEA | fscc.Synchronize
	accessStat   = fscc.FileReadAttributes | fscc.Synchronize
	accessDelete = fscc.Delete | fscc.FileReadAttributes | fscc.Synchronize
	shareAll     = wire.FileShareRead | wire.FileShareWrite | wire.FileShareDelete
)

// create opens name (already in wire form) and returns the CREATE
// response. Errors are *fs.PathError.
func (sh *Share) create(ctx context.Context, op, name, wname string, o openSpec) (*wire.CreateResponse, error) {
	return sh.createOn(ctx, sh.t.s, op, name, wname, o)
}

// createOn sends the CREATE on session s (the share's, or a reconnect's
// before it is published).
func (sh *Share) createOn(ctx context.Context, s *Session, op, name, wname string, o openSpec) (*wire.CreateResponse, error) {
	msg := wire.AppendCreateRequest(newMessage(wire.CmdCreate, 56+2*len(wname)+256), &wire.CreateRequest{
		RequestedOplockLevel: o.oplock,
		ImpersonationLevel:   wire.ImpersonationImpersonation,
		DesiredAccess:        o.access,
		FileAttributes:       o.attributes,
		ShareAccess:          shareAll,
		CreateDisposition:    o.disposition,
		CreateOptions:        o.options,
		Name:                 wname,
		Contexts:             o.contexts,
	})
	resp, err := s.simple(ctx, &exchange{msg: msg, t: sh.t})
	if err != nil {
		return nil, &fs.PathError{Op: op, Path: name, Err: err}
	}
	r, err := wire.ParseCreateResponse(resp.msg)
	if err != nil {
		return nil, &fs.PathError{Op: op, Path: name, Err: invalidResponse("CREATE", err)}
	}
	return r, nil
}

// closeFile sends CLOSE for an open File (sent again after a reconnect).
func (sh *Share) closeFile(ctx context.Context, f *File) error {
	msg := wire.AppendCloseRequest(newMessage(wire.CmdClose, 24), 0, f.fileID())
	_, err := sh.t.s.simple(ctx, &exchange{msg: msg, t: sh.t, f: f, fidAt: wire.HeaderSize + 8, replay: true})
	return err
}

// closeHandle sends CLOSE for id.
func (sh *Share) closeHandle(ctx context.Context, id wire.FileID) error {
	msg := wire.AppendCloseRequest(newMessage(wire.CmdClose, 24), 0, id)
	_, err := sh.t.s.simple(ctx, &exchange{msg: msg, t: sh.t})
	return err
}

// withHandle opens name, runs fn on the handle and closes it. fn's error
// wins over the CLOSE error.
func (sh *Share) withHandle(op, name string, o openSpec, fn func(r *wire.CreateResponse) error) error {
	wname, err := wirePath(op, name)
	if err != nil {
		return err
	}
	r, err := sh.create(sh.ctx, op, name, wname, o)
	if err != nil {
		return err
	}
	ferr := fn(r)
	cerr := sh.closeHandle(sh.ctx, r.FileID)
	if ferr != nil {
		return ferr
	}
	if cerr != nil {
		return &fs.PathError{Op: op, Path: name, Err: cerr}
	}
	return nil
}

// Open opens name for reading (fs.FS). Directories can be listed with
// ReadDir on the returned file.
func (sh *Share) Open(name string) (fs.File, error) {
	f, err := sh.OpenFile(name, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// Create creates or truncates name and opens it for reading and writing,
// like os.Create.
func (sh *Share) Create(name string) (*File, error) {
	return sh.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o666)
}

// OpenFile opens name like os.OpenFile. flag combines O_RDONLY, O_WRONLY
// or O_RDWR with O_CREATE, O_EXCL, O_TRUNC, O_APPEND and O_SYNC. perm only
// matters when a file is created: without any write bit the file gets
// FILE_ATTRIBUTE_READONLY. O_APPEND writes at the end of file as seen at
// each Write; that is not atomic against other clients.
func (sh *Share) OpenFile(name string, flag int, perm fs.FileMode) (*File, error) {
	wname, err := wirePath("open", name)
	if err != nil {
		return nil, err
	}
	o := openSpecFor(flag, perm)
	f := &File{}
	if err := sh.t.s.leaseRequest(&o, f); err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	r, err := sh.create(sh.ctx, "open", name, wname, o)
	if err != nil {
		return nil, err
	}
	nf := newFile(sh, name, flag, r)
	nf.spec, nf.lkey, nf.v2, nf.createGuid = o, f.lkey, f.v2, f.createGuid
	if err := nf.adoptGrant(r); err != nil {
		sh.closeHandle(sh.ctx, r.FileID)
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	sh.t.s.track(nf)
	return nf, nil
}

// openSpecFor maps os.OpenFile flags to a CREATE request.
func openSpecFor(flag int, perm fs.FileMode) openSpec {
	o := openSpec{access: accessRead, disposition: wire.FileOpen}
	switch flag & (os.O_RDONLY | os.O_WRONLY | os.O_RDWR) {
	case os.O_WRONLY:
		o.access = accessWrite | fscc.FileReadAttributes
	case os.O_RDWR:
		o.access = accessRead | accessWrite
	}
	switch {
	case flag&os.O_CREATE != 0 && flag&os.O_EXCL != 0:
		o.disposition = wire.FileCreate
	case flag&os.O_CREATE != 0 && flag&os.O_TRUNC != 0:
		o.disposition = wire.FileOverwriteIf
	case flag&os.O_CREATE != 0:
		o.disposition = wire.FileOpenIf
	case flag&os.O_TRUNC != 0:
		o.disposition = wire.FileOverwrite
	}
	if o.access&fscc.FileWriteData != 0 {
		o.options |= wire.FileNonDirectoryFile
	}
	if flag&os.O_SYNC != 0 {
		o.options |= wire.FileWriteThrough
	}
	if flag&os.O_CREATE != 0 && perm&0o222 == 0 {
		o.attributes = fscc.FileAttributeReadOnly
	}
	return o
}

// Stat returns the metadata of name (fs.StatFS), from the CREATE
// response of an attributes-only open.
func (sh *Share) Stat(name string) (fs.FileInfo, error) {
	var fi *fileInfo
	err := sh.withHandle("stat", name, openSpec{access: accessStat, disposition: wire.FileOpen}, func(r *wire.CreateResponse) error {
		fi = infoFromCreate(name, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return fi, nil
}

// ReadDir lists the directory name sorted by file name (fs.ReadDirFS).
func (sh *Share) ReadDir(name string) ([]fs.DirEntry, error) {
	f, err := sh.openDir("readdir", name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	entries, err := f.ReadDir(-1)
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return entries, err
}

// openDir opens a directory for listing.
func (sh *Share) openDir(op, name string) (*File, error) {
	wname, err := wirePath(op, name)
	if err != nil {
		return nil, err
	}
	o := openSpec{access: fscc.FileReadData | fscc.FileReadAttributes | fscc.Synchronize,
		disposition: wire.FileOpen, options: wire.FileDirectoryFile}
	r, err := sh.create(sh.ctx, op, name, wname, o)
	if err != nil {
		return nil, err
	}
	f := newFile(sh, name, os.O_RDONLY, r)
	sh.t.s.track(f)
	return f, nil
}

// ReadFile reads the whole file (fs.ReadFileFS), with parallel reads for
// large files.
func (sh *Share) ReadFile(name string) ([]byte, error) {
	f, err := sh.OpenFile(name, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if f.isDir {
		return nil, &fs.PathError{Op: "read", Path: name, Err: errIsDir}
	}
	var b bytes.Buffer
	b.Grow(int(min(f.info.size, 1<<30)) + 1)
	if _, err := f.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Mkdir creates the directory name. perm is ignored: the server decides.
func (sh *Share) Mkdir(name string, perm fs.FileMode) error {
	o := openSpec{access: accessStat, disposition: wire.FileCreate, options: wire.FileDirectoryFile}
	return sh.withHandle("mkdir", name, o, func(*wire.CreateResponse) error { return nil })
}

// MkdirAll creates name and any missing parents, like os.MkdirAll.
func (sh *Share) MkdirAll(name string, perm fs.FileMode) error {
	if fi, err := sh.Stat(name); err == nil {
		if fi.IsDir() {
			return nil
		}
		return &fs.PathError{Op: "mkdir", Path: name, Err: errNotDir}
	}
	if parent := path.Dir(name); parent != "." && parent != name {
		if err := sh.MkdirAll(parent, perm); err != nil {
			return err
		}
	}
	err := sh.Mkdir(name, perm)
	if errors.Is(err, fs.ErrExist) {
		if fi, serr := sh.Stat(name); serr == nil && fi.IsDir() {
			return nil
		}
	}
	return err
}

// Remove removes a file or an empty directory by setting its delete
// disposition [MS-FSCC 2.4.11].
func (sh *Share) Remove(name string) error {
	if name == "." {
		return &fs.PathError{Op: "remove", Path: name, Err: fs.ErrInvalid}
	}
	o := openSpec{access: accessDelete, disposition: wire.FileOpen, options: wire.FileOpenReparsePoint}
	return sh.withHandle("remove", name, o, func(r *wire.CreateResponse) error {
		return sh.setInfo(sh.ctx, "remove", name, r.FileID, nil, fscc.FileDispositionInformation, dispositionInfo())
	})
}

// RemoveAll removes name and everything below it, like os.RemoveAll; a
// missing name is not an error.
func (sh *Share) RemoveAll(name string) error {
	fi, err := sh.Stat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.IsDir() {
		entries, err := sh.ReadDir(name)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if err := sh.RemoveAll(path.Join(name, e.Name())); err != nil {
				return err
			}
		}
	}
	err = sh.Remove(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// Rename renames (moves) oldname to newname within the share, replacing
// an existing file at newname like os.Rename.
func (sh *Share) Rename(oldname, newname string) error {
	target, err := wirePath("rename", newname)
	if err != nil {
		return &fs.PathError{Op: "rename", Path: newname, Err: fs.ErrInvalid}
	}
	if target == "" || oldname == "." {
		return &fs.PathError{Op: "rename", Path: oldname, Err: fs.ErrInvalid}
	}
	o := openSpec{access: accessDelete, disposition: wire.FileOpen, options: wire.FileOpenReparsePoint}
	return sh.withHandle("rename", oldname, o, func(r *wire.CreateResponse) error {
		return sh.setInfo(sh.ctx, "rename", oldname, r.FileID, nil, fscc.FileRenameInformation, renameInfo(target, true))
	})
}

// setInfo sends SET_INFO of a file information class.
// f, when set, is the File whose handle id is.
func (sh *Share) setInfo(ctx context.Context, op, name string, id wire.FileID, f *File, class fscc.InfoClass, buf []byte) error {
	msg := wire.AppendSetInfoRequest(newMessage(wire.CmdSetInfo, 32+len(buf)), &wire.SetInfoRequest{
		InfoType: wire.InfoFile, InfoClass: uint8(class), Buffer: buf, FileID: id,
	})
	x := &exchange{msg: msg, t: sh.t, payload: len(buf)}
	if f != nil {
		x.f, x.fidAt = f, wire.HeaderSize+16
	}
	if _, err := sh.t.s.simple(ctx, x); err != nil {
		return &fs.PathError{Op: op, Path: name, Err: err}
	}
	return nil
}

// queryInfo sends QUERY_INFO of a file information class and returns the
// output buffer.
func (sh *Share) queryInfo(ctx context.Context, f *File, class fscc.InfoClass) ([]byte, error) {
	size := transactSize(&sh.t.s.neg.info)
	msg := wire.AppendQueryInfoRequest(newMessage(wire.CmdQueryInfo, 41), &wire.QueryInfoRequest{
		InfoType: wire.InfoFile, InfoClass: uint8(class), OutputBufferLength: uint32(size), FileID: f.fileID(),
	})
	resp, err := sh.t.s.exec(ctx, &exchange{msg: msg, t: sh.t, payload: size, f: f, fidAt: wire.HeaderSize + 24, replay: true})
	if err != nil {
		return nil, err
	}
	if st := resp.status(); st != ntstatus.Success && st != ntstatus.BufferOverflow {
		return nil, statusError("QUERY_INFO", st)
	}
	out, err := wire.ParseOutputBuffer(resp.msg)
	if err != nil {
		return nil, invalidResponse("QUERY_INFO", err)
	}
	return out, nil
}

var (
	errIsDir  = errors.New("is a directory")
	errNotDir = errors.New("not a directory")
)
