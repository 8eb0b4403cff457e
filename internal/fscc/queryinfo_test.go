package fscc

import (
	"errors"
	"testing"
)

var sampleExtra = &QueryExtra{
	GrantedAccess: 0x0012019F,
	Path:          "dir/a.txt",
	Position:      0x1234,
	Mode:          FileSequentialOnly,
}

func TestAppendFileInfoGolden(t *testing.T) {
	const path = `\dir\a.txt` // 10 characters, 20 bytes
	tests := []struct {
		class InfoClass
		want  []byte
	}{
		{FileBasicInformation, newLayout(40).sampleTimes(0).u32(32, FileAttributeArchive)},
		{FileStandardInformation, newLayout(24).u64(0, 4096).u64(8, 5).u32(16, 1)},
		{FileInternalInformation, newLayout(8).u64(0, 0x1122334455667788)},
		{FileEaInformation, newLayout(4).u32(0, 3)},
		{FileAccessInformation, newLayout(4).u32(0, 0x0012019F)},
		{FileNameInformation, newLayout(4+20).u32(0, 20).ascii(4, path)},
		{FileNormalizedNameInformation, newLayout(4+18).u32(0, 18).ascii(4, `dir\a.txt`)},
		{FilePositionInformation, newLayout(8).u64(0, 0x1234)},
		{FileModeInformation, newLayout(4).u32(0, FileSequentialOnly)},
		{FileAlignmentInformation, newLayout(4)},
		{FileAllInformation, newLayout(100+20).sampleTimes(0).u32(0x20, FileAttributeArchive).
			u64(0x28, 4096).u64(0x30, 5).u32(0x38, 1).u64(0x40, 0x1122334455667788).
			u32(0x48, 3).u32(0x4C, 0x0012019F).u64(0x50, 0x1234).u32(0x58, FileSequentialOnly).
			u32(0x60, 20).ascii(0x64, path)},
		{FileAlternateNameInformation, newLayout(4+10).u32(0, 10).ascii(4, "A.TXT")},
		{FileStreamInformation, newLayout(24+14).u32(4, 14).u64(8, 5).u64(16, 4096).ascii(24, "::$DATA")},
		{FileCompressionInformation, newLayout(16).u64(0, 5)},
		{FileNetworkOpenInformation, newLayout(56).sampleTimes(0).u64(32, 4096).u64(40, 5).u32(48, FileAttributeArchive)},
		{FileAttributeTagInformation, newLayout(8).u32(0, FileAttributeArchive)},
	}
	for _, tt := range tests {
		got, err := AppendFileInfo([]byte{0xEE}, tt.class, sampleFile(), sampleExtra)
		if err != nil {
			t.Errorf("%v: %v", tt.class, err)
			continue
		}
		checkBytes(t, tt.class.String(), got[1:], tt.want)
		minSize, ok := FileInfoMinSize(tt.class)
		if !ok {
			t.Errorf("%v: no min size", tt.class)
		}
		fixedClass := tt.class != FileNameInformation && tt.class != FileNormalizedNameInformation &&
			tt.class != FileAllInformation && tt.class != FileAlternateNameInformation &&
			tt.class != FileStreamInformation
		if fixedClass && minSize != len(tt.want) {
			t.Errorf("%v: min size %d, structure %d", tt.class, minSize, len(tt.want))
		}
	}
}

func TestAppendFileInfoDirectory(t *testing.T) {
	fi := &FileInfo{Name: "d", Directory: true, NumberOfLinks: 2, DeletePending: true}
	b, _ := AppendFileInfo(nil, FileStandardInformation, fi, nil)
	checkBytes(t, "standard", b, newLayout(24).u32(16, 2).u8(20, 1).u8(21, 1))
	b, _ = AppendFileInfo(nil, FileStreamInformation, fi, nil)
	if len(b) != 0 {
		t.Errorf("directory stream info %x, want empty", b)
	}
	b, _ = AppendFileInfo(nil, FileBasicInformation, fi, nil)
	if le32(b[32:]) != FileAttributeDirectory {
		t.Errorf("directory attributes %#x", le32(b[32:]))
	}
}

