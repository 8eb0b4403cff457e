package server

import (
	"errors"
	"io"
	"math"

	"github.com/signetsmb/signet/internal/dcerpc"
	"github.com/signetsmb/signet/internal/fscc"
	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
)

// close handles CLOSE [MS-SMB2 3.3.5.10].
func (r *request) closeFile(w *response) error {
	req, err := wire.ParseCloseRequest(r.msg)
	if err != nil {
		return ntstatus.InvalidParameter
	}
	o := r.open
	if o.node != nil {
		o.node.times.flush(o) // a pending write-time update happens now
	}
	resp := &wire.CloseResponse{}
	if req.Flags&wire.CloseFlagPostQueryAttrib != 0 && o.file != nil {
		if fi, err := o.file.Stat(); err == nil {
			info := fileInfoOf(&fi, o)
			resp.Flags = wire.CloseFlagPostQueryAttrib
			resp.CreationTime = fscc.Filetime(info.CreationTime)
			resp.LastAccessTime = fscc.Filetime(info.LastAccessTime)
			resp.LastWriteTime = fscc.Filetime(info.LastWriteTime)
			resp.ChangeTime = fscc.Filetime(info.ChangeTime)
			resp.AllocationSize = uint64(info.AllocationSize)
			resp.EndOfFile = uint64(info.EndOfFile)
			resp.FileAttributes = info.EffectiveAttributes()
		}
	}
	cancelOpenEverywhere(o) // pending async requests end first
	own := 0
	if r.held == o {
		own = 1
	}
	if err := o.waitIdle(r.ctx(), own); err != nil {
		return err // the connection is closing; teardown releases the open
	}
	r.c.srv.forgetOpen(o)
	r.tree.removeOpen(o)
	o.release()
	w.buf = wire.AppendCloseResponse(w.buf, resp)
	return nil
}

// flush handles FLUSH [MS-SMB2 3.3.5.11]: the data reaches stable storage
// (fsync) before the response is sent.
func (r *request) flush(w *response) error {
	if _, err := wire.ParseFlushRequest(r.msg); err != nil {
		return ntstatus.InvalidParameter
	}
	o := r.open
	if o.pipe != nil {
		w.buf = append(w.buf, 4, 0, 0, 0)
		return nil
	}
	if o.access&(wire.FileWriteData|wire.FileAppendData) == 0 {
		return ntstatus.AccessDenied
	}
	if err := o.file.Sync(); err != nil {
		return statusOf(err)
	}
	if o.node != nil {
		o.node.times.flush(o)
	}
	w.buf = append(w.buf, 4, 0, 0, 0)
	return nil
}

// checkSize enforces the negotiated maximum and the multi-credit rule
// [MS-SMB2 3.3.5.2.5]: a request moving n bytes must not exceed limit
// (MaxRead/Write/TransactSize) and must be charged ceil(n/64 KiB) credits.
func (r *request) checkSize(n, limit uint32) error {
	if n > limit {
		return ntstatus.InvalidParameter
	}
	if r.c.dialect == wire.Dialect202 {
		return nil
	}
	need := (uint64(n) + 65535) / 65536
	if need > uint64(max(r.hdr.CreditCharge, 1)) {
		return ntstatus.InvalidParameter
	}
	return nil
}

// read handles READ [MS-SMB2 3.3.5.12]. The file is read straight into the
// response buffer, which then goes to the wire (and is signed in place)
// without another copy.
func (r *request) read(w *response) error {
	req, err := wire.ParseReadRequest(r.msg)
	if err != nil {
		return ntstatus.InvalidParameter
	}
	if err := r.checkSize(req.Length, r.c.maxIO); err != nil {
		return err
	}
	o := r.open
	if o.access&(wire.FileReadData|wire.FileExecute) == 0 {
		return ntstatus.AccessDenied
	}
	if o.isDir {
		return ntstatus.InvalidDeviceRequest
	}
	if !validRange(req.Offset, uint64(req.Length), math.MaxInt64) {
		return ntstatus.InvalidParameter
	}
	const dataAt = wire.HeaderSize + wire.ReadResponseHeaderSize
	if err := r.takeReadBudget(int64(bufClassSize(frameRoom + dataAt + int(req.Length) + tagRoom))); err != nil {
		return err
	}
	w.reserve(dataAt + int(req.Length))
	data := w.buf[dataAt : dataAt+int(req.Length)]
	var n int
	var more bool
	if o.pipe != nil {
		n, more, err = o.pipe.ReadMessage(data)
		if errors.Is(err, dcerpc.ErrNoData) {
			return ntstatus.PipeEmpty
		}
	} else {
		if err := o.checkIO(req.Offset, uint64(req.Length), false); err != nil {
			return err
		}
		n, err = o.file.ReadAt(data, int64(req.Offset))
		if err == io.EOF {
			err = nil
		}
	}
	if err != nil {
		return statusOf(err)
	}
	if n == 0 && req.Length > 0 || uint32(n) < req.MinimumCount {
		return ntstatus.EndOfFile
	}
	if o.pipe == nil {
		// FilePositionInformation follows the last read, as in Samba.
		o.mu.Lock()
		o.position = int64(req.Offset) + int64(n)
		o.mu.Unlock()
	}
	w.buf = w.buf[:dataAt+n]
	wire.PutReadResponse(w.buf[wire.HeaderSize:], uint32(n))
	if more {
		w.status = ntstatus.BufferOverflow
	}
	return nil
}

