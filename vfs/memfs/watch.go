package memfs

import (
	"context"

	"github.com/signetsmb/signet/vfs"
)

// WatchBuffer is the capacity of the channel returned by Watch. One slot is
// kept free for the vfs.OpOverflow marker.
const WatchBuffer = 128

// watcher is one Watch registration. All fields are guarded by FS.mu, and
// events are sent only while holding it, so a send never races with close.
type watcher struct {
	dir        *node
	recursive  bool
	ch         chan vfs.Event
	overflowed bool // an OpOverflow is pending delivery or was delivered
}

// Watch implements vfs.Notifier. The watch follows the directory node: it
// keeps reporting after the directory is renamed.
func (m *FS) Watch(ctx context.Context, dir string, recursive bool) (<-chan vfs.Event, error) {
	clean, err := prepare(ctx, dir)
	if err != nil {
		return nil, pathErr("watch", dir, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.lookup(clean)
	if err == nil && !n.isDir() {
		err = vfs.ErrNotDir
	}
	if err != nil {
		return nil, pathErr("watch", dir, err)
	}
	w := &watcher{dir: n, recursive: recursive, ch: make(chan vfs.Event, WatchBuffer)}
	m.watchers[w] = struct{}{}
	context.AfterFunc(ctx, func() { m.unwatch(w) })
	return w.ch, nil
}

// unwatch removes w and closes its channel.
func (m *FS) unwatch(w *watcher) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.watchers, w)
	close(w.ch)
}

// notify reports op on entry base of directory parent. The caller holds m.mu.
func (m *FS) notify(parent *node, base string, op vfs.Op) {
	for w := range m.watchers {
		if rel, ok := w.relative(parent, base); ok {
			w.send(vfs.Event{Name: rel, Op: op})
		}
	}
}

// notifyNode reports op on a node; unlinked nodes and the root are silent.
func (m *FS) notifyNode(n *node, op vfs.Op) {
	if n.parent != nil {
		m.notify(n.parent, n.name, op)
	}
}

// notifyRename reports a rename. A watcher that sees only one side of it
// gets OpRemove or OpCreate instead of a rename pair.
func (m *FS) notifyRename(oldParent *node, oldBase string, newParent *node, newBase string) {
	for w := range m.watchers {
		oldRel, oldOK := w.relative(oldParent, oldBase)
		newRel, newOK := w.relative(newParent, newBase)
		switch {
		case oldOK && newOK:
			w.send(vfs.Event{Name: oldRel, Op: vfs.OpRenameFrom})
			w.send(vfs.Event{Name: newRel, Op: vfs.OpRenameTo})
		case oldOK:
			w.send(vfs.Event{Name: oldRel, Op: vfs.OpRemove})
		case newOK:
			w.send(vfs.Event{Name: newRel, Op: vfs.OpCreate})
		}
	}
}

// relative returns the name of entry base of parent relative to the watched
// directory, and whether the watch covers it.
func (w *watcher) relative(parent *node, base string) (string, bool) {
	rel := base
	for p := parent; p != nil; p = p.parent {
		if p == w.dir {
			return rel, true
		}
		if !w.recursive {
			break
		}
		rel = p.name + "/" + rel
	}
	return "", false
}

// send queues ev without blocking. When only the reserved slot is left, it
// queues a single OpOverflow instead and drops events until the consumer
// has made room.
func (w *watcher) send(ev vfs.Event) {
	if len(w.ch) < cap(w.ch)-1 {
		w.overflowed = false
		w.ch <- ev
		return
	}
	if !w.overflowed {
		w.overflowed = true
		w.ch <- vfs.Event{Op: vfs.OpOverflow}
	}
}
