package server

import (
	"context"
	"errors"
	"io/fs"
	"path"
	"strings"
	"sync"

	"github.com/signetsmb/signet/internal/dcerpc"
	"github.com/signetsmb/signet/internal/fscc"
	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/state"
	"github.com/signetsmb/signet/internal/wire"
	"github.com/signetsmb/signet/vfs"
)

// open is one open of a file, directory or named pipe (MS-SMB2 3.3.1.10).
type open struct {
	id      wire.FileID
	conn    *conn
	tree    *treeConnect
	sess    *session
	fs      vfs.FS
	file    vfs.File     // nil for pipes
	pipe    *dcerpc.Pipe // named pipe on IPC$
	isDir   bool
	stream  string // on-disk name of the open's named stream, "" for the file; mu (streams.go)
	access  uint32 // granted access
	share   uint32 // share access
	options uint32 // create options
	node    *fileNode

	deleteOnClose bool

	// refs counts requests that named this open and have not finished,
	// taken in arrival order; CLOSE waits for them (refsMu; refsChanged
	// is closed and cleared whenever refs drops).
	refsMu      sync.Mutex
	refs        int
	refsChanged chan struct{}
	op          oplockState // guarded by the server's nodeTable.mu
	lease       *lease      // guarded by the server's nodeTable.mu
	// csn is Open.ChannelSequence, csnCount and csnPre its
	// OutstandingRequestCount and OutstandingPreRequestCount, idUsed
	// reports that a request named the open by its FileId (replay.go);
	// guarded by refsMu.
	// conn, tree and sess change only when a durable reconnect moves the
	// open to the reclaiming session (durable.go), under nodeTable.mu and
	// refsMu; resolveFileID reads them under refsMu (belongsTo).
	csn              uint16
	csnCount, csnPre int
	idUsed           bool

	dur durableState // guarded by the server's nodeTable.mu (durable.go)
	// cl is the open's cluster state (cluster.go), nil unless clustered;
	// set before the open is published, then read-only.
	cl *clusterOpen
	dl dirLeaseOpen // directory leases (dirlease.go)

	// lockCount is the number of byte-range locks the open holds, and
	// locksReleased reports that the open's locks were released at its
	// close (it may take no more); both guarded by its node's fileLocks.mu.
	lockCount     int
	locksReleased bool
	// lockSeq is Open.LockSequenceArray (lockseq.go).
	lockSeq lockSequences
	// resumeKey is the open's server-side-copy resume key, if it was asked
	// for one; guarded by the server's resumeKeys.mu.
	resumeKey *[24]byte
	// counted: the open holds a reservation of its session's and the
	// server's open allowance (openlimit.go), given back by release. Set
	// before the open is registered on its tree, read only by release.
	counted bool

	mu       sync.Mutex
	path     string // share-relative, '/'-separated, as on disk; "" = root
	position int64
	mode     uint32
	eaIndex  int // next EA of an EA enumeration (ea.go)
	dir      *dirCursor
	closed   bool
}

// dirCursor is the enumeration state of a directory open. The listing is
// a snapshot of names only: each entry is described when it is returned
// (fillListing), so that what a client sees is current, and the snapshot
// costs a few dozen bytes per name rather than a whole FileInfo.
type dirCursor struct {
	names   []string     // ".", "..", then the folder's names in byte-wise order
	dot     vfs.FileInfo // the folder, as "."
	dotdot  vfs.FileInfo // its parent (the folder itself at the share root), as ".."
	pos     int
	pattern string
	match   *fscc.Matcher // pattern, compiled
	started bool
}

// fileNode is the server-wide state of one file: its opens (for share
// modes), its delete disposition and its byte-range locks. Keyed by
// backend and file id.
//
// opens and deletePending are guarded by nodeTable.mu; times and locks by
// their own mutexes. Lock order: locks.mu is a leaf, taken with neither
// nodeTable.mu nor any open.mu held and holding nothing else (see
// fileLocks; lockorder.go checks the ranks in tests).
type fileNode struct {
	key           nodeKey
	opens         []*open
	deletePending bool
	times         nodeTimes // guarded by its own mutex
	locks         fileLocks // guarded by its own mutex
	// writeMu, when serialWrites, is held around each WRITE's data write
	// (rw.go), a leaf. It is taken when the backend runs writes to one
	// file one at a time anyway (vfs.SerialWriter: localfs, where every
	// write takes the inode's lock): concurrent WRITEs then wait parked
	// here rather than spinning on the kernel's lock (optimistic rwsem
	// spinning, measured at 7% of the server's CPU under smbclient and
	// Signet-client uploads). serialWrites is set at creation.
	writeMu      orderedMutex[rankLeaf]
	serialWrites bool
}

