package server

import (
	"context"
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/signetsmb/signet/internal/dcerpc"
	"github.com/signetsmb/signet/internal/fscc"
	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
	"github.com/signetsmb/signet/vfs"
)

// createCall is one CREATE in progress, split into phases (parse and
// validate, name and path policy, disposition, share modes and open,
// response contexts), after MS-SMB2 3.3.5.9.
type createCall struct {
	r      *request
	req    *wire.CreateRequest
	parts  []string
	path   string
	fi     vfs.FileInfo
	exists bool
	action uint32
	access uint32
	ctxs   map[string][]byte
	lease  *leaseRequest // RqLs, when a lease is asked for and may be granted
	// pending is the opened file between open and finishOpen; async is
	// set once the CREATE went asynchronous waiting for breaks.
	pending *pendingOpen
	async   bool
	durable *durableRequest // DHnQ, DH2Q, DHnC or DH2C
	// claim: the CREATE reclaims another node's durable handle by this
	// token (cluster_durable.go).
	claim string
	// reserved: the CREATE holds an open reservation (openlimit.go) that
	// no open has claimed yet.
	reserved bool
	sec      *createSecurity // descriptors (security.go)
	// stream is the named stream the CREATE names ("" for none),
	// streamName its on-disk spelling; baseExists and baseCreated
	// describe its file (streams.go).
	stream, streamName      string
	baseExists, baseCreated bool
	defaultStream           bool      // the name ended in "::$DATA"
	eas                     []fscc.EA // SMB2_CREATE_EA_BUFFER (ea.go)
}

// create handles CREATE [MS-SMB2 3.3.5.9].
func (r *request) create(w *response) error {
	req, err := wire.ParseCreateRequest(r.msg)
	if err != nil {
		return ntstatus.InvalidParameter
	}
	cc := &createCall{r: r, req: req}
	if err := cc.validate(); err != nil {
		return err
	}
	if cc.durable != nil && cc.durable.reconnect && !r.tree.ipc {
		return cc.reconnectDurable(w) // the open already counts
	}
	if handled, err := cc.checkReplay(w); handled {
		return err // replay.go
	}
	if err := r.reserveOpen(); err != nil {
		return err
	}
	cc.reserved = true
	defer func() {
		if !cc.async { // else the asynchronous part owns the reservation
			cc.giveBackReservation()
		}
	}()
	if r.tree.ipc {
		return cc.openPipe(w)
	}
	// Another open may create or remove the name between the lookup and
	// the open; an "if" disposition then starts again from the lookup,
	// so that concurrent FILE_OPEN_IF creates of one name all succeed,
	// one creating and the others opening (smb2.create.mkdir-dup).
	for attempt := 0; ; attempt++ {
		steps := []func() error{cc.resolve, cc.closeAppInstance, cc.checkAccess, cc.dispose}
		for _, step := range steps {
			if err := step(); err != nil {
				return err
			}
		}
		o, err := cc.open()
		if errors.Is(err, errBreakPending) {
			return cc.goAsync(w)
		}
		if errors.Is(err, errPurged) {
			if attempt < maxPurgeRounds {
				continue
			}
			return errPurgedTooOften
		}
		if err != nil {
			if attempt < 3 && cc.raced(err) {
				continue
			}
			return err
		}
		return cc.respond(o, w)
	}
}

// dialect is the connection's dialect (0 for a createCall built without a
// request, as the unit tests of the pure checks do).
func (cc *createCall) dialect() uint16 {
	if cc.r == nil || cc.r.c == nil {
		return 0
	}
	return cc.r.c.dialect
}

// goAsync finishes the CREATE on its own goroutine once the breaks it
// caused are acknowledged (or time out); the open reservation goes with it.
func (cc *createCall) goAsync(w *response) error {
	cc.async = true
	pending := cc.markPending()
	err := cc.r.goAsync(w, nil, func(ctx context.Context, fw *response) error {
		defer cc.giveBackReservation()
		defer pending()
		wctx, stop := cc.waitContext(ctx) // replay.go
		defer stop()
		o, err := cc.finishOpen(wctx)
		if err != nil {
			return err
		}
		return cc.respond(o, fw)
	})
	if err != nil {
		pending()
		cc.async = false
		p := cc.pending
		p.f.Close()
		cc.undoCreate(cc.r.ctx())
		return err
	}
	return nil
}

