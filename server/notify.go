package server

import (
	"context"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/signetsmb/signet/internal/fscc"
	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
	"github.com/signetsmb/signet/vfs"
)

// Completion filter bits and actions [MS-SMB2 2.2.35, MS-FSCC 2.4.42].
const (
	filterFileName   uint32 = 0x001
	filterDirName    uint32 = 0x002
	filterAttributes uint32 = 0x004
	filterSize       uint32 = 0x008
	filterLastWrite  uint32 = 0x010
	filterLastAccess uint32 = 0x020
	filterCreation   uint32 = 0x040

	actionAdded          uint32 = 1
	actionRemoved        uint32 = 2
	actionModified       uint32 = 3
	actionRenamedOldName uint32 = 4
	actionRenamedNewName uint32 = 5
)

type notifyKind int

const (
	notifyAdded notifyKind = iota
	notifyRemoved
	notifyModified
)

// change is one event: the action and the path relative to the share.
type change struct {
	action uint32
	path   string
	isDir  bool
	filter uint32 // what a modification changed; 0 = size and data
}

// notifyResult is how a CHANGE_NOTIFY completes: the encoded
// FILE_NOTIFY_INFORMATION entries, or STATUS_NOTIFY_ENUM_DIR when they were
// lost or do not fit.
type notifyResult struct {
	out     []byte
	enumDir bool
	status  ntstatus.Status // an error status instead of changes
}

// notifyWaiter is one pending CHANGE_NOTIFY request of a watch.
type notifyWaiter struct {
	max       uint32
	messageID uint64
	done      chan notifyResult // buffered: the watch never blocks on it
}

// watch is the change-notify state of a directory open, created by the
// first CHANGE_NOTIFY on it; that request fixes the filter, WATCH_TREE and
// the buffer size for the life of the open (as Windows and Samba do).
// Changes are buffered between requests; past maxBufferedChanges the buffer
// is dropped and the next request learns to re-enumerate
// (STATUS_NOTIFY_ENUM_DIR).
type watch struct {
	o         *open
	filter    uint32
	recursive bool
	maxBuf    uint32

	mu       sync.Mutex
	pending  []change
	overflow bool
	waiters  []*notifyWaiter // pending requests, oldest first
	deleted  bool            // the directory is delete-pending
}

const maxBufferedChanges = 1000

// watchTable holds every active watch of the server.
type watchTable struct {
	mu      sync.Mutex
	watches map[*open]*watch
}

// get returns the watch of o, creating it with the parameters of the first
// request.
func (t *watchTable) get(o *open, filter uint32, recursive bool, maxBuf uint32) *watch {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.watches == nil {
		t.watches = map[*open]*watch{}
	}
	w := t.watches[o]
	if w == nil {
		w = &watch{o: o, filter: filter, recursive: recursive, maxBuf: maxBuf}
		t.watches[o] = w
	}
	return w
}

func (t *watchTable) drop(o *open) {
	t.mu.Lock()
	delete(t.watches, o)
	t.mu.Unlock()
}

// post delivers a change to every watch of fsys whose directory holds the
// changed name (directly, or anywhere below for WATCH_TREE).
func (t *watchTable) post(fsys vfs.FS, ch change) {
	dir := parentOf(ch.path)
	if dir == "." {
		dir = ""
	}
	t.mu.Lock()
	type hit struct {
		w   *watch
		rel string
	}
	var hits []hit
	for o, w := range t.watches {
		if o.fs != fsys {
			continue
		}
		wp := o.pathNow()
		switch {
		case wp == dir:
		case w.recursive && wp == "":
		case w.recursive && strings.HasPrefix(dir, wp+"/"):
		default:
			continue
		}
		rel := ch.path
		if wp != "" {
			rel = strings.TrimPrefix(rel, wp+"/")
		}
		hits = append(hits, hit{w, rel})
	}
	t.mu.Unlock()
	for _, h := range hits {
		c := ch
		c.path = h.rel
		h.w.add(c)
	}
}

// filterOf is the completion-filter bit a change is reported under.
func filterOf(ch change) uint32 {
	switch {
	case ch.action == actionModified && ch.filter != 0:
		return ch.filter
	case ch.action == actionModified:
		return filterSize | filterLastWrite
	case ch.isDir:
		return filterDirName
	}
	return filterFileName
}

