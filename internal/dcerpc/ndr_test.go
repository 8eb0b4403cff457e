package dcerpc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

func TestNDRWriterGolden(t *testing.T) {
	w := newNDRWriter(0)
	var d ndrStrings
	w.stringPtr("IPC$", &d)
	w.uint32(0x80000003)
	w.stringPtr("", &d)
	w.pointer(false)
	w.flush(&d)
	w.uint32(7)
	want := mustHex(t, `
		00000200 03000080 04000200 00000000
		05000000 00000000 05000000 4900 5000 4300 2400 0000 0000
		01000000 00000000 01000000 0000 0000
		07000000`)
	if !bytes.Equal(w.bytes(), want) {
		t.Fatalf("got  % x\nwant % x", w.bytes(), want)
	}
	if len(d) != 0 {
		t.Fatalf("flush left %d strings queued", len(d))
	}
}

func TestNDRWriterSurrogatesAndInvalidUTF8(t *testing.T) {
	w := newNDRWriter(0)
	w.str("a😀\xff")
	// 'a', U+1F600 as a surrogate pair, U+FFFD, NUL: 5 code units.
	want := mustHex(t, `05000000 00000000 05000000 6100 3dd8 00de fdff 0000`)
	if !bytes.Equal(w.bytes(), want) {
		t.Fatalf("got  % x\nwant % x", w.bytes(), want)
	}
}

func TestNDRStringSizeMatchesWriter(t *testing.T) {
	for _, s := range []string{"", "a", "ab", "abc", "IPC$", "Öffentlich", "😀", "x😀y", "\xff\xfe", "comment for share 12"} {
		w := newNDRWriter(0)
		w.str(s)
		w.align(4)
		if got := ndrStringSize(s); got != len(w.bytes()) {
			t.Errorf("ndrStringSize(%q) = %d, writer wrote %d", s, got, len(w.bytes()))
		}
	}
}

func TestNDRReaderImpacketStrings(t *testing.T) {
	// NetrShareGetInfo(ServerName=NULL, NetName="IPC$\x00", Level=2) as
	// impacket marshals it: note its 0xbf alignment padding.
	stub := readHex(t, "stub_netrsharegetinfo_ipc_l2.hex")
	r := newNDRReader(stub)
	if s, ok := r.uniqueStr(); ok || s != "" {
		t.Fatalf("ServerName = %q, %v; want NULL", s, ok)
	}
	if s := r.str(); s != "IPC$" {
		t.Fatalf("NetName = %q", s)
	}
	if l := r.uint32(); l != 2 || r.err != nil || r.off != len(stub) {
		t.Fatalf("level %d err %v off %d/%d", l, r.err, r.off, len(stub))
	}

	// NetrWkstaGetInfo: ServerName is ten NULs; the string ends at the first.
	stub = readHex(t, "stub_netrwkstagetinfo_l100.hex")
	r = newNDRReader(stub)
	if s, ok := r.uniqueStr(); !ok || s != "" {
		t.Fatalf("ServerName = %q, %v", s, ok)
	}
	if l := r.uint32(); l != 100 || r.err != nil {
		t.Fatalf("level %d err %v", l, r.err)
	}
}

func TestNDRRoundTrip(t *testing.T) {
	for _, s := range []string{"", "x", "IPC$", "Öffentlich", "ünïcode 😀", "a longer comment with spaces"} {
		w := newNDRWriter(0)
		w.uint32(1)
		w.str(s)
		w.uint32(2)
		r := newNDRReader(w.bytes())
		if v := r.uint32(); v != 1 {
			t.Fatalf("%q: first %d", s, v)
		}
		if got := r.str(); got != s {
			t.Fatalf("round trip %q -> %q", s, got)
		}
		if v := r.uint32(); v != 2 || r.err != nil || r.off != len(w.bytes()) {
			t.Fatalf("%q: trailer %d err %v", s, v, r.err)
		}
	}
}

func TestNDRReaderRejectsHostileInput(t *testing.T) {
	le := binary.LittleEndian
	hdr := func(maxCount, offset, actual uint32) []byte {
		b := le.AppendUint32(nil, maxCount)
		b = le.AppendUint32(b, offset)
		return le.AppendUint32(b, actual)
	}
	cases := map[string][]byte{
		"empty":                {},
		"short header":         {1, 0, 0, 0, 0, 0},
		"offset not zero":      append(hdr(4, 1, 2), 0x41, 0, 0, 0),
		"actual over max":      append(hdr(1, 0, 2), 0x41, 0, 0, 0),
		"huge count no data":   hdr(0xffffffff, 0, 0xfffffff0),
		"over the length cap":  hdr(maxNDRStringChars+1, 0, maxNDRStringChars+1),
		"data truncated":       append(hdr(3, 0, 3), 0x41, 0),
		"count fits, data odd": append(hdr(1, 0, 1), 0x41),
	}
	for name, b := range cases {
		r := newNDRReader(b)
		if s := r.str(); s != "" || r.err == nil {
			t.Errorf("%s: got %q, err %v; want an error", name, s, r.err)
			continue
		}
		if !errors.Is(r.err, errNDR) {
			t.Errorf("%s: error %v does not wrap errNDR", name, r.err)
		}
		// The error sticks and later reads return zero values.
		if v := r.uint32(); v != 0 {
			t.Errorf("%s: read %d after an error", name, v)
		}
	}
}

func TestNDRReaderAlignment(t *testing.T) {
	// A string of one code unit leaves the stream 2 octets off; the next
	// uint32 skips the padding whatever its value.
	b := mustHex(t, `01000000 00000000 01000000 4100 abab 2a000000`)
	r := newNDRReader(b)
	if s := r.str(); s != "A" {
		t.Fatalf("str %q err %v", s, r.err)
	}
	if v := r.uint32(); v != 42 || r.err != nil {
		t.Fatalf("uint32 %d err %v", v, r.err)
	}
	// Padding that runs past the end is an error, not a panic.
	r = newNDRReader(b[:14])
	r.str()
	if r.uint32(); r.err == nil {
		t.Fatal("expected truncation error")
	}
}

func TestNDRPointerReferentIDs(t *testing.T) {
	w := newNDRWriter(0)
	w.pointer(true)
	w.pointer(false)
	w.pointer(true)
	want := mustHex(t, `00000200 00000000 04000200`)
	if !bytes.Equal(w.bytes(), want) {
		t.Fatalf("got % x want % x", w.bytes(), want)
	}
}
