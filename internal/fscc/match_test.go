package fscc

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		// Special cases of MS-FSA 2.1.4.4 part 1.
		{"", "", true},
		{"", "a", false},
		{"*", "", false},
		{"*", "anything.at.all", true},
		{"*.*", "noextension", true},
		{"*.*", "a.b", true},

		// Literals, case-insensitively.
		{"README.TXT", "readme.txt", true},
		{"readme.txt", "README.TXT", true},
		{"readme.txt", "readme.txt2", false},
		{"ÄÖÜ", "äöü", true},
		{"ΣΊΣΥΦΟΣ", "σίσυφος", true},
		{"ς", "Σ", true},      // final sigma folds with sigma
		{"K", "\u212a", true}, // Kelvin sign folds with K

		// '*' and '?'.
		{"*.txt", "a.txt", true},
		{"*.txt", "a.TXT", true},
		{"*.txt", "a.txt.bak", false},
		{"*.txt", ".txt", true},
		{"a*", "a", true},
		{"a*b*c", "aXXbYYc", true},
		{"a*b*c", "aXXcYYb", false},
		{"*a", "bca", true},
		{"*ab*", "xxabyy", true},
		{"**", "x", true},
		{"?", "a", true},
		{"?", "ab", false},
		{"???", "ab", false},
		{"???", "abc", true},
		{"???.", "abc.", true},
		{"???.", "abc", false},
		{"a?c", "a.c", true},
		{"*.", "abc", false}, // untranslated: a literal trailing dot
		{"*.", "abc.", true},

		// DOS_STAR '<': Win32 "*." (names without extension).
		{"<", "abc", true},
		{"<", "a.b", false},
		{"<", "abc.", true},
		{"<.txt", "a.txt", true},
		{"<.txt", "a.b.txt", true},
		{"<.txt", "a.txt.b", false},
		{"<txt", "a.txt", true}, // DOS_STAR may consume the last dot
		{"<.<", "a.b", true},
		{"<.<", "abc", false},
		{"a<", "a.b.c", false},
		{"a<", "ab", true},

		// DOS_QM '>': Win32 '?'.
		{">", "a", true},
		{">", "ab", false},
		{">>>", "ab", true},
		{">>>", "abc", true},
		{">>>", "abcd", false},
		{">>>>>>>>\">>>", "abc.de", true}, // Win32 ????????.???
		{">>>>>>>>\">>>", "abc", true},
		{">>>>>>>>\">>>", "abcdefghi.txt", false},
		{">.txt", "a.txt", true},
		{">.txt", ".txt", true}, // DOS_QM matches nothing before a dot
		{"a>>", "a.b", false},
		{"a>>.b", "a.b", true},
		{">>>\"", "abc", true}, // Win32 ???.
		{">>>\"", "ab", true},
		{"a>", "a.", true}, // a trailing DOS_QM absorbs a final dot (NT quirk)
		{"a>>", "a.b", false},
		{"*>", "ab.", true},

		// DOS_DOT '"': Win32 '.' before '*' or '?'.
		{"a\"*", "a", true}, // Win32 a.*
		{"a\"*", "a.txt", true},
		{"a\"*", "a.b.c", true},
		{"a\"*", "ab", false},
		{"\"", "", false},
		{"a\"", "a", true},
		{"a\"", "a.", true},
		{"a\"", "a.b", false},

		// UTF-16 semantics: '?' matches one code unit.
		{"?", "\U0001F600", false},
		{"??", "\U0001F600", true},
		{"*\U0001F600", "x\U0001F600", true},
	}
	for _, tt := range tests {
		if got := Match(tt.pattern, tt.name); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
}

func TestHasWildcards(t *testing.T) {
	for s, want := range map[string]bool{"a.txt": false, "*": true, "a?": true, "<": true, ">": true, `"`: true, "": false} {
		if HasWildcards(s) != want {
			t.Errorf("HasWildcards(%q) != %v", s, want)
		}
	}
}

func TestMatchLongInputs(t *testing.T) {
	name := strings.Repeat("a", 255)
	pattern := strings.Repeat("*a", 200) + "*b"
	if Match(pattern, name) {
		t.Error("pattern needing a 'b' matched")
	}
	if !Match(strings.Repeat("*a", 200), name) {
		t.Error("200 '*a' should match 255 a's")
	}
}

