package fscc

import "strconv"

// InfoClass is a file information class, the FileInformationClass of
// QUERY_DIRECTORY and QUERY_INFO/SET_INFO with SMB2_0_INFO_FILE
// [MS-FSCC 2.4]. Convert the wire byte with InfoClass(b).
type InfoClass uint8

// File information classes [MS-FSCC 2.4].
const (
	FileDirectoryInformation       InfoClass = 1
	FileFullDirectoryInformation   InfoClass = 2
	FileBothDirectoryInformation   InfoClass = 3
	FileBasicInformation           InfoClass = 4
	FileStandardInformation        InfoClass = 5
	FileInternalInformation        InfoClass = 6
	FileEaInformation              InfoClass = 7
	FileAccessInformation          InfoClass = 8
	FileNameInformation            InfoClass = 9
	FileRenameInformation          InfoClass = 10
	FileLinkInformation            InfoClass = 11
	FileNamesInformation           InfoClass = 12
	FileDispositionInformation     InfoClass = 13
	FilePositionInformation        InfoClass = 14
	FileFullEaInformation          InfoClass = 15
	FileModeInformation            InfoClass = 16
	FileAlignmentInformation       InfoClass = 17
	FileAllInformation             InfoClass = 18
	FileAllocationInformation      InfoClass = 19
	FileEndOfFileInformation       InfoClass = 20
	FileAlternateNameInformation   InfoClass = 21
	FileStreamInformation          InfoClass = 22
	FilePipeInformation            InfoClass = 23
	FileCompressionInformation     InfoClass = 28
	FileObjectIDInformation        InfoClass = 29
	FileQuotaInformation           InfoClass = 32
	FileReparsePointInformation    InfoClass = 33
	FileNetworkOpenInformation     InfoClass = 34
	FileAttributeTagInformation    InfoClass = 35
	FileIDBothDirectoryInformation InfoClass = 37
	FileIDFullDirectoryInformation InfoClass = 38
	FileValidDataLengthInformation InfoClass = 39
	FileShortNameInformation       InfoClass = 40
	FileNormalizedNameInformation  InfoClass = 48
	FileIDInformation              InfoClass = 59
	FileIDExtdDirectoryInformation InfoClass = 60
	FileDispositionInformationEx   InfoClass = 64
	FileRenameInformationEx        InfoClass = 65
)

// String returns the class name as in MS-FSCC, or InfoClass(n).
func (c InfoClass) String() string {
	switch c {
	case FileDirectoryInformation:
		return "FileDirectoryInformation"
	case FileFullDirectoryInformation:
		return "FileFullDirectoryInformation"
	case FileBothDirectoryInformation:
		return "FileBothDirectoryInformation"
	case FileBasicInformation:
		return "FileBasicInformation"
	case FileStandardInformation:
		return "FileStandardInformation"
	case FileInternalInformation:
		return "FileInternalInformation"
	case FileEaInformation:
		return "FileEaInformation"
	case FileAccessInformation:
		return "FileAccessInformation"
	case FileNameInformation:
		return "FileNameInformation"
	case FileRenameInformation:
		return "FileRenameInformation"
	case FileLinkInformation:
		return "FileLinkInformation"
	case FileNamesInformation:
		return "FileNamesInformation"
	case FileDispositionInformation:
		return "FileDispositionInformation"
	case FilePositionInformation:
		return "FilePositionInformation"
	case FileFullEaInformation:
		return "FileFullEaInformation"
	case FileModeInformation:
		return "FileModeInformation"
	case FileAlignmentInformation:
		return "FileAlignmentInformation"
	case FileAllInformation:
		return "FileAllInformation"
	case FileAllocationInformation:
		return "FileAllocationInformation"
	case FileEndOfFileInformation:
		return "FileEndOfFileInformation"
	case FileAlternateNameInformation:
		return "FileAlternateNameInformation"
	case FileStreamInformation:
		return "FileStreamInformation"
	case FilePipeInformation:
		return "FilePipeInformation"
	case FileCompressionInformation:
		return "FileCompressionInformation"
	case FileObjectIDInformation:
		return "FileObjectIdInformation"
	case FileQuotaInformation:
		return "FileQuotaInformation"
	case FileReparsePointInformation:
		return "FileReparsePointInformation"
	case FileNetworkOpenInformation:
		return "FileNetworkOpenInformation"
	case FileAttributeTagInformation:
		return "FileAttributeTagInformation"
	case FileIDBothDirectoryInformation:
		return "FileIdBothDirectoryInformation"
	case FileIDFullDirectoryInformation:
		return "FileIdFullDirectoryInformation"
	case FileValidDataLengthInformation:
		return "FileValidDataLengthInformation"
	case FileShortNameInformation:
		return "FileShortNameInformation"
	case FileNormalizedNameInformation:
		return "FileNormalizedNameInformation"
	case FileIDInformation:
		return "FileIdInformation"
	case FileIDExtdDirectoryInformation:
		return "FileIdExtdDirectoryInformation"
	case FileDispositionInformationEx:
		return "FileDispositionInformationEx"
	case FileRenameInformationEx:
		return "FileRenameInformationEx"
	}
	return "InfoClass(" + strconv.Itoa(int(c)) + ")"
}

// FSInfoClass is a file system information class, the FileInformationClass
// of QUERY_INFO with SMB2_0_INFO_FILESYSTEM [MS-FSCC 2.5].
type FSInfoClass uint8

// File system information classes [MS-FSCC 2.5].
const (
	FileFsVolumeInformation     FSInfoClass = 1
	FileFsLabelInformation      FSInfoClass = 2
	FileFsSizeInformation       FSInfoClass = 3
	FileFsDeviceInformation     FSInfoClass = 4
	FileFsAttributeInformation  FSInfoClass = 5
	FileFsControlInformation    FSInfoClass = 6
	FileFsFullSizeInformation   FSInfoClass = 7
	FileFsObjectIDInformation   FSInfoClass = 8
	FileFsSectorSizeInformation FSInfoClass = 11
)

// String returns the class name as in MS-FSCC, or FSInfoClass(n).
func (c FSInfoClass) String() string {
	switch c {
	case FileFsVolumeInformation:
		return "FileFsVolumeInformation"
	case FileFsLabelInformation:
		return "FileFsLabelInformation"
	case FileFsSizeInformation:
		return "FileFsSizeInformation"
	case FileFsDeviceInformation:
		return "FileFsDeviceInformation"
	case FileFsAttributeInformation:
		return "FileFsAttributeInformation"
	case FileFsControlInformation:
		return "FileFsControlInformation"
	case FileFsFullSizeInformation:
		return "FileFsFullSizeInformation"
	case FileFsObjectIDInformation:
		return "FileFsObjectIdInformation"
	case FileFsSectorSizeInformation:
		return "FileFsSectorSizeInformation"
	}
	return "FSInfoClass(" + strconv.Itoa(int(c)) + ")"
}
