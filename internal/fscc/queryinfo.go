package fscc

import "strings"

// QueryExtra carries the per-open state some QUERY_INFO classes report.
// A nil *QueryExtra reads as the zero value.
type QueryExtra struct {
	// GrantedAccess is the open's granted access mask (FileAccessInformation,
	// FileAllInformation). Resolve MAXIMUM_ALLOWED and generic bits first.
	GrantedAccess uint32
	// Path is the open's path relative to the share root, with '\' or '/'
	// separators; "" is the root. FileNameInformation and FileAllInformation
	// report it as "\dir\file", FileNormalizedNameInformation as "dir\file"
	// (as Samba and Windows do).
	Path string
	// Position is the open's current byte offset (FilePositionInformation).
	Position int64
	// Mode is the open's FileModeInformation bits.
	Mode uint32
}

// Fixed sizes of the QUERY_INFO file classes. For the variable classes this
// is the minimum OutputBufferLength (Windows' sizeof, as Samba uses).
const (
	basicInfoSize        = 40
	standardInfoSize     = 24
	networkOpenInfoSize  = 56
	compressionInfoSize  = 16
	nameInfoMinSize      = 8   // sizeof(FILE_NAME_INFORMATION)
	allInfoMinSize       = 104 // sizeof(FILE_ALL_INFORMATION)
	allInfoFixedSize     = 100 // offset of NameInformation.FileName
	streamInfoMinSize    = 32  // sizeof(FILE_STREAM_INFORMATION)
	streamInfoHeaderSize = 24
	defaultStreamName    = "::$DATA"
)

// FileInfoMinSize returns the smallest OutputBufferLength a QUERY_INFO of
// class accepts; below it the server answers STATUS_INFO_LENGTH_MISMATCH
// [MS-SMB2 3.3.5.20.1]. For fixed-size classes it is the size of the
// structure. It returns false for classes AppendFileInfo does not encode.
func FileInfoMinSize(class InfoClass) (int, bool) {
	switch class {
	case FileBasicInformation:
		return basicInfoSize, true
	case FileStandardInformation:
		return standardInfoSize, true
	case FileInternalInformation, FilePositionInformation, FileAttributeTagInformation:
		return 8, true
	case FileEaInformation, FileAccessInformation, FileModeInformation, FileAlignmentInformation:
		return 4, true
	case FileNameInformation, FileAlternateNameInformation, FileNormalizedNameInformation:
		return nameInfoMinSize, true
	case FileAllInformation:
		return allInfoMinSize, true
	case FileStreamInformation:
		return streamInfoMinSize, true
	case FileCompressionInformation:
		return compressionInfoSize, true
	case FileNetworkOpenInformation:
		return networkOpenInfoSize, true
	}
	return 0, false
}

// AppendFileInfo appends the QUERY_INFO (SMB2_0_INFO_FILE) output of class
// for fi, laid out as in MS-FSCC 2.4, untruncated; pass the result through
// FitFileInfo to apply the client's OutputBufferLength. Unsupported classes
// return ErrInvalidInfoClass. FileAlternateNameInformation for a file
// without ShortName returns ErrNoShortName. FileStreamInformation reports
// the single unnamed "::$DATA" stream for files and nothing for
// directories.
func AppendFileInfo(dst []byte, class InfoClass, fi *FileInfo, extra *QueryExtra) ([]byte, error) {
	var x QueryExtra
	if extra != nil {
		x = *extra
	}
	switch class {
	case FileBasicInformation:
		return appendBasicInfo(dst, fi), nil
	case FileStandardInformation:
		return appendStandardInfo(dst, fi), nil
	case FileInternalInformation:
		return appendU64(dst, fi.FileID), nil
	case FileEaInformation:
		return appendU32(dst, fi.EaSize), nil
	case FileAccessInformation:
		return appendU32(dst, x.GrantedAccess), nil
	case FileNameInformation:
		return appendNameInfo(dst, shareAbsPath(x.Path)), nil
	case FileNormalizedNameInformation:
		return appendNameInfo(dst, shareRelPath(x.Path)), nil
	case FilePositionInformation:
		return appendU64(dst, uint64(x.Position)), nil
	case FileModeInformation:
		return appendU32(dst, x.Mode), nil
	case FileAlignmentInformation:
		return appendU32(dst, 0), nil // byte alignment
	case FileAllInformation:
		return appendAllInfo(dst, fi, &x), nil
	case FileAlternateNameInformation:
		if fi.ShortName == "" {
			return dst, ErrNoShortName
		}
		return appendNameInfo(dst, fi.ShortName), nil
	case FileStreamInformation:
		return appendStreamInfo(dst, fi), nil
	case FileCompressionInformation:
		return appendCompressionInfo(dst, fi), nil
	case FileNetworkOpenInformation:
		return appendNetworkOpenInfo(dst, fi), nil
	case FileAttributeTagInformation:
		dst = appendU32(dst, fi.EffectiveAttributes())
		return appendU32(dst, 0), nil // ReparseTag
	}
	return dst, ErrInvalidInfoClass
}

