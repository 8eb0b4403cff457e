package server

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io"
	"sync"

	"github.com/signetsmb/signet/internal/dcerpc"
	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
)

func init() {
	ioctlHandlers[wire.FsctlPipeTransceive] = (*request).pipeTransceive
	ioctlHandlers[wire.FsctlPipeWait] = (*request).pipeWait
	ioctlHandlers[wire.FsctlQueryNetworkInterfaceInfo] = (*request).networkInterfaces
	ioctlHandlers[wire.FsctlSrvRequestResumeKey] = (*request).resumeKey
	ioctlHandlers[wire.FsctlSrvCopyChunk] = (*request).copyChunk
	ioctlHandlers[wire.FsctlSrvCopyChunkWrite] = (*request).copyChunk
	ioctlHandlers[wire.FsctlCreateOrGetObjectID] = (*request).objectID
	ioctlHandlers[wire.FsctlGetObjectID] = (*request).objectID
}

// objectID answers FSCTL_CREATE_OR_GET_OBJECT_ID / FSCTL_GET_OBJECT_ID
// with an object id derived from the file id, stable for the file's life
// [MS-FSCC 2.3.7, 2.3.25].
func (r *request) objectID(req *wire.IoctlRequest, w *response) error {
	o, err := r.needOpen()
	if err != nil {
		return err
	}
	if o.file == nil {
		return ntstatus.InvalidDeviceRequest
	}
	if req.MaxOutputResponse < 64 {
		return ntstatus.BufferTooSmall
	}
	fi, err := o.file.Stat()
	if err != nil {
		return statusOf(err)
	}
	out := make([]byte, 64) // ObjectId, BirthVolumeId, BirthObjectId, DomainId
	binary.LittleEndian.PutUint64(out, fi.FileID)
	binary.LittleEndian.PutUint32(out[8:], volumeSerial(o.tree.shareName()))
	copy(out[32:48], out[0:16])
	w.buf = wire.AppendIoctlResponse(w.buf, req.CtlCode, o.id, out)
	return nil
}

// pipeTransceive writes to a named pipe and returns its reply
// [MS-SMB2 3.3.5.15.2].
func (r *request) pipeTransceive(req *wire.IoctlRequest, w *response) error {
	o, err := r.needOpen()
	if err != nil {
		return err
	}
	if o.pipe == nil {
		return ntstatus.InvalidDeviceRequest
	}
	if req.MaxOutputResponse > r.c.maxIO {
		return ntstatus.InvalidParameter
	}
	out, more, err := o.pipe.Transact(req.Input, int(req.MaxOutputResponse))
	if err != nil {
		return pipeStatus(err)
	}
	w.buf = wire.AppendIoctlResponse(w.buf, req.CtlCode, o.id, out)
	if more {
		w.status = ntstatus.BufferOverflow
	}
	return nil
}

// pipeStatus maps a pipe write error. ErrPipeBusy (responses waiting to be
// read, or a response that would take them past MaxPipeOutput) is
// STATUS_PIPE_BUSY, the status MS-FSCC 2.3.48 gives for a named pipe that
// "contains unread data": the client must read before it writes again.
func pipeStatus(err error) error {
	if errors.Is(err, dcerpc.ErrPipeBusy) {
		return ntstatus.PipeBusy
	}
	return ntstatus.InvalidParameter
}

// pipeWait: the pipes are always available.
func (r *request) pipeWait(req *wire.IoctlRequest, w *response) error {
	if !r.tree.ipc {
		return ntstatus.InvalidDeviceRequest
	}
	w.buf = wire.AppendIoctlResponse(w.buf, req.CtlCode, req.FileID, nil)
	return nil
}

// resumeKeys maps server-side-copy resume keys to their opens. An open has
// at most one key (Open.ResumeKey, MS-SMB2 3.3.5.15.5), issued at its first
// FSCTL_SRV_REQUEST_RESUME_KEY and returned again for later ones, and
// dropped when the open is released, so the table never holds more keys
// than there are opens (MaxOpens). mu guards keys and the resumeKey fields
// of the opens; it is a leaf lock.
type resumeKeys struct {
	mu   sync.Mutex
	keys map[[24]byte]*open
}

// add returns o's resume key, issuing one if o has none.
func (k *resumeKeys) add(o *open) [24]byte {
	k.mu.Lock()
	defer k.mu.Unlock()
	if o.resumeKey != nil {
		return *o.resumeKey
	}
	var key [24]byte
	io.ReadFull(rand.Reader, key[:])
	if k.keys == nil {
		k.keys = map[[24]byte]*open{}
	}
	k.keys[key] = o
	o.resumeKey = &key
	return key
}

// drop forgets o's resume key (when o is released).
func (k *resumeKeys) drop(o *open) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if o.resumeKey != nil {
		delete(k.keys, *o.resumeKey)
		o.resumeKey = nil
	}
}

