package server

import (
	"bytes"
	"context"
	"io/fs"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
	"github.com/signetsmb/signet/vfs"
	"github.com/signetsmb/signet/vfs/memfs"
)

// overlapFS records how many WriteAt calls run at once, and says through
// vfs.SerialWriter whether it serializes writes to one file.
type overlapFS struct {
	vfs.FS
	serial   bool
	cur, max atomic.Int32
}

func (o *overlapFS) WritesSerialized() bool { return o.serial }

func (o *overlapFS) OpenFile(ctx context.Context, name string, flag int, perm fs.FileMode) (vfs.File, error) {
	f, err := o.FS.OpenFile(ctx, name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &overlapFile{File: f, fs: o}, nil
}

type overlapFile struct {
	vfs.File
	fs *overlapFS
}

func (f *overlapFile) WriteAt(p []byte, off int64) (int, error) {
	n := f.fs.cur.Add(1)
	for m := f.fs.max.Load(); n > m && !f.fs.max.CompareAndSwap(m, n); m = f.fs.max.Load() {
	}
	time.Sleep(20 * time.Millisecond)
	f.fs.cur.Add(-1)
	return f.File.WriteAt(p, off)
}

// TestSerialWrites: on a backend that runs writes to one file one at a
// time (vfs.SerialWriter, as localfs on Linux), the server queues
// concurrent WRITEs to a file itself (fileNode.writeMu), so they wait
// parked rather than spinning on the kernel's inode lock; on any other
// backend they run in parallel.
func TestSerialWrites(t *testing.T) {
	for _, serial := range []bool{true, false} {
		ofs := &overlapFS{FS: memfs.New(memfs.Options{}), serial: serial}
		tc := newTester(t, &testerConfig{FS: ofs})
		tc.negotiate(wire.Dialect311)
		tc.mustSessionSetup("alice", "pw")
		tc.mustTreeConnect("share")
		id := tc.mustCreate("f")
		data := bytes.Repeat([]byte("w"), 64<<10)
		var writes []*req
		for i := range 4 {
			w := tc.writeReq(id, uint64(i*len(data)), data)
			tc.send(w)
			writes = append(writes, w)
		}
		for _, w := range writes {
			expectStatus(t, "WRITE", tc.wait(w), ntstatus.Success)
		}
		switch max := ofs.max.Load(); {
		case serial && max != 1:
			t.Errorf("serializing backend: %d writes to one file ran at once, want 1", max)
		case !serial && max < 2:
			t.Errorf("parallel backend: the four WRITEs never overlapped (at most %d at once)", max)
		}
	}
}
