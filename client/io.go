package client

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/signetsmb/signet/internal/bufpool"
	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
)

// readChunk sends one READ of len(p) bytes at off and copies the data
// into p. It returns io.EOF (with 0 bytes) at or past the end of file.
func (f *File) readChunk(ctx context.Context, p []byte, off int64) (int, error) {
	resp, data, err := f.readResp(ctx, len(p), off)
	if err != nil {
		return 0, err
	}
	n := copy(p, data)
	resp.release()
	return n, nil
}

// readResp sends one READ of n bytes at off and returns the response and
// the data in it (no copy: the caller releases resp when done with the
// data). It returns io.EOF (and no response) at or past the end of file.
func (f *File) readResp(ctx context.Context, n int, off int64) (*response, []byte, error) {
	msg := wire.AppendReadRequest(newMessage(wire.CmdRead, 49), &wire.ReadRequest{
		Length: uint32(n), Offset: uint64(off), FileID: f.fileID(),
	})
	resp, err := f.sh.t.s.exec(ctx, &exchange{msg: msg, t: f.sh.t, payload: n, spread: true, reissue: true, f: f, fidAt: wire.HeaderSize + 16})
	if err != nil {
		return nil, nil, err
	}
	switch st := resp.status(); st {
	case ntstatus.Success:
	case ntstatus.EndOfFile:
		return nil, nil, io.EOF
	default:
		return nil, nil, statusError("READ", st)
	}
	data, err := wire.ParseReadResponse(resp.msg)
	if err != nil {
		return nil, nil, invalidResponse("READ", err)
	}
	if len(data) > n {
		return nil, nil, invalidResponse("READ", fmt.Errorf("%d bytes returned for %d asked", len(data), n))
	}
	return resp, data, nil
}

// writeChunk sends one WRITE of p at off and returns the count the
// server reports. The request is built in a pooled buffer: writeMsg has
// sent it (conn.write is synchronous, a reissue happens inside exec) and
// nothing holds it once writeMsg returns.
func (f *File) writeChunk(ctx context.Context, p []byte, off int64) (int, error) {
	msg := bufpool.Get(writeDataAt + len(p))
	copy(msg[writeDataAt:], p)
	n, err := f.writeMsg(ctx, msg, off)
	bufpool.Put(msg)
	return n, err
}

// writeDataAt is where a WRITE request's data starts: after the header
// and the 48-byte body.
const writeDataAt = wire.HeaderSize + 48

// writeMsg sends the WRITE whose data is msg[writeDataAt:], at off, and
// returns the count the server reports. It fills in the header and body
// in front of the data, so the data goes out from the buffer it was read
// into; msg may be a buffer a previous WRITE was sent from.
func (f *File) writeMsg(ctx context.Context, msg []byte, off int64) (int, error) {
	size := len(msg) - writeDataAt
	clear(msg[:wire.HeaderSize])
	binary.LittleEndian.PutUint16(msg[12:], uint16(wire.CmdWrite))
	wire.AppendWriteRequest(msg[:wire.HeaderSize], &wire.WriteRequest{Offset: uint64(off), FileID: f.fileID()})
	binary.LittleEndian.PutUint32(msg[wire.HeaderSize+4:], uint32(size))
	p := msg[writeDataAt:]
	resp, err := f.sh.t.s.simple(ctx, &exchange{msg: msg, t: f.sh.t, payload: len(p), spread: true, reissue: true, f: f, fidAt: wire.HeaderSize + 16})
	if err != nil {
		return 0, err
	}
	n, err := wire.ParseWriteResponse(resp.msg)
	if err != nil {
		return 0, invalidResponse("WRITE", err)
	}
	if int(n) > len(p) {
		return 0, invalidResponse("WRITE", fmt.Errorf("%d bytes acknowledged for %d sent", n, len(p)))
	}
	return int(n), nil
}

// chunkFunc transfers p[lo:hi] and returns the bytes moved.
type chunkFunc func(ctx context.Context, lo, hi int) (int, error)

