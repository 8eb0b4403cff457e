package client

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"sync"
	"sync/atomic"

	"github.com/signetsmb/signet/internal/fscc"
	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
)

// File is an open file or directory of a Share. It implements fs.File,
// fs.ReadDirFile, io.ReaderAt, io.WriterAt, io.Seeker, io.ReaderFrom and
// io.WriterTo. ReadAt, WriteAt, ReadFrom and WriteTo keep several READ or
// WRITE requests in flight (Dialer.MaxInFlight). ReadAt and WriteAt may be
// called concurrently; the methods that use the file offset (Read, Write,
// Seek, ReadFrom, WriteTo, ReadDir) are serialised.
//
// Lock order: mu, then cmu (a break takes only cmu). cmu guards the lease
// and durable state and the write cache (lease.go, durable.go); id is
// replaced by a reconnect that reclaims the handle.
type File struct {
	sh    *Share
	name  string // io/fs path, for errors
	id    atomic.Pointer[wire.FileID]
	flag  int
	isDir bool
	info  *fileInfo // from the CREATE response
	spec  openSpec  // the CREATE, for reclaiming the handle

	// Set by the CREATE, before the file is shared.
	lkey       [16]byte // lease key
	v2         bool     // lease v2 and durable v2 (3.x)
	createGuid [16]byte // of the durable v2 handle

	cmu       sync.Mutex
	leased    bool   // the server granted a lease
	lstate    uint32 // current lease state
	epoch     uint16
	durable   bool
	reclaims  int
	breaks    int
	lostp     atomic.Pointer[error] // the handle was not reclaimed after a reconnect
	cache     []byte                // writes kept back under write caching, from cacheOff
	cacheOff  int64
	cacheErr  error  // a break's flush failed; reported by the next call
	rcache    []byte // data read under read caching, from rcacheOff (readcache.go)
	rcacheOff int64
	rgen      uint64 // read cache generation, raised by every drop
	rhits     int    // reads served from rcache

	mu     sync.Mutex // guards the fields below, and orders offset-based calls
	off    int64
	dir    []*fileInfo // directory entries fetched but not returned yet
	dirEOF bool
	dead   bool // Close was called
}

var (
	_ fs.ReadDirFile = (*File)(nil)
	_ io.ReaderAt    = (*File)(nil)
	_ io.WriterAt    = (*File)(nil)
	_ io.Seeker      = (*File)(nil)
	_ io.ReaderFrom  = (*File)(nil)
	_ io.WriterTo    = (*File)(nil)
)

func newFile(sh *Share, name string, flag int, r *wire.CreateResponse) *File {
	fi := infoFromCreate(name, r)
	f := &File{sh: sh, name: name, flag: flag, isDir: fi.IsDir(), info: fi}
	f.id.Store(&r.FileID)
	return f
}

// Name returns the path the file was opened with.
func (f *File) Name() string { return f.name }

// pathErr wraps err for op on this file.
func (f *File) pathErr(op string, err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	return &fs.PathError{Op: op, Path: f.name, Err: err}
}

// usable reports an error for a closed file; f.mu is held.
func (f *File) usable(op string) error {
	if f.dead {
		return f.pathErr(op, fs.ErrClosed)
	}
	return nil
}

// isClosed reports whether Close was called, for the methods that do not
// hold f.mu.
func (f *File) isClosed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.dead
}

// Close closes the handle (CLOSE). Further calls return fs.ErrClosed.
func (f *File) Close() error {
	f.mu.Lock()
	if f.dead {
		f.mu.Unlock()
		return f.pathErr("close", fs.ErrClosed)
	}
	f.dead = true
	f.mu.Unlock()
	ferr := f.flushCache()
	f.dropReadCache()
	defer f.sh.t.s.untrack(f)
	if err := f.pathLost("close"); err != nil {
		return err
	}
	err := f.pathErr("close", f.sh.closeFile(f.sh.ctx, f))
	if ferr != nil {
		return f.pathErr("close", ferr)
	}
	return err
}