// add buffers a change and completes the oldest pending request. The old
// name of a rename is held back until its new name arrives, so both go in
// one response.
func (w *watch) add(ch change) {
	if w.filter&filterOf(ch) == 0 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.overflow {
		return // nothing more is worth keeping until the client re-enumerates
	}
	if len(w.pending) >= maxBufferedChanges {
		w.pending, w.overflow = nil, true
	} else {
		w.pending = append(w.pending, ch)
		if ch.action == actionRenamedOldName {
			return
		}
	}
	if len(w.waiters) > 0 {
		wt := w.waiters[0]
		w.waiters = w.waiters[1:]
		wt.done <- w.takeLocked(wt.max)
	}
}

// ready reports whether changes are waiting for the next request.
func (w *watch) readyLocked() bool { return w.overflow || len(w.pending) > 0 || w.deleted }

// takeLocked encodes and clears the buffered changes for a request that
// accepts max bytes. w.mu held.
func (w *watch) takeLocked(max uint32) notifyResult {
	if w.deleted {
		return notifyResult{status: ntstatus.DeletePending}
	}
	chs, overflow := w.pending, w.overflow
	w.pending, w.overflow = nil, false
	if overflow {
		return notifyResult{enumDir: true}
	}
	out, ok := encodeNotify(chs, min(max, w.maxBuf))
	if !ok {
		return notifyResult{enumDir: true}
	}
	return notifyResult{out: out}
}

// deletePending completes the pending requests of every watch on a
// directory that became delete-pending with STATUS_DELETE_PENDING, as
// later requests on it will be.
func (t *watchTable) deletePending(n *fileNode) {
	if n == nil {
		return
	}
	t.mu.Lock()
	var hits []*watch
	for o, w := range t.watches {
		if o.node == n {
			hits = append(hits, w)
		}
	}
	t.mu.Unlock()
	for _, w := range hits {
		w.mu.Lock()
		w.deleted = true
		for _, wt := range w.waiters {
			wt.done <- notifyResult{status: ntstatus.DeletePending}
		}
		w.waiters = nil
		w.mu.Unlock()
	}
}

// cancelWaiter removes a pending request; false when it was completed
// meanwhile (its result is then in wt.done).
func (w *watch) cancelWaiter(wt *notifyWaiter) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, x := range w.waiters {
		if x == wt {
			w.waiters = append(w.waiters[:i], w.waiters[i+1:]...)
			return true
		}
	}
	return false
}