// parallel runs fn over [0,total) in chunks of size bytes (the session's
// READ or WRITE size) with at most MaxInFlight chunks per channel
// outstanding; the chunks are
// spread over the session's channels. It returns the length of
// the longest prefix moved completely, and the error of the first chunk
// (by position) that failed; a short chunk ends the prefix with no error.
// After a short chunk no further chunk is started; after an error the
// outstanding ones are cancelled.
func (f *File) parallel(total, size int, fn chunkFunc) (int, error) {
	s := f.sh.t.s
	if total <= size {
		return fn(f.sh.ctx, 0, total)
	}
	ctx, cancel := context.WithCancel(f.sh.ctx)
	defer cancel()
	chunks := (total + size - 1) / size
	moved := make([]int, chunks)
	errs := make([]error, chunks)
	var stop atomic.Bool
	var wg sync.WaitGroup
	sem := make(chan struct{}, s.inFlight())
	for i := range chunks {
		if !acquireSlot(ctx, sem) || stop.Load() {
			for j := i; j < chunks; j++ {
				errs[j] = errNotStarted
			}
			break
		}
		lo, hi := i*size, min((i+1)*size, total)
		wg.Go(func() {
			defer func() { <-sem }()
			moved[i], errs[i] = fn(ctx, lo, hi)
			if errs[i] != nil {
				cancel()
			}
			if errs[i] != nil || moved[i] < hi-lo {
				stop.Store(true)
			}
		})
	}
	wg.Wait()
	return prefix(moved, errs, size, total, f.sh.ctx)
}

// errNotStarted marks chunks that parallel never sent.
var errNotStarted = errors.New("chunk not started")

func acquireSlot(ctx context.Context, sem chan struct{}) bool {
	select {
	case sem <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

// prefix combines the chunk results of parallel.
func prefix(moved []int, errs []error, size, total int, parent context.Context) (int, error) {
	n := 0
	for i := range moved {
		if errors.Is(errs[i], errNotStarted) {
			if err := parent.Err(); err != nil {
				return n, err
			}
			return n, nil
		}
		n += moved[i]
		if errs[i] != nil {
			return n, errs[i]
		}
		if moved[i] < min((i+1)*size, total)-i*size {
			return n, nil
		}
	}
	return n, nil
}

// readAt fills p from off; a short result carries io.EOF.
func (f *File) readAt(p []byte, off int64) (n int, err error) {
	if len(p) == 0 {
		return 0, nil
	}
	if err := f.flushCache(); err != nil {
		return 0, err
	}
	hit, gen := f.cachedRead(p, off)
	if hit {
		return len(p), nil
	}
	defer func() {
		if n > 0 {
			f.storeRead(p[:n], off, gen)
		}
	}()
	n, err = f.parallel(len(p), f.sh.t.s.readSize, func(ctx context.Context, lo, hi int) (int, error) {
		n, err := f.readChunk(ctx, p[lo:hi], off+int64(lo))
		if err == io.EOF {
			err = nil // a short chunk; the prefix logic reports io.EOF
		}
		return n, err
	})
	if n < len(p) && err == nil {
		err = io.EOF
	}
	return n, err
}

// writeAt writes p at off; a short result carries an error.
func (f *File) writeAt(p []byte, off int64) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	f.dropReadCache() // before and after: a READ in flight meanwhile is not kept
	defer f.dropReadCache()
	n, err := f.parallel(len(p), f.sh.t.s.writeSize, func(ctx context.Context, lo, hi int) (int, error) {
		return f.writeChunk(ctx, p[lo:hi], off+int64(lo))
	})
	if n < len(p) && err == nil {
		err = io.ErrShortWrite
	}
	return n, err
}

// ReadFrom copies r to the file from the file offset until r reports
// io.EOF, with up to MaxInFlight WRITE requests in flight (io.Copy uses
// it). It returns the bytes written and advances the offset by as much.
func (f *File) ReadFrom(r io.Reader) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.startWrite(); err != nil {
		return 0, err
	}
	if err := f.flushCache(); err != nil {
		return 0, f.pathErr("write", err)
	}
	f.dropReadCache()
	defer f.dropReadCache()
	p := &pipeline{f: f}
	n, err := p.upload(r, f.off)
	f.off += n
	return n, f.pathErr("write", err)
}

// WriteTo copies the file from its offset to w until the end of file,
// with up to MaxInFlight READ requests in flight ahead of w (io.Copy uses
// it). It returns the bytes written to w and advances the offset by as
// much.
func (f *File) WriteTo(w io.Writer) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.readable("read"); err != nil {
		return 0, err
	}
	p := &pipeline{f: f}
	n, err := p.download(w, f.off)
	f.off += n
	return n, f.pathErr("read", err)
}

// pipeline streams a file in I/O-size chunks with a bounded number of
// requests in flight.
type pipeline struct {
	f *File
}

