package server

import (
	"encoding/binary"
	"math"

	"github.com/signetsmb/signet/internal/fscc"
	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/wire"
	"github.com/signetsmb/signet/vfs"
)

// Sparse files [MS-FSCC 2.3.64, 2.3.67, 2.3.51; MS-FSA 2.1.5.10.22,
// 2.1.5.10.25, 2.1.5.10.16]. The sparse flag lives with the file in the
// backend (vfs.SparseFile); the share announces FILE_SUPPORTS_SPARSE_FILES
// only when its FS implements vfs.SparseFS, and otherwise these FSCTLs are
// answered as by a file system without the feature:
// STATUS_INVALID_DEVICE_REQUEST.
//
// Zeroing a range of a sparse file punches a hole; zeroing a range of a
// file that is not sparse punches and reallocates it, so the range stays
// allocated as NTFS keeps it. Clearing the flag reallocates every hole.

func init() {
	ioctlHandlers[wire.FsctlSetSparse] = (*request).setSparse
	ioctlHandlers[wire.FsctlQueryAllocatedRanges] = (*request).queryAllocatedRanges
	ioctlHandlers[wire.FsctlSetZeroData] = (*request).setZeroData
	ioctlHandlers[wire.FsctlGetCompression] = (*request).getCompression
	ioctlHandlers[wire.FsctlSetCompression] = (*request).setCompression
}

// sparseFS reports whether fsys supports sparse files.
func sparseFS(fsys vfs.FS) bool {
	s, ok := fsys.(vfs.SparseFS)
	return ok && s.SupportsSparse()
}

// sparseFile returns the open's vfs.SparseFile, or an error as Windows
// answers on a file system without sparse files.
func (r *request) sparseFile() (*open, vfs.SparseFile, error) {
	if r.tree.ipc {
		return nil, nil, ntstatus.NotSupported // as for any FSCTL on IPC$ (ioctl.go)
	}
	o, err := r.needOpen()
	if err != nil {
		return nil, nil, err
	}
	if o.file == nil || !sparseFS(o.fs) {
		return nil, nil, ntstatus.InvalidDeviceRequest
	}
	sf, ok := o.file.(vfs.SparseFile)
	if !ok {
		return nil, nil, ntstatus.InvalidDeviceRequest
	}
	return o, sf, nil
}

// isSparse reports whether the open's file carries the sparse flag.
func isSparse(o *open) bool {
	if o == nil || o.file == nil || o.isDir {
		return false
	}
	sf, ok := o.file.(vfs.SparseFile)
	if !ok {
		return false
	}
	s, err := sf.Sparse()
	return err == nil && s
}

// sparseAttr adds FILE_ATTRIBUTE_SPARSE_FILE to info for a sparse file.
func sparseAttr(info *fscc.FileInfo, o *open) {
	if isSparse(o) {
		info.Attributes |= fscc.FileAttributeSparseFile
	}
}

// setSparse handles FSCTL_SET_SPARSE [MS-FSA 2.1.5.10.22]: no input
// buffer means "set"; a larger one is accepted and only its first byte
// (SetSparse) read.
func (r *request) setSparse(req *wire.IoctlRequest, w *response) error {
	o, sf, err := r.sparseFile()
	if err != nil {
		return err
	}
	if o.isDir {
		return ntstatus.InvalidParameter
	}
	if o.access&(wire.FileWriteData|wire.FileWriteAttributes|wire.FileAppendData) == 0 {
		return ntstatus.AccessDenied
	}
	set := len(req.Input) == 0 || req.Input[0] != 0
	was, err := sf.Sparse()
	if err != nil {
		return statusOf(err)
	}
	if was && !set {
		// The holes become allocated zeros again [MS-FSA 2.1.5.10.22].
		if fi, err := o.file.Stat(); err == nil && fi.Size > 0 {
			if al, ok := o.file.(vfs.Allocator); ok {
				al.Allocate(0, fi.Size)
			}
		}
	}
	if was != set {
		if err := sf.SetSparse(set); err != nil {
			return statusOf(err)
		}
		r.c.srv.notifyChange(o, notifyModified)
	}
	w.buf = wire.AppendIoctlResponse(w.buf, req.CtlCode, o.id, nil)
	return nil
}

// rangeSize is the size of FILE_ALLOCATED_RANGE_BUFFER and of
// FILE_ZERO_DATA_INFORMATION: two 64-bit fields.
const rangeSize = 16

// parseRange reads two signed 64-bit fields, refusing negative ones.
func parseRange(in []byte) (a, b int64, ok bool) {
	if len(in) < rangeSize {
		return 0, 0, false
	}
	a = int64(binary.LittleEndian.Uint64(in))
	b = int64(binary.LittleEndian.Uint64(in[8:]))
	return a, b, a >= 0 && b >= 0
}

