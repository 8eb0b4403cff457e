package server

import (
	"context"
	"errors"
	"io"
	"path"
	"slices"
	"strings"

	"github.com/signetsmb/signet/internal/fscc"
	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
	"github.com/signetsmb/signet/vfs"
)

// maxDirEntries caps how many entries one directory listing holds in
// memory (a directory with more is listed up to this many).
const maxDirEntries = 1 << 20

// queryDirectory handles QUERY_DIRECTORY [MS-SMB2 3.3.5.18].
func (r *request) queryDirectory(w *response) error {
	req, err := wire.ParseQueryDirectoryRequest(r.msg)
	if err != nil {
		return ntstatus.InvalidParameter
	}
	if err := r.checkSize(req.OutputBufferLength, r.c.maxIO); err != nil {
		return err
	}
	o := r.open
	if !o.isDir || o.file == nil {
		return ntstatus.InvalidParameter
	}
	if o.access&wire.FileReadData == 0 { // FILE_LIST_DIRECTORY
		return ntstatus.AccessDenied
	}
	dw, err := fscc.NewDirWriter(fscc.InfoClass(req.InfoClass), int(req.OutputBufferLength))
	if err != nil {
		return ntstatus.InvalidInfoClass
	}
	if req.Pattern == "" {
		req.Pattern = "*"
	}
	if err := r.checkPattern(req.Pattern); err != nil {
		return err
	}
	scratch := getBuf(int(req.OutputBufferLength))
	defer putBuf(scratch)
	dw.SetBuffer(scratch)
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := o.prepareListing(r, req); err != nil {
		return err
	}
	return o.fillListing(r, req, dw, w)
}

// prepareListing (re)starts the enumeration when asked to, or on the
// first query [MS-SMB2 3.3.5.18].
func (o *open) prepareListing(r *request, req *wire.QueryDirectoryRequest) error {
	restart := req.Flags&(wire.QueryDirRestartScans|wire.QueryDirReopen) != 0
	if o.dir != nil && !restart && !(req.Flags&wire.QueryDirIndexSpecified != 0 && req.FileIndex == 0) {
		return nil
	}
	if o.dir != nil && !restart && o.dir.started {
		return nil
	}
	d, err := o.listAll()
	if err != nil {
		return statusOf(err)
	}
	d.pattern, d.match = req.Pattern, fscc.Compile(req.Pattern)
	o.dir = d
	return nil
}

// checkPattern refuses a search pattern longer than MaxSearchPattern
// UTF-16 units with STATUS_OBJECT_NAME_INVALID, which Windows gives for a
// name it cannot take (a component over 255 units) and Samba for a pattern
// it cannot use.
func (r *request) checkPattern(p string) error {
	max := r.c.srv.limits().MaxSearchPattern
	if n := fscc.UTF16Len(p); max >= 0 && n > max {
		r.c.log.Warn("QUERY_DIRECTORY refused: limit reached", "limit", "MaxSearchPattern", "max", max, "length", n)
		return ntstatus.ObjectNameInvalid
	}
	return nil
}