func TestAppendFileInfoPaths(t *testing.T) {
	tests := []struct{ path, name, normalized string }{
		{"", `\`, ""},
		{`\`, `\`, ""},
		{"a", `\a`, "a"},
		{`\a\b\`, `\a\b`, `a\b`},
		{"a/b", `\a\b`, `a\b`},
	}
	for _, tt := range tests {
		x := &QueryExtra{Path: tt.path}
		b, _ := AppendFileInfo(nil, FileNameInformation, &FileInfo{}, x)
		want := newLayout(4+2*len(tt.name)).u32(0, uint32(2*len(tt.name))).ascii(4, tt.name)
		checkBytes(t, "name "+tt.path, b, want)
		b, _ = AppendFileInfo(nil, FileNormalizedNameInformation, &FileInfo{}, x)
		want = newLayout(4+2*len(tt.normalized)).u32(0, uint32(2*len(tt.normalized))).ascii(4, tt.normalized)
		checkBytes(t, "normalized "+tt.path, b, want)
	}
}

func TestAppendFileInfoErrors(t *testing.T) {
	for _, class := range []InfoClass{0, FileDirectoryInformation, FileRenameInformation, FileFullEaInformation, 255} {
		b, err := AppendFileInfo([]byte{1}, class, sampleFile(), nil)
		if !errors.Is(err, ErrInvalidInfoClass) || len(b) != 1 {
			t.Errorf("%v: %x, %v", class, b, err)
		}
		if _, ok := FileInfoMinSize(class); ok {
			t.Errorf("%v: has a min size", class)
		}
	}
	if _, err := AppendFileInfo(nil, FileAlternateNameInformation, &FileInfo{Name: "x"}, nil); !errors.Is(err, ErrNoShortName) {
		t.Errorf("no short name: %v", err)
	}
	b, err := AppendFileInfo(nil, FileAccessInformation, sampleFile(), nil)
	if err != nil || le32(b) != 0 {
		t.Errorf("nil extra: %x, %v", b, err)
	}
}

func TestFitFileInfo(t *testing.T) {
	all, _ := AppendFileInfo(nil, FileAllInformation, sampleFile(), sampleExtra) // 120 bytes
	tests := []struct {
		class    InfoClass
		enc      []byte
		max      uint32
		wantLen  int
		overflow bool
		err      error
	}{
		{FileAllInformation, all, 103, 0, false, ErrInfoLength},
		{FileAllInformation, all, 104, 104, true, nil},
		{FileAllInformation, all, 119, 119, true, nil},
		{FileAllInformation, all, 120, 120, false, nil},
		{FileAllInformation, all, 1 << 20, 120, false, nil},
		{FileBasicInformation, make([]byte, 40), 39, 0, false, ErrInfoLength},
		{FileBasicInformation, make([]byte, 40), 40, 40, false, nil},
		{FileDirectoryInformation, nil, 100, 0, false, ErrInvalidInfoClass},
	}
	for _, tt := range tests {
		got, overflow, err := FitFileInfo(tt.class, tt.enc, tt.max)
		if !errors.Is(err, tt.err) || len(got) != tt.wantLen || overflow != tt.overflow {
			t.Errorf("FitFileInfo(%v, %d bytes, %d) = %d bytes, %v, %v", tt.class, len(tt.enc), tt.max, len(got), overflow, err)
		}
	}
	// A truncated name keeps its full length field, as MS-FSA requires.
	got, _, _ := FitFileInfo(FileAllInformation, all, 110)
	if le32(got[0x60:]) != 20 {
		t.Errorf("truncated FileNameLength %d, want 20", le32(got[0x60:]))
	}
}

func TestFitFileInfoStreams(t *testing.T) {
	enc, _ := AppendFileInfo(nil, FileStreamInformation, sampleFile(), nil) // 38 bytes
	got, overflow, err := FitFileInfo(FileStreamInformation, enc, 37)
	if err != nil || !overflow || len(got) != 0 {
		t.Errorf("37: %d bytes, %v, %v; want whole entries only", len(got), overflow, err)
	}
	got, overflow, err = FitFileInfo(FileStreamInformation, enc, 38)
	if err != nil || overflow || len(got) != 38 {
		t.Errorf("38: %d bytes, %v, %v", len(got), overflow, err)
	}
	// Two linked entries: the first (38 bytes, padded to 40) fits alone.
	two := append(append([]byte(nil), enc...), 0, 0)
	two = append(two, enc...)
	putU32(two, 40)
	got, overflow, _ = FitFileInfo(FileStreamInformation, two, 60)
	if !overflow || len(got) != 38 {
		t.Errorf("two entries in 60: %d bytes, %v", len(got), overflow)
	}
	// Garbage must not panic.
	for _, b := range [][]byte{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, make([]byte, 40)} {
		if _, _, err := FitFileInfo(FileStreamInformation, append(b, make([]byte, 40)...), 32); err != nil {
			t.Error(err)
		}
	}
}

func TestEffectiveAttributes(t *testing.T) {
	tests := []struct {
		fi   FileInfo
		want uint32
	}{
		{FileInfo{}, FileAttributeNormal},
		{FileInfo{Attributes: FileAttributeNormal}, FileAttributeNormal},
		{FileInfo{Attributes: FileAttributeNormal | FileAttributeHidden}, FileAttributeHidden},
		{FileInfo{Directory: true}, FileAttributeDirectory},
		{FileInfo{Directory: true, Attributes: FileAttributeReadOnly}, FileAttributeDirectory | FileAttributeReadOnly},
	}
	for _, tt := range tests {
		if got := tt.fi.EffectiveAttributes(); got != tt.want {
			t.Errorf("%+v: %#x, want %#x", tt.fi, got, tt.want)
		}
	}
}