// queryAllocatedRanges handles FSCTL_QUERY_ALLOCATED_RANGES
// [MS-FSA 2.1.5.10.16]: a file that is not sparse is allocated in full up
// to its end; a sparse file reports the backend's data ranges.
func (r *request) queryAllocatedRanges(req *wire.IoctlRequest, w *response) error {
	o, sf, err := r.sparseFile()
	if err != nil {
		return err
	}
	off, length, ok := parseRange(req.Input)
	if !ok || off > math.MaxInt64-length {
		return ntstatus.InvalidParameter
	}
	if o.isDir {
		return ntstatus.InvalidParameter
	}
	if o.access&wire.FileReadData == 0 {
		return ntstatus.AccessDenied
	}
	fi, err := o.file.Stat()
	if err != nil {
		return statusOf(err)
	}
	var ranges []vfs.Range
	sparse, err := sf.Sparse()
	if err != nil {
		return statusOf(err)
	}
	fit := int(req.MaxOutputResponse / rangeSize)
	if sparse {
		// One more than fits tells a truncated answer from a complete one.
		ranges, err = sf.DataRanges(off, length, fit+1)
		if err != nil {
			return statusOf(err)
		}
	} else if end := min(off+length, fi.Size); end > off {
		ranges = []vfs.Range{{Off: off, Len: end - off}}
	}
	if len(ranges) > 0 && fit == 0 {
		return ntstatus.BufferTooSmall
	}
	truncated := len(ranges) > fit
	if truncated {
		ranges = ranges[:fit]
	}
	out := make([]byte, 0, rangeSize*len(ranges))
	for _, rg := range ranges {
		out = binary.LittleEndian.AppendUint64(out, uint64(rg.Off))
		out = binary.LittleEndian.AppendUint64(out, uint64(rg.Len))
	}
	w.buf = wire.AppendIoctlResponse(w.buf, req.CtlCode, o.id, out)
	if truncated {
		w.status = ntstatus.BufferOverflow
	}
	return nil
}

// setZeroData handles FSCTL_SET_ZERO_DATA [MS-FSA 2.1.5.10.25]. The part
// of the range past the end of the file is ignored; the file size never
// changes.
func (r *request) setZeroData(req *wire.IoctlRequest, w *response) error {
	o, sf, err := r.sparseFile()
	if err != nil {
		return err
	}
	off, beyond, ok := parseRange(req.Input)
	if !ok || off > beyond {
		return ntstatus.InvalidParameter
	}
	if o.isDir {
		return ntstatus.InvalidParameter
	}
	if o.access&wire.FileWriteData == 0 {
		return ntstatus.AccessDenied
	}
	fi, err := o.file.Stat()
	if err != nil {
		return statusOf(err)
	}
	end := min(beyond, fi.Size)
	if end > off {
		if err := o.checkIO(uint64(off), uint64(end-off), true); err != nil {
			return err
		}
		sparse, err := sf.Sparse()
		if err != nil {
			return statusOf(err)
		}
		if o.node != nil {
			o.node.times.ensure(o) // as a WRITE: capture the write time first
		}
		if err := sf.PunchHole(off, end-off); err != nil {
			return statusOf(err)
		}
		if !sparse {
			if al, ok := o.file.(vfs.Allocator); ok {
				al.Allocate(off, end-off) // a hint: the zeros read back either way
			}
		}
		if o.node != nil {
			o.node.times.wrote(o)
		}
		r.c.srv.notifyChange(o, notifyModified)
	}
	w.buf = wire.AppendIoctlResponse(w.buf, req.CtlCode, o.id, nil)
	return nil
}

// compressionFormatNone is COMPRESSION_FORMAT_NONE [MS-FSCC 2.3.9].
const compressionFormatNone = 0

// getCompression handles FSCTL_GET_COMPRESSION: Signet compresses
// nothing, so every file reports COMPRESSION_FORMAT_NONE, as Windows Server
// does on a volume without compression [MS-FSA 2.1.5.10.7].
func (r *request) getCompression(req *wire.IoctlRequest, w *response) error {
	if r.tree.ipc {
		return ntstatus.NotSupported
	}
	o, err := r.needOpen()
	if err != nil {
		return err
	}
	if o.file == nil {
		return ntstatus.InvalidDeviceRequest
	}
	if req.MaxOutputResponse < 2 {
		return ntstatus.InvalidParameter
	}
	w.buf = wire.AppendIoctlResponse(w.buf, req.CtlCode, o.id, []byte{compressionFormatNone, 0})
	return nil
}

// setCompression handles FSCTL_SET_COMPRESSION on a volume without
// compression: COMPRESSION_FORMAT_NONE succeeds, any other format is
// STATUS_NOT_SUPPORTED (Windows Server on ReFS).
func (r *request) setCompression(req *wire.IoctlRequest, w *response) error {
	if r.tree.ipc {
		return ntstatus.NotSupported
	}
	o, err := r.needOpen()
	if err != nil {
		return err
	}
	if o.file == nil {
		return ntstatus.InvalidDeviceRequest
	}
	if len(req.Input) < 2 {
		return ntstatus.InvalidParameter
	}
	if binary.LittleEndian.Uint16(req.Input) != compressionFormatNone {
		return ntstatus.NotSupported
	}
	w.buf = wire.AppendIoctlResponse(w.buf, req.CtlCode, o.id, nil)
	return nil
}

// fsAttributes is FileFsAttributeInformation.FileSystemAttributes for a
// share on fsys: the defaults, plus the optional features fsys has.
func fsAttributes(fsys vfs.FS) uint32 {
	a := fscc.DefaultFSAttributes
	if sparseFS(fsys) {
		a |= fscc.FSAttrSupportsSparseFiles
	}
	return fsEAAttributes(fsys, fsStreamAttributes(fsys, a))
}
