package client

import (
	"encoding/binary"
	"errors"
	"io/fs"
	"path"
	"time"

	"github.com/signetsmb/signet/internal/fscc"
	"github.com/signetsmb/signet/internal/wire"
)

// Decoders and encoders for the few MS-FSCC structures the client needs.
// Decoders check every length before slicing.

var errInfoShort = errors.New("information buffer too short")

// Attributes is what fs.FileInfo.Sys returns for files of a Share: the
// SMB metadata that has no io/fs field.
type Attributes struct {
	FileAttributes uint32 // FILE_ATTRIBUTE_* [MS-FSCC 2.6]
	CreationTime   time.Time
	LastAccessTime time.Time
	ChangeTime     time.Time
	AllocationSize int64
}

// fileInfo implements fs.FileInfo.
type fileInfo struct {
	name     string
	size     int64
	modified time.Time
	attr     Attributes
}

func (fi *fileInfo) Name() string       { return fi.name }
func (fi *fileInfo) Size() int64        { return fi.size }
func (fi *fileInfo) ModTime() time.Time { return fi.modified }
func (fi *fileInfo) IsDir() bool        { return fi.attr.FileAttributes&fscc.FileAttributeDirectory != 0 }
func (fi *fileInfo) Sys() any           { return &fi.attr }

// Mode maps the attributes to Unix-like permissions: directories 0755,
// files 0644, without write bits when FILE_ATTRIBUTE_READONLY is set.
func (fi *fileInfo) Mode() fs.FileMode {
	m := fs.FileMode(0o644)
	if fi.IsDir() {
		m = fs.ModeDir | 0o755
	}
	if fi.attr.FileAttributes&fscc.FileAttributeReadOnly != 0 {
		m &^= 0o222
	}
	return m
}

func (fi *fileInfo) String() string { return fs.FormatFileInfo(fi) }

// times is the four FILETIMEs in MS-FSCC order.
type times struct{ created, accessed, modified, changed uint64 }

func getTimes(b []byte) times {
	le := binary.LittleEndian
	return times{le.Uint64(b), le.Uint64(b[8:]), le.Uint64(b[16:]), le.Uint64(b[24:])}
}

// newFileInfo builds a fileInfo; name is a path whose base is kept.
func newFileInfo(name string, t times, eof, alloc uint64, attrs uint32) *fileInfo {
	return &fileInfo{
		name:     path.Base(name),
		size:     int64(min(eof, 1<<63-1)),
		modified: fscc.TimeFromFiletime(t.modified),
		attr: Attributes{
			FileAttributes: attrs,
			CreationTime:   fscc.TimeFromFiletime(t.created),
			LastAccessTime: fscc.TimeFromFiletime(t.accessed),
			ChangeTime:     fscc.TimeFromFiletime(t.changed),
			AllocationSize: int64(min(alloc, 1<<63-1)),
		},
	}
}

// infoFromCreate builds a fileInfo from a CREATE response, which carries
// the same metadata as FileNetworkOpenInformation [MS-SMB2 2.2.14].
func infoFromCreate(name string, r *wire.CreateResponse) *fileInfo {
	t := times{r.CreationTime, r.LastAccessTime, r.LastWriteTime, r.ChangeTime}
	return newFileInfo(name, t, r.EndOfFile, r.AllocationSize, r.FileAttributes)
}

// Fixed sizes of the structures decoded here [MS-FSCC 2.4].
const (
	dirInfoFixed   = 64  // FileDirectoryInformation up to FileName
	allInfoFixed   = 100 // FileAllInformation up to NameInformation.FileName
	basicInfoSize  = 40
	standardInfoSz = 24
)

// parseDirectoryInfo decodes a QUERY_DIRECTORY buffer of
// FileDirectoryInformation entries [MS-FSCC 2.4.10], skipping "." and "..".
func parseDirectoryInfo(b []byte) ([]*fileInfo, error) {
	var out []*fileInfo
	for len(b) > 0 {
		if len(b) < dirInfoFixed {
			return nil, errInfoShort
		}
		next := binary.LittleEndian.Uint32(b)
		nameLen := binary.LittleEndian.Uint32(b[60:])
		end := uint64(dirInfoFixed) + uint64(nameLen)
		if end > uint64(len(b)) || nameLen%2 != 0 || (next != 0 && (uint64(next) < end || uint64(next) > uint64(len(b)))) {
			return nil, errors.New("directory entry out of bounds")
		}
		name := wire.DecodeUTF16(b[dirInfoFixed:end])
		if name != "." && name != ".." {
			le := binary.LittleEndian
			out = append(out, newFileInfo(name, getTimes(b[8:]), le.Uint64(b[40:]), le.Uint64(b[48:]), le.Uint32(b[56:])))
		}
		if next == 0 {
			break
		}
		b = b[next:]
	}
	return out, nil
}

// parseAllInfo decodes FileAllInformation [MS-FSCC 2.4.2]: Basic (40),
// Standard (24), Internal (8), Ea (4), Access (4), Position (8), Mode (4),
// Alignment (4), Name (4 + name). Only the metadata is kept.
func parseAllInfo(name string, b []byte) (*fileInfo, error) {
	if len(b) < allInfoFixed {
		return nil, errInfoShort
	}
	le := binary.LittleEndian
	std := b[basicInfoSize:]
	fi := newFileInfo(name, getTimes(b), le.Uint64(std[8:]), le.Uint64(std), le.Uint32(b[32:]))
	if std[21] != 0 { // Standard.Directory
		fi.attr.FileAttributes |= fscc.FileAttributeDirectory
	}
	return fi, nil
}

// parseStandardInfo returns EndOfFile of FileStandardInformation
// [MS-FSCC 2.4.41].
func parseStandardInfo(b []byte) (int64, error) {
	if len(b) < standardInfoSz {
		return 0, errInfoShort
	}
	return int64(min(binary.LittleEndian.Uint64(b[8:]), 1<<63-1)), nil
}

// renameInfo encodes FileRenameInformation for SMB2 [MS-FSCC 2.4.37.2]
// with the target path relative to the share root.
func renameInfo(target string, replace bool) []byte { return fscc.EncodeRename(target, replace) }

// dispositionInfo encodes FileDispositionInformation with DeletePending
// set [MS-FSCC 2.4.11].
func dispositionInfo() []byte { return []byte{1} }

// endOfFileInfo encodes FileEndOfFileInformation [MS-FSCC 2.4.13].
func endOfFileInfo(size int64) []byte {
	return binary.LittleEndian.AppendUint64(nil, uint64(size))
}