func (k *resumeKeys) get(key [24]byte) *open {
	k.mu.Lock()
	defer k.mu.Unlock()
	o := k.keys[key]
	if o != nil && o.isClosed() {
		delete(k.keys, key)
		return nil
	}
	return o
}

func (o *open) isClosed() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.closed
}

// resumeKey answers FSCTL_SRV_REQUEST_RESUME_KEY [MS-SMB2 3.3.5.15.5].
func (r *request) resumeKey(req *wire.IoctlRequest, w *response) error {
	o, err := r.needOpen()
	if err != nil {
		return err
	}
	if o.file == nil || o.isDir {
		return ntstatus.InvalidParameter
	}
	if req.MaxOutputResponse < 32 {
		return ntstatus.InvalidParameter
	}
	key := r.c.srv.resume.add(o)
	out := make([]byte, 32) // ResumeKey, ContextLength 0, Context
	copy(out, key[:])
	w.buf = wire.AppendIoctlResponse(w.buf, req.CtlCode, o.id, out)
	return nil
}

// Server-side copy limits, as Windows (and smbtorture) expect
// [MS-SMB2 3.3.3].
const (
	copyMaxChunks     = 256
	copyMaxChunkSize  = 1 << 20
	copyMaxTotalBytes = 16 << 20
)

// copyChunk performs FSCTL_SRV_COPYCHUNK(_WRITE) [MS-SMB2 3.3.5.15.6].
func (r *request) copyChunk(req *wire.IoctlRequest, w *response) error {
	dst, err := r.needOpen()
	if err != nil {
		return err
	}
	if dst.file == nil || dst.isDir {
		return ntstatus.InvalidParameter
	}
	in := req.Input
	if len(in) < 32 || req.MaxOutputResponse < 12 {
		return ntstatus.InvalidParameter
	}
	n := binary.LittleEndian.Uint32(in[24:])
	var total uint64
	tooBig := n > copyMaxChunks
	if !tooBig && uint64(len(in)) < 32+24*uint64(n) {
		return ntstatus.InvalidParameter
	}
	for i := 0; !tooBig && i < int(n); i++ {
		l := binary.LittleEndian.Uint32(in[32+24*i+16:])
		total += uint64(l)
		tooBig = l > copyMaxChunkSize || l == 0 || total > copyMaxTotalBytes
	}
	if tooBig {
		w.buf = wire.AppendIoctlResponse(w.buf, req.CtlCode, dst.id, copyResult(copyMaxChunks, copyMaxChunkSize, copyMaxTotalBytes))
		w.status = ntstatus.InvalidParameter
		return nil
	}
	src := r.c.srv.resume.get([24]byte(in[:24]))
	if src == nil || src.sess != r.sess {
		return ntstatus.ObjectNameNotFound
	}
	// Reading the source needs READ_DATA or EXECUTE; COPYCHUNK (unlike
	// COPYCHUNK_WRITE) also needs the destination readable.
	if src.access&(wire.FileReadData|wire.FileExecute) == 0 || dst.access&wire.FileWriteData == 0 ||
		req.CtlCode == wire.FsctlSrvCopyChunk && dst.access&wire.FileReadData == 0 {
		return ntstatus.AccessDenied
	}
	// A chunk that fails ends the copy; the response still reports the
	// chunks written before it, with the failure's status.
	written, bytes, err := r.copyChunks(src, dst, in[32:32+24*int(n)])
	w.buf = wire.AppendIoctlResponse(w.buf, req.CtlCode, dst.id, copyResult(written, 0, bytes))
	if err != nil {
		w.status = statusOf(err)
	}
	return nil
}

func (r *request) copyChunks(src, dst *open, chunks []byte) (uint32, uint32, error) {
	buf := getBuf(copyMaxChunkSize)
	defer putBuf(buf)
	var written, total uint32
	for len(chunks) >= 24 {
		so := binary.LittleEndian.Uint64(chunks)
		to := binary.LittleEndian.Uint64(chunks[8:])
		l := binary.LittleEndian.Uint32(chunks[16:])
		chunks = chunks[24:]
		if err := src.checkIO(so, uint64(l), false); err != nil {
			return written, total, err
		}
		if err := dst.checkIO(to, uint64(l), true); err != nil {
			return written, total, err
		}
		n, err := src.file.ReadAt(buf[:l], int64(so))
		if err != nil && err != io.EOF {
			return written, total, statusOf(err)
		}
		if n < int(l) {
			return written, total, ntstatus.InvalidViewSize
		}
		if _, err := dst.file.WriteAt(buf[:l], int64(to)); err != nil {
			return written, total, statusOf(err)
		}
		if written == 0 {
			defer r.c.srv.notifyChange(dst, notifyModified)
		}
		written++
		total += l
	}
	return written, total, nil
}

func copyResult(chunks, chunkBytes, total uint32) []byte {
	out := make([]byte, 12)
	binary.LittleEndian.PutUint32(out, chunks)
	binary.LittleEndian.PutUint32(out[4:], chunkBytes)
	binary.LittleEndian.PutUint32(out[8:], total)
	return out
}
