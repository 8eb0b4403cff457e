package fscc

import (
	"errors"
	"testing"
	"time"
)

func sampleFS() *FSInfo {
	return &FSInfo{
		VolumeLabel:                    "share",
		VolumeSerial:                   0xCAFEBABE,
		VolumeCreationTime:             time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
		TotalAllocationUnits:           1000,
		CallerAvailableAllocationUnits: 400,
		ActualAvailableAllocationUnits: 500,
		SectorsPerAllocationUnit:       2,
		BytesPerSector:                 4096,
		FSName:                         "NTFS",
		FSAttributes:                   0x0004000F,
		MaxComponentNameLength:         255,
		ObjectID:                       [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
		DeviceType:                     FileDeviceDisk,
		DeviceCharacteristics:          FileDeviceIsMounted | FileReadOnlyDevice,
	}
}

func TestAppendFSInfoGolden(t *testing.T) {
	objid := newLayout(64)
	copy(objid, sampleFS().ObjectID[:])
	tests := []struct {
		class FSInfoClass
		want  []byte
	}{
		// VolumeCreationTime 0, Serial 8, LabelLength 12, SupportsObjects 16, Reserved 17, Label 18
		{FileFsVolumeInformation, newLayout(18+10).u64(0, ft2000).u32(8, 0xCAFEBABE).u32(12, 10).ascii(18, "share")},
		{FileFsSizeInformation, newLayout(24).u64(0, 1000).u64(8, 400).u32(16, 2).u32(20, 4096)},
		{FileFsDeviceInformation, newLayout(8).u32(0, 7).u32(4, 0x22)},
		{FileFsAttributeInformation, newLayout(12+8).u32(0, 0x0004000F).u32(4, 255).u32(8, 8).ascii(12, "NTFS")},
		{FileFsFullSizeInformation, newLayout(32).u64(0, 1000).u64(8, 400).u64(16, 500).u32(24, 2).u32(28, 4096)},
		{FileFsObjectIDInformation, objid},
		{FileFsControlInformation, newLayout(48).u64(24, ^uint64(0)).u64(32, ^uint64(0))},
		{FileFsSectorSizeInformation, newLayout(28).u32(0, 4096).u32(4, 4096).u32(8, 4096).u32(12, 4096).u32(16, 3)},
	}
	for _, tt := range tests {
		got, err := AppendFSInfo(nil, tt.class, sampleFS())
		if err != nil {
			t.Errorf("%v: %v", tt.class, err)
			continue
		}
		checkBytes(t, tt.class.String(), got, tt.want)
		if _, ok := FSInfoMinSize(tt.class); !ok {
			t.Errorf("%v: no min size", tt.class)
		}
	}
}

func TestAppendFSInfoDefaults(t *testing.T) {
	v := &FSInfo{VolumeLabel: "x", FSAttributes: FSAttrSupportsObjectIDs}
	b, _ := AppendFSInfo(nil, FileFsVolumeInformation, v)
	if b[16] != 1 {
		t.Errorf("SupportsObjects %d, want 1", b[16])
	}
	v = &FSInfo{}
	b, _ = AppendFSInfo(nil, FileFsAttributeInformation, v)
	checkBytes(t, "attribute defaults", b, newLayout(20).u32(0, 0x0F).u32(4, 255).u32(8, 8).ascii(12, "NTFS"))
	b, _ = AppendFSInfo(nil, FileFsDeviceInformation, v)
	checkBytes(t, "device defaults", b, newLayout(8).u32(0, 7).u32(4, 0x20))
	b, _ = AppendFSInfo(nil, FileFsSizeInformation, v)
	checkBytes(t, "size defaults", b, newLayout(24).u32(16, 8).u32(20, 512))
	b, _ = AppendFSInfo(nil, FileFsSectorSizeInformation, v)
	checkBytes(t, "sector defaults", b, newLayout(28).u32(0, 512).u32(4, 512).u32(8, 512).u32(12, 512).u32(16, 3))
	b, _ = AppendFSInfo(nil, FileFsVolumeInformation, v)
	checkBytes(t, "volume zero", b, newLayout(18))
	if *v != (FSInfo{}) {
		t.Error("AppendFSInfo modified its input")
	}
}

func TestAppendFSInfoErrors(t *testing.T) {
	for _, class := range []FSInfoClass{0, FileFsLabelInformation, 9, 200} {
		b, err := AppendFSInfo([]byte{1}, class, sampleFS())
		if !errors.Is(err, ErrInvalidInfoClass) || len(b) != 1 {
			t.Errorf("%v: %x, %v", class, b, err)
		}
		if _, _, err := FitFSInfo(class, nil, 100); !errors.Is(err, ErrInvalidInfoClass) {
			t.Errorf("FitFSInfo(%v): %v", class, err)
		}
	}
}

func TestFitFSInfo(t *testing.T) {
	vol, _ := AppendFSInfo(nil, FileFsVolumeInformation, sampleFS()) // 28 bytes
	attr, _ := AppendFSInfo(nil, FileFsAttributeInformation, sampleFS())
	tests := []struct {
		class    FSInfoClass
		enc      []byte
		max      uint32
		wantLen  int
		overflow bool
		err      error
	}{
		{FileFsVolumeInformation, vol, 23, 0, false, ErrInfoLength},
		{FileFsVolumeInformation, vol, 24, 24, true, nil},
		{FileFsVolumeInformation, vol, 28, 28, false, nil},
		{FileFsAttributeInformation, attr, 15, 0, false, ErrInfoLength},
		{FileFsAttributeInformation, attr, 16, 16, true, nil},
		{FileFsAttributeInformation, attr, 20, 20, false, nil},
		{FileFsSectorSizeInformation, make([]byte, 28), 27, 0, false, ErrInfoLength},
	}
	for _, tt := range tests {
		got, overflow, err := FitFSInfo(tt.class, tt.enc, tt.max)
		if !errors.Is(err, tt.err) || len(got) != tt.wantLen || overflow != tt.overflow {
			t.Errorf("FitFSInfo(%v, %d) = %d bytes, %v, %v", tt.class, tt.max, len(got), overflow, err)
		}
	}
}

func TestClassStrings(t *testing.T) {
	tests := []struct{ got, want string }{
		{FileIDBothDirectoryInformation.String(), "FileIdBothDirectoryInformation"},
		{FileAllInformation.String(), "FileAllInformation"},
		{InfoClass(99).String(), "InfoClass(99)"},
		{FileFsSectorSizeInformation.String(), "FileFsSectorSizeInformation"},
		{FSInfoClass(99).String(), "FSInfoClass(99)"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%q, want %q", tt.got, tt.want)
		}
	}
	for c := range 256 {
		if InfoClass(c).String() == "" || FSInfoClass(c).String() == "" {
			t.Fatalf("empty String for %d", c)
		}
	}
}
