package server

import (
	"encoding/binary"
	"sync"
	"time"

	"github.com/signetsmb/signet/internal/fscc"
	"github.com/signetsmb/signet/vfs"
)

// Timestamps as Windows and Samba keep them [MS-FSA 2.1.4.17, 2.1.5.3]:
//
//   - The last write time of a file is not updated by every WRITE. The
//     first write through a handle schedules an update writeTimeDelay
//     later; further writes through that handle only mark it, and the time
//     is updated when the handle is closed. FLUSH, a SET_INFO of the end of
//     file or of basic information, and CLOSE carry out a pending update at
//     once. The kernel's mtime moves on every write, so while a file is
//     open the server reports the time it keeps here and writes it back to
//     the file when the last handle closes.
//   - A write time set explicitly (or frozen with -1) is sticky: writes no
//     longer change it until it is thawed (-2).
//   - The creation time is settable. POSIX cannot set a birth time, so the
//     set value is kept in the file's metadata record (vfs.MetaFile).
//   - DOS attributes set by a client (read-only, hidden, system, archive,
//     ...) are kept in the metadata record too, and replace the ones the
//     server derives from the mode and name.
//   - The change time is reported as the last write time, as Samba does
//     (the POSIX ctime cannot be set and changes for reasons Windows would
//     not count), unless a client set it: the set value is kept in the
//     metadata record with the write time it was set at, and holds until
//     the write time moves.

// writeTimeDelay is how long after the first write through a handle the
// write time is updated (Windows and Samba use 2 seconds).
const writeTimeDelay = 2 * time.Second

// nodeTimes is the timestamp state of a file with opens; it lives in the
// fileNode and is dropped with it.
type nodeTimes struct {
	mu       sync.Mutex
	inited   bool
	write    time.Time // reported last write (and change) time
	birth    time.Time // reported creation time
	change   time.Time // change time set by a client; zero: the write time
	attrs    uint32    // DOS attributes set by a client, when hasAttrs
	hasAttrs bool
	sticky   bool // write time set or frozen: writes do not move it
	stale    bool // the file's mtime may differ from write
	opens    map[*open]*openTimes
}

// openTimes is the per-handle part of the delayed write-time update.
type openTimes struct {
	timer   *time.Timer // pending delayed update
	updated bool        // the delayed update of this handle has happened
	dirty   bool        // written since; update on close
}

// meta is the record the server keeps in vfs.MetaFile: a version byte,
// then as FILETIMEs (0 = not set) the creation time, the change time set
// by a client and the write time at which it was set (it holds only while
// the file's write time is that), then the DOS attributes (u32) and a
// flags byte (bit 0: attributes set). Unknown trailing bytes are ignored,
// so later versions may append fields.
type meta struct {
	birth, change, changeAt time.Time
	attrs                   uint32
	hasAttrs                bool
}

const (
	metaVersion = 1
	metaSize    = 30
)

func (m meta) encode() []byte {
	b := make([]byte, metaSize)
	b[0] = metaVersion
	binary.LittleEndian.PutUint64(b[1:], fscc.Filetime(m.birth))
	binary.LittleEndian.PutUint64(b[9:], fscc.Filetime(m.change))
	binary.LittleEndian.PutUint64(b[17:], fscc.Filetime(m.changeAt))
	binary.LittleEndian.PutUint32(b[25:], m.attrs)
	if m.hasAttrs {
		b[29] = 1
	}
	return b
}

func decodeMeta(b []byte) (meta, bool) {
	if len(b) < metaSize || b[0] != metaVersion {
		return meta{}, false
	}
	ft := func(off int) time.Time { return fscc.TimeFromFiletime(binary.LittleEndian.Uint64(b[off:])) }
	m := meta{birth: ft(1), change: ft(9), changeAt: ft(17)}
	if b[29]&1 != 0 {
		m.attrs, m.hasAttrs = binary.LittleEndian.Uint32(b[25:])&settableAttrs, true
	}
	return m, true
}

// settableAttrs are the attributes FileBasicInformation can set
// [MS-FSA 2.1.5.14.2]; the others describe the file and are derived.
const settableAttrs = fscc.FileAttributeReadOnly | fscc.FileAttributeHidden | fscc.FileAttributeSystem |
	fscc.FileAttributeArchive | fscc.FileAttributeTemporary | fscc.FileAttributeOffline |
	fscc.FileAttributeNotContentIndexed

