package fscc

import (
	"errors"
	"math"
	"testing"
	"time"
)

func TestDecodeBasic(t *testing.T) {
	b := newLayout(40).u64(0, ft2000).u64(8, 0).u64(16, math.MaxUint64).u64(24, math.MaxUint64-1).
		u32(32, FileAttributeHidden)
	got, err := DecodeBasic(b)
	if err != nil {
		t.Fatal(err)
	}
	want := BasicInfo{CreationTime: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), Attributes: FileAttributeHidden, FreezeWrite: true}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	thaw, err := DecodeBasic(newLayout(40).u64(16, math.MaxUint64-1))
	if err != nil || !thaw.ThawWrite || thaw.FreezeWrite || !thaw.LastWriteTime.IsZero() {
		t.Errorf("write time -2: %+v, %v", thaw, err)
	}
	if _, err := DecodeBasic(b[:39]); !errors.Is(err, ErrInfoLength) {
		t.Errorf("39 bytes: %v", err)
	}
	if _, err := DecodeBasic(append(b, 1, 2, 3)); err != nil {
		t.Errorf("trailing bytes: %v", err)
	}
	bad := newLayout(40).u64(8, math.MaxUint64-2) // -3
	if _, err := DecodeBasic(bad); !errors.Is(err, ErrInvalidParameter) {
		t.Errorf("time -3: %v", err)
	}
}

// The query and set layouts of FileBasicInformation are the same structure.
func TestBasicRoundTrip(t *testing.T) {
	fi := sampleFile()
	fi.CreationTime = fi.CreationTime.Add(1234500) // keeps 100ns precision
	enc, _ := AppendFileInfo(nil, FileBasicInformation, fi, nil)
	got, err := DecodeBasic(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !got.CreationTime.Equal(fi.CreationTime) || !got.LastAccessTime.Equal(fi.LastAccessTime) ||
		!got.LastWriteTime.Equal(fi.LastWriteTime) || !got.ChangeTime.Equal(fi.ChangeTime) ||
		got.Attributes != fi.Attributes {
		t.Errorf("round trip: %+v", got)
	}
}

func TestBasicValidFor(t *testing.T) {
	if err := (BasicInfo{Attributes: FileAttributeDirectory}).ValidFor(false); !errors.Is(err, ErrInvalidParameter) {
		t.Errorf("directory bit on file: %v", err)
	}
	if err := (BasicInfo{Attributes: FileAttributeTemporary}).ValidFor(true); !errors.Is(err, ErrInvalidParameter) {
		t.Errorf("temporary on directory: %v", err)
	}
	if err := (BasicInfo{Attributes: FileAttributeDirectory | FileAttributeHidden}).ValidFor(true); err != nil {
		t.Errorf("directory on directory: %v", err)
	}
}

func renameBuf(first uint32, root uint64, name string) layout {
	return newLayout(20+2*len(name)).u32(0, first).u64(8, root).u32(16, uint32(2*len(name))).ascii(20, name)
}

func TestDecodeRename(t *testing.T) {
	b := renameBuf(0xFFFFFF01, 0, `dir\new.txt`) // reserved bytes must be ignored
	got, err := DecodeRename(b)
	if err != nil {
		t.Fatal(err)
	}
	want := RenameInfo{ReplaceIfExists: true, Flags: FileRenameReplaceIfExists, FileName: `dir\new.txt`}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	got, _ = DecodeRename(renameBuf(0, 42, "x"))
	if got.ReplaceIfExists || got.Flags != 0 || got.RootDirectory != 42 {
		t.Errorf("got %+v", got)
	}
	literal := unhex(t, "01 00000000000000 0000000000000000 04000000 6100 6200")
	if got, err := DecodeRename(literal); err != nil || got.FileName != "ab" || !got.ReplaceIfExists {
		t.Errorf("literal: %+v, %v", got, err)
	}
}

func TestDecodeRenameEx(t *testing.T) {
	flags := FileRenamePosixSemantics | FileRenameIgnoreReadOnlyAttribute
	got, err := DecodeRenameEx(renameBuf(flags, 0, "n"))
	if err != nil || got.Flags != flags || got.ReplaceIfExists || got.FileName != "n" {
		t.Errorf("got %+v, %v", got, err)
	}
	got, _ = DecodeRenameEx(renameBuf(FileRenameReplaceIfExists, 0, "n"))
	if !got.ReplaceIfExists {
		t.Error("ReplaceIfExists not set from flags")
	}
}

func TestDecodeRenameErrors(t *testing.T) {
	good := renameBuf(0, 0, "abc")
	tests := []struct {
		name string
		b    []byte
		err  error
	}{
		{"empty", nil, ErrInfoLength},
		{"short header", good[:19], ErrInfoLength},
		{"name past end", good[:25], ErrInfoLength},
		{"huge length", newLayout(24).u32(16, 0xFFFFFFFF), ErrInfoLength},
		{"zero length", newLayout(24), ErrInvalidParameter},
		{"odd length", newLayout(24).u32(16, 3), ErrInvalidParameter},
		{"lone surrogate", newLayout(22).u32(16, 2).u16(20, 0xD800), ErrInvalidName},
	}
	for _, tt := range tests {
		if _, err := DecodeRename(tt.b); !errors.Is(err, tt.err) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.err)
		}
		if _, err := DecodeRenameEx(tt.b); !errors.Is(err, tt.err) {
			t.Errorf("Ex %s: %v, want %v", tt.name, err, tt.err)
		}
	}
}

