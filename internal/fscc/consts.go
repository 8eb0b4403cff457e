package fscc

// File attributes [MS-FSCC 2.6].
const (
	FileAttributeReadOnly           uint32 = 0x00000001
	FileAttributeHidden             uint32 = 0x00000002
	FileAttributeSystem             uint32 = 0x00000004
	FileAttributeDirectory          uint32 = 0x00000010
	FileAttributeArchive            uint32 = 0x00000020
	FileAttributeNormal             uint32 = 0x00000080
	FileAttributeTemporary          uint32 = 0x00000100
	FileAttributeSparseFile         uint32 = 0x00000200
	FileAttributeReparsePoint       uint32 = 0x00000400
	FileAttributeCompressed         uint32 = 0x00000800
	FileAttributeOffline            uint32 = 0x00001000
	FileAttributeNotContentIndexed  uint32 = 0x00002000
	FileAttributeEncrypted          uint32 = 0x00004000
	FileAttributeIntegrityStream    uint32 = 0x00008000
	FileAttributeNoScrubData        uint32 = 0x00020000
	FileAttributeRecallOnOpen       uint32 = 0x00040000
	FileAttributePinned             uint32 = 0x00080000
	FileAttributeUnpinned           uint32 = 0x00100000
	FileAttributeRecallOnDataAccess uint32 = 0x00400000
)

// File system attributes, FileFsAttributeInformation.FileSystemAttributes
// [MS-FSCC 2.5.1].
const (
	FSAttrCaseSensitiveSearch        uint32 = 0x00000001
	FSAttrCasePreservedNames         uint32 = 0x00000002
	FSAttrUnicodeOnDisk              uint32 = 0x00000004
	FSAttrPersistentACLs             uint32 = 0x00000008
	FSAttrFileCompression            uint32 = 0x00000010
	FSAttrVolumeQuotas               uint32 = 0x00000020
	FSAttrSupportsSparseFiles        uint32 = 0x00000040
	FSAttrSupportsReparsePoints      uint32 = 0x00000080
	FSAttrSupportsRemoteStorage      uint32 = 0x00000100
	FSAttrVolumeIsCompressed         uint32 = 0x00008000
	FSAttrSupportsObjectIDs          uint32 = 0x00010000
	FSAttrSupportsEncryption         uint32 = 0x00020000
	FSAttrNamedStreams               uint32 = 0x00040000
	FSAttrReadOnlyVolume             uint32 = 0x00080000
	FSAttrSequentialWriteOnce        uint32 = 0x00100000
	FSAttrSupportsTransactions       uint32 = 0x00200000
	FSAttrSupportsHardLinks          uint32 = 0x00400000
	FSAttrSupportsExtendedAttributes uint32 = 0x00800000
	FSAttrSupportsOpenByFileID       uint32 = 0x01000000
	FSAttrSupportsUSNJournal         uint32 = 0x02000000
	FSAttrSupportsIntegrityStreams   uint32 = 0x04000000
	FSAttrSupportsBlockRefcounting   uint32 = 0x08000000
	FSAttrSupportsSparseVDL          uint32 = 0x10000000
)

// Device type and characteristics, FileFsDeviceInformation [MS-FSCC 2.5.10].
const (
	FileDeviceDisk uint32 = 0x00000007

	FileRemovableMedia     uint32 = 0x00000001
	FileReadOnlyDevice     uint32 = 0x00000002
	FileFloppyDiskette     uint32 = 0x00000004
	FileWriteOnceMedia     uint32 = 0x00000008
	FileRemoteDevice       uint32 = 0x00000010
	FileDeviceIsMounted    uint32 = 0x00000020
	FileVirtualVolume      uint32 = 0x00000040
	FileDeviceSecureOpen   uint32 = 0x00000100
	FileCharacteristicTS   uint32 = 0x00001000
	FileCharacteristicDAV  uint32 = 0x00002000
	FilePortableDevice     uint32 = 0x00004000
	FileDeviceAllowAppCont uint32 = 0x00020000
)

// FileFsSectorSizeInformation flags [MS-FSCC 2.5.7].
const (
	SSInfoFlagsAlignedDevice            uint32 = 0x00000001
	SSInfoFlagsPartitionAlignedOnDevice uint32 = 0x00000002
	SSInfoFlagsNoSeekPenalty            uint32 = 0x00000004
	SSInfoFlagsTrimEnabled              uint32 = 0x00000008
)

