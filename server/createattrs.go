package server

import "github.com/signetsmb/signet/internal/fscc"

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