// FitFileInfo applies a client's OutputBufferLength to enc, the complete
// output of AppendFileInfo for class [MS-SMB2 3.3.5.20.1]:
//
//   - outputBufferLength below FileInfoMinSize: ErrInfoLength
//     (STATUS_INFO_LENGTH_MISMATCH);
//   - enc fits: enc, false (STATUS_SUCCESS);
//   - otherwise enc truncated to outputBufferLength, true
//     (STATUS_BUFFER_OVERFLOW with the truncated data). Name lengths inside
//     keep the full length, as MS-FSA specifies. FileStreamInformation is
//     cut at a whole entry.
func FitFileInfo(class InfoClass, enc []byte, outputBufferLength uint32) ([]byte, bool, error) {
	minSize, ok := FileInfoMinSize(class)
	if !ok {
		return nil, false, ErrInvalidInfoClass
	}
	return fit(enc, outputBufferLength, minSize, class == FileStreamInformation)
}

// fit implements FitFileInfo and FitFSInfo.
func fit(enc []byte, max uint32, minSize int, wholeEntries bool) ([]byte, bool, error) {
	if uint64(max) < uint64(minSize) {
		return nil, false, ErrInfoLength
	}
	if uint64(len(enc)) <= uint64(max) {
		return enc, false, nil
	}
	if wholeEntries {
		return enc[:wholeEntryPrefix(enc, int(max))], true, nil
	}
	return enc[:max], true, nil
}

// wholeEntryPrefix returns the length of the longest prefix of a
// NextEntryOffset-linked list of stream entries that holds only whole
// entries and is at most max bytes. Arithmetic is in uint64 so that no
// field value can overflow it.
func wholeEntryPrefix(enc []byte, max int) int {
	var end, off uint64
	limit := uint64(min(max, len(enc)))
	for off+streamInfoHeaderSize <= uint64(len(enc)) {
		entryEnd := off + streamInfoHeaderSize + uint64(le32(enc[off+4:]))
		if entryEnd > limit {
			break
		}
		end = entryEnd
		next := uint64(le32(enc[off:]))
		if next == 0 {
			break
		}
		off += next
	}
	return int(end)
}

func appendBasicInfo(dst []byte, fi *FileInfo) []byte {
	dst = appendTimes(dst, fi)
	dst = appendU32(dst, fi.EffectiveAttributes())
	return appendU32(dst, 0) // Reserved
}

func appendStandardInfo(dst []byte, fi *FileInfo) []byte {
	dst = appendU64(dst, uint64(fi.AllocationSize))
	dst = appendU64(dst, uint64(fi.EndOfFile))
	dst = appendU32(dst, fi.NumberOfLinks)
	dst = appendBool(dst, fi.DeletePending)
	dst = appendBool(dst, fi.IsDir())
	return appendU16(dst, 0) // Reserved
}

// appendNameInfo appends FileNameLength and FileName (FILE_NAME_INFORMATION).
func appendNameInfo(dst []byte, name string) []byte {
	dst = appendU32(dst, uint32(2*UTF16Len(name)))
	return appendUTF16(dst, name)
}

// appendAllInfo appends FILE_ALL_INFORMATION: Basic, Standard, Internal,
// Ea, Access, Position, Mode, Alignment and Name, unpadded (100 bytes plus
// the name).
func appendAllInfo(dst []byte, fi *FileInfo, x *QueryExtra) []byte {
	dst = appendBasicInfo(dst, fi)
	dst = appendStandardInfo(dst, fi)
	dst = appendU64(dst, fi.FileID)
	dst = appendU32(dst, fi.EaSize)
	dst = appendU32(dst, x.GrantedAccess)
	dst = appendU64(dst, uint64(x.Position))
	dst = appendU32(dst, x.Mode)
	dst = appendU32(dst, 0) // AlignmentRequirement
	return appendNameInfo(dst, shareAbsPath(x.Path))
}

func appendStreamInfo(dst []byte, fi *FileInfo) []byte {
	if fi.IsDir() {
		return dst
	}
	dst = appendU32(dst, 0) // NextEntryOffset
	dst = appendU32(dst, uint32(2*len(defaultStreamName)))
	dst = appendU64(dst, uint64(fi.EndOfFile))
	dst = appendU64(dst, uint64(fi.AllocationSize))
	return appendUTF16(dst, defaultStreamName)
}

// appendCompressionInfo reports an uncompressed file: CompressedFileSize is
// EndOfFile (as Samba does) and the format is COMPRESSION_FORMAT_NONE.
func appendCompressionInfo(dst []byte, fi *FileInfo) []byte {
	dst = appendU64(dst, uint64(fi.EndOfFile))
	dst = appendU16(dst, 0) // CompressionFormat
	dst = appendU8(dst, 0)  // CompressionUnitShift
	dst = appendU8(dst, 0)  // ChunkShift
	dst = appendU8(dst, 0)  // ClusterShift
	return appendZeros(dst, 3)
}

func appendNetworkOpenInfo(dst []byte, fi *FileInfo) []byte {
	dst = appendTimes(dst, fi)
	dst = appendU64(dst, uint64(fi.AllocationSize))
	dst = appendU64(dst, uint64(fi.EndOfFile))
	dst = appendU32(dst, fi.EffectiveAttributes())
	return appendU32(dst, 0) // Reserved
}

// shareRelPath turns a share-relative path into backslash form without
// leading or trailing separators; the root is "".
func shareRelPath(p string) string {
	return strings.Trim(strings.ReplaceAll(p, "/", `\`), `\`)
}

// shareAbsPath is shareRelPath with a leading backslash; the root is "\".
func shareAbsPath(p string) string {
	return `\` + shareRelPath(p)
}
