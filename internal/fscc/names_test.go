package fscc

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestValidComponent(t *testing.T) {
	tests := []struct {
		name string
		err  error
	}{
		{"file.txt", nil},
		{"with space", nil},
		{"trailing dot.", nil},
		{"trailing space ", nil},
		{"...", nil},
		{".hidden", nil},
		{"ünïcödé 名前 \U0001F600", nil},
		{strings.Repeat("a", 255), nil},
		{strings.Repeat("é", 255), nil},
		{strings.Repeat("a", 256), ErrNameTooLong},
		{strings.Repeat("\U0001F600", 128), ErrNameTooLong}, // 256 UTF-16 units
		{strings.Repeat("\U0001F600", 127) + "a", nil},      // 255 units
		{"", ErrInvalidName},
		{".", ErrInvalidName},
		{"..", ErrInvalidName},
		{"a\x00b", ErrInvalidName},
		{"a\x1fb", ErrInvalidName},
		{"tab\t", ErrInvalidName},
		{"\xff\xfe", ErrInvalidName},
	}
	for _, c := range `"*/:<>?\|` {
		tests = append(tests, struct {
			name string
			err  error
		}{"a" + string(c) + "b", ErrInvalidName})
	}
	for _, tt := range tests {
		if err := ValidComponent(tt.name); !errors.Is(err, tt.err) {
			t.Errorf("ValidComponent(%q) = %v, want %v", tt.name, err, tt.err)
		}
	}
}

func TestParsePath(t *testing.T) {
	tests := []struct {
		path     string
		want     []string
		dflt     bool
		trailing bool
		err      error
	}{
		{"", nil, false, false, nil},
		{`\`, nil, false, false, nil},
		{`dir\sub\file.txt`, []string{"dir", "sub", "file.txt"}, false, false, nil},
		{`\dir\file`, []string{"dir", "file"}, false, false, nil},
		{`dir/sub\\file`, []string{"dir", "sub", "file"}, false, false, nil},
		{`dir\`, []string{"dir"}, false, true, nil},
		{`a\.\b`, []string{"a", "b"}, false, false, nil},
		{`a\b\..\c`, []string{"a", "c"}, false, false, nil},
		{`a\..`, nil, false, false, nil},
		{`a\b\..\..\c`, []string{"c"}, false, false, nil},
		{`.`, nil, false, false, nil},
		{`..`, nil, false, false, ErrPathOutsideShare},
		{`\..\etc`, nil, false, false, ErrPathOutsideShare},
		{`a\..\..\b`, nil, false, false, ErrPathOutsideShare},
		{`file::$DATA`, []string{"file"}, true, false, nil},
		{`dir\file::$data`, []string{"dir", "file"}, true, false, nil},
		{`file:stream`, []string{"file"}, false, false, nil},
		{`file:stream:$DATA`, []string{"file"}, false, false, nil},
		{`dir\file:Str eam:$data`, []string{"dir", "file"}, false, false, nil},
		{`file:`, nil, false, false, ErrInvalidName},
		{`file::`, nil, false, false, ErrInvalidName},
		{`file:s:$INDEX_ALLOCATION`, nil, false, false, ErrInvalidName},
		{`file:s:$DATA:x`, nil, false, false, ErrInvalidName},
		{`file:?s*`, []string{"file"}, false, false, nil}, // NTFS allows these in stream names
		{"file:\x05s\n", []string{"file"}, false, false, nil},
		{"file:s\x00", nil, false, false, ErrInvalidName},
		{`file:` + strings.Repeat("x", 256), nil, false, false, ErrNameTooLong},
		{`::$DATA`, nil, false, false, ErrInvalidName},
		{`..::$DATA`, nil, false, false, ErrInvalidName},
		{`dir:s\file`, nil, false, false, ErrInvalidName},
		{`file::$DATA\`, nil, false, false, ErrInvalidName},
		{`a\*.txt`, nil, false, false, ErrInvalidName},
		{`a\b?`, nil, false, false, ErrInvalidName},
		{"a\\b\x00", nil, false, false, ErrInvalidName},
		{`a\` + strings.Repeat("x", 256), nil, false, false, ErrNameTooLong},
	}
	for _, tt := range tests {
		p, err := ParsePath(tt.path)
		if !errors.Is(err, tt.err) {
			t.Errorf("ParsePath(%q) error %v, want %v", tt.path, err, tt.err)
			continue
		}
		if err != nil {
			continue
		}
		if !reflect.DeepEqual(p.Components, tt.want) && !(len(p.Components) == 0 && len(tt.want) == 0) {
			t.Errorf("ParsePath(%q) = %q, want %q", tt.path, p.Components, tt.want)
		}
		if p.DefaultStream != tt.dflt || p.TrailingSeparator != tt.trailing {
			t.Errorf("ParsePath(%q) DefaultStream %v TrailingSeparator %v", tt.path, p.DefaultStream, p.TrailingSeparator)
		}
		comps, err := SplitPath(tt.path)
		if p.Stream != "" {
			continue // SplitPath refuses streams (TestParsePathStream)
		}
		if err != nil || len(comps) != len(p.Components) {
			t.Errorf("SplitPath(%q) = %q, %v", tt.path, comps, err)
		}
	}
}

func TestPathString(t *testing.T) {
	p, _ := ParsePath(`/a//b\c\`)
	if got := p.String(); got != `a\b\c` {
		t.Errorf("String = %q", got)
	}
}

// TestParsePathBackToRoot is a crasher FuzzParsePath found: "0\.." goes
// back to the share root, an empty (non-nil) component list, whose
// canonical form "" parses to a nil one. Both name the root; the fuzz
// property compared them with reflect.DeepEqual, which tells nil from
// empty.
func TestParsePathBackToRoot(t *testing.T) {
	p, err := ParsePath(`0\..`)
	if err != nil || len(p.Components) != 0 || p.String() != "" {
		t.Fatalf("ParsePath = %q (%q), %v", p.Components, p.String(), err)
	}
	again, err := ParsePath(p.String())
	if err != nil || !slices.Equal(again.Components, p.Components) {
		t.Fatalf("canonical form re-parses as %q, %v", again.Components, err)
	}
}

func FuzzParsePath(f *testing.F) {
	for _, s := range []string{`a\b\..\c`, `file::$DATA`, `\..\x`, `a:b:c`, "", `\\\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePath(s)
		if err != nil {
			return
		}
		for _, c := range p.Components {
			if err := ValidComponent(c); err != nil {
				t.Fatalf("ParsePath(%q) returned invalid component %q: %v", s, c, err)
			}
		}
		// The canonical form parses to itself.
		again, err := ParsePath(p.String())
		if err != nil || !slices.Equal(again.Components, p.Components) {
			t.Fatalf("canonical %q of %q re-parses as %q, %v", p.String(), s, again.Components, err)
		}
	})
}

// TestParsePathStream: the stream name is returned without its suffix,
// and SplitPath still refuses a named stream.
func TestParsePathStream(t *testing.T) {
	for in, want := range map[string]string{
		`f:s`: "s", `d\f:S t:$DATA`: "S t", `f:x:$data`: "x", `f::$DATA`: "", `f`: "",
	} {
		p, err := ParsePath(in)
		if err != nil || p.Stream != want {
			t.Errorf("ParsePath(%q).Stream = %q, %v; want %q", in, p.Stream, err, want)
		}
	}
	if _, err := SplitPath(`f:s`); !errors.Is(err, ErrStreamsNotSupported) {
		t.Errorf("SplitPath of a stream: %v", err)
	}
}