func TestDecodeSmallSetInfo(t *testing.T) {
	if v, err := DecodeDisposition([]byte{1}); err != nil || !v {
		t.Errorf("disposition 1: %v %v", v, err)
	}
	if v, err := DecodeDisposition([]byte{0}); err != nil || v {
		t.Errorf("disposition 0: %v %v", v, err)
	}
	if _, err := DecodeDisposition(nil); !errors.Is(err, ErrInfoLength) {
		t.Errorf("disposition empty: %v", err)
	}
	ex := FileDispositionDelete | FileDispositionPosixSemantics | FileDispositionOnClose | FileDispositionIgnoreReadOnlyAttribute
	if v, err := DecodeDispositionEx(newLayout(4).u32(0, ex)); err != nil || v != ex {
		t.Errorf("dispositionEx: %#x %v", v, err)
	}
	if _, err := DecodeDispositionEx(newLayout(4).u32(0, 0x20)); !errors.Is(err, ErrInvalidParameter) {
		t.Errorf("dispositionEx unknown bit: %v", err)
	}
	if _, err := DecodeDispositionEx([]byte{1, 0, 0}); !errors.Is(err, ErrInfoLength) {
		t.Errorf("dispositionEx short: %v", err)
	}
	for name, dec := range map[string]func([]byte) (int64, error){
		"eof": DecodeEndOfFile, "allocation": DecodeAllocation, "position": DecodePosition,
	} {
		if v, err := dec(newLayout(8).u64(0, 1<<40)); err != nil || v != 1<<40 {
			t.Errorf("%s: %d %v", name, v, err)
		}
		if _, err := dec(newLayout(8).u64(0, 1<<63)); !errors.Is(err, ErrInvalidParameter) {
			t.Errorf("%s negative: %v", name, err)
		}
		if _, err := dec(make([]byte, 7)); !errors.Is(err, ErrInfoLength) {
			t.Errorf("%s short: %v", name, err)
		}
	}
	if v, err := DecodeMode(newLayout(4).u32(0, FileWriteThrough|FileSequentialOnly)); err != nil || v != 6 {
		t.Errorf("mode: %d %v", v, err)
	}
	if _, err := DecodeMode(newLayout(4).u32(0, FileSynchronousIOAlert)); !errors.Is(err, ErrInvalidParameter) {
		t.Errorf("mode sync bit: %v", err)
	}
	if _, err := DecodeMode([]byte{0}); !errors.Is(err, ErrInfoLength) {
		t.Errorf("mode short: %v", err)
	}
}

// FuzzDecodeSetInfo feeds arbitrary buffers to every SET_INFO decoder: none
// may panic, and every error must be one of the sentinels.
func FuzzDecodeSetInfo(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte(renameBuf(1, 0, `a\b`)))
	f.Add([]byte(newLayout(40).u64(0, ft2000)))
	f.Add([]byte(newLayout(24).u32(16, 0xFFFFFFFE)))
	f.Fuzz(func(t *testing.T, b []byte) {
		check := func(err error) {
			if err != nil && !errors.Is(err, ErrInfoLength) && !errors.Is(err, ErrInvalidParameter) &&
				!errors.Is(err, ErrInvalidName) {
				t.Fatalf("unexpected error %v", err)
			}
		}
		_, err := DecodeBasic(b)
		check(err)
		r, err := DecodeRename(b)
		check(err)
		if err == nil && 2*UTF16Len(r.FileName) != int(le32(b[16:])) {
			t.Fatalf("name %q does not re-encode to %d bytes", r.FileName, le32(b[16:]))
		}
		_, err = DecodeRenameEx(b)
		check(err)
		_, err = DecodeDisposition(b)
		check(err)
		_, err = DecodeDispositionEx(b)
		check(err)
		_, err = DecodeEndOfFile(b)
		check(err)
		_, err = DecodeMode(b)
		check(err)
	})
}

func TestEncodeRenameRoundTrip(t *testing.T) {
	for _, replace := range []bool{false, true} {
		r, err := DecodeRename(EncodeRename(`dir\naïve.txt`, replace))
		if err != nil || r.FileName != `dir\naïve.txt` || r.ReplaceIfExists != replace || r.RootDirectory != 0 {
			t.Fatalf("round trip: %+v, %v", r, err)
		}
	}
}