type nodeKey struct {
	fs     vfs.FS
	id     uint64
	stream string // lower-cased stream name, "" for the file itself (streams.go)
}

// nodeTable holds every fileNode with an open.
type nodeTable struct {
	mu     orderedMutex[rankNodes]
	nodes  map[nodeKey]*fileNode
	leases map[leaseID]*lease // LeaseTable (lease.go)
	// streamNodes lists the stream nodes with opens by their file's key
	// (streams.go).
	streamNodes map[nodeKey][]*fileNode
	// noDirLease: a cluster node offers no directory leasing (leases on
	// directories are not published across nodes: cluster_lease.go). Set
	// by New, then read-only.
	noDirLease bool
	dl         dirLeaseIndex // leases granted on directories (dirlease.go)
}

// release closes the open's file and drops it from its node; the last
// close of a delete-pending file removes it.
func (o *open) release() {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return
	}
	o.closed = true
	p := o.path
	o.mu.Unlock()
	if o.node != nil && o.tree != nil {
		o.node.times.closing(o, !o.tree.srv.nodes.others(o))
	}
	if o.file != nil {
		o.file.Close()
	}
	if o.tree != nil {
		o.releaseLocks()
		o.tree.srv.watches.drop(o)
		o.tree.srv.resume.drop(o)
		o.tree.srv.dirLeaseClose(o) // dirlease.go
	}
	if o.node != nil && o.tree != nil {
		// Leave the node's share modes (and remove a delete-pending file)
		// before ending a pending break: the end of the break wakes the
		// open that waits for it (startBreaks), which then checks share
		// modes again and must not find o still there
		// (smb2.oplock.batch3: the holder closes on the break, and the
		// unlink that broke it succeeds). The node's own table before
		// etcd: that open must not wait for etcd to find o gone.
		o.tree.srv.nodes.detach(o, p)
		o.tree.srv.nodes.releaseOplock(o)
		o.tree.srv.clusterDetach(o) // cluster.go; nothing unless clustered
	}
	if o.counted {
		o.tree.srv.unreserveOpen(o.sess)
	}
}

// attach registers o on its node after checking share modes
// [MS-FSA 2.1.5.1.2]: every existing open must share what o wants, and o
// must share what every existing open has.
func (t *nodeTable) attach(o *open, key nodeKey) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.nodes == nil {
		t.nodes = map[nodeKey]*fileNode{}
	}
	if err := t.attachStream(key, o); err != nil {
		return err
	}
	n := t.nodes[key]
	if n == nil {
		n = &fileNode{key: key, serialWrites: writesSerialized(key.fs)}
		t.nodes[key] = n
		t.trackStream(n, true)
	}
	if n.deletePending {
		return ntstatus.DeletePending
	}
	for _, other := range n.opens {
		if shareConflict(other.access, other.share, o.access, o.share) {
			return ntstatus.SharingViolation
		}
	}
	n.opens = append(n.opens, o)
	o.node = n
	return nil
}

const dataAccess = wire.FileReadData | wire.FileWriteData | wire.FileAppendData | wire.FileExecute | wire.Delete

// shareConflict reports whether two opens conflict.
func shareConflict(aAccess, aShare, bAccess, bShare uint32) bool {
	if aAccess&dataAccess == 0 || bAccess&dataAccess == 0 {
		return false // attribute-only opens never conflict
	}
	conflicts := func(access, share uint32) bool {
		return access&(wire.FileReadData|wire.FileExecute) != 0 && share&wire.FileShareRead == 0 ||
			access&(wire.FileWriteData|wire.FileAppendData) != 0 && share&wire.FileShareWrite == 0 ||
			access&wire.Delete != 0 && share&wire.FileShareDelete == 0
	}
	return conflicts(bAccess, aShare) || conflicts(aAccess, bShare)
}