// Stat queries the file's metadata (QUERY_INFO FileAllInformation).
func (f *File) Stat() (fs.FileInfo, error) {
	if f.isClosed() {
		return nil, f.pathErr("stat", fs.ErrClosed)
	}
	if err := f.flushCache(); err != nil {
		return nil, f.pathErr("stat", err)
	}
	b, err := f.sh.queryInfo(f.sh.ctx, f, fscc.FileAllInformation)
	if err != nil {
		return nil, f.pathErr("stat", err)
	}
	fi, err := parseAllInfo(f.name, b)
	if err != nil {
		return nil, f.pathErr("stat", invalidResponse("QUERY_INFO", err))
	}
	return fi, nil
}

// size returns the current end of file (QUERY_INFO FileStandardInformation).
func (f *File) size() (int64, error) {
	if err := f.flushCache(); err != nil {
		return 0, err
	}
	b, err := f.sh.queryInfo(f.sh.ctx, f, fscc.FileStandardInformation)
	if err != nil {
		return 0, err
	}
	n, err := parseStandardInfo(b)
	if err != nil {
		return 0, invalidResponse("QUERY_INFO", err)
	}
	return n, nil
}

// Read reads up to len(p) bytes at the file offset.
func (f *File) Read(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.readable("read"); err != nil {
		return 0, err
	}
	n, err := f.readAt(p, f.off)
	f.off += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, f.pathErr("read", err)
}

// readable checks that f may be read; f.mu is held.
func (f *File) readable(op string) error {
	if err := f.usable(op); err != nil {
		return err
	}
	if f.isDir {
		return f.pathErr(op, errIsDir)
	}
	if f.flag&(os.O_WRONLY|os.O_RDWR) == os.O_WRONLY {
		return f.pathErr(op, fs.ErrPermission)
	}
	return nil
}

// writable checks that f may be written; f.mu is held.
func (f *File) writable(op string) error {
	if err := f.usable(op); err != nil {
		return err
	}
	if f.flag&(os.O_WRONLY|os.O_RDWR) == 0 {
		return f.pathErr(op, fs.ErrPermission)
	}
	return nil
}

// ReadAt reads len(p) bytes at off; fewer only with an error (io.EOF at
// the end of file).
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	f.mu.Lock()
	err := f.readable("read")
	f.mu.Unlock()
	if err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, f.pathErr("read", errors.New("negative offset"))
	}
	n, err := f.readAt(p, off)
	return n, f.pathErr("read", err)
}

// startWrite checks that the file is open for writing and, with O_APPEND,
// moves the offset to the end of file; f.mu is held.
func (f *File) startWrite() error {
	if err := f.writable("write"); err != nil {
		return err
	}
	if f.flag&os.O_APPEND != 0 {
		end, err := f.size()
		if err != nil {
			return f.pathErr("write", err)
		}
		f.off = end
	}
	return nil
}

// Write writes p at the file offset (at the end of file with O_APPEND).
func (f *File) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.startWrite(); err != nil {
		return 0, err
	}
	if cached, err := f.cacheWrite(p, f.off); err != nil || cached {
		if cached {
			f.off += int64(len(p))
			return len(p), nil
		}
		return 0, f.pathErr("write", err)
	}
	n, err := f.writeAt(p, f.off)
	f.off += int64(n)
	return n, f.pathErr("write", err)
}

// WriteAt writes p at off. It is not allowed on O_APPEND files.
func (f *File) WriteAt(p []byte, off int64) (int, error) {
	f.mu.Lock()
	err := f.writable("write")
	f.mu.Unlock()
	if err != nil {
		return 0, err
	}
	if f.flag&os.O_APPEND != 0 {
		return 0, f.pathErr("write", errors.New("WriteAt on a file opened with O_APPEND"))
	}
	if off < 0 {
		return 0, f.pathErr("write", errors.New("negative offset"))
	}
	if err := f.flushCache(); err != nil {
		return 0, f.pathErr("write", err)
	}
	n, err := f.writeAt(p, off)
	return n, f.pathErr("write", err)
}