// Access mask bits for files and directories [MS-SMB2 2.2.13.1,
// MS-DTYP 2.4.3].
const (
	FileReadData         uint32 = 0x00000001 // FILE_LIST_DIRECTORY on directories
	FileWriteData        uint32 = 0x00000002 // FILE_ADD_FILE
	FileAppendData       uint32 = 0x00000004 // FILE_ADD_SUBDIRECTORY
	FileReadEA           uint32 = 0x00000008
	FileWriteEA          uint32 = 0x00000010
	FileExecute          uint32 = 0x00000020 // FILE_TRAVERSE
	FileDeleteChild      uint32 = 0x00000040
	FileReadAttributes   uint32 = 0x00000080
	FileWriteAttributes  uint32 = 0x00000100
	Delete               uint32 = 0x00010000
	ReadControl          uint32 = 0x00020000
	WriteDAC             uint32 = 0x00040000
	WriteOwner           uint32 = 0x00080000
	Synchronize          uint32 = 0x00100000
	AccessSystemSecurity uint32 = 0x01000000
	MaximumAllowed       uint32 = 0x02000000
	GenericAll           uint32 = 0x10000000
	GenericExecute       uint32 = 0x20000000
	GenericWrite         uint32 = 0x40000000
	GenericRead          uint32 = 0x80000000

	// FileAllAccess is FILE_ALL_ACCESS: every standard and file-specific
	// right.
	FileAllAccess uint32 = 0x001F01FF
	// FileGenericRead is FILE_GENERIC_READ.
	FileGenericRead = ReadControl | FileReadData | FileReadAttributes | FileReadEA | Synchronize
	// FileGenericWrite is FILE_GENERIC_WRITE.
	FileGenericWrite = ReadControl | FileWriteData | FileWriteAttributes | FileWriteEA | FileAppendData | Synchronize
	// FileGenericExecute is FILE_GENERIC_EXECUTE.
	FileGenericExecute = ReadControl | FileExecute | FileReadAttributes | Synchronize
)

// FileModeInformation bits [MS-FSCC 2.4, FileModeInformation].
const (
	FileWriteThrough          uint32 = 0x00000002
	FileSequentialOnly        uint32 = 0x00000004
	FileNoIntermediateBuffer  uint32 = 0x00000008
	FileSynchronousIOAlert    uint32 = 0x00000010
	FileSynchronousIONonAlert uint32 = 0x00000020
	FileDeleteOnClose         uint32 = 0x00001000
)

// FileRenameInformationEx flags [MS-FSCC 2.4, FileRenameInformation].
const (
	FileRenameReplaceIfExists                   uint32 = 0x00000001
	FileRenamePosixSemantics                    uint32 = 0x00000002
	FileRenameSuppressPinStateInheritance       uint32 = 0x00000004
	FileRenameSuppressStorageReserveInheritance uint32 = 0x00000008
	FileRenameNoIncreaseAvailableSpace          uint32 = 0x00000010
	FileRenameNoDecreaseAvailableSpace          uint32 = 0x00000020
	FileRenameIgnoreReadOnlyAttribute           uint32 = 0x00000040
	FileRenameForceResizeTargetSR               uint32 = 0x00000080
	FileRenameForceResizeSourceSR               uint32 = 0x00000100
)

// FileDispositionInformationEx flags [MS-FSCC 2.4, FileDispositionInformationEx].
const (
	FileDispositionDoNotDelete             uint32 = 0x00000000
	FileDispositionDelete                  uint32 = 0x00000001
	FileDispositionPosixSemantics          uint32 = 0x00000002
	FileDispositionForceImageSectionCheck  uint32 = 0x00000004
	FileDispositionOnClose                 uint32 = 0x00000008
	FileDispositionIgnoreReadOnlyAttribute uint32 = 0x00000010
)

// Security information flags, the AdditionalInformation of a QUERY_INFO or
// SET_INFO with InfoType SMB2_0_INFO_SECURITY [MS-SMB2 2.2.37].
const (
	OwnerSecurityInformation     uint32 = 0x00000001
	GroupSecurityInformation     uint32 = 0x00000002
	DACLSecurityInformation      uint32 = 0x00000004
	SACLSecurityInformation      uint32 = 0x00000008
	LabelSecurityInformation     uint32 = 0x00000010
	AttributeSecurityInformation uint32 = 0x00000020
	ScopeSecurityInformation     uint32 = 0x00000040
	BackupSecurityInformation    uint32 = 0x00010000
)
