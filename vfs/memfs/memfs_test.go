package memfs_test

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/signetsmb/signet/vfs"
	"github.com/signetsmb/signet/vfs/memfs"
	"github.com/signetsmb/signet/vfs/vfstest"
)

func TestConformance(t *testing.T) {
	vfstest.Run(t, func(t *testing.T) vfs.FS { return memfs.New(memfs.Options{}) })
}

// clock is a fake time source that advances one second per reading.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(time.Second)
	return c.now
}

func create(t *testing.T, m *memfs.FS, name string, size int) vfs.File {
	t.Helper()
	f, err := m.OpenFile(t.Context(), name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if size > 0 {
		if _, err := f.WriteAt(make([]byte, size), 0); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func free(t *testing.T, m *memfs.FS) uint64 {
	t.Helper()
	info, err := m.StatFS(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return info.FreeBytes
}

func TestCapacity(t *testing.T) {
	ctx := t.Context()
	m := memfs.New(memfs.Options{Capacity: 10000})
	a := create(t, m, "a", 8000)
	if got := free(t, m); got != 2000 {
		t.Fatalf("free = %d, want 2000", got)
	}
	b := create(t, m, "b", 0)
	if _, err := b.WriteAt(make([]byte, 4000), 0); !errors.Is(err, vfs.ErrNoSpace) {
		t.Errorf("write beyond capacity = %v, want ErrNoSpace", err)
	}
	if err := b.Truncate(4000); !errors.Is(err, vfs.ErrNoSpace) {
		t.Errorf("truncate beyond capacity = %v, want ErrNoSpace", err)
	}
	if fi, _ := b.Stat(); fi.Size != 0 {
		t.Errorf("failed write changed size to %d", fi.Size)
	}
	// An unlinked file keeps its space until its last handle closes.
	if err := m.Remove(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if got := free(t, m); got != 2000 {
		t.Errorf("free after removing open file = %d, want 2000", got)
	}
	a.Close()
	if got := free(t, m); got != 10000 {
		t.Errorf("free after close = %d, want 10000", got)
	}
}

func TestHugeOffsets(t *testing.T) {
	m := memfs.New(memfs.Options{})
	f := create(t, m, "f", 0)
	if _, err := f.WriteAt([]byte("x"), 1<<50); !errors.Is(err, vfs.ErrNoSpace) {
		t.Errorf("sparse write at 1 PiB = %v, want ErrNoSpace", err)
	}
	if _, err := f.WriteAt([]byte("xy"), math.MaxInt64-1); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("write overflowing int64 = %v, want fs.ErrInvalid", err)
	}
	a := f.(vfs.Allocator)
	if err := a.Allocate(0, memfs.DefaultCapacity+1); !errors.Is(err, vfs.ErrNoSpace) {
		t.Errorf("Allocate beyond capacity = %v, want ErrNoSpace", err)
	}
	if err := a.Allocate(math.MaxInt64, 1); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("Allocate overflowing int64 = %v, want fs.ErrInvalid", err)
	}
}

func TestAllocateReservation(t *testing.T) {
	m := memfs.New(memfs.Options{Capacity: 1 << 20})
	f := create(t, m, "f", 0)
	if err := f.(vfs.Allocator).Allocate(0, 1<<19); err != nil {
		t.Fatal(err)
	}
	if got := free(t, m); got != 1<<19 {
		t.Errorf("free after Allocate = %d, want %d", got, 1<<19)
	}
	// Writing inside the reservation costs nothing more; truncating drops it.
	if _, err := f.WriteAt(make([]byte, 1000), 0); err != nil {
		t.Fatal(err)
	}
	if got := free(t, m); got != 1<<19 {
		t.Errorf("free after write inside reservation = %d, want %d", got, 1<<19)
	}
	if err := f.Truncate(10); err != nil {
		t.Fatal(err)
	}
	if got := free(t, m); got != 1<<20-10 {
		t.Errorf("free after truncate = %d, want %d", got, 1<<20-10)
	}
}

func TestTimestamps(t *testing.T) {
	ctx := t.Context()
	c := &clock{now: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)}
	m := memfs.New(memfs.Options{Now: c.Now})
	f := create(t, m, "f", 0)
	created, _ := f.Stat()
	if !created.BirthTime.Equal(created.ModTime) || !created.ChangeTime.Equal(created.ModTime) {
		t.Errorf("new file times differ: %+v", created)
	}
	if _, err := f.WriteAt([]byte("x"), 0); err != nil {
		t.Fatal(err)
	}
	written, _ := f.Stat()
	if !written.ModTime.After(created.ModTime) || !written.BirthTime.Equal(created.BirthTime) ||
		!written.AccessTime.Equal(created.AccessTime) {
		t.Errorf("after write: %+v, created %+v", written, created)
	}
	if err := m.Rename(ctx, "f", "g", false); err != nil {
		t.Fatal(err)
	}
	renamed, _ := f.Stat()
	if !renamed.ModTime.Equal(written.ModTime) || !renamed.ChangeTime.After(written.ChangeTime) {
		t.Errorf("rename must change ctime only: %+v, before %+v", renamed, written)
	}
	root, _ := m.Stat(ctx, ".")
	if !root.ModTime.Equal(renamed.ChangeTime) {
		t.Errorf("root mtime %v, want the rename time %v", root.ModTime, renamed.ChangeTime)
	}
}

func TestDirectoryLinkCounts(t *testing.T) {
	ctx := t.Context()
	m := memfs.New(memfs.Options{})
	for _, d := range []string{"a", "a/b", "a/c", "z"} {
		if err := m.Mkdir(ctx, d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	nlink := func(name string) uint64 {
		fi, err := m.Stat(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Nlink
	}
	if nlink("a") != 4 || nlink(".") != 4 || nlink("a/b") != 2 {
		t.Errorf("nlink a=%d root=%d a/b=%d, want 4 4 2", nlink("a"), nlink("."), nlink("a/b"))
	}
	if err := m.Rename(ctx, "a/b", "z/b", false); err != nil {
		t.Fatal(err)
	}
	if err := m.Remove(ctx, "a/c"); err != nil {
		t.Fatal(err)
	}
	if nlink("a") != 2 || nlink("z") != 3 {
		t.Errorf("nlink a=%d z=%d, want 2 3", nlink("a"), nlink("z"))
	}
}

func TestWatchOverflow(t *testing.T) {
	m := memfs.New(memfs.Options{})
	ch, err := m.Watch(t.Context(), ".", false)
	if err != nil {
		t.Fatal(err)
	}
	for i := range memfs.WatchBuffer + 10 {
		if err := m.Mkdir(t.Context(), fmt.Sprint(i), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if len(ch) != memfs.WatchBuffer {
		t.Fatalf("%d events queued, want %d", len(ch), memfs.WatchBuffer)
	}
	var last vfs.Event
	for range memfs.WatchBuffer {
		last = <-ch
		if last.Op == vfs.OpOverflow {
			break
		}
	}
	if last.Op != vfs.OpOverflow || len(ch) != 0 {
		t.Fatalf("last queued event %v with %d left, want a final overflow", last, len(ch))
	}
	if err := m.Mkdir(t.Context(), "after", 0o755); err != nil {
		t.Fatal(err)
	}
	if ev := <-ch; ev != (vfs.Event{Name: "after", Op: vfs.OpCreate}) {
		t.Errorf("event after draining = %v, want create after", ev)
	}
}

func TestWatchFollowsRenamedDir(t *testing.T) {
	ctx := t.Context()
	m := memfs.New(memfs.Options{})
	if err := m.Mkdir(ctx, "w", 0o755); err != nil {
		t.Fatal(err)
	}
	ch, err := m.Watch(ctx, "w", false)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Rename(ctx, "w", "v", false); err != nil {
		t.Fatal(err)
	}
	if err := m.Mkdir(ctx, "v/x", 0o755); err != nil {
		t.Fatal(err)
	}
	if ev := <-ch; ev != (vfs.Event{Name: "x", Op: vfs.OpCreate}) {
		t.Errorf("event = %v, want create x", ev)
	}
}

func TestWatchMoveInAndOut(t *testing.T) {
	ctx := t.Context()
	m := memfs.New(memfs.Options{})
	for _, d := range []string{"w", "other"} {
		if err := m.Mkdir(ctx, d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	create(t, m, "other/f", 0)
	ch, err := m.Watch(ctx, "w", true)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Rename(ctx, "other/f", "w/f", false); err != nil {
		t.Fatal(err)
	}
	if err := m.Rename(ctx, "w/f", "other/g", false); err != nil {
		t.Fatal(err)
	}
	want := []vfs.Event{{Name: "f", Op: vfs.OpCreate}, {Name: "f", Op: vfs.OpRemove}}
	for _, w := range want {
		if ev := <-ch; ev != w {
			t.Errorf("event = %v, want %v", ev, w)
		}
	}
}
