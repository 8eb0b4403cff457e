package server

import (
	"path"

	"github.com/signetsmb/signet/internal/fscc"
	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
)

// createAttrs keeps the DOS attributes a CREATE gives for a file it
// creates, overwrites or supersedes [MS-FSA 2.1.5.1.1, 2.1.5.1.2.1]: its
// FileAttributes plus ARCHIVE, stored like attributes set with
// FileBasicInformation (times.go). Attributes the server derives anyway
// (ARCHIVE, READONLY from the mode) need no record; a stream CREATE
// leaves its file's attributes alone.
func (cc *createCall) createAttrs(o *open, overwrite bool) {
	if o.isDir || o.node == nil || cc.stream != "" || cc.exists && !overwrite {
		return
	}
	a := cc.req.FileAttributes & settableAttrs
	if a&^(fscc.FileAttributeArchive|fscc.FileAttributeReadOnly) == 0 {
		return
	}
	t := &o.node.times
	t.ensure(o)
	t.setAttrs(o, a|fscc.FileAttributeArchive)
}

// checkOverwriteAttrs: overwriting or superseding a file that is HIDDEN
// or SYSTEM needs the CREATE to ask for the same attribute, else
// STATUS_ACCESS_DENIED [MS-FSA 2.1.5.1.2.1].
func (cc *createCall) checkOverwriteAttrs() error {
	q := cc.req
	if !cc.exists || cc.fi.IsDir() || cc.stream != "" ||
		q.CreateDisposition != wire.FileOverwrite && q.CreateDisposition != wire.FileOverwriteIf && q.CreateDisposition != wire.FileSupersede {
		return nil
	}
	info := fileInfoOf(&cc.fi, nil)
	// Only attributes a client set count: a dot file's derived HIDDEN does
	// not make its overwrite need FILE_ATTRIBUTE_HIDDEN.
	info.Attributes &^= fscc.FileAttributeHidden
	fsys := cc.r.tree.share.FS
	parent := byName{ctx: cc.r.ctx(), fsys: fsys, dir: path.Dir(cc.path)}
	cc.r.c.srv.nodes.entryTimes(fsys, parent, path.Base(cc.path), &cc.fi, &info)
	for _, bit := range []uint32{fscc.FileAttributeHidden, fscc.FileAttributeSystem} {
		if info.Attributes&bit != 0 && q.FileAttributes&bit == 0 {
			return ntstatus.AccessDenied
		}
	}
	return nil
}
