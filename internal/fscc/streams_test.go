package fscc

import (
	"encoding/binary"
	"testing"
)

// TestAppendStreamEntries: entries aligned to 8 bytes, linked by
// NextEntryOffset (0 in the last), names ":name:$DATA" in UTF-16, and
// FitFileInfo cuts at a whole entry.
func TestAppendStreamEntries(t *testing.T) {
	enc := AppendStreamEntries(nil, []StreamEntry{{Name: "", Size: 5, AllocationSize: 4096}, {Name: "ab", Size: 1, AllocationSize: 8}})
	// "::$DATA" is 7 units: 24+14 = 38, padded to 40; ":ab:$DATA" 9 units: 24+18.
	if len(enc) != 40+42 {
		t.Fatalf("length %d", len(enc))
	}
	if next := binary.LittleEndian.Uint32(enc); next != 40 {
		t.Fatalf("NextEntryOffset %d", next)
	}
	if n := binary.LittleEndian.Uint32(enc[4:]); n != 14 {
		t.Fatalf("first name length %d", n)
	}
	second := enc[40:]
	if binary.LittleEndian.Uint32(second) != 0 || binary.LittleEndian.Uint32(second[4:]) != 18 ||
		binary.LittleEndian.Uint64(second[8:]) != 1 || binary.LittleEndian.Uint64(second[16:]) != 8 {
		t.Fatalf("second entry % x", second[:24])
	}
	if got := string(second[24:26]); got != ":\x00" {
		t.Fatalf("second name starts %q", got)
	}
	out, overflow, err := FitFileInfo(FileStreamInformation, enc, 60)
	if err != nil || !overflow || len(out) != 38 {
		t.Fatalf("fit: %d %v %v", len(out), overflow, err)
	}
	if len(AppendStreamEntries(nil, nil)) != 0 {
		t.Fatal("no entries encode as something")
	}
}
