package vfstest

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"time"

	"github.com/signetsmb/signet/vfs"
)

// stamp returns a fixed timestamp in the given year, in whole seconds so
// that any backend can store it.
func stamp(year int) time.Time {
	return time.Date(year, 2, 3, 4, 5, 6, 0, time.UTC)
}

// eventTimeout bounds the wait for a change notification.
const eventTimeout = 5 * time.Second

func testSetTimes(h *tester) {
	t := h.t
	ts, ok := h.fs.(vfs.TimeSetter)
	if !ok {
		t.Skip("FS does not implement vfs.TimeSetter")
	}
	h.create("f", "x")
	err := ts.SetTimes(h.ctx, "f", stamp(2001), stamp(2002))
	if errors.Is(err, vfs.ErrNotSupported) {
		t.Skip("SetTimes not supported")
	}
	noErr(t, err, "SetTimes")
	h.wantTimes("f", stamp(2001), stamp(2002))
	noErr(t, ts.SetTimes(h.ctx, "f", time.Time{}, stamp(2003)), "SetTimes with zero atime")
	h.wantTimes("f", stamp(2001), stamp(2003))
	noErr(t, ts.SetTimes(h.ctx, "f", stamp(2002), time.Time{}), "SetTimes with zero mtime")
	h.wantTimes("f", stamp(2002), stamp(2003))

	h.mkdir("d")
	noErr(t, ts.SetTimes(h.ctx, "d", stamp(2001), stamp(2002)), "SetTimes on a directory")
	h.wantTimes("d", stamp(2001), stamp(2002))
	wantErr(t, ts.SetTimes(h.ctx, "missing", stamp(2001), stamp(2002)), fs.ErrNotExist, "SetTimes on missing file")

	// Writing moves the modification time forward again.
	f := h.open("f", os.O_RDWR)
	_, err = f.WriteAt([]byte("y"), 0)
	noErr(t, err, "WriteAt")
	if fi := h.stat("f"); !fi.ModTime.After(stamp(2003)) {
		t.Errorf("ModTime after write = %v, want after %v", fi.ModTime, stamp(2003))
	}
}

func testFileSetTimes(h *tester) {
	t := h.t
	h.create("f", "x")
	f := h.open("f", os.O_RDWR)
	ts, ok := f.(vfs.FileTimeSetter)
	if !ok {
		t.Skip("File does not implement vfs.FileTimeSetter")
	}
	err := ts.SetTimes(stamp(2001), stamp(2002))
	if errors.Is(err, vfs.ErrNotSupported) {
		t.Skip("File.SetTimes not supported")
	}
	noErr(t, err, "File.SetTimes")
	// The handle keeps working after a rename.
	noErr(t, h.fs.Rename(h.ctx, "f", "g", false), "Rename")
	noErr(t, ts.SetTimes(time.Time{}, stamp(2003)), "File.SetTimes after rename")
	h.wantTimes("g", stamp(2001), stamp(2003))

	d := h.open(".", os.O_RDONLY)
	if dts, ok := d.(vfs.FileTimeSetter); ok {
		noErr(t, dts.SetTimes(stamp(2001), stamp(2002)), "File.SetTimes on a directory")
		h.wantTimes(".", stamp(2001), stamp(2002))
	}
	noErr(t, f.Close(), "Close")
	wantErr(t, ts.SetTimes(stamp(2001), stamp(2002)), fs.ErrClosed, "File.SetTimes after Close")
}

// wantTimes fails unless name has the given access and modification times.
func (h *tester) wantTimes(name string, atime, mtime time.Time) {
	h.t.Helper()
	fi := h.stat(name)
	if !fi.AccessTime.Equal(atime) || !fi.ModTime.Equal(mtime) {
		h.t.Errorf("%s: atime %v mtime %v, want %v and %v", name, fi.AccessTime, fi.ModTime, atime, mtime)
	}
}