// detach removes o from its node; when it was the last open of a
// delete-pending file, the file is removed.
func (t *nodeTable) detach(o *open, p string) {
	t.mu.Lock()
	n := o.node
	for i, x := range n.opens {
		if x == o {
			n.opens = append(n.opens[:i], n.opens[i+1:]...)
			break
		}
	}
	last := len(n.opens) == 0
	del := last && n.deletePending
	var delBase bool
	if last {
		del, delBase = t.dropNode(n, del) // streams.go
	}
	t.mu.Unlock()
	if delBase {
		o.tree.srv.removeDeferred(o, p)
	}
	if del {
		if err := o.removeData(context.Background(), p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			o.tree.srv.log.Warn("delete on close failed", "path", p, "err", err)
		} else if o.streamNow() == "" { // a removed stream leaves its file's entry
			o.tree.srv.notifyChange(o, notifyRemoved)
		}
	}
	if last && o.tree != nil {
		o.tree.srv.clusterPendingDone(o) // cluster_pending.go
	}
}

// setDeletePending sets or clears the node's delete disposition.
func (t *nodeTable) setDeletePending(n *fileNode, v bool) {
	t.mu.Lock()
	n.deletePending = v
	t.mu.Unlock()
}

func (t *nodeTable) deletePending(n *fileNode) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return n.deletePending
}

// keyDeletePending reports whether the file's node has a delete
// disposition set and no open waiting for a durable reconnect (a new open
// closes those first, which may delete the file: durable.go).
func (t *nodeTable) keyDeletePending(key nodeKey) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := t.nodes[key]
	if n == nil || !n.deletePending {
		return false
	}
	for _, o := range n.opens {
		if o.dur.disconnected {
			return false
		}
	}
	return true
}

// others reports whether the node has opens besides o.
func (t *nodeTable) others(o *open) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(o.node.opens) > 1
}

// publishOpen gives a new open its FileId in the server-wide open table
// (Server.files, unique server-wide, so that any channel of the session
// can name it) and registers it on its tree. On failure the open is
// released and the error is the status for the client.
func (r *request) publishOpen(o *open) error {
	srv := r.c.srv
	if _, err := srv.files.Insert(func(id state.FileID) *open {
		o.id = wire.FileID(id)
		return o
	}); err != nil {
		o.release()
		return ntstatus.InsufficientResources
	}
	if !r.tree.addOpen(o) {
		srv.files.Delete(state.FileID(o.id))
		o.release()
		return ntstatus.NetworkNameDeleted
	}
	return nil
}

// lookupOpen finds an open by its FileId, server-wide.
func (s *Server) lookupOpen(id wire.FileID) *open {
	o, _ := s.files.Get(state.FileID(id))
	return o
}

// forgetOpen removes an open's FileId from the server-wide table.
func (s *Server) forgetOpen(o *open) {
	s.files.Delete(state.FileID(o.id))
}

// resolveFileID resolves the FileId at the command's offset to r.open:
// all-ones means the open of the previous compound element
// [MS-SMB2 3.3.5.2.7.2]. The open must belong to this session and tree.
func (r *request) resolveFileID(def command) error {
	body := r.msg[wire.HeaderSize:]
	if len(body) < def.fileIDAt+16 {
		return ntstatus.InvalidParameter
	}
	id := wire.GetFileID(body[def.fileIDAt:])
	if id == wire.AllOnes {
		id = r.fileID
	}
	o := r.c.srv.lookupOpen(id)
	if o == nil || !o.belongsTo(r.tree, r.sess) {
		if def.openOptional {
			return nil
		}
		return ntstatus.FileClosed
	}
	r.fileID = id
	r.open = o
	return nil
}

// needOpen returns the open resolved by the pipeline for a command whose
// open is optional (IOCTL), or STATUS_FILE_CLOSED.
func (r *request) needOpen() (*open, error) {
	if r.open == nil {
		return nil, ntstatus.FileClosed
	}
	return r.open, nil
}

// smbToPath converts an SMB path ("dir\file") to share-relative
// components, rejecting what Windows rejects.
func smbToPath(name string) ([]string, error) {
	parts, err := fscc.SplitPath(name)
	if err != nil {
		switch {
		case errors.Is(err, fscc.ErrPathOutsideShare):
			return nil, ntstatus.ObjectPathSyntaxBad
		case errors.Is(err, fscc.ErrStreamsNotSupported):
			return nil, ntstatus.ObjectNameInvalid
		default:
			return nil, ntstatus.ObjectNameInvalid
		}
	}
	return parts, nil
}

