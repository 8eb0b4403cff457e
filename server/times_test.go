package server

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/signetsmb/signet/internal/fscc"
	"github.com/signetsmb/signet/vfs"
	"github.com/signetsmb/signet/vfs/memfs"
)

func TestMetaRoundTrip(t *testing.T) {
	b := time.Date(1968, 1, 1, 0, 0, 0, 0, time.UTC)
	c, at := b.Add(time.Hour), b.Add(time.Minute)
	m, ok := decodeMeta(append(meta{birth: b, change: c, changeAt: at}.encode(), 9, 9)) // trailing bytes: later fields
	if !ok || !m.birth.Equal(b) || !m.change.Equal(c) || !m.changeAt.Equal(at) {
		t.Errorf("got %+v %v", m, ok)
	}
	if !m.changeFor(at).Equal(c) || !m.changeFor(at.Add(time.Second)).IsZero() {
		t.Error("change time must hold only at the write time it was set at")
	}
	for _, bad := range [][]byte{nil, {1}, {2, 0, 0, 0, 0, 0, 0, 0, 0}} {
		if _, ok := decodeMeta(bad); ok {
			t.Errorf("%v decoded", bad)
		}
	}
}

// newTimesOpen returns an open of a new memfs file and its node state.
func newTimesOpen(t *testing.T) (*open, *nodeTimes) {
	t.Helper()
	fsys := memfs.New(memfs.Options{})
	f, err := fsys.OpenFile(context.Background(), "f", os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	o := &open{fs: fsys, file: f}
	o.node = &fileNode{}
	o.node.times.ensure(o)
	return o, &o.node.times
}

func reported(t *testing.T, o *open) fscc.FileInfo {
	t.Helper()
	fi, err := o.file.Stat()
	if err != nil {
		t.Fatal(err)
	}
	info := fscc.FileInfo{LastWriteTime: fi.ModTime}
	applyKept(&info, &fi, o)
	return info
}

func TestDelayedWriteTime(t *testing.T) {
	o, nt := newTimesOpen(t)
	start := reported(t, o).LastWriteTime
	time.Sleep(5 * time.Millisecond)
	o.file.WriteAt([]byte("x"), 0)
	nt.wrote(o)
	if got := reported(t, o); !got.LastWriteTime.Equal(start) || !got.ChangeTime.Equal(start) {
		t.Fatalf("write time moved at once: %v", got.LastWriteTime)
	}
	nt.flush(o) // FLUSH carries out the pending update
	flushed := reported(t, o).LastWriteTime
	if !flushed.After(start) {
		t.Fatalf("flush did not update: %v", flushed)
	}
	nt.closing(o, true)
	if fi, _ := o.file.Stat(); !fi.ModTime.Equal(flushed) {
		t.Errorf("mtime on close %v, want %v", fi.ModTime, flushed)
	}
}

func TestStickyWriteTime(t *testing.T) {
	o, nt := newTimesOpen(t)
	set := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	nt.setWrite(o, set)
	o.file.WriteAt([]byte("x"), 0)
	nt.wrote(o)
	nt.modified(o)
	nt.closing(o, true)
	if got := reported(t, o).LastWriteTime; !got.Equal(set) {
		t.Errorf("sticky write time moved to %v", got)
	}
	if fi, _ := o.file.Stat(); !fi.ModTime.Equal(set) {
		t.Errorf("mtime after last close %v, want %v", fi.ModTime, set)
	}
	nt.thaw()
	nt.modified(o)
	if got := reported(t, o).LastWriteTime; got.Equal(set) {
		t.Error("thawed write time did not move")
	}
}

func TestSetBirth(t *testing.T) {
	o, nt := newTimesOpen(t)
	b := time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, ok := o.file.(vfs.MetaFile); !ok {
		if nt.setBirthChange(o, b, time.Time{}) {
			t.Fatal("setBirth succeeded without a metadata record")
		}
		return
	}
	c := b.Add(time.Hour)
	if !nt.setBirthChange(o, b, c) {
		t.Fatal("not stored")
	}
	if got := reported(t, o); !got.CreationTime.Equal(b) || !got.ChangeTime.Equal(c) {
		t.Errorf("got creation %v change %v", got.CreationTime, got.ChangeTime)
	}
	nt.modified(o)
	if got := reported(t, o); !got.ChangeTime.Equal(got.LastWriteTime) {
		t.Error("change time did not follow a modification")
	}
}

func TestValidRange(t *testing.T) {
	const max64 = 1<<63 - 1
	tests := []struct {
		off, n, limit uint64
		ok            bool
	}{
		{0, 10, max64, true},
		{max64 - 1, 1, max64, true},
		{max64, 0, max64, true},
		{max64, 1, max64, false},
		{max64 + 1, 0, max64, false},
		{^uint64(0), 10, maxFileSize, false}, // -1: not "end of file" over SMB2
		{maxFileSize, 1, maxFileSize, false},
		{maxFileSize - 1, 1, maxFileSize, true},
		{maxFileSize, 0, maxFileSize, true},
		{max64, 0, maxFileSize, true},
	}
	for _, tt := range tests {
		if got := validRange(tt.off, tt.n, tt.limit); got != tt.ok {
			t.Errorf("validRange(%#x, %d, %#x) = %v", tt.off, tt.n, tt.limit, got)
		}
	}
}
