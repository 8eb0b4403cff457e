package fscc

import "time"

// Defaults AppendFSInfo uses for zero FSInfo fields. The attributes follow
// Samba on a POSIX file system: case-sensitive search, case-preserved and
// Unicode names, persistent ACLs (Samba's "nt acl support").
const (
	DefaultFSName                   = "NTFS"
	DefaultFSAttributes             = FSAttrCaseSensitiveSearch | FSAttrCasePreservedNames | FSAttrUnicodeOnDisk | FSAttrPersistentACLs
	DefaultMaxComponentNameLength   = 255
	DefaultBytesPerSector           = 512
	DefaultSectorsPerAllocationUnit = 8 // 4 KiB allocation units
	DefaultDeviceType               = FileDeviceDisk
	DefaultDeviceCharacteristics    = FileDeviceIsMounted
	DefaultSectorSizeFlags          = SSInfoFlagsAlignedDevice | SSInfoFlagsPartitionAlignedOnDevice
)

// FSInfo is what the server knows about the volume behind a share. Zero
// FSName, FSAttributes, MaxComponentNameLength, BytesPerSector,
// SectorsPerAllocationUnit, DeviceType and DeviceCharacteristics mean the
// Default* constants; compute the allocation-unit counts with the same
// unit size the encoded SectorsPerAllocationUnit*BytesPerSector gives.
type FSInfo struct {
	VolumeLabel        string
	VolumeSerial       uint32
	VolumeCreationTime time.Time

	TotalAllocationUnits           uint64
	CallerAvailableAllocationUnits uint64
	ActualAvailableAllocationUnits uint64
	SectorsPerAllocationUnit       uint32
	BytesPerSector                 uint32

	FSName                 string
	FSAttributes           uint32 // FSAttr*
	MaxComponentNameLength uint32

	ObjectID [16]byte

	DeviceType            uint32
	DeviceCharacteristics uint32
}

// withDefaults returns v with zero fields replaced by the defaults.
func (v FSInfo) withDefaults() FSInfo {
	if v.FSName == "" {
		v.FSName = DefaultFSName
	}
	if v.FSAttributes == 0 {
		v.FSAttributes = DefaultFSAttributes
	}
	if v.MaxComponentNameLength == 0 {
		v.MaxComponentNameLength = DefaultMaxComponentNameLength
	}
	if v.BytesPerSector == 0 {
		v.BytesPerSector = DefaultBytesPerSector
	}
	if v.SectorsPerAllocationUnit == 0 {
		v.SectorsPerAllocationUnit = DefaultSectorsPerAllocationUnit
	}
	if v.DeviceType == 0 {
		v.DeviceType = DefaultDeviceType
	}
	if v.DeviceCharacteristics == 0 {
		v.DeviceCharacteristics = DefaultDeviceCharacteristics
	}
	return v
}

// Fixed sizes of the file system classes.
const (
	fsObjectIDSize   = 64 // ObjectId + ExtendedInfo
	fsSectorSizeSize = 28
	fsControlSize    = 48
)

// FSInfoMinSize returns the smallest OutputBufferLength a QUERY_INFO
// (SMB2_0_INFO_FILESYSTEM) of class accepts, per MS-FSA 2.1.5.13:
// BlockAlign(FieldOffset(VolumeLabel), 8) = 24 for FileFsVolumeInformation,
// the structure size for the fixed classes. For FileFsAttributeInformation
// it is sizeof(FILE_FS_ATTRIBUTE_INFORMATION) = 16, not the 12 of MS-FSA:
// Windows and Samba answer STATUS_INFO_LENGTH_MISMATCH below 16. It
// returns false for classes AppendFSInfo does not encode.
func FSInfoMinSize(class FSInfoClass) (int, bool) {
	switch class {
	case FileFsVolumeInformation:
		return 24, true
	case FileFsSizeInformation:
		return 24, true
	case FileFsDeviceInformation:
		return 8, true
	case FileFsAttributeInformation:
		return 16, true
	case FileFsControlInformation:
		return fsControlSize, true
	case FileFsFullSizeInformation:
		return 32, true
	case FileFsObjectIDInformation:
		return fsObjectIDSize, true
	case FileFsSectorSizeInformation:
		return fsSectorSizeSize, true
	}
	return 0, false
}

