package server

import (
	"context"
	"path"
	"time"

	"github.com/signetsmb/signet/internal/fscc"
	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
	"github.com/signetsmb/signet/vfs"
)

// queryInfo handles QUERY_INFO [MS-SMB2 3.3.5.20].
func (r *request) queryInfo(w *response) error {
	req, err := wire.ParseQueryInfoRequest(r.msg)
	if err != nil {
		return ntstatus.InvalidParameter
	}
	if err := r.checkSize(req.OutputBufferLength, r.c.maxIO); err != nil {
		return err
	}
	o := r.open
	var out []byte
	var overflow bool
	switch req.InfoType {
	case wire.InfoFile:
		out, overflow, err = o.queryFileInfo(req)
	case wire.InfoFilesystem:
		out, overflow, err = o.queryFSInfo(r.ctx(), req)
	case wire.InfoSecurity:
		out, overflow, err = o.querySecurity(req, w) // security.go
	case wire.InfoQuota:
		return ntstatus.NotSupported
	default:
		return ntstatus.InvalidParameter
	}
	if err != nil {
		return statusOf(err)
	}
	w.buf = wire.AppendOutputBuffer(w.buf, out)
	if overflow {
		w.status = ntstatus.BufferOverflow
	}
	return nil
}

// stat returns the FSCC view of the open.
func (o *open) stat() (fscc.FileInfo, error) {
	if o.pipe != nil {
		return fscc.FileInfo{Name: o.path, Attributes: fscc.FileAttributeNormal, NumberOfLinks: 1}, nil
	}
	fi, err := o.file.Stat()
	if err != nil {
		return fscc.FileInfo{}, err
	}
	return fileInfoOf(&fi, o), nil
}

func (o *open) queryFileInfo(req *wire.QueryInfoRequest) ([]byte, bool, error) {
	class := fscc.InfoClass(req.InfoClass)
	if class == fscc.FileFullEaInformation {
		return o.queryEAs(req) // ea.go
	}
	if needsReadAttributes(class) && o.access&wire.FileReadAttributes == 0 {
		return nil, false, ntstatus.AccessDenied
	}
	info, err := o.stat()
	if err != nil {
		return nil, false, err
	}
	o.mu.Lock()
	extra := &fscc.QueryExtra{GrantedAccess: o.access, Path: o.path, Position: o.position, Mode: o.mode}
	if o.stream != "" {
		extra.Path += ":" + o.stream // streams.go
	}
	o.mu.Unlock()
	if o.isDir && class == fscc.FileStreamInformation {
		info.Directory = true
	}
	if class == fscc.FileStreamInformation {
		return o.queryStreams(&info, req.OutputBufferLength) // streams.go
	}
	if class == fscc.FileEaInformation || class == fscc.FileAllInformation {
		info.EaSize = o.eaSize() // ea.go
	}
	enc, err := fscc.AppendFileInfo(nil, class, &info, extra)
	if err != nil {
		return nil, false, err
	}
	return fscc.FitFileInfo(class, enc, req.OutputBufferLength)
}

func needsReadAttributes(c fscc.InfoClass) bool {
	switch c {
	case fscc.FileBasicInformation, fscc.FileAllInformation, fscc.FileNetworkOpenInformation, fscc.FileAttributeTagInformation:
		return true
	}
	return false
}

func (o *open) queryFSInfo(ctx context.Context, req *wire.QueryInfoRequest) ([]byte, bool, error) {
	class := fscc.FSInfoClass(req.InfoClass)
	v := fscc.FSInfo{VolumeLabel: o.tree.shareName(), VolumeSerial: volumeSerial(o.tree.shareName())}
	if o.fs != nil {
		st, err := o.fs.StatFS(ctx)
		if err != nil {
			return nil, false, err
		}
		unit := uint64(fscc.DefaultBytesPerSector) * uint64(fscc.DefaultSectorsPerAllocationUnit)
		v.TotalAllocationUnits = st.TotalBytes / unit
		v.CallerAvailableAllocationUnits = st.AvailBytes / unit
		v.ActualAvailableAllocationUnits = st.FreeBytes / unit
		v.FSAttributes = fsAttributes(o.fs) // sparse.go
	}
	enc, err := fscc.AppendFSInfo(nil, class, &v)
	if err != nil {
		return nil, false, err
	}
	return fscc.FitFSInfo(class, enc, req.OutputBufferLength)
}

// volumeSerial derives a stable serial number from the share name.
func volumeSerial(name string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(name); i++ {
		h = (h ^ uint32(name[i]|0x20)) * 16777619
	}
	return h
}

