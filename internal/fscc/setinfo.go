package fscc

import (
	"encoding/binary"
	"math"
	"time"
)

// SET_INFO (SMB2_0_INFO_FILE) decoders [MS-SMB2 2.2.39, MS-FSCC 2.4].
// Each takes the request's Buffer and checks it is at least as long as the
// structure (ErrInfoLength, STATUS_INFO_LENGTH_MISMATCH, as MS-FSA
// 2.1.5.14 specifies for a short InputBuffer); bytes past the structure are
// ignored.

// Sizes of the SET_INFO structures.
const (
	setBasicSize      = 40
	renameFixedSize   = 20 // FILE_RENAME_INFORMATION_TYPE_2 up to FileName
	dispositionSize   = 1
	dispositionExSize = 4
	int64InfoSize     = 8
	modeInfoSize      = 4
)

// BasicInfo is a decoded FileBasicInformation SET_INFO. A zero time or zero
// Attributes means "leave unchanged".
type BasicInfo struct {
	CreationTime, LastAccessTime, LastWriteTime, ChangeTime time.Time
	Attributes                                              uint32
	// FreezeWrite and ThawWrite report a LastWriteTime of -1 (stop
	// updating the write time) and -2 (resume updating it).
	FreezeWrite, ThawWrite bool
}

// DecodeBasic decodes FileBasicInformation. Each time is 0 (leave
// unchanged), -1 (stop updating this time for the handle) or -2 (resume
// updating): all three decode as the zero Time, i.e. no change. Other
// negative times are ErrInvalidParameter [MS-FSA 2.1.5.14, FileBasicInformation].
func DecodeBasic(b []byte) (BasicInfo, error) {
	if len(b) < setBasicSize {
		return BasicInfo{}, ErrInfoLength
	}
	var t [4]time.Time
	for i := range t {
		v, err := setTime(int64(le64(b[8*i:])))
		if err != nil {
			return BasicInfo{}, err
		}
		t[i] = v
	}
	w := int64(le64(b[16:]))
	return BasicInfo{
		CreationTime:   t[0],
		LastAccessTime: t[1],
		LastWriteTime:  t[2],
		ChangeTime:     t[3],
		Attributes:     le32(b[32:]),
		FreezeWrite:    w == -1,
		ThawWrite:      w == -2,
	}, nil
}

// setTime interprets one FILE_BASIC_INFORMATION time of a SET_INFO.
func setTime(v int64) (time.Time, error) {
	switch {
	case v == 0 || v == -1 || v == -2:
		return time.Time{}, nil
	case v < -2:
		return time.Time{}, ErrInvalidParameter
	}
	return TimeFromFiletime(uint64(v)), nil
}

// ValidFor applies the attribute checks MS-FSA 2.1.5.14 (FileBasicInformation) makes against the
// open: FileAttributeDirectory on a file and FileAttributeTemporary on a
// directory are ErrInvalidParameter.
func (b BasicInfo) ValidFor(isDir bool) error {
	if !isDir && b.Attributes&FileAttributeDirectory != 0 {
		return ErrInvalidParameter
	}
	if isDir && b.Attributes&FileAttributeTemporary != 0 {
		return ErrInvalidParameter
	}
	return nil
}

// RenameInfo is a decoded FileRenameInformation or FileRenameInformationEx.
type RenameInfo struct {
	ReplaceIfExists bool
	// Flags holds the FileRenameInformationEx flags (FileRename*); for
	// FileRenameInformation it is FileRenameReplaceIfExists or 0.
	Flags uint32
	// RootDirectory MUST be zero over SMB2 [MS-FSCC 2.4]; the server
	// rejects other values.
	RootDirectory uint64
	// FileName is the target, as sent: a share-relative path with
	// backslashes. Pass it to SplitPath.
	FileName string
}

// DecodeRename decodes the SMB2 form of FileRenameInformation
// (FILE_RENAME_INFORMATION_TYPE_2): ReplaceIfExists (1 byte), Reserved (7),
// RootDirectory (8), FileNameLength (4), FileName. A buffer shorter than 20
// bytes or than the name it declares is ErrInfoLength; a zero or odd
// FileNameLength is ErrInvalidParameter; a name that is not valid UTF-16 is
// ErrInvalidName.
func DecodeRename(b []byte) (RenameInfo, error) {
	r, err := decodeRenameCommon(b)
	if err != nil {
		return RenameInfo{}, err
	}
	if b[0] != 0 {
		r.ReplaceIfExists = true
		r.Flags = FileRenameReplaceIfExists
	}
	return r, nil
}