// encodeNotify encodes FILE_NOTIFY_INFORMATION entries [MS-FSCC 2.4.42],
// folding repeats of the same action on the same name; ok is false when
// they do not fit in max bytes.
func encodeNotify(chs []change, max uint32) (out []byte, ok bool) {
	last := -1
	for i, ch := range chs {
		if i > 0 && chs[i-1].action == ch.action && chs[i-1].path == ch.path {
			continue
		}
		name := wire.EncodeUTF16(strings.ReplaceAll(ch.path, "/", `\`))
		if last >= 0 {
			for len(out)%4 != 0 {
				out = append(out, 0)
			}
			putLE32(out[last:], uint32(len(out)-last))
		}
		last = len(out)
		var h [12]byte
		putLE32(h[4:], ch.action)
		putLE32(h[8:], uint32(len(name)))
		out = append(out, h[:]...)
		out = append(out, name...)
		if uint32(len(out)) > max {
			return nil, false
		}
	}
	return out, true
}

// changeNotify handles CHANGE_NOTIFY [MS-SMB2 3.3.5.19]: answered at once
// when changes are already buffered, else asynchronously on the next one.
func (r *request) changeNotify(w *response) error {
	req, err := wire.ParseChangeNotifyRequest(r.msg)
	if err != nil {
		return ntstatus.InvalidParameter
	}
	if req.OutputBufferLength > r.c.maxIO {
		return ntstatus.InvalidParameter
	}
	o := r.open
	if !o.isDir || o.tree != r.tree {
		return ntstatus.InvalidParameter
	}
	if o.access&wire.FileReadData == 0 { // FILE_LIST_DIRECTORY
		return ntstatus.AccessDenied
	}
	wt := r.c.srv.watches.get(o, req.CompletionFilter, req.Flags&wire.NotifyWatchTree != 0, req.OutputBufferLength)
	// The watch is in the table before the directory's delete disposition
	// is looked at, so a concurrent delete is seen by one side or the other.
	deleted := o.node != nil && r.c.srv.nodes.deletePending(o.node)
	wt.mu.Lock()
	if deleted {
		wt.deleted = true
	}
	if wt.readyLocked() {
		res := wt.takeLocked(req.OutputBufferLength)
		wt.mu.Unlock()
		return completeNotify(w, res)
	}
	// Pending requests complete in the order the client issued them
	// (requests are processed concurrently, so they may register out of
	// order).
	waiter := &notifyWaiter{max: req.OutputBufferLength, messageID: r.hdr.MessageID, done: make(chan notifyResult, 1)}
	i := len(wt.waiters)
	for i > 0 && wt.waiters[i-1].messageID > waiter.messageID {
		i--
	}
	wt.waiters = slices.Insert(wt.waiters, i, waiter)
	wt.mu.Unlock()
	err = r.goAsync(w, o, func(ctx context.Context, fw *response) error {
		select {
		case res := <-waiter.done:
			return completeNotify(fw, res)
		case <-ctx.Done():
			if !wt.cancelWaiter(waiter) {
				return completeNotify(fw, <-waiter.done)
			}
			return context.Cause(ctx)
		}
	})
	if err != nil {
		wt.cancelWaiter(waiter)
	}
	return err
}

// completeNotify writes the response body of a completed CHANGE_NOTIFY.
func completeNotify(w *response, res notifyResult) error {
	if res.status != 0 {
		return res.status
	}
	if res.enumDir {
		w.status = ntstatus.NotifyEnumDir
		w.buf = wire.AppendOutputBuffer(w.buf, nil)
		return nil
	}
	w.buf = wire.AppendOutputBuffer(w.buf, res.out)
	return nil
}

func putLE32(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}

// notifyChange reports a change made through the server.
func (s *Server) notifyChange(o *open, kind notifyKind) {
	if o.fs == nil {
		return
	}
	p := o.pathNow()
	if p == "" {
		return
	}
	a := actionModified
	switch kind {
	case notifyAdded:
		a = actionAdded
	case notifyRemoved:
		a = actionRemoved
	}
	s.watches.post(o.fs, change{action: a, path: p, isDir: o.isDir})
	s.dirChanged(o, p, kind) // directory leases (dirlease.go)
}

// notifyModified reports a metadata change (attributes or times) made
// through the server, under the filter bits it touches.
func (s *Server) notifyModified(o *open, filter uint32) {
	if o.fs == nil || filter == 0 {
		return
	}
	if p := o.pathNow(); p != "" {
		s.watches.post(o.fs, change{action: actionModified, path: p, isDir: o.isDir, filter: filter})
	}
}

// basicChangeFilter is the completion filter a FileBasicInformation
// update is reported under: one bit per field it sets.
func basicChangeFilter(bi fscc.BasicInfo) uint32 {
	var f uint32
	if bi.Attributes != 0 {
		f |= filterAttributes
	}
	if !bi.LastWriteTime.IsZero() {
		f |= filterLastWrite
	}
	if !bi.LastAccessTime.IsZero() {
		f |= filterLastAccess
	}
	if !bi.CreationTime.IsZero() {
		f |= filterCreation
	}
	return f
}

// renamed reports a rename made through the server.
func (s *Server) renamed(o *open, from, to string) {
	s.dirRenamed(o, from, to) // directory leases (dirlease.go)
	if path.Dir(from) == path.Dir(to) {
		s.watches.post(o.fs, change{action: actionRenamedOldName, path: from, isDir: o.isDir})
		s.watches.post(o.fs, change{action: actionRenamedNewName, path: to, isDir: o.isDir})
		return
	}
	s.watches.post(o.fs, change{action: actionRemoved, path: from, isDir: o.isDir})
	s.watches.post(o.fs, change{action: actionAdded, path: to, isDir: o.isDir})
}