// setInfo handles SET_INFO [MS-SMB2 3.3.5.21].
func (r *request) setInfo(w *response) error {
	req, err := wire.ParseSetInfoRequest(r.msg)
	if err != nil {
		return ntstatus.InvalidParameter
	}
	if uint32(len(req.Buffer)) > r.c.maxIO {
		return ntstatus.InvalidParameter
	}
	o := r.open
	switch req.InfoType {
	case wire.InfoFile:
		err = r.setFileInfo(o, req)
	case wire.InfoSecurity:
		err = r.setSecurity(o, req) // security.go
	case wire.InfoFilesystem, wire.InfoQuota:
		err = ntstatus.NotSupported
	default:
		err = ntstatus.InvalidParameter
	}
	if err != nil {
		return statusOf(err)
	}
	w.buf = wire.AppendSetInfoResponse(w.buf)
	return nil
}

func (r *request) setFileInfo(o *open, req *wire.SetInfoRequest) error {
	if o.pipe != nil {
		return ntstatus.NotSupported
	}
	class := fscc.InfoClass(req.InfoClass)
	needWrite := class != fscc.FilePositionInformation && class != fscc.FileModeInformation
	if needWrite && r.tree.readOnly {
		return ntstatus.AccessDenied
	}
	switch class {
	case fscc.FileBasicInformation:
		return r.setBasic(o, req.Buffer)
	case fscc.FileRenameInformation:
		ri, err := fscc.DecodeRename(req.Buffer)
		if err != nil {
			return err
		}
		return r.rename(o, ri)
	case fscc.FileRenameInformationEx:
		ri, err := fscc.DecodeRenameEx(req.Buffer)
		if err != nil {
			return err
		}
		return r.rename(o, ri)
	case fscc.FileDispositionInformation:
		del, err := fscc.DecodeDisposition(req.Buffer)
		if err != nil {
			return err
		}
		return r.setDisposition(o, del)
	case fscc.FileDispositionInformationEx:
		flags, err := fscc.DecodeDispositionEx(req.Buffer)
		if err != nil {
			return err
		}
		return r.setDisposition(o, flags&fscc.FileDispositionDelete != 0)
	case fscc.FileEndOfFileInformation, fscc.FileAllocationInformation:
		return r.setSize(o, class, req.Buffer)
	case fscc.FilePositionInformation:
		pos, err := fscc.DecodePosition(req.Buffer)
		if err != nil {
			return err
		}
		o.mu.Lock()
		o.position = pos
		o.mu.Unlock()
		return nil
	case fscc.FileModeInformation:
		m, err := fscc.DecodeMode(req.Buffer)
		if err != nil {
			return err
		}
		o.mu.Lock()
		o.mode = m
		o.mu.Unlock()
		return nil
	case fscc.FileFullEaInformation:
		return r.setFullEA(o, req.Buffer) // ea.go
	}
	return ntstatus.InvalidInfoClass
}

func (r *request) setBasic(o *open, b []byte) (err error) {
	bi, err := fscc.DecodeBasic(b)
	if err != nil {
		return err
	}
	if o.access&wire.FileWriteAttributes == 0 {
		return ntstatus.AccessDenied
	}
	if err := bi.ValidFor(o.isDir); err != nil {
		return err
	}
	if err := applyReadOnly(o, bi.Attributes); err != nil {
		return err
	}
	defer func() {
		if err == nil {
			r.c.srv.notifyModified(o, basicChangeFilter(bi))
		}
	}()
	t := &o.node.times
	t.ensure(o)
	// Even an all-zero FileBasicInformation carries out a pending
	// write-time update (as Windows does).
	t.flush(o)
	switch {
	case !bi.LastWriteTime.IsZero():
		t.setWrite(o, bi.LastWriteTime)
	case bi.FreezeWrite:
		t.freeze()
	case bi.ThawWrite:
		t.thaw()
	}
	if !bi.CreationTime.IsZero() || !bi.ChangeTime.IsZero() {
		// Backends without metadata records cannot keep these times; the
		// request still succeeds, as on Samba without xattrs.
		t.setBirthChange(o, bi.CreationTime, bi.ChangeTime)
	}
	if bi.Attributes != 0 {
		// FILE_ATTRIBUTE_NORMAL alone clears the settable attributes.
		t.setAttrs(o, bi.Attributes&^fscc.FileAttributeNormal)
	}
	if !bi.LastAccessTime.IsZero() {
		if err := r.setAccessTime(o, bi.LastAccessTime); err != nil {
			return err
		}
	}
	return nil
}

// setAccessTime sets the last access time of o's file.
func (r *request) setAccessTime(o *open, atime time.Time) error {
	if ts, ok := o.file.(vfs.FileTimeSetter); ok {
		if err := ts.SetTimes(atime, time.Time{}); err == nil {
			return nil
		}
	}
	if ts, ok := o.fs.(vfs.TimeSetter); ok {
		return ts.SetTimes(r.ctx(), openName(o.pathNow()), atime, time.Time{})
	}
	return nil
}

func (o *open) pathNow() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.path
}