// withAttrs replaces the settable attributes of info by attrs.
func withAttrs(info *fscc.FileInfo, attrs uint32) {
	info.Attributes = info.Attributes&^(settableAttrs|fscc.FileAttributeNormal) | attrs
}

// changeFor returns the stored change time if it still holds for a file
// whose write time is write, else the zero time.
func (m meta) changeFor(write time.Time) time.Time {
	if m.change.IsZero() || fscc.Filetime(m.changeAt) != fscc.Filetime(write) {
		return time.Time{}
	}
	return m.change
}

// fileMeta reads the record of an open file.
func fileMeta(f vfs.File) (meta, bool) {
	mf, ok := f.(vfs.MetaFile)
	if !ok {
		return meta{}, false
	}
	b, err := mf.Meta()
	if err != nil {
		return meta{}, false
	}
	return decodeMeta(b)
}

// birthOf returns the creation time the backend reports, or an
// approximation from the other times when it has none.
func birthOf(fi *vfs.FileInfo) time.Time {
	birth := fi.BirthTime
	if birth.IsZero() {
		birth = fi.ModTime
		if !fi.ChangeTime.IsZero() && fi.ChangeTime.Before(birth) {
			birth = fi.ChangeTime
		}
	}
	return birth
}

// initLocked loads the state from the file the first time it is needed:
// fi must describe the file before any write through this node.
func (t *nodeTimes) initLocked(o *open, fi *vfs.FileInfo) {
	if t.inited {
		return
	}
	t.inited = true
	t.write = fi.ModTime
	t.birth = birthOf(fi)
	if o.file != nil {
		if m, ok := fileMeta(o.file); ok {
			if !m.birth.IsZero() {
				t.birth = m.birth
			}
			t.change = m.changeFor(t.write)
			t.attrs, t.hasAttrs = m.attrs, m.hasAttrs
		}
	}
}

// ensure initialises the state from a fresh stat of o's file.
func (t *nodeTimes) ensure(o *open) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.inited || o.file == nil {
		return
	}
	if fi, err := o.file.Stat(); err == nil {
		t.initLocked(o, &fi)
	}
}

// applyKept overlays the times and attributes the server keeps on info,
// the FSCC view of fi; o is the open it was read through, or nil.
func applyKept(info *fscc.FileInfo, fi *vfs.FileInfo, o *open) {
	info.ChangeTime = info.LastWriteTime
	if info.DeletePending && info.NumberOfLinks > 0 {
		// The link goes away at close; Windows and Samba count it gone.
		info.NumberOfLinks--
	}
	if o != nil && o.node != nil {
		o.node.times.apply(o, fi, info)
	}
}

// apply overlays the node's times on info; fi is the file's current stat.
func (t *nodeTimes) apply(o *open, fi *vfs.FileInfo, info *fscc.FileInfo) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.initLocked(o, fi)
	info.CreationTime = t.birth
	info.LastWriteTime = t.write
	info.ChangeTime = t.changeLocked()
	if t.hasAttrs {
		withAttrs(info, t.attrs)
	}
}

func (t *nodeTimes) changeLocked() time.Time {
	if t.change.IsZero() {
		return t.write
	}
	return t.change
}

func (t *nodeTimes) openState(o *open) *openTimes {
	if t.opens == nil {
		t.opens = map[*open]*openTimes{}
	}
	s := t.opens[o]
	if s == nil {
		s = &openTimes{}
		t.opens[o] = s
	}
	return s
}

// wrote records a WRITE through o (call ensure before the write).
func (t *nodeTimes) wrote(o *open) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stale = true
	if t.sticky {
		return
	}
	s := t.openState(o)
	switch {
	case s.updated:
		s.dirty = true
	case s.timer == nil:
		s.timer = time.AfterFunc(writeTimeDelay, func() { t.delayed(o, s) })
	}
}

// delayed is the delayed update of the write time for o.
func (t *nodeTimes) delayed(o *open, s *openTimes) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.opens[o] != s || s.timer == nil {
		return // closed or already carried out
	}
	s.timer = nil
	s.updated = true
	if !t.sticky {
		t.touchLocked(o, time.Now())
	}
}

// touchLocked sets the write time and writes it to the file.
func (t *nodeTimes) touchLocked(o *open, now time.Time) {
	t.write = now
	t.change = time.Time{}
	t.stale = !t.storeLocked(o)
}

