package fscc

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// TestFullEARoundTrip: a list encodes and decodes back, entries aligned
// to 4 bytes, EASize counting the aligned sizes.
func TestFullEARoundTrip(t *testing.T) {
	eas := []EA{{Name: "A", Value: []byte("xyz")}, {Flags: FileNeedEA, Name: "LONGER.NAME", Value: nil}, {Name: "C", Value: bytes.Repeat([]byte{7}, 300)}}
	enc := AppendFullEAs(nil, eas)
	// "A": 8+1+1+3 = 13 -> 16; "LONGER.NAME": 8+11+1 = 20; "C": 8+1+1+300 = 310.
	if len(enc) != 16+20+310 {
		t.Fatalf("encoded %d bytes", len(enc))
	}
	if got := EASize(eas); got != 16+20+312 {
		t.Fatalf("EASize %d", got)
	}
	dec, err := DecodeFullEAList(enc)
	if err != nil || len(dec) != 3 {
		t.Fatalf("decode: %v %v", dec, err)
	}
	for i := range eas {
		if dec[i].Name != eas[i].Name || dec[i].Flags != eas[i].Flags || !bytes.Equal(dec[i].Value, eas[i].Value) {
			t.Errorf("entry %d: %+v", i, dec[i])
		}
	}
	names, err := DecodeGetEAList(AppendGetEAs(nil, []string{"A", "BB"}))
	if err != nil || len(names) != 2 || names[1] != "BB" {
		t.Fatalf("get list: %q %v", names, err)
	}
}

// TestEAListMalformed: truncations, offsets pointing backwards or out of
// the buffer, a missing NUL and invalid names are refused, never a panic.
func TestEAListMalformed(t *testing.T) {
	good := AppendFullEAs(nil, []EA{{Name: "A", Value: []byte("v")}, {Name: "B"}})
	for n := 0; n < len(good); n++ {
		if _, err := DecodeFullEAList(good[:n]); err == nil {
			t.Errorf("truncated to %d accepted", n)
		}
	}
	bad := append([]byte(nil), good...)
	bad[0] = 4 // NextEntryOffset inside the entry
	if _, err := DecodeFullEAList(bad); !errors.Is(err, ErrEAList) {
		t.Errorf("short offset: %v", err)
	}
	bad = append([]byte(nil), good...)
	bad[9] = 'x' // NUL terminator of "A" overwritten
	if _, err := DecodeFullEAList(bad); !errors.Is(err, ErrEAList) {
		t.Errorf("missing NUL: %v", err)
	}
	for _, name := range []string{"", "a*b", "a:b", "a\x01", "é", string(bytes.Repeat([]byte{'x'}, 256))} {
		if err := ValidEAName(name); !errors.Is(err, ErrEAName) {
			t.Errorf("ValidEAName(%q) = %v", name, err)
		}
	}
	if _, err := DecodeFullEAList(AppendFullEAs(nil, []EA{{Name: "a?"}})); !errors.Is(err, ErrEAName) {
		t.Errorf("invalid name in a list: %v", err)
	}
}

// FuzzEAList: the EA list parsers never panic, and what they accept
// re-encodes to a list they accept again with the same content.
func FuzzEAList(f *testing.F) {
	f.Add(AppendFullEAs(nil, []EA{{Name: "A", Value: []byte("v")}, {Flags: FileNeedEA, Name: "B"}}))
	f.Add(AppendGetEAs(nil, []string{"A", "BB"}))
	f.Add([]byte{0, 0, 0, 0, 0, 1, 0, 0, 'A', 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		if eas, err := DecodeFullEAList(b); err == nil {
			again, err := DecodeFullEAList(AppendFullEAs(nil, eas))
			if err != nil || len(again) != len(eas) {
				t.Fatalf("re-decode: %v (%d vs %d)", err, len(again), len(eas))
			}
			for i := range eas {
				if again[i].Name != eas[i].Name || !bytes.Equal(again[i].Value, eas[i].Value) || again[i].Flags != eas[i].Flags {
					t.Fatalf("entry %d differs", i)
				}
			}
		}
		if names, err := DecodeGetEAList(b); err == nil {
			for _, n := range names {
				if ValidEAName(n) != nil {
					t.Fatalf("invalid name %q accepted", n)
				}
			}
		}
	})
}

// FuzzStreamName: ParsePath never panics; a stream it returns is a valid
// stream name and never contains a separator.
func FuzzStreamName(f *testing.F) {
	for _, s := range []string{`f:s`, `d\f:s:$DATA`, `f::$DATA`, `f:..:$DATA`, `f:a/b`, "f:\x00", `a:b\c`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePath(s)
		if err != nil {
			return
		}
		if p.Stream != "" {
			if ValidStreamName(p.Stream) != nil || strings.ContainsAny(p.Stream, `\/:`) || len(p.Components) == 0 {
				t.Fatalf("ParsePath(%q) stream %q, components %q", s, p.Stream, p.Components)
			}
		}
		for _, c := range p.Components {
			if ValidComponent(c) != nil {
				t.Fatalf("ParsePath(%q) component %q", s, c)
			}
		}
	})
}