// job is one chunk in flight.
type job struct {
	buf  []byte
	off  int64
	n    int
	err  error
	done chan struct{}
	resp *response // download: the READ response buf lies in
	want int       // download: the bytes asked for
}

// upload reads r into chunks and writes them at off, off+size, ...
func (p *pipeline) upload(r io.Reader, off int64) (int64, error) {
	s := p.f.sh.t.s
	ctx, cancel := context.WithCancel(p.f.sh.ctx)
	defer cancel()
	var jobs []*job
	var readErr error
	inFlight := s.inFlight()
	// Each slot is a whole WRITE message: the data is read into it
	// behind room for the header and body, and sent from there.
	free := make(chan []byte, inFlight)
	for range inFlight {
		free <- nil
	}
	defer func() { // every job is done once collect returns
		for range inFlight {
			if b := <-free; b != nil {
				bufpool.Put(b)
			}
		}
	}()
	pos := off
	for readErr == nil {
		buf := <-free
		if buf == nil {
			buf = bufpool.Get(writeDataAt + s.writeSize)
		}
		n, err := io.ReadFull(r, buf[writeDataAt:writeDataAt+s.writeSize])
		if n > 0 {
			j := &job{buf: buf[:writeDataAt+n], off: pos, done: make(chan struct{})}
			jobs = append(jobs, j)
			pos += int64(n)
			go func() {
				j.n, j.err = p.f.writeMsg(ctx, j.buf, j.off)
				if j.err == nil && j.n < len(j.buf)-writeDataAt {
					j.err = io.ErrShortWrite
				}
				if j.err != nil {
					cancel()
				}
				close(j.done)
				free <- buf
			}()
		} else {
			free <- buf
		}
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			readErr = io.EOF
		case err != nil:
			readErr = err
		case ctx.Err() != nil:
			readErr = ctx.Err() // a failed write's own error takes precedence
		}
	}
	return collect(jobs, readErr)
}

// collect waits for every job and returns the prefix written and the
// first error by position (or the read error).
func collect(jobs []*job, readErr error) (int64, error) {
	var total int64
	var first, cause error
	for _, j := range jobs {
		<-j.done
		if first == nil {
			total += int64(j.n)
			first = j.err
		}
		if cause == nil && j.err != nil && !errors.Is(j.err, context.Canceled) {
			cause = j.err
		}
	}
	if first != nil {
		if errors.Is(first, context.Canceled) && cause != nil {
			// Cancelled because a later chunk failed: report why.
			first = cause
		}
		return total, first
	}
	if readErr != io.EOF {
		return total, readErr
	}
	return total, nil
}

// download reads chunks ahead from off and writes them to w in order,
// stopping at the first short chunk (end of file). Read-ahead stops at
// the size the file had when the copy started; one more READ then
// confirms the end of file.
func (p *pipeline) download(w io.Writer, off int64) (int64, error) {
	s := p.f.sh.t.s
	ctx, cancel := context.WithCancel(p.f.sh.ctx)
	defer cancel()
	var queue []*job
	defer func() { // let in-flight reads finish before returning
		cancel()
		for _, j := range queue {
			<-j.done
			j.resp.release()
		}
	}()
	end, err := p.f.size()
	if err != nil {
		return 0, err
	}
	next, total := off, int64(0)
	inFlight := s.inFlight()
	for {
		for len(queue) < inFlight && (next < end || len(queue) == 0) {
			size := s.readSize
			if next < end {
				size = int(min(int64(size), end-next))
			}
			queue = append(queue, p.startRead(ctx, next, size))
			next += int64(size)
		}
		j := queue[0]
		<-j.done
		queue = queue[1:]
		if j.n > 0 {
			m, err := w.Write(j.buf)
			j.resp.release()
			total += int64(m)
			if err != nil {
				return total, err
			}
		}
		if j.err == io.EOF || (j.err == nil && j.n < j.want) {
			return total, nil
		}
		if j.err != nil {
			return total, j.err
		}
	}
}

// startRead issues one READ of size bytes in the background. The data is
// written from the response's frame (j.buf) with no copy; whoever takes
// it releases j.resp.
func (p *pipeline) startRead(ctx context.Context, off int64, size int) *job {
	j := &job{off: off, want: size, done: make(chan struct{})}
	go func() {
		j.resp, j.buf, j.err = p.f.readResp(ctx, size, off)
		j.n = len(j.buf)
		close(j.done)
	}()
	return j
}