// listAll takes the snapshot of the folder's names, sorted, after "."
// and "..", which are described now. Names come from vfs.NameReader when
// the backend has it (localfs would otherwise stat every entry here and
// again when it is returned), else from ReadDir.
func (o *open) listAll() (*dirCursor, error) {
	if err := o.file.RewindDir(); err != nil {
		return nil, err
	}
	names := []string{".", ".."}
	nr, _ := o.file.(vfs.NameReader)
	for len(names)-2 < maxDirEntries {
		var batch []string
		var err error
		if nr != nil {
			batch, err = nr.ReadDirNames(min(4096, maxDirEntries+2-len(names)))
		} else {
			var ents []vfs.FileInfo
			ents, err = o.file.ReadDir(min(1024, maxDirEntries+2-len(names)))
			for i := range ents {
				batch = append(batch, ents[i].Name)
			}
		}
		names = append(names, batch...)
		if errors.Is(err, io.EOF) || err == nil && len(batch) == 0 {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if rest := names[2:]; !slices.IsSorted(rest) {
		slices.Sort(rest)
	}
	self, err := o.file.Stat()
	if err != nil {
		return nil, err
	}
	d := &dirCursor{names: slices.Clip(names), dot: self, dotdot: self}
	d.dot.Name, d.dotdot.Name = ".", ".."
	if o.path != "" {
		if pfi, err := o.fs.Stat(o.tree.srv.ctx(), parentOf(o.path)); err == nil {
			d.dotdot = pfi
			d.dotdot.Name = ".."
		}
	}
	return d, nil
}

func parentOf(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return "."
}

// fillListing writes matching entries into the response.
func (o *open) fillListing(r *request, req *wire.QueryDirectoryRequest, dw *fscc.DirWriter, w *response) error {
	d := o.dir
	if d.pattern != req.Pattern && req.Flags&(wire.QueryDirRestartScans|wire.QueryDirReopen) != 0 {
		d.pattern, d.match = req.Pattern, fscc.Compile(req.Pattern)
	}
	first := !d.started
	d.started = true
	single := req.Flags&wire.QueryDirReturnSingleEntry != 0
	ed := o.entryDescriber(r.ctx())
	for d.pos < len(d.names) {
		name := d.names[d.pos]
		if !d.match.Match(name) {
			d.pos++
			continue
		}
		var e vfs.FileInfo
		base := "" // "." and ".." have no record or EAs of their own here
		switch {
		case d.pos == 0:
			e = d.dot
		case d.pos == 1:
			e = d.dotdot
		default:
			// The listing is a snapshot of names: report entries as they
			// are now, and skip those removed since [MS-FSA 2.1.5.6.3].
			base = name
			fresh, err := ed.StatEntry(name)
			if err != nil {
				d.pos++
				continue
			}
			fresh.Name = name
			e = fresh
		}
		info := fileInfoOf(&e, nil)
		r.c.srv.nodes.entryTimes(o.fs, ed, base, &e, &info)
		info.EaSize = entryEASize(o.fs, fscc.InfoClass(req.InfoClass), ed, base) // ea.go
		info.FileIndex = 0
		if !dw.Add(&info) {
			if dw.Count() == 0 {
				// Not even one entry fits [MS-FSA 2.1.5.6.3].
				return ntstatus.InfoLengthMismatch
			}
			break
		}
		d.pos++
		if single {
			break
		}
	}
	if dw.Count() == 0 {
		if first && !hasWildcard(d.pattern) {
			return ntstatus.NoSuchFile
		}
		if first {
			return ntstatus.NoSuchFile
		}
		return ntstatus.NoMoreFiles
	}
	n := len(w.buf)
	w.reserve(n + 8 + max(dw.Len(), 1)) // in the pooled response buffer
	w.buf = wire.AppendOutputBuffer(w.buf[:n], dw.Bytes())
	return nil
}

// entryDescriber returns how the entries of the open directory o are
// described: through the directory handle when the backend can
// (vfs.EntryDescriber; a lookup from the share's root per entry and per
// attribute was most of the cost of a large listing), else by name.
func (o *open) entryDescriber(ctx context.Context) vfs.EntryDescriber {
	if ed, ok := o.file.(vfs.EntryDescriber); ok {
		return ed
	}
	return byName{ctx: ctx, fsys: o.fs, dir: o.path}
}

// byName describes the entries of the folder dir of fsys by their names
// from the share root (FS.Stat, MetaFS.Meta, EAFS.EAsOf).
type byName struct {
	ctx  context.Context
	fsys vfs.FS
	dir  string
}

func (b byName) StatEntry(name string) (vfs.FileInfo, error) {
	return b.fsys.Stat(b.ctx, path.Join(b.dir, name))
}

func (b byName) EntryMeta(name string) ([]byte, error) {
	mfs, ok := b.fsys.(vfs.MetaFS)
	if !ok {
		return nil, vfs.ErrNotSupported
	}
	return mfs.Meta(b.ctx, path.Join(b.dir, name))
}

func (b byName) EntryEAs(name string) ([]vfs.EA, error) {
	efs, ok := b.fsys.(vfs.EAFS)
	if !ok {
		return nil, vfs.ErrNotSupported
	}
	return efs.EAsOf(b.ctx, path.Join(b.dir, name))
}

func hasWildcard(p string) bool { return strings.ContainsAny(p, `*?<>"`) }