// EncodeRename encodes the SMB2 form of FileRenameInformation
// [MS-FSCC 2.4.37.2]: ReplaceIfExists, 7 reserved bytes, RootDirectory 0,
// FileNameLength and target, a share-relative path with backslashes (the
// client side of DecodeRename).
func EncodeRename(target string, replace bool) []byte {
	b := make([]byte, renameFixedSize, renameFixedSize+2*UTF16Len(target))
	if replace {
		b[0] = 1
	}
	b = appendUTF16(b, target)
	binary.LittleEndian.PutUint32(b[16:], uint32(len(b)-renameFixedSize))
	return b
}

// DecodeRenameEx decodes FileRenameInformationEx: the FileRenameInformation
// layout with a 4-byte Flags field (then 4 reserved bytes) in place of
// ReplaceIfExists. Length and name checks are those of DecodeRename.
func DecodeRenameEx(b []byte) (RenameInfo, error) {
	r, err := decodeRenameCommon(b)
	if err != nil {
		return RenameInfo{}, err
	}
	r.Flags = le32(b)
	r.ReplaceIfExists = r.Flags&FileRenameReplaceIfExists != 0
	return r, nil
}

// decodeRenameCommon decodes RootDirectory and FileName, shared by both
// rename layouts.
func decodeRenameCommon(b []byte) (RenameInfo, error) {
	if len(b) < renameFixedSize {
		return RenameInfo{}, ErrInfoLength
	}
	n := uint64(le32(b[16:]))
	if n > uint64(len(b)-renameFixedSize) {
		return RenameInfo{}, ErrInfoLength
	}
	if n == 0 || n%2 != 0 {
		return RenameInfo{}, ErrInvalidParameter
	}
	name, err := decodeUTF16(b[renameFixedSize : renameFixedSize+int(n)])
	if err != nil {
		return RenameInfo{}, err
	}
	return RenameInfo{RootDirectory: le64(b[8:]), FileName: name}, nil
}

// DecodeDisposition decodes FileDispositionInformation and returns
// DeletePending.
func DecodeDisposition(b []byte) (bool, error) {
	if len(b) < dispositionSize {
		return false, ErrInfoLength
	}
	return b[0] != 0, nil
}

// DecodeDispositionEx decodes FileDispositionInformationEx and returns its
// flags (FileDisposition*). Undefined bits are ErrInvalidParameter.
func DecodeDispositionEx(b []byte) (uint32, error) {
	if len(b) < dispositionExSize {
		return 0, ErrInfoLength
	}
	const known = FileDispositionDelete | FileDispositionPosixSemantics |
		FileDispositionForceImageSectionCheck | FileDispositionOnClose |
		FileDispositionIgnoreReadOnlyAttribute
	f := le32(b)
	if f&^known != 0 {
		return 0, ErrInvalidParameter
	}
	return f, nil
}

// DecodeEndOfFile decodes FileEndOfFileInformation. A negative EndOfFile is
// ErrInvalidParameter.
func DecodeEndOfFile(b []byte) (int64, error) { return decodeNonNegative(b) }

// DecodeAllocation decodes FileAllocationInformation. A negative
// AllocationSize is ErrInvalidParameter.
func DecodeAllocation(b []byte) (int64, error) { return decodeNonNegative(b) }

// DecodePosition decodes FilePositionInformation. A negative
// CurrentByteOffset is ErrInvalidParameter.
func DecodePosition(b []byte) (int64, error) { return decodeNonNegative(b) }

func decodeNonNegative(b []byte) (int64, error) {
	if len(b) < int64InfoSize {
		return 0, ErrInfoLength
	}
	v := le64(b)
	if v > math.MaxInt64 {
		return 0, ErrInvalidParameter
	}
	return int64(v), nil
}

// DecodeMode decodes FileModeInformation. Like Samba, only
// FileWriteThrough and FileSequentialOnly may be set; anything else is
// ErrInvalidParameter (the synchronous-I/O bits describe the local handle,
// not an SMB2 open).
func DecodeMode(b []byte) (uint32, error) {
	if len(b) < modeInfoSize {
		return 0, ErrInfoLength
	}
	m := le32(b)
	if m&^(FileWriteThrough|FileSequentialOnly) != 0 {
		return 0, ErrInvalidParameter
	}
	return m, nil
}