// Seek sets the offset for the next Read or Write.
func (f *File) Seek(offset int64, whence int) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.usable("seek"); err != nil {
		return 0, err
	}
	base := int64(0)
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		base = f.off
	case io.SeekEnd:
		end, err := f.size()
		if err != nil {
			return 0, f.pathErr("seek", err)
		}
		base = end
	default:
		return 0, f.pathErr("seek", fs.ErrInvalid)
	}
	if base+offset < 0 {
		return 0, f.pathErr("seek", fs.ErrInvalid)
	}
	f.off = base + offset
	return f.off, nil
}

// Sync flushes the file's data to stable storage on the server (FLUSH).
func (f *File) Sync() error {
	f.mu.Lock()
	err := f.usable("sync")
	f.mu.Unlock()
	if err != nil {
		return err
	}
	if err := f.flushCache(); err != nil {
		return f.pathErr("sync", err)
	}
	msg := wire.AppendFlushRequest(newMessage(wire.CmdFlush, 24), f.fileID())
	_, err = f.sh.t.s.simple(f.sh.ctx, &exchange{msg: msg, t: f.sh.t, f: f, fidAt: wire.HeaderSize + 8, replay: true})
	return f.pathErr("sync", err)
}

// Truncate changes the size of the file (SET_INFO FileEndOfFileInformation).
func (f *File) Truncate(size int64) error {
	f.mu.Lock()
	err := f.writable("truncate")
	f.mu.Unlock()
	if err != nil {
		return err
	}
	if size < 0 {
		return f.pathErr("truncate", fs.ErrInvalid)
	}
	if err := f.flushCache(); err != nil {
		return f.pathErr("truncate", err)
	}
	f.dropReadCache()
	defer f.dropReadCache()
	return f.sh.setInfo(f.sh.ctx, "truncate", f.name, f.fileID(), f, fscc.FileEndOfFileInformation, endOfFileInfo(size))
}

// ReadDir reads the directory's entries in server order (fs.ReadDirFile):
// with n > 0 at most n, and io.EOF at the end; with n <= 0 all remaining.
func (f *File) ReadDir(n int) ([]fs.DirEntry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.usable("readdir"); err != nil {
		return nil, err
	}
	if !f.isDir {
		return nil, f.pathErr("readdir", errNotDir)
	}
	for (n <= 0 || len(f.dir) < n) && !f.dirEOF {
		if err := f.fetchDir(); err != nil {
			return nil, f.pathErr("readdir", err)
		}
	}
	k := len(f.dir)
	if n > 0 {
		k = min(k, n)
	}
	out := make([]fs.DirEntry, k)
	for i, fi := range f.dir[:k] {
		out[i] = fs.FileInfoToDirEntry(fi)
	}
	f.dir = f.dir[k:]
	if n > 0 && k == 0 {
		return out, io.EOF
	}
	return out, nil
}

// fetchDir runs one QUERY_DIRECTORY and buffers its entries; f.mu is
// held.
func (f *File) fetchDir() error {
	size := transactSize(&f.sh.t.s.neg.info)
	msg := wire.AppendQueryDirectoryRequest(newMessage(wire.CmdQueryDirectory, 34), &wire.QueryDirectoryRequest{
		InfoClass: uint8(fscc.FileDirectoryInformation), FileID: f.fileID(), Pattern: "*",
		OutputBufferLength: uint32(size),
	})
	resp, err := f.sh.t.s.exec(f.sh.ctx, &exchange{msg: msg, t: f.sh.t, payload: size, f: f, fidAt: wire.HeaderSize + 8})
	if err != nil {
		return err
	}
	switch st := resp.status(); st {
	case ntstatus.Success:
	case ntstatus.NoMoreFiles, ntstatus.NoSuchFile:
		f.dirEOF = true
		return nil
	default:
		return statusError("QUERY_DIRECTORY", st)
	}
	out, err := wire.ParseOutputBuffer(resp.msg)
	if err != nil {
		return invalidResponse("QUERY_DIRECTORY", err)
	}
	entries, err := parseDirectoryInfo(out)
	if err != nil {
		return invalidResponse("QUERY_DIRECTORY", err)
	}
	f.dir = append(f.dir, entries...)
	return nil
}
