package server

import (
	"context"
	"path"
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
	filterValid      uint32 = 0xFFF

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
}

// watch is a directory open with CHANGE_NOTIFY interest. Events are
// buffered between requests (up to maxBufferedChanges; past that the
// client is told to re-enumerate with STATUS_NOTIFY_ENUM_DIR).
type watch struct {
	o         *open
	filter    uint32
	recursive bool

	mu       sync.Mutex
	pending  []change
	overflow bool
	wake     chan struct{}
}

const maxBufferedChanges = 256

// watchTable holds every active watch of the server.
type watchTable struct {
	mu      sync.Mutex
	watches map[*open]*watch
}

func (t *watchTable) get(o *open, filter uint32, recursive bool) *watch {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.watches == nil {
		t.watches = map[*open]*watch{}
	}
	w := t.watches[o]
	if w == nil {
		w = &watch{o: o, wake: make(chan struct{}, 1)}
		t.watches[o] = w
	}
	w.filter, w.recursive = filter, recursive
	return w
}

func (t *watchTable) drop(o *open) {
	t.mu.Lock()
	delete(t.watches, o)
	t.mu.Unlock()
}

// post delivers a change to every watch of fs that covers dir.
func (t *watchTable) post(fsys vfs.FS, ch change) {
	dir := parentOf(ch.path)
	if dir == "." {
		dir = ""
	}
	t.mu.Lock()
	var hits []*watch
	for o, w := range t.watches {
		if o.fs != fsys {
			continue
		}
		wp := o.pathNow()
		if wp == dir || w.recursive && (wp == "" || strings.HasPrefix(dir, wp+"/")) {
			hits = append(hits, w)
		}
	}
	t.mu.Unlock()
	for _, w := range hits {
		w.add(ch)
	}
}

func (w *watch) add(ch change) {
	want := filterFileName
	if ch.isDir {
		want = filterDirName
	}
	if ch.action == actionModified {
		want = filterSize | filterLastWrite | filterAttributes
	}
	w.mu.Lock()
	if w.filter&want == 0 {
		w.mu.Unlock()
		return
	}
	if len(w.pending) >= maxBufferedChanges {
		w.overflow = true
	} else {
		w.pending = append(w.pending, ch)
	}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// take returns the buffered changes.
func (w *watch) take() ([]change, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	p, o := w.pending, w.overflow
	w.pending, w.overflow = nil, false
	return p, o
}

// changeNotify handles CHANGE_NOTIFY [MS-SMB2 3.3.5.19]: always answered
// asynchronously once a change is seen.
func (r *request) changeNotify(w *response) error {
	req, err := wire.ParseChangeNotifyRequest(r.msg)
	if err != nil {
		return ntstatus.InvalidParameter
	}
	o, err := r.resolveOpen(req.FileID)
	if err != nil {
		return err
	}
	if !o.isDir {
		return ntstatus.InvalidParameter
	}
	if req.CompletionFilter == 0 || req.CompletionFilter&^filterValid != 0 {
		return ntstatus.InvalidParameter
	}
	if req.OutputBufferLength > r.c.maxIO {
		return ntstatus.InvalidParameter
	}
	wt := r.c.srv.watches.get(o, req.CompletionFilter, req.Flags&wire.NotifyWatchTree != 0)
	return r.goAsync(w, o, func(ctx context.Context, fw *response) error {
		for {
			if chs, overflow := wt.take(); overflow || len(chs) > 0 {
				return completeNotify(fw, chs, overflow, o.pathNow(), req.OutputBufferLength)
			}
			select {
			case <-wt.wake:
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		}
	})
}

// completeNotify encodes FILE_NOTIFY_INFORMATION entries; when they do not
// fit, the client is told to enumerate (STATUS_NOTIFY_ENUM_DIR).
func completeNotify(fw *response, chs []change, overflow bool, dir string, max uint32) error {
	if overflow {
		fw.status = ntstatus.NotifyEnumDir
		fw.buf = wire.AppendOutputBuffer(fw.buf, nil)
		return nil
	}
	var out []byte
	last := -1
	for _, ch := range chs {
		rel := strings.TrimPrefix(ch.path, dir)
		rel = strings.TrimPrefix(rel, "/")
		name := wire.EncodeUTF16(strings.ReplaceAll(rel, "/", `\`))
		for len(out)%4 != 0 {
			out = append(out, 0)
		}
		if last >= 0 {
			putLE32(out[last:], uint32(len(out)-last))
		}
		last = len(out)
		var h [12]byte
		putLE32(h[4:], ch.action)
		putLE32(h[8:], uint32(len(name)))
		out = append(out, h[:]...)
		out = append(out, name...)
	}
	if uint32(len(out)) > max {
		fw.status = ntstatus.NotifyEnumDir
		fw.buf = wire.AppendOutputBuffer(fw.buf, nil)
		return nil
	}
	fw.buf = wire.AppendOutputBuffer(fw.buf, out)
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
}

// renamed reports a rename made through the server.
func (s *Server) renamed(o *open, from, to string) {
	if path.Dir(from) == path.Dir(to) {
		s.watches.post(o.fs, change{action: actionRenamedOldName, path: from, isDir: o.isDir})
		s.watches.post(o.fs, change{action: actionRenamedNewName, path: to, isDir: o.isDir})
		return
	}
	s.watches.post(o.fs, change{action: actionRemoved, path: from, isDir: o.isDir})
	s.watches.post(o.fs, change{action: actionAdded, path: to, isDir: o.isDir})
}

var _ = fscc.Match