// rename implements FileRenameInformation [MS-FSA 2.1.5.14.11].
func (r *request) rename(o *open, ri fscc.RenameInfo) error {
	if o.access&wire.Delete == 0 {
		return ntstatus.AccessDenied
	}
	if ri.RootDirectory != 0 {
		return ntstatus.InvalidParameter
	}
	if handled, err := r.renameStream(o, ri); handled { // streams.go
		return err
	}
	parts, err := smbToPath(trimLeadingSep(ri.FileName))
	if err != nil {
		return err
	}
	if len(parts) == 0 {
		return ntstatus.InvalidParameter
	}
	for _, p := range parts {
		if err := fscc.ValidComponent(p); err != nil {
			return ntstatus.ObjectNameInvalid
		}
	}
	// Other clients' handle caching ends before the name changes
	// [MS-FSA 2.1.5.14.11].
	r.c.srv.breakHandleLeases(r.ctx(), o)
	ctx := r.ctx()
	dst, dfi, exists, err := lookup(ctx, o.fs, parts)
	if err != nil {
		return err
	}
	if err := r.c.srv.checkRenameTarget(ctx, o.fs, dst, o.isDir); err != nil {
		return err
	}
	src := o.pathNow()
	if exists && dst != src {
		if !ri.ReplaceIfExists {
			return ntstatus.ObjectNameCollision
		}
		if dfi.IsDir() {
			return ntstatus.AccessDenied
		}
		if r.c.srv.nodes.isOpen(o.fs, dfi.FileID) {
			return ntstatus.AccessDenied
		}
		release, err := r.c.srv.clusterClaimRenameTarget(ctx, o, dfi.FileID) // cluster_pending.go
		if err != nil {
			return err
		}
		defer release()
	}
	if !exists {
		// Keep the case the client asked for in the last component.
		dst = path.Join(path.Dir(dst), parts[len(parts)-1])
		if path.Dir(dst) == "." {
			dst = parts[len(parts)-1]
		}
	}
	if o.isDir && r.c.srv.nodes.hasOpensBelow(o.fs, src, o) {
		return ntstatus.AccessDenied
	}
	if err := o.fs.Rename(ctx, src, dst, ri.ReplaceIfExists); err != nil {
		return err
	}
	o.mu.Lock()
	o.path = dst
	o.mu.Unlock()
	r.c.srv.renamed(o, src, dst)
	return nil
}

func trimLeadingSep(s string) string {
	for len(s) > 0 && (s[0] == '\\' || s[0] == '/') {
		s = s[1:]
	}
	return s
}

// setDisposition sets or clears delete-pending [MS-FSA 2.1.5.14.3].
func (r *request) setDisposition(o *open, del bool) error {
	if o.access&wire.Delete == 0 {
		return ntstatus.AccessDenied
	}
	if del {
		if o.path == "" {
			return ntstatus.CannotDelete
		}
		fi, err := o.file.Stat()
		if err != nil {
			return err
		}
		if info := fileInfoOf(&fi, o); info.Attributes&fscc.FileAttributeReadOnly != 0 && !fi.IsDir() {
			return ntstatus.CannotDelete // read-only attribute
		}
		if o.isDir && !dirEmpty(o) {
			return ntstatus.DirectoryNotEmpty
		}
	}
	if del {
		r.c.srv.breakHandleLeases(r.ctx(), o) // [MS-FSA 2.1.5.14.3]
	}
	if err := r.c.srv.setDeletePending(r.ctx(), o, del); err != nil { // cluster_pending.go
		return err
	}
	if del {
		r.c.srv.watches.deletePending(o.node)
	}
	return nil
}

func (r *request) setSize(o *open, class fscc.InfoClass, b []byte) error {
	var size int64
	var err error
	if class == fscc.FileEndOfFileInformation {
		size, err = fscc.DecodeEndOfFile(b)
	} else {
		size, err = fscc.DecodeAllocation(b)
	}
	if err != nil {
		return err
	}
	if o.access&(wire.FileWriteData|wire.FileAppendData) == 0 {
		return ntstatus.AccessDenied
	}
	if o.isDir {
		return ntstatus.InvalidParameter
	}
	if class == fscc.FileAllocationInformation {
		// Allocation below EOF truncates; above it is a hint.
		fi, err := o.file.Stat()
		if err != nil {
			return err
		}
		if size >= fi.Size {
			if al, ok := o.file.(vfs.Allocator); ok {
				al.Allocate(0, size)
			}
			r.c.srv.breakLevelII(o) // a size change all the same (smb2.oplock.batch12)
			return nil
		}
	}
	if err := o.file.Truncate(size); err != nil {
		return err
	}
	r.c.srv.breakLevelII(o)
	if o.node != nil {
		o.node.times.modified(o)
	}
	r.c.srv.notifyChange(o, notifyModified)
	return nil
}