func testAllocate(h *tester) {
	t := h.t
	const size = 1 << 20
	f := h.open("f", os.O_RDWR|os.O_CREATE)
	a, ok := f.(vfs.Allocator)
	if !ok {
		t.Skip("File does not implement vfs.Allocator")
	}
	_, err := f.WriteAt([]byte("abc"), 0)
	noErr(t, err, "WriteAt")
	err = a.Allocate(0, size)
	if errors.Is(err, vfs.ErrNotSupported) {
		t.Skip("Allocate not supported")
	}
	noErr(t, err, "Allocate")
	fi, err := f.Stat()
	noErr(t, err, "Stat")
	if fi.Size != 3 || fi.AllocationSize < size {
		t.Errorf("after Allocate: size %d allocation %d, want 3 and >= %d", fi.Size, fi.AllocationSize, size)
	}
	h.wantContent("f", "abc")
	wantErr(t, a.Allocate(-1, 10), fs.ErrInvalid, "Allocate at negative offset")
	wantErr(t, a.Allocate(0, 0), fs.ErrInvalid, "Allocate of zero bytes")
	if ra, ok := h.open("f", os.O_RDONLY).(vfs.Allocator); ok {
		wantErr(t, ra.Allocate(0, 10), fs.ErrPermission, "Allocate on O_RDONLY file")
	}
	if da, ok := h.open(".", os.O_RDONLY).(vfs.Allocator); ok {
		wantErr(t, da.Allocate(0, 10), vfs.ErrIsDir, "Allocate on a directory")
	}
}

func testWatch(h *tester) {
	t := h.t
	n, ok := h.fs.(vfs.Notifier)
	if !ok {
		t.Skip("FS does not implement vfs.Notifier")
	}
	h.mkdir("w")
	h.mkdir("w/sub")
	h.create("file", "")
	ctx, cancel := context.WithCancel(h.ctx)
	defer cancel()
	ch, err := n.Watch(ctx, "w", false)
	if errors.Is(err, vfs.ErrNotSupported) {
		t.Skip("Watch not supported")
	}
	noErr(t, err, "Watch")
	rec, err := n.Watch(ctx, "w", true)
	noErr(t, err, "recursive Watch")

	h.create("w/f", "x")
	h.create("outside", "")
	h.create("w/sub/deep", "")
	noErr(t, h.fs.Rename(h.ctx, "w/f", "w/g", false), "Rename")
	noErr(t, h.fs.Remove(h.ctx, "w/g"), "Remove")

	h.wantEvents(ch, []vfs.Event{
		{Name: "f", Op: vfs.OpCreate},
		{Name: "f", Op: vfs.OpRenameFrom},
		{Name: "g", Op: vfs.OpRenameTo},
		{Name: "g", Op: vfs.OpRemove},
	})
	h.wantEvents(rec, []vfs.Event{
		{Name: "f", Op: vfs.OpCreate},
		{Name: "sub/deep", Op: vfs.OpCreate},
		{Name: "f", Op: vfs.OpRenameFrom},
	})

	_, err = n.Watch(ctx, "file", false)
	wantErr(t, err, vfs.ErrNotDir, "Watch on a file")
	_, err = n.Watch(ctx, "missing", false)
	wantErr(t, err, fs.ErrNotExist, "Watch on a missing dir")

	cancel()
	h.wantClosed(ch)
}

// wantEvents reads events from ch, ignoring OpModify and OpAttrib, and fails
// unless the next ones are want.
func (h *tester) wantEvents(ch <-chan vfs.Event, want []vfs.Event) {
	h.t.Helper()
	for _, w := range want {
		ev, err := nextEvent(ch)
		if err != nil {
			h.t.Fatalf("waiting for %v %q: %v", w.Op, w.Name, err)
		}
		if ev != w {
			h.t.Fatalf("event %v %q, want %v %q", ev.Op, ev.Name, w.Op, w.Name)
		}
	}
}

// nextEvent returns the next event that is not OpModify or OpAttrib.
func nextEvent(ch <-chan vfs.Event) (vfs.Event, error) {
	timeout := time.After(eventTimeout)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				return vfs.Event{}, errors.New("channel closed")
			}
			if ev.Op&(vfs.OpModify|vfs.OpAttrib) == 0 {
				return ev, nil
			}
		case <-timeout:
			return vfs.Event{}, errors.New("timed out")
		}
	}
}

// wantClosed drains ch and fails unless it is closed in time.
func (h *tester) wantClosed(ch <-chan vfs.Event) {
	h.t.Helper()
	timeout := time.After(eventTimeout)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-timeout:
			h.t.Fatal("Watch channel not closed after cancel")
		}
	}
}
