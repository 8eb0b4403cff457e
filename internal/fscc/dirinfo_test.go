package fscc

import (
	"errors"
	"testing"
)

// wantDirEntry builds the expected entry for sampleFile from the MS-FSCC
// 2.4 field offsets.
func wantDirEntry(class InfoClass) []byte {
	const name = "a.txt"
	common := func(size int) layout {
		return newLayout(size).u32(4, 7).sampleTimes(8).
			u64(40, 5).u64(48, 4096).u32(56, FileAttributeArchive).u32(60, 10)
	}
	switch class {
	case FileDirectoryInformation: // FileName at 64
		return common(64+10).ascii(64, name)
	case FileFullDirectoryInformation: // EaSize 64, FileName 68
		return common(68+10).u32(64, 3).ascii(68, name)
	case FileBothDirectoryInformation: // EaSize 64, ShortNameLength 68, ShortName 70..94, FileName 94
		return common(94+10).u32(64, 3).u8(68, 10).ascii(70, "A.TXT").ascii(94, name)
	case FileIDBothDirectoryInformation: // ... Reserved2 94, FileId 96, FileName 104
		return common(104+10).u32(64, 3).u8(68, 10).ascii(70, "A.TXT").
			u64(96, 0x1122334455667788).ascii(104, name)
	case FileIDFullDirectoryInformation: // EaSize 64, Reserved 68, FileId 72, FileName 80
		return common(80+10).u32(64, 3).u64(72, 0x1122334455667788).ascii(80, name)
	case FileIDExtdDirectoryInformation: // EaSize 64, ReparsePointTag 68, FileId[16] 72, FileName 88
		return common(88+10).u32(64, 3).u64(72, 0x1122334455667788).ascii(88, name)
	case FileNamesInformation: // FileIndex 4, FileNameLength 8, FileName 12
		return newLayout(12+10).u32(4, 7).u32(8, 10).ascii(12, name)
	}
	panic("unexpected class")
}

var dirClasses = []InfoClass{
	FileDirectoryInformation, FileFullDirectoryInformation, FileBothDirectoryInformation,
	FileNamesInformation, FileIDBothDirectoryInformation, FileIDFullDirectoryInformation,
	FileIDExtdDirectoryInformation,
}

func TestAppendDirEntryGolden(t *testing.T) {
	for _, class := range dirClasses {
		prefix := []byte{0xAA, 0xBB}
		got, err := AppendDirEntry(prefix, class, sampleFile())
		if err != nil {
			t.Fatalf("%v: %v", class, err)
		}
		checkBytes(t, "prefix kept", got[:2], []byte{0xAA, 0xBB})
		checkBytes(t, class.String(), got[2:], wantDirEntry(class))
		size, err := DirEntrySize(class, sampleFile())
		if err != nil || size != len(got)-2 {
			t.Errorf("%v: DirEntrySize = %d, %v; encoded %d", class, size, err, len(got)-2)
		}
		fixed, _ := DirEntryMinSize(class)
		if fixed+10 != size {
			t.Errorf("%v: DirEntryMinSize %d + name 10 != %d", class, fixed, size)
		}
	}
}

func TestAppendDirEntryLiteral(t *testing.T) {
	fi := &FileInfo{Name: "ab", FileIndex: 7}
	got, err := AppendDirEntry(nil, FileNamesInformation, fi)
	if err != nil {
		t.Fatal(err)
	}
	checkBytes(t, "FileNamesInformation", got, unhex(t, "00000000 07000000 04000000 6100 6200"))
}

func TestAppendDirEntryDetails(t *testing.T) {
	t.Run("directory attributes", func(t *testing.T) {
		fi := &FileInfo{Name: "d", Directory: true}
		b, _ := AppendDirEntry(nil, FileDirectoryInformation, fi)
		if got := le32(b[56:]); got != FileAttributeDirectory {
			t.Errorf("attributes %#x, want DIRECTORY", got)
		}
	})
	t.Run("normal when none", func(t *testing.T) {
		b, _ := AppendDirEntry(nil, FileDirectoryInformation, &FileInfo{Name: "f"})
		if got := le32(b[56:]); got != FileAttributeNormal {
			t.Errorf("attributes %#x, want NORMAL", got)
		}
	})
	t.Run("long short name truncated", func(t *testing.T) {
		fi := &FileInfo{Name: "x", ShortName: "ABCDEFGHIJKLMNOP"}
		b, _ := AppendDirEntry(nil, FileBothDirectoryInformation, fi)
		if b[68] != 24 {
			t.Errorf("ShortNameLength %d, want 24", b[68])
		}
		checkBytes(t, "ShortName", b[70:94], newLayout(24).ascii(0, "ABCDEFGHIJKL"))
		checkBytes(t, "FileName", b[94:], []byte{'x', 0})
	})
	t.Run("short name surrogate not split", func(t *testing.T) {
		fi := &FileInfo{Name: "x", ShortName: "ABCDEFGHIJK\U0001F600"}
		b, _ := AppendDirEntry(nil, FileBothDirectoryInformation, fi)
		if b[68] != 22 {
			t.Errorf("ShortNameLength %d, want 22", b[68])
		}
	})
	t.Run("non-ASCII name", func(t *testing.T) {
		fi := &FileInfo{Name: "é\U0001F600"}
		b, _ := AppendDirEntry(nil, FileNamesInformation, fi)
		checkBytes(t, "name", b[8:], unhex(t, "06000000 e900 3dd8 00de"))
	})
	t.Run("invalid class", func(t *testing.T) {
		b, err := AppendDirEntry([]byte{1}, FileBasicInformation, sampleFile())
		if !errors.Is(err, ErrInvalidInfoClass) || len(b) != 1 {
			t.Errorf("got %x, %v", b, err)
		}
		if _, err := DirEntrySize(FileBasicInformation, sampleFile()); !errors.Is(err, ErrInvalidInfoClass) {
			t.Errorf("DirEntrySize: %v", err)
		}
	})
}