// lookup resolves components case-insensitively against the backend, as
// Samba does on case-sensitive disks: an exact match wins, otherwise the
// first entry that matches ignoring case. It returns the on-disk path, its
// info when it exists, and whether the last component exists. A missing
// intermediate directory is STATUS_OBJECT_PATH_NOT_FOUND.
func lookup(ctx context.Context, fsys vfs.FS, parts []string) (string, vfs.FileInfo, bool, error) {
	cur := ""
	var fi vfs.FileInfo
	if len(parts) == 0 {
		fi, err := fsys.Stat(ctx, ".")
		return "", fi, err == nil, err
	}
	for i, p := range parts {
		last := i == len(parts)-1
		cand := path.Join(cur, p)
		info, err := fsys.Stat(ctx, cand)
		if err != nil && errors.Is(err, fs.ErrNotExist) {
			if name, ok := findFold(ctx, fsys, cur, p); ok {
				cand = path.Join(cur, name)
				info, err = fsys.Stat(ctx, cand)
			}
		}
		switch {
		case err == nil:
		case errors.Is(err, fs.ErrNotExist) && last:
			return cand, fi, false, nil
		case errors.Is(err, fs.ErrNotExist), errors.Is(err, vfs.ErrNotDir):
			return "", fi, false, ntstatus.ObjectPathNotFound
		default:
			return "", fi, false, err
		}
		if !last && !info.IsDir() {
			return "", fi, false, ntstatus.ObjectPathNotFound
		}
		cur, fi = cand, info
	}
	return cur, fi, true, nil
}

// findFold looks for name in dir ignoring case.
func findFold(ctx context.Context, fsys vfs.FS, dir, name string) (string, bool) {
	d := dir
	if d == "" {
		d = "."
	}
	f, err := fsys.OpenFile(ctx, d, 0, 0)
	if err != nil {
		return "", false
	}
	defer f.Close()
	if ff, ok := f.(vfs.FoldFinder); ok {
		n, ok, err := ff.FindFold(name)
		return n, ok && err == nil
	}
	if nr, ok := f.(vfs.NameReader); ok {
		return foldNames(nr, name) // names only: no stat per entry
	}
	for {
		ents, err := f.ReadDir(256)
		for _, e := range ents {
			if strings.EqualFold(e.Name, name) {
				return e.Name, true
			}
		}
		if err != nil || len(ents) == 0 {
			return "", false
		}
	}
}

// holdOpens takes, in arrival order, a reference on the open each request
// names by FileId, so that requests on one handle cannot be overtaken by a
// CLOSE sent after them (handlers run concurrently).
func (c *conn) holdOpens(reqs []*request) {
	for _, r := range reqs {
		if int(r.hdr.Command) >= len(commands) {
			continue
		}
		at := commands[r.hdr.Command].fileIDAt
		if r.hdr.Command == wire.CmdOplockBreak && isLeaseAck(r.msg) {
			continue
		}
		if at == 0 || len(r.msg) < wire.HeaderSize+at+16 {
			continue
		}
		id := wire.GetFileID(r.msg[wire.HeaderSize+at:])
		if id == wire.AllOnes {
			continue
		}
		if o := c.srv.lookupOpen(id); o != nil {
			o.hold()
			r.held = o
		}
	}
}

// releaseOpens drops the references holdOpens took.
func releaseOpens(reqs []*request) {
	for _, r := range reqs {
		r.releaseHeld()
	}
}

func (r *request) releaseHeld() {
	if r.held != nil {
		r.held.unhold()
		r.held = nil
	}
}

func (o *open) hold() {
	o.refsMu.Lock()
	o.refs++
	o.refsMu.Unlock()
}

func (o *open) unhold() {
	o.refsMu.Lock()
	o.refs--
	if o.refsChanged != nil {
		close(o.refsChanged)
		o.refsChanged = nil
	}
	o.refsMu.Unlock()
}