func FuzzMatch(f *testing.F) {
	f.Add("*.txt", "a.txt")
	f.Add("<.<", "a.b.c")
	f.Add(">>>\">>>", "abc.de")
	f.Add("a\"*", "\U0001F600")
	f.Fuzz(func(t *testing.T, pattern, name string) {
		_ = Match(pattern, name)
		if name == "" || HasWildcards(name) {
			return
		}
		if !Match(name, name) {
			t.Fatalf("Match(%q, itself) = false", name)
		}
		if !Match("*", name) || !Match("*.*", name) {
			t.Fatalf("* or *.* does not match %q", name)
		}
		// Replacing the first character by '?' (one per UTF-16 unit) and
		// the tail by '*' still matches.
		r, size := utf8.DecodeRuneInString(name)
		q := "?"
		if r > 0xFFFF {
			q = "??"
		}
		if !Match(q+name[size:], name) || !Match(name[:size]+"*", name) {
			t.Fatalf("wildcard variants do not match %q", name)
		}
	})
}

// refMatch is an independent model of the FsRtlIsNameInExpression state
// machine, written from the NFA description in MS-FSA 2.1.4.4 and the
// classic NT implementation: states are 2*offset (at a '*' or DOS_STAR, may
// stay) and 2*offset+1 (past it), advanced one name character at a time,
// with the end of the name treated as one extra step. It serves as a
// differential oracle for Match.
func refMatch(pattern, name string) bool {
	if pattern == "" || name == "" {
		return pattern == name
	}
	if pattern == "*" || pattern == "*.*" {
		return true
	}
	expr, nm := toUTF16(pattern), toUTF16(name)
	maxState := 2 * len(expr)
	prior := []int{0}
	for pos := 0; ; pos++ {
		finished := pos == len(nm)
		var c uint16
		if !finished {
			c = nm[pos]
		} else if prior[len(prior)-1] == maxState {
			return true
		}
		seen := map[int]bool{}
		var cur []int
		add := func(s int) {
			if !seen[s] {
				seen[s] = true
				cur = append(cur, s)
			}
		}
		for _, st := range prior {
			for off := (st + 1) / 2; off < len(expr); off++ {
				state := 2 * off
				e := expr[off]
				advance := false
				switch {
				case e == '*':
					add(state)
					add(state + 1)
					advance = true
				case e == DOSStar:
					lastDot := true
					for _, d := range nm[min(pos+1, len(nm)):] {
						if d == '.' {
							lastDot = false
						}
					}
					if finished || c != '.' || !lastDot {
						add(state)
					}
					add(state + 1)
					advance = true
				case e == DOSQM:
					if finished || c == '.' {
						advance = true
					} else {
						add(state + 2)
					}
				case e == DOSDot:
					if finished {
						advance = true
					} else if c == '.' {
						add(state + 2)
					}
				case !finished && (e == '?' || foldEqual(e, c)):
					add(state + 2)
				}
				if !advance {
					break
				}
				if off+1 == len(expr) {
					add(maxState)
				}
			}
		}
		if len(cur) == 0 {
			return false
		}
		if finished {
			for _, s := range cur {
				if s == maxState {
					return true
				}
			}
			return false
		}
		slices.Sort(cur)
		prior = cur
	}
}

func TestMatchAgainstReference(t *testing.T) {
	alphabet := []string{"a", "b", ".", "*", "?", "<", ">", `"`}
	names := []string{"a", "b", ".", "ab", "a.b", "a.", ".a", "a.b.a", "ab.ba", "..", "aa.bb.", "abab"}
	var patterns []string
	var gen func(prefix string, depth int)
	gen = func(prefix string, depth int) {
		patterns = append(patterns, prefix)
		if depth == 0 {
			return
		}
		for _, s := range alphabet {
			gen(prefix+s, depth-1)
		}
	}
	gen("", 4)
	for _, p := range patterns {
		for _, n := range names {
			if got, want := Match(p, n), refMatch(p, n); got != want {
				t.Fatalf("Match(%q, %q) = %v, reference %v", p, n, got, want)
			}
		}
	}
}

func FuzzMatchReference(f *testing.F) {
	f.Add("<.<", "a.b.c")
	f.Add(`>>>">>>`, "ab.c")
	f.Fuzz(func(t *testing.T, pattern, name string) {
		if len(pattern) > 64 || len(name) > 64 {
			return
		}
		if got, want := Match(pattern, name), refMatch(pattern, name); got != want {
			t.Fatalf("Match(%q, %q) = %v, reference %v", pattern, name, got, want)
		}
	})
}