func TestDirWriter(t *testing.T) {
	w, err := NewDirWriter(FileNamesInformation, 40)
	if err != nil {
		t.Fatal(err)
	}
	if !w.Add(&FileInfo{Name: "a", FileIndex: 1}) { // 14 bytes at 0
		t.Fatal("first Add failed")
	}
	if !w.Add(&FileInfo{Name: "bc", FileIndex: 2}) { // 16 bytes at 16
		t.Fatal("second Add failed")
	}
	before := append([]byte(nil), w.Bytes()...)
	if w.Add(&FileInfo{Name: "d"}) { // would need 32+14 = 46 > 40
		t.Fatal("third Add should not fit")
	}
	checkBytes(t, "unchanged after failed Add", w.Bytes(), before)
	want := newLayout(32).
		u32(0, 16).u32(4, 1).u32(8, 2).ascii(12, "a").
		u32(20, 2).u32(24, 4).ascii(28, "bc")
	checkBytes(t, "two entries", w.Bytes(), want)
	if w.Count() != 2 || w.Len() != 32 {
		t.Errorf("Count %d Len %d", w.Count(), w.Len())
	}
	if w.Add(&FileInfo{FileIndex: 3}) { // even a 12-byte entry: 32+12 > 40
		t.Error("empty-name entry should not fit in 40 bytes")
	}
	w.Reset()
	if w.Len() != 0 || w.Count() != 0 {
		t.Fatal("Reset did not empty the writer")
	}
	if !w.Add(&FileInfo{Name: "bc", FileIndex: 2}) {
		t.Fatal("Add after Reset failed")
	}
	checkBytes(t, "after Reset", w.Bytes(), newLayout(16).u32(4, 2).u32(8, 4).ascii(12, "bc"))
}

func TestDirWriterExactFit(t *testing.T) {
	w, _ := NewDirWriter(FileDirectoryInformation, 64+2)
	if !w.Add(&FileInfo{Name: "a"}) {
		t.Fatal("entry of exactly maxLen bytes must fit")
	}
	w, _ = NewDirWriter(FileDirectoryInformation, 64+1)
	if w.Add(&FileInfo{Name: "a"}) {
		t.Fatal("entry one byte over maxLen must not fit")
	}
	if w.Count() != 0 || w.Len() != 0 {
		t.Fatal("failed first Add changed the writer")
	}
}

func TestNewDirWriterErrors(t *testing.T) {
	if _, err := NewDirWriter(FileStandardInformation, 100); !errors.Is(err, ErrInvalidInfoClass) {
		t.Errorf("bad class: %v", err)
	}
	if _, err := NewDirWriter(FileDirectoryInformation, -1); !errors.Is(err, ErrInvalidParameter) {
		t.Errorf("negative max: %v", err)
	}
}

// checkDirBuffer verifies the structural invariants of a DirWriter buffer:
// entries start 8-byte aligned, NextEntryOffset links them, the last is 0,
// and each entry's FileNameLength stays inside the buffer.
func checkDirBuffer(t *testing.T, class InfoClass, buf []byte, count int) {
	t.Helper()
	fixed, _ := DirEntryMinSize(class)
	nameLenOff := 60
	if class == FileNamesInformation {
		nameLenOff = 8
	}
	off, seen := 0, 0
	for len(buf) > 0 {
		if off%8 != 0 || off+fixed > len(buf) {
			t.Fatalf("entry at %d misaligned or truncated (len %d)", off, len(buf))
		}
		seen++
		end := off + fixed + int(le32(buf[off+nameLenOff:]))
		next := int(le32(buf[off:]))
		if next == 0 {
			if end != len(buf) {
				t.Fatalf("last entry ends at %d, buffer %d", end, len(buf))
			}
			break
		}
		if next < end-off || next-(end-off) >= 8 {
			t.Fatalf("NextEntryOffset %d for entry of %d bytes", next, end-off)
		}
		off += next
	}
	if seen != count {
		t.Fatalf("walked %d entries, Count %d", seen, count)
	}
}

func TestDirWriterManyEntries(t *testing.T) {
	for _, class := range dirClasses {
		w, _ := NewDirWriter(class, 1000)
		names := []string{"a", "bb", "ccc", "dddd", "eeeee", "ffffff", "g", "hh", "iii", "jjjj"}
		n := 0
		for _, name := range names {
			if !w.Add(&FileInfo{Name: name}) {
				break
			}
			n++
		}
		if w.Len() > 1000 {
			t.Fatalf("%v: %d bytes > max", class, w.Len())
		}
		checkDirBuffer(t, class, w.Bytes(), n)
	}
}

func FuzzDirWriter(f *testing.F) {
	f.Add(uint8(3), "hello.txt", "HELLO.TXT", 200)
	f.Add(uint8(12), "", "", 12)
	f.Add(uint8(60), "\xff\xfe", "\U0001F600", 0)
	f.Fuzz(func(t *testing.T, class uint8, name, short string, max int) {
		max %= 4096
		w, err := NewDirWriter(InfoClass(class), max)
		if err != nil {
			return
		}
		for i := range 5 {
			if !w.Add(&FileInfo{Name: name[:len(name)*i/4], ShortName: short}) {
				break
			}
		}
		if w.Len() > max {
			t.Fatalf("buffer %d > max %d", w.Len(), max)
		}
		checkDirBuffer(t, InfoClass(class), w.Bytes(), w.Count())
	})
}