// waitIdle waits until no request other than the caller's (own references)
// is working on the open, or ctx ends (the connection is closing).
func (o *open) waitIdle(ctx context.Context, own int) error {
	for {
		o.refsMu.Lock()
		if o.refs <= own {
			o.refsMu.Unlock()
			return nil
		}
		if o.refsChanged == nil {
			o.refsChanged = make(chan struct{})
		}
		ch := o.refsChanged
		o.refsMu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}

// renameTargetAccess and renameTargetShare describe the open of the target
// directory that a rename implies: Windows opens the destination's parent
// for FILE_ADD_FILE (FILE_ADD_SUBDIRECTORY when a directory moves), sharing
// read and write, before it links the new name. That open takes part in
// share-mode checks like any other, so a rename fails with
// STATUS_SHARING_VIOLATION while the target directory is open with DELETE
// access or without FILE_SHARE_WRITE.
const renameTargetShare = wire.FileShareRead | wire.FileShareWrite

func renameTargetAccess(moveDir bool) uint32 {
	if moveDir {
		return wire.FileAppendData | wire.Synchronize // FILE_ADD_SUBDIRECTORY
	}
	return wire.FileWriteData | wire.Synchronize // FILE_ADD_FILE
}

// renameTargetConflict reports whether an open of the directory with file
// id dirID conflicts with the implicit target-directory open of a rename.
func (t *nodeTable) renameTargetConflict(fsys vfs.FS, dirID uint64, moveDir bool) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := t.nodes[nodeKey{fs: fsys, id: dirID}]
	if n == nil {
		return false
	}
	access := renameTargetAccess(moveDir)
	for _, o := range n.opens {
		if shareConflict(o.access, o.share, access, renameTargetShare) {
			return true
		}
	}
	return false
}

// checkRenameTarget applies the share-mode check of a rename's implicit
// target-directory open to the parent of dst (share-relative, on-disk).
func (s *Server) checkRenameTarget(ctx context.Context, fsys vfs.FS, dst string, moveDir bool) error {
	parent := path.Dir(dst)
	if parent == "" {
		parent = "."
	}
	fi, err := fsys.Stat(ctx, parent)
	if err != nil {
		return nil // the rename itself reports a missing parent
	}
	if s.nodes.renameTargetConflict(fsys, fi.FileID, moveDir) {
		return ntstatus.SharingViolation
	}
	return nil
}

// readOnly reports whether fi carries FILE_ATTRIBUTE_READONLY, which the
// backends store as the absence of the owner write permission bit.
// Directories never do: Windows ignores the attribute on them for access.
func readOnly(fi *vfs.FileInfo) bool {
	return !fi.IsDir() && fi.Mode.Perm()&0o200 == 0
}

// writeIntent is the access that FILE_ATTRIBUTE_READONLY forbids on a file
// [MS-FSA 2.1.5.1.2.1].
const writeIntent = wire.FileWriteData | wire.FileAppendData

// modeSetter is implemented by backend files that can change their
// permission bits (localfs); the server uses it to store
// FILE_ATTRIBUTE_READONLY.
type modeSetter interface {
	Chmod(perm fs.FileMode) error
}

// applyReadOnly stores the FILE_ATTRIBUTE_READONLY bit of attrs (a
// FileBasicInformation set, where 0 means "leave the attributes alone") on
// the open's file. Directories are left alone. Backends that cannot change
// modes keep their attributes, as before.
func applyReadOnly(o *open, attrs uint32) error {
	if attrs == 0 || o.isDir || o.file == nil {
		return nil
	}
	ms, ok := o.file.(modeSetter)
	if !ok {
		return nil
	}
	fi, err := o.file.Stat()
	if err != nil {
		return err
	}
	perm := readOnlyPerm(fi.Mode.Perm(), attrs&fscc.FileAttributeReadOnly != 0)
	if perm == fi.Mode.Perm() {
		return nil
	}
	return ms.Chmod(perm)
}

// readOnlyPerm returns perm with the write bits cleared (ro) or the owner
// write bit restored (!ro).
func readOnlyPerm(perm fs.FileMode, ro bool) fs.FileMode {
	if ro {
		return perm &^ 0o222
	}
	if perm&0o200 == 0 {
		return perm | 0o200
	}
	return perm
}

// writesSerialized reports whether fsys runs writes to one file one at a
// time (vfs.SerialWriter).
func writesSerialized(fsys vfs.FS) bool {
	sw, ok := fsys.(vfs.SerialWriter)
	return ok && sw.WritesSerialized()
}