// AppendFSInfo appends the QUERY_INFO (SMB2_0_INFO_FILESYSTEM) output of
// class for v, laid out as in MS-FSCC 2.5, untruncated; pass the result
// through FitFSInfo. Supported classes: FileFsVolumeInformation,
// FileFsSizeInformation, FileFsDeviceInformation,
// FileFsAttributeInformation, FileFsControlInformation,
// FileFsFullSizeInformation, FileFsObjectIdInformation and
// FileFsSectorSizeInformation; others return
// ErrInvalidInfoClass (MS-SMB2 3.3.5.20.2 prefers STATUS_NOT_SUPPORTED for
// classes MS-FSCC defines but the server does not implement).
func AppendFSInfo(dst []byte, class FSInfoClass, v *FSInfo) ([]byte, error) {
	d := v.withDefaults()
	switch class {
	case FileFsVolumeInformation:
		return appendFSVolume(dst, &d), nil
	case FileFsSizeInformation:
		dst = appendU64(dst, d.TotalAllocationUnits)
		dst = appendU64(dst, d.CallerAvailableAllocationUnits)
		dst = appendU32(dst, d.SectorsPerAllocationUnit)
		return appendU32(dst, d.BytesPerSector), nil
	case FileFsDeviceInformation:
		dst = appendU32(dst, d.DeviceType)
		return appendU32(dst, d.DeviceCharacteristics), nil
	case FileFsAttributeInformation:
		dst = appendU32(dst, d.FSAttributes)
		dst = appendU32(dst, d.MaxComponentNameLength)
		dst = appendU32(dst, uint32(2*UTF16Len(d.FSName)))
		return appendUTF16(dst, d.FSName), nil
	case FileFsFullSizeInformation:
		dst = appendU64(dst, d.TotalAllocationUnits)
		dst = appendU64(dst, d.CallerAvailableAllocationUnits)
		dst = appendU64(dst, d.ActualAvailableAllocationUnits)
		dst = appendU32(dst, d.SectorsPerAllocationUnit)
		return appendU32(dst, d.BytesPerSector), nil
	case FileFsControlInformation:
		// Quotas are not tracked: no filtering thresholds, no default
		// quota limits (-1) and FILE_VC_QUOTA_NONE [MS-FSCC 2.5.2].
		dst = appendZeros(dst, 24) // FreeSpaceStartFiltering, Threshold, StopFiltering
		dst = appendU64(dst, ^uint64(0))
		dst = appendU64(dst, ^uint64(0))
		return appendZeros(dst, 8), nil // FileSystemControlFlags, padding
	case FileFsObjectIDInformation:
		dst = append(dst, d.ObjectID[:]...)
		return appendZeros(dst, fsObjectIDSize-len(d.ObjectID)), nil // ExtendedInfo
	case FileFsSectorSizeInformation:
		return appendFSSectorSize(dst, &d), nil
	}
	return dst, ErrInvalidInfoClass
}

// FitFSInfo applies a client's OutputBufferLength to enc, the complete
// output of AppendFSInfo for class, with the rules of FitFileInfo: below
// FSInfoMinSize ErrInfoLength; otherwise enc, or enc truncated to
// outputBufferLength with overflow true (STATUS_BUFFER_OVERFLOW).
func FitFSInfo(class FSInfoClass, enc []byte, outputBufferLength uint32) ([]byte, bool, error) {
	minSize, ok := FSInfoMinSize(class)
	if !ok {
		return nil, false, ErrInvalidInfoClass
	}
	return fit(enc, outputBufferLength, minSize, false)
}

// appendFSVolume appends FILE_FS_VOLUME_INFORMATION. SupportsObjects
// follows FSAttrSupportsObjectIDs.
func appendFSVolume(dst []byte, v *FSInfo) []byte {
	dst = appendU64(dst, Filetime(v.VolumeCreationTime))
	dst = appendU32(dst, v.VolumeSerial)
	dst = appendU32(dst, uint32(2*UTF16Len(v.VolumeLabel)))
	dst = appendBool(dst, v.FSAttributes&FSAttrSupportsObjectIDs != 0)
	dst = appendU8(dst, 0) // Reserved
	return appendUTF16(dst, v.VolumeLabel)
}

// appendFSSectorSize appends FILE_FS_SECTOR_SIZE_INFORMATION with every
// sector size equal to BytesPerSector and the alignment flags Samba
// reports.
func appendFSSectorSize(dst []byte, v *FSInfo) []byte {
	dst = appendU32(dst, v.BytesPerSector) // LogicalBytesPerSector
	dst = appendU32(dst, v.BytesPerSector) // PhysicalBytesPerSectorForAtomicity
	dst = appendU32(dst, v.BytesPerSector) // PhysicalBytesPerSectorForPerformance
	dst = appendU32(dst, v.BytesPerSector) // FileSystemEffectivePhysicalBytesPerSectorForAtomicity
	dst = appendU32(dst, DefaultSectorSizeFlags)
	dst = appendU32(dst, 0) // ByteOffsetForSectorAlignment
	return appendU32(dst, 0)
}