// raced reports whether err from open means the name changed state since
// resolve looked it up, in a way the disposition allows to retry.
func (cc *createCall) raced(err error) bool {
	d := cc.req.CreateDisposition
	switch {
	case !cc.exists && errors.Is(err, ntstatus.ObjectNameCollision):
		return d != wire.FileCreate
	case cc.exists && errors.Is(err, ntstatus.ObjectNameNotFound):
		return d != wire.FileOpen && d != wire.FileOverwrite
	}
	return false
}

// validate checks the fixed fields and collects create contexts
// [MS-SMB2 3.3.5.9].
func (cc *createCall) validate() error {
	q := cc.req
	cc.ctxs = map[string][]byte{}
	for _, c := range q.Contexts {
		if len(c.Name) < 4 {
			return ntstatus.InvalidParameter // tags are at least 4 bytes
		}
		cc.ctxs[c.Name] = c.Data
	}
	if err := cc.parseDurable(); err != nil {
		return err
	}
	reconnect := cc.durable != nil && cc.durable.reconnect
	if d, ok := cc.ctxs[wire.CtxNameRqLs]; ok && (q.RequestedOplockLevel == wire.OplockLease || reconnect) &&
		cc.dialect() >= wire.Dialect210 && cc.dialect() != wire.DialectWildcard {
		lc, err := wire.ParseLeaseContext(d)
		if err != nil {
			return ntstatus.InvalidParameter
		}
		if cc.dialect() < wire.Dialect300 {
			lc.V2 = false // 2.1 knows only the first version
		}
		cc.lease = &leaseRequest{id: leaseID{client: cc.r.c.clientGUID, key: lc.Key}, ctx: lc}
	}
	if reconnect {
		// A durable reconnect restores the open as it was: the other
		// fields are not looked at [MS-SMB2 3.3.5.9.7, 3.3.5.9.12].
		return nil
	}
	switch {
	case q.ImpersonationLevel > 3:
		return ntstatus.BadImpersonationLevel
	case q.CreateDisposition > wire.FileOverwriteIf:
		return ntstatus.InvalidParameter
	case q.CreateOptions&^wire.CreateOptionsValid != 0:
		return ntstatus.InvalidParameter
	case q.CreateOptions&wire.FileDirectoryFile != 0 && q.CreateOptions&wire.FileNonDirectoryFile != 0:
		return ntstatus.InvalidParameter
	case q.ShareAccess&^wire.FileShareValid != 0:
		return ntstatus.InvalidParameter
	case q.DesiredAccess&0x0CE0FE00 != 0: // reserved access bits
		return ntstatus.AccessDenied
	case q.CreateOptions&wire.FileDeleteOnClose != 0 && q.DesiredAccess&(wire.Delete|wire.GenericAll|wire.MaximumAllowed) == 0:
		return ntstatus.InvalidParameter
	case q.FileAttributes&^validAttributes != 0:
		return ntstatus.InvalidParameter
	}
	if q.CreateOptions&unsupportedOptions != 0 {
		// Open-by-file-id, tree-connection opens and oplock filters are
		// answered honestly: not supported, as Windows does for the
		// latter two [MS-SMB2 2.2.13].
		return ntstatus.NotSupported
	}
	if q.CreateOptions&wire.FileDirectoryFile != 0 && q.CreateDisposition != wire.FileCreate &&
		q.CreateDisposition != wire.FileOpen && q.CreateDisposition != wire.FileOpenIf {
		return ntstatus.InvalidParameter
	}
	if d, ok := cc.ctxs[wire.CtxNameAlSi]; ok && len(d) < 8 {
		return ntstatus.InvalidParameter
	}
	if err := cc.parseCreateEAs(); err != nil { // ea.go
		return err
	}
	if d, ok := cc.ctxs[wire.CtxNameTWrp]; ok {
		if len(d) < 8 {
			return ntstatus.InvalidParameter
		}
		// Signet keeps no previous versions, so no snapshot exists at
		// any timestamp [MS-SMB2 3.3.5.9.5].
		return ntstatus.ObjectNameNotFound
	}
	return nil
}