// storeLocked writes the write time to the file's mtime.
func (t *nodeTimes) storeLocked(o *open) bool {
	ts, ok := o.file.(vfs.FileTimeSetter)
	return ok && ts.SetTimes(time.Time{}, t.write) == nil
}

// flush carries out o's pending write-time update now (FLUSH, SET_INFO).
func (t *nodeTimes) flush(o *open) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.flushLocked(o)
}

func (t *nodeTimes) flushLocked(o *open) {
	s := t.opens[o]
	if s == nil || s.timer == nil && !s.dirty {
		return
	}
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	s.updated, s.dirty = true, false
	if !t.sticky {
		t.touchLocked(o, time.Now())
	}
}

// modified records a change of the file's data other than WRITE (a new end
// of file): the write time moves now unless it is sticky.
func (t *nodeTimes) modified(o *open) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.flushLocked(o)
	if !t.sticky {
		t.touchLocked(o, time.Now())
	}
}

// setWrite sets the write time explicitly, which makes it sticky.
func (t *nodeTimes) setWrite(o *open, w time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sticky = true
	t.write = w
	t.change = time.Time{}
	t.stale = !t.storeLocked(o)
}

// freeze and thaw stop and resume automatic write-time updates.
func (t *nodeTimes) freeze() {
	t.mu.Lock()
	t.sticky = true
	t.mu.Unlock()
}

func (t *nodeTimes) thaw() {
	t.mu.Lock()
	t.sticky = false
	t.mu.Unlock()
}

// setBirthChange sets the creation and change times (zero: unchanged)
// and records them with the file; it reports whether the backend could
// store them.
func (t *nodeTimes) setBirthChange(o *open, birth, change time.Time) bool {
	mf, ok := o.file.(vfs.MetaFile)
	if !ok {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.metaLocked()
	if !birth.IsZero() {
		m.birth = birth
	}
	if !change.IsZero() {
		m.change = change
	}
	if mf.SetMeta(m.encode()) != nil {
		return false
	}
	t.birth, t.change = m.birth, m.change
	return true
}

func (t *nodeTimes) metaLocked() meta {
	return meta{birth: t.birth, change: t.change, changeAt: t.write, attrs: t.attrs, hasAttrs: t.hasAttrs}
}

// setAttrs sets the DOS attributes (FileBasicInformation.FileAttributes,
// non-zero) and records them with the file; it reports whether the
// backend could store them.
func (t *nodeTimes) setAttrs(o *open, attrs uint32) bool {
	mf, ok := o.file.(vfs.MetaFile)
	if !ok {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.metaLocked()
	m.attrs, m.hasAttrs = attrs&settableAttrs, true
	if mf.SetMeta(m.encode()) != nil {
		return false
	}
	t.attrs, t.hasAttrs = m.attrs, true
	return true
}

// closing finishes o's part: a pending or marked update happens now, and
// when o is the node's last open the kept write time goes back to the
// file, whose mtime the writes moved.
func (t *nodeTimes) closing(o *open, last bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.flushLocked(o)
	delete(t.opens, o)
	if last && t.stale && t.inited && o.file != nil {
		t.stale = !t.storeLocked(o)
	}
}

// entryTimes overlays on info, the entry base of a directory of fsys
// described by dir, the times the server keeps: those of an open node,
// else the stored creation time. An empty base ("." and "..") has no
// stored record.
func (t *nodeTable) entryTimes(fsys vfs.FS, dir vfs.EntryDescriber, base string, fi *vfs.FileInfo, info *fscc.FileInfo) {
	t.mu.Lock()
	n := t.nodes[nodeKey{fs: fsys, id: fi.FileID}]
	t.mu.Unlock()
	if n != nil {
		n.times.mu.Lock()
		inited := n.times.inited
		if inited {
			info.CreationTime, info.LastWriteTime, info.ChangeTime = n.times.birth, n.times.write, n.times.changeLocked()
			if n.times.hasAttrs {
				withAttrs(info, n.times.attrs)
			}
		}
		n.times.mu.Unlock()
		if inited {
			return
		}
	}
	if _, ok := fsys.(vfs.MetaFS); ok && base != "" {
		if b, err := dir.EntryMeta(base); err == nil {
			if m, ok := decodeMeta(b); ok {
				if !m.birth.IsZero() {
					info.CreationTime = m.birth
				}
				if c := m.changeFor(info.LastWriteTime); !c.IsZero() {
					info.ChangeTime = c
				}
				if m.hasAttrs {
					withAttrs(info, m.attrs)
				}
			}
		}
	}
}