// takeReadBudget waits until the connection has fewer than
// MaxReadBytesPending bytes of READ responses not yet on the wire, so a
// client that stops reading cannot make the server hold ever more READ
// buffers; the pipeline hands the budget to the writer with the response.
// n is the capacity of the buffer the response is built in (its pool
// class), so the budget counts the memory really held.
func (r *request) takeReadBudget(n int64) error {
	var got int64
	var err error
	if r.chainHoldsBudget {
		if got = r.c.readBudget.tryAcquire(n); got < 0 {
			return ntstatus.InsufficientResources
		}
	} else if got, err = r.c.readBudget.acquire(r.ctx(), n); err != nil {
		return err
	}
	r.readBytes += got
	return nil
}

// write handles WRITE [MS-SMB2 3.3.5.13]. The data is written from the
// request buffer as it arrived.
func (r *request) write(w *response) error {
	req, err := wire.ParseWriteRequest(r.msg)
	if err != nil {
		return ntstatus.InvalidParameter
	}
	if err := r.checkSize(uint32(len(req.Data)), r.c.maxWrite); err != nil {
		return err
	}
	o := r.open
	if o.pipe != nil {
		// A write the pipe takes only part of (requests before one whose
		// response would not fit under MaxPipeOutput) succeeds with the
		// count it took, as a non-blocking pipe write does on Windows: the
		// requests taken were processed and must not be sent again.
		n, err := o.pipe.Write(req.Data)
		if err != nil && (n == 0 || !errors.Is(err, dcerpc.ErrPipeBusy)) {
			return pipeStatus(err)
		}
		w.buf = wire.AppendWriteResponse(w.buf, uint32(n))
		return nil
	}
	if o.access&(wire.FileWriteData|wire.FileAppendData) == 0 {
		return ntstatus.AccessDenied
	}
	if o.isDir {
		return ntstatus.InvalidDeviceRequest
	}
	// Windows and Samba reject the MS-FSA end-of-file and file-pointer
	// offsets (-1, -2) over SMB2 like any other negative offset.
	off := req.Offset
	if !validRange(off, uint64(len(req.Data)), maxFileSize) {
		return ntstatus.InvalidParameter
	}
	if err := o.checkIO(off, uint64(len(req.Data)), true); err != nil {
		return err
	}
	if o.node != nil {
		o.node.times.ensure(o) // capture the write time before the kernel moves it
	}
	serial := o.node != nil && o.node.serialWrites
	if serial {
		o.node.writeMu.Lock()
	}
	n, err := o.file.WriteAt(req.Data, int64(off))
	if serial {
		o.node.writeMu.Unlock()
	}
	if err != nil {
		return statusOf(err)
	}
	if o.node != nil && n > 0 {
		o.node.times.wrote(o)
	}
	o.mu.Lock()
	o.position = int64(off) + int64(n)
	o.mu.Unlock()
	if req.Flags&wire.WriteFlagWriteThrough != 0 || o.options&wire.FileWriteThrough != 0 {
		if err := o.file.Sync(); err != nil {
			return statusOf(err)
		}
	}
	r.c.srv.breakLevelII(o)
	r.c.srv.notifyChange(o, notifyModified)
	w.buf = wire.AppendWriteResponse(w.buf, uint32(n))
	return nil
}

// maxFileSize is the largest file size Windows (NTFS) and Samba accept
// writes up to: 16 TiB less 64 KiB.
const maxFileSize = 0xfffffff0000

// validRange reports whether an I/O of length bytes at off is acceptable:
// off is a non-negative int64 and, unless length is 0, the range ends at
// or before limit.
func validRange(off, length, limit uint64) bool {
	if off > math.MaxInt64 {
		return false
	}
	return length == 0 || length <= limit && off <= limit-length
}

// reserve makes w.buf large enough for n bytes (keeping what it holds) and
// leaves room in front for the transport and transform headers (and
// behind for an encryption tag), so that a single response can be sent,
// encrypted or not, without copying it into a frame.
func (w *response) reserve(n int) {
	if w.raw != nil && cap(w.raw)-frameRoom-tagRoom >= n {
		w.buf = w.raw[frameRoom : frameRoom+n]
		return
	}
	raw := getBuf(frameRoom + n + tagRoom)
	copy(raw[frameRoom:], w.buf)
	if w.raw != nil {
		putBuf(w.raw)
	}
	w.raw = raw
	w.buf = raw[frameRoom : frameRoom+n]
}