const validAttributes = 0x00007FB7

// unsupportedOptions are the CreateOptions Signet refuses with
// STATUS_NOT_SUPPORTED: FILE_CREATE_TREE_CONNECTION, FILE_OPEN_BY_FILE_ID
// and FILE_RESERVE_OPFILTER.
const unsupportedOptions = 0x00000080 | wire.FileOpenByFileID | 0x00100000

// resolve maps the name to a path on the share.
func (cc *createCall) resolve() error {
	name := cc.req.Name
	if strings.HasPrefix(name, `\`) {
		return ntstatus.InvalidParameter // MS-SMB2: the name must be relative
	}
	parts, err := cc.parseName(name) // streams.go
	if err != nil {
		return err
	}
	cc.parts = parts
	p, fi, exists, err := lookup(cc.r.ctx(), cc.r.tree.share.FS, parts)
	if err != nil {
		return statusOf(err)
	}
	cc.path, cc.fi, cc.exists = p, fi, exists
	if cc.stream != "" {
		return cc.resolveStream()
	}
	if cc.defaultStream {
		return cc.resolveDefaultStream()
	}
	return nil
}

// checkAccess resolves the granted access: generic bits mapped, MAXIMUM
// access on read-only shares limited, write intent refused there.
func (cc *createCall) checkAccess() error {
	q := cc.req
	if q.DesiredAccess&wire.AccessSystemSecurity != 0 {
		// Reading or writing the SACL needs SeSecurityPrivilege, which no
		// Signet user holds (Windows and Samba answer the same).
		return ntstatus.PrivilegeNotHeld
	}
	max, err := cc.checkSecurity(cc.r.tree.maximalAccess()) // security.go
	if err != nil {
		return err
	}
	want := mapGeneric(q.DesiredAccess)
	if want&wire.MaximumAllowed != 0 {
		// The other bits asked for are still checked (smb2.acls.MXAC-NOT-GRANTED).
		extra := want &^ wire.MaximumAllowed
		want = max
		if cc.exists && readOnly(&cc.fi) {
			want &^= writeIntent
		}
		want |= extra
	}
	want &^= wire.MaximumAllowed
	if want&^max != 0 || want == 0 && q.DesiredAccess&wire.MaximumAllowed != 0 && cc.exists {
		return ntstatus.AccessDenied
	}
	if cc.r.tree.readOnly {
		if q.CreateDisposition != wire.FileOpen && !(cc.exists && q.CreateDisposition == wire.FileOpenIf) {
			return ntstatus.AccessDenied
		}
		if q.CreateOptions&wire.FileDeleteOnClose != 0 {
			return ntstatus.AccessDenied
		}
	}
	if want == 0 {
		want = wire.Synchronize
	}
	cc.access = want
	return nil
}

// mapGeneric maps GENERIC_* bits to file rights [MS-SMB2 2.2.13.1.1].
func mapGeneric(a uint32) uint32 {
	if a&wire.GenericRead != 0 {
		a |= fscc.FileGenericRead
	}
	if a&wire.GenericWrite != 0 {
		a |= fscc.FileGenericWrite
	}
	if a&wire.GenericExecute != 0 {
		a |= fscc.FileGenericExecute
	}
	if a&wire.GenericAll != 0 {
		a |= fscc.FileAllAccess
	}
	return a &^ (wire.GenericRead | wire.GenericWrite | wire.GenericExecute | wire.GenericAll)
}

// dispose applies CreateDisposition and the directory options to an
// existing or missing file [MS-FSA 2.1.5.1].
func (cc *createCall) dispose() error {
	q := cc.req
	wantDir := q.CreateOptions&wire.FileDirectoryFile != 0
	if cc.exists {
		switch {
		case q.CreateDisposition == wire.FileCreate:
			return ntstatus.ObjectNameCollision
		case wantDir && !cc.fi.IsDir():
			return ntstatus.NotADirectory
		case q.CreateOptions&wire.FileNonDirectoryFile != 0 && cc.fi.IsDir():
			return ntstatus.FileIsADirectory
		case cc.fi.IsDir() && q.CreateDisposition >= wire.FileOverwrite:
			return ntstatus.InvalidParameter
		case !cc.fi.IsDir() && !cc.fi.IsRegular():
			return ntstatus.AccessDenied // devices, FIFOs, sockets
		}
		if len(cc.parts) == 0 && q.CreateOptions&wire.FileDeleteOnClose != 0 {
			return ntstatus.CannotDelete
		}
		if readOnly(&cc.fi) {
			// FILE_ATTRIBUTE_READONLY [MS-FSA 2.1.5.1.2.1].
			switch {
			case q.CreateOptions&wire.FileDeleteOnClose != 0:
				return ntstatus.CannotDelete
			case cc.access&writeIntent != 0, q.CreateDisposition == wire.FileSupersede,
				q.CreateDisposition >= wire.FileOverwrite:
				return ntstatus.AccessDenied
			}
		}
		if err := cc.checkOverwriteAttrs(); err != nil { // createattrs.go
			return err
		}
		switch q.CreateDisposition {
		case wire.FileOpen, wire.FileOpenIf:
			cc.action = wire.FileOpened
		case wire.FileSupersede:
			cc.action = wire.FileSuperseded
		default:
			cc.action = wire.FileOverwritten
		}
		return nil
	}
	switch q.CreateDisposition {
	case wire.FileOpen, wire.FileOverwrite:
		return ntstatus.ObjectNameNotFound
	}
	if q.FileAttributes&fscc.FileAttributeReadOnly != 0 && q.CreateOptions&wire.FileDeleteOnClose != 0 {
		return ntstatus.CannotDelete // [MS-FSA 2.1.5.1.1]
	}
	for _, p := range cc.parts {
		if err := fscc.ValidComponent(p); err != nil {
			return ntstatus.ObjectNameInvalid
		}
	}
	cc.action = wire.FileCreated
	return nil
}

// open opens or creates the file and registers the open.
func (cc *createCall) open() (*open, error) {
	r := cc.r
	q := cc.req
	fsys := r.tree.share.FS
	ctx := r.ctx()
	isDir := cc.exists && cc.fi.IsDir() || !cc.exists && q.CreateOptions&wire.FileDirectoryFile != 0
	if !cc.exists && isDir {
		if err := fsys.Mkdir(ctx, cc.path, 0o755); err != nil {
			return nil, statusOf(err)
		}
	}
	flag := os.O_RDONLY
	overwrites := cc.exists && (q.CreateDisposition >= wire.FileOverwrite || q.CreateDisposition == wire.FileSupersede)
	if !isDir && (cc.access&(wire.FileWriteData|wire.FileAppendData) != 0 || overwrites) {
		// An overwrite truncates whatever access was asked for, as
		// Windows does (smb2.oplock.exclusive5: attributes-only access
		// with FILE_OVERWRITE_IF); the share's write permission was
		// checked in checkAccess.
		flag = os.O_RDWR
	}
	perm := fs.FileMode(0o644)
	if !cc.exists && !isDir {
		flag = os.O_RDWR | os.O_CREATE | os.O_EXCL
		if q.FileAttributes&fscc.FileAttributeReadOnly != 0 {
			perm = 0o444
		}
	}
	f, err := cc.openData(ctx, flag, perm) // streams.go
	if err != nil {
		if errors.Is(err, fs.ErrPermission) && flag != os.O_RDONLY && cc.exists {
			return nil, ntstatus.AccessDenied
		}
		return nil, statusOf(err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, statusOf(err)
	}
	if !cc.exists && (cc.stream == "" || cc.baseCreated) {
		// A new file gets its descriptor; a stream CREATE that made its
		// file gives the file (not the stream) one.
		sdf, closeSDF := f, func() {}
		if cc.stream != "" {
			if bf, err := fsys.OpenFile(ctx, cc.path, os.O_RDONLY, 0); err == nil {
				sdf, closeSDF = bf, func() { bf.Close() }
			}
		}
		err := cc.storeNewSD(sdf, fi.IsDir()) // security.go
		closeSDF()
		if err != nil {
			f.Close()
			cc.undoCreate(ctx)
			return nil, err
		}
	}
	o := &open{
		conn: r.c, tree: r.tree, sess: r.sess, fs: fsys, file: f, isDir: fi.IsDir(), access: cc.access,
		share: q.ShareAccess, options: q.CreateOptions, path: cc.path, stream: cc.streamName,
	}
	if r.c.dialect >= wire.Dialect300 {
		o.csn = uint16(r.hdr.Status) // Open.ChannelSequence [MS-SMB2 3.3.5.9]
	}
	cc.dirLeaseParent(o) // dirlease.go
	cc.pending = &pendingOpen{o: o, f: f, key: cc.nodeKey(fsys, fi.FileID), isDir: isDir,
		overwrite: cc.exists && (q.CreateDisposition >= wire.FileOverwrite || q.CreateDisposition == wire.FileSupersede)}
	err = r.c.srv.nodes.checkLeaseFile(cc.lease, cc.pending.key)
	if err == nil && r.c.srv.nodes.keyDeletePending(cc.pending.key) {
		// Refused before any break is sent [MS-FSA 2.1.5.1.2] (smb2.oplock.doc).
		err = ntstatus.DeletePending
	}
	if err == nil && !cc.async {
		waits, purge := r.c.srv.startBreaks(cc.pending.key, o, cc.lease, cc.pending.overwrite)
		if len(purge) > 0 {
			// Disconnected durable opens that would need a break are
			// closed; the file may be gone with them (delete on close),
			// so the CREATE looks the name up again.
			// A purge waits while the open's teardown is still parking it.
			err := r.c.srv.purgeParked(ctx, purge)
			f.Close()
			if err != nil {
				return nil, err
			}
			return nil, errPurged
		}
		if (len(waits) > 0 || r.c.srv.clusterWouldWait(o, cc.pending.key, cc.pending.overwrite)) && cc.r.last {
			// A break that must be acknowledged makes the CREATE wait: it
			// goes asynchronous, as Windows does, so the client can go on.
			// (clusterWouldWait: a break by another node; cluster_lease.go.)
			return nil, errBreakPending
		}
	}
	if err != nil {
		f.Close()
		cc.undoCreate(ctx)
		return nil, err
	}
	return cc.finishOpen(ctx)
}

// pendingOpen is a CREATE's opened file, not yet attached to its node.
type pendingOpen struct {
	o         *open
	f         vfs.File
	key       nodeKey
	isDir     bool
	overwrite bool
}

// errBreakPending: the CREATE waits for break acknowledgments
// asynchronously.
var errBreakPending = errors.New("create waits for a break acknowledgment")

// errPurged: the CREATE closed parked durable opens of the file and
// starts again from the lookup. It never leaves the CREATE handler (a
// plain error there would end the connection): after maxPurgeRounds
// rounds, each of which closed at least one parked open, the client is
// told errPurgedTooOften, a status it may retry on.
var errPurged = errors.New("create closed parked durable opens")

const maxPurgeRounds = 8

var errPurgedTooOften = ntstatus.SharingViolation

// finishOpen waits for the breaks the open causes, checks share modes and
// registers the open.
func (cc *createCall) finishOpen(ctx context.Context) (*open, error) {
	r := cc.r
	q := cc.req
	p := cc.pending
	o, f, isDir, overwrite := p.o, p.f, p.isDir, p.overwrite
	r.c.srv.breakOplocks(ctx, p.key, o, cc.lease, overwrite)
	err := r.c.srv.nodes.attach(o, p.key)
	if err == nil {
		err = cc.attachCluster(ctx, o, p.key) // cluster_durable.go; nothing unless clustered
	}
	if err != nil {
		f.Close()
		cc.undoCreate(ctx)
		return nil, err
	}
	if err := r.c.srv.clusterBreakRemote(ctx, o, overwrite); err != nil { // cluster_lease.go; nothing unless clustered
		o.release()
		cc.undoCreate(ctx)
		return nil, err
	}
	if overwrite {
		if err := f.Truncate(0); err != nil {
			o.release()
			return nil, statusOf(err)
		}
		cc.dropStreams(ctx) // streams.go
		if q.FileAttributes&fscc.FileAttributeReadOnly != 0 {
			if err := applyReadOnly(o, q.FileAttributes); err != nil {
				o.release()
				return nil, statusOf(err)
			}
		}
	}
	if !isDir && (overwrite || !cc.exists) {
		cc.allocate(o)
	}
	cc.createAttrs(o, overwrite)                            // createattrs.go
	if err := cc.applyCreateEAs(o, overwrite); err != nil { // ea.go
		o.release()
		cc.undoCreate(ctx)
		return nil, err
	}
	if err := cc.checkNeedEA(o); err != nil { // ea.go
		o.release()
		return nil, err
	}
	if q.CreateOptions&wire.FileDeleteOnClose != 0 {
		if o.isDir && !dirEmpty(o) {
			// Delete-on-close of a non-empty directory is honoured at close
			// only if it is empty by then; Windows fails it immediately.
			o.release()
			return nil, ntstatus.DirectoryNotEmpty
		}
		if err := r.c.srv.setDeletePending(r.ctx(), o, true); err != nil { // cluster_pending.go
			o.release()
			return nil, err
		}
		r.c.srv.watches.deletePending(o.node)
		o.deleteOnClose = true
	}
	cc.claimReservation(o)
	if err := r.publishOpen(o); err != nil {
		return nil, err
	}
	r.fileID = o.id
	if !cc.exists && (cc.stream == "" || cc.baseCreated) { // a new stream of a file is no new entry
		r.c.srv.notifyChange(o, notifyAdded)
	}
	return o, nil
}

// allocate honours an SMB2_CREATE_ALLOCATION_SIZE context on a created or
// overwritten file [MS-SMB2 3.3.5.9.4]; the size is a hint, so a backend
// that cannot reserve storage leaves the file as it is.
func (cc *createCall) allocate(o *open) {
	d, ok := cc.ctxs[wire.CtxNameAlSi]
	if !ok {
		return
	}
	size := int64(binary.LittleEndian.Uint64(d))
	if size <= 0 {
		return
	}
	if al, ok := o.file.(vfs.Allocator); ok {
		al.Allocate(0, size)
	}
}

// openName maps the share-relative path to the backend name.
func openName(p string) string {
	if p == "" {
		return "."
	}
	return p
}

// dirEmpty reports whether a directory open has no entries.
func dirEmpty(o *open) bool {
	ents, err := o.file.ReadDir(1)
	o.file.RewindDir()
	return err != nil || len(ents) == 0
}

// respond builds the CREATE response with the create contexts it answers.
func (cc *createCall) respond(o *open, w *response) error {
	fi, err := o.file.Stat()
	if err != nil {
		return statusOf(err)
	}
	info := fileInfoOf(&fi, o)
	var lease *wire.LeaseContext
	level := wire.OplockNone
	// cluster_lease.go; nothing unless clustered
	granted := cc.r.c.srv.clusterGrantCaching(cc.r.ctx(), o, cc)
	if cc.leaseAllowedOn(o) { // dirlease.go
		lease = cc.r.c.srv.nodes.grantLease(o, cc.lease)
		level = wire.OplockLease
	} else {
		level = cc.r.c.srv.nodes.grantOplock(o, cc.req.RequestedOplockLevel)
	}
	granted()
	resp := newCreateResponse(level, cc.action, &info, o.id)
	if _, ok := cc.ctxs[wire.CtxNameMxAc]; ok {
		d := make([]byte, 8) // QueryStatus SUCCESS, MaximalAccess
		binary.LittleEndian.PutUint32(d[4:], cc.maximalAccess())
		resp.Contexts = append(resp.Contexts, wire.CreateContext{Name: wire.CtxNameMxAc, Data: d})
	}
	if _, ok := cc.ctxs[wire.CtxNameQFid]; ok {
		d := make([]byte, 32) // DiskFileId, VolumeId, reserved
		binary.LittleEndian.PutUint64(d, fi.FileID)
		resp.Contexts = append(resp.Contexts, wire.CreateContext{Name: wire.CtxNameQFid, Data: d})
	}
	if lease != nil {
		resp.Contexts = append(resp.Contexts, wire.CreateContext{Name: wire.CtxNameRqLs, Data: lease.Marshal()})
	}
	// A durable handle is granted with a batch oplock or a handle lease;
	// otherwise the request is declined by not answering it
	// [MS-SMB2 3.3.5.9.6, 3.3.5.9.10].
	if d := cc.grantDurable(o, level); d != nil && cc.claim == "" { // a reclaim answers none
		resp.Contexts = append(resp.Contexts, *d)
	}
	w.buf = wire.AppendCreateResponse(w.buf, resp)
	return nil
}

// openPipe opens a named pipe on IPC$.
func (cc *createCall) openPipe(w *response) error {
	r := cc.r
	name := strings.TrimPrefix(strings.ToLower(cc.req.Name), `\`)
	name = strings.TrimPrefix(name, `pipe\`)
	p, err := dcerpc.NewPipe(name, pipeBackend{r.c.srv}, r.sess.account(), r.c.srv.limits().MaxPipeOutput)
	if err != nil {
		return ntstatus.ObjectNameNotFound
	}
	o := &open{conn: r.c, tree: r.tree, sess: r.sess, pipe: p, access: mapGeneric(cc.req.DesiredAccess), share: cc.req.ShareAccess, path: name}
	cc.claimReservation(o)
	if err := r.publishOpen(o); err != nil {
		return err
	}
	r.fileID = o.id
	w.buf = wire.AppendCreateResponse(w.buf, &wire.CreateResponse{
		CreateAction: wire.FileOpened, FileAttributes: fscc.FileAttributeNormal, FileID: o.id,
	})
	return nil
}

// newCreateResponse is a CREATE response carrying the open's file
// information [MS-SMB2 2.2.14]; the caller adds the create contexts.
func newCreateResponse(level uint8, action uint32, info *fscc.FileInfo, id wire.FileID) *wire.CreateResponse {
	return &wire.CreateResponse{
		OplockLevel:    level,
		CreateAction:   action,
		CreationTime:   fscc.Filetime(info.CreationTime),
		LastAccessTime: fscc.Filetime(info.LastAccessTime),
		LastWriteTime:  fscc.Filetime(info.LastWriteTime),
		ChangeTime:     fscc.Filetime(info.ChangeTime),
		AllocationSize: uint64(info.AllocationSize),
		EndOfFile:      uint64(info.EndOfFile),
		FileAttributes: info.EffectiveAttributes(),
		FileID:         id,
	}
}

// fileInfoOf converts backend metadata to the FSCC view.
func fileInfoOf(fi *vfs.FileInfo, o *open) fscc.FileInfo {
	birth := fi.BirthTime
	if birth.IsZero() {
		birth = fi.ModTime
		if !fi.ChangeTime.IsZero() && fi.ChangeTime.Before(birth) {
			birth = fi.ChangeTime
		}
	}
	var attrs uint32
	if fi.IsDir() {
		attrs |= fscc.FileAttributeDirectory
	} else {
		attrs |= fscc.FileAttributeArchive
	}
	if fi.Mode.Perm()&0o200 == 0 {
		attrs |= fscc.FileAttributeReadOnly
	}
	if strings.HasPrefix(fi.Name, ".") && fi.Name != "." && fi.Name != ".." {
		attrs |= fscc.FileAttributeHidden
	}
	out := fscc.FileInfo{
		Name: fi.Name, ShortName: shortName(fi.Name), CreationTime: birth, LastAccessTime: fi.AccessTime, LastWriteTime: fi.ModTime,
		ChangeTime: fi.ChangeTime, EndOfFile: fi.Size, AllocationSize: fi.AllocationSize,
		Attributes: attrs, FileID: fi.FileID, NumberOfLinks: uint32(fi.Nlink), Directory: fi.IsDir(),
	}
	if fi.IsDir() {
		out.EndOfFile, out.AllocationSize = 0, 0
	}
	if out.NumberOfLinks == 0 {
		out.NumberOfLinks = 1
	}
	if o != nil && o.node != nil && o.tree != nil && o.tree.srv.nodes.deletePending(o.node) {
		out.DeletePending = true
	}
	if out.LastAccessTime.IsZero() {
		out.LastAccessTime = fi.ModTime
	}
	applyKept(&out, fi, o)
	sparseAttr(&out, o) // sparse.go
	_ = path.Base
	return out
}
