package fscc

import (
	"slices"
	"unicode"
)

// DOS wildcard characters [MS-FSA 2.1.4.4]. Windows clients translate the
// Win32 forms before sending a QUERY_DIRECTORY pattern: '?' becomes
// DOS_QM, a '.' followed by '?' or '*' becomes DOS_DOT, and a trailing
// "*." becomes DOS_STAR.
const (
	DOSStar = '<' // DOS_STAR: any characters up to and including the last '.'
	DOSQM   = '>' // DOS_QM: any one character, or nothing before a '.' or the end
	DOSDot  = '"' // DOS_DOT: a '.', or nothing at the end of the name
)

// HasWildcards reports whether pattern contains any of * ? < > ".
func HasWildcards(pattern string) bool {
	for i := 0; i < len(pattern); i++ {
		switch pattern[i] {
		case '*', '?', DOSStar, DOSQM, DOSDot:
			return true
		}
	}
	return false
}

// Match reports whether name matches pattern with the semantics of
// FsRtlIsNameInExpression as specified in MS-FSA 2.1.4.4, ignoring case
// (Unicode simple case folding):
//
//   - '*' matches zero or more characters;
//   - '?' matches exactly one character;
//   - '<' (DOS_STAR) matches zero or more characters up to the last '.' in
//     the name, and may consume that '.' (so "<" is the Win32 "*.": names
//     without an extension);
//   - '>' (DOS_QM) matches one character, or nothing when the name is at a
//     '.' or its end (so ">>>" matches names of up to three characters);
//     as in Windows, DOS_QMs ending the pattern also absorb a final '.'
//     ("a>" matches "a.");
//   - '"' (DOS_DOT) matches a '.', or nothing at the end of the name;
//   - "*" and "*.*" match every non-empty name.
//
// Both strings are compared as UTF-16 code units, as Windows does, so '?'
// matches half of a surrogate pair. An empty name matches only an empty
// pattern. Match runs in O(len(pattern) * len(name)) time and never
// backtracks.
func Match(pattern, name string) bool {
	if pattern == "" || name == "" {
		return pattern == name
	}
	if pattern == "*" || pattern == "*.*" {
		return true
	}
	expr, nm := toUTF16(pattern), toUTF16(name)
	lastDot := -1
	for i, c := range nm {
		if c == '.' {
			lastDot = i
		}
	}
	// cur[p] means "the name so far is matched and expr[p:] is still to
	// match"; p == len(expr) is the accepting state.
	cur := make([]bool, len(expr)+1)
	next := make([]bool, len(expr)+1)
	cur[0] = true
	for i, c := range nm {
		clear(next)
		if !step(expr, cur, next, c, i == lastDot) {
			return false
		}
		cur, next = next, cur
	}
	return acceptsAtEnd(expr, cur)
}

// step consumes name character c. It first extends cur with the moves that
// consume nothing (they depend on c, which is why they are taken here) and
// then records in next the states reached by consuming c. finalDot says c
// is the last '.' of the name. It reports whether any state survives.
//
// As in the NT implementation, reaching the end of the expression through
// a move that consumes nothing also counts as having consumed c. This only
// matters for DOS_QM: a trailing DOS_QM absorbs a final '.'.
func step(expr []uint16, cur, next []bool, c uint16, finalDot bool) bool {
	end := len(expr)
	skip := func(p int) { // a move from p to p+1 that consumes nothing
		cur[p+1] = true
		if p+1 == end {
			next[end] = true
		}
	}
	for p, e := range expr {
		if !cur[p] {
			continue
		}
		switch e {
		case '*':
			next[p] = true
			skip(p)
		case DOSStar:
			if c == '.' && finalDot {
				next[p+1] = true // consume the last '.' and stop
			} else {
				next[p] = true
			}
			skip(p)
		case DOSQM:
			if c == '.' {
				skip(p) // match nothing before a '.'
			} else {
				next[p+1] = true
			}
		case DOSDot:
			if c == '.' {
				next[p+1] = true
			}
		case '?':
			next[p+1] = true
		default:
			if foldEqual(e, c) {
				next[p+1] = true
			}
		}
	}
	return slices.Contains(next, true)
}

// acceptsAtEnd reports whether, with the name exhausted, the remaining
// expression from any state in cur can match nothing.
func acceptsAtEnd(expr []uint16, cur []bool) bool {
	for p, e := range expr {
		if !cur[p] {
			continue
		}
		switch e {
		case '*', DOSStar, DOSQM, DOSDot:
			cur[p+1] = true
		}
	}
	return cur[len(expr)]
}

// foldEqual compares two UTF-16 code units under Unicode simple case
// folding. Surrogate halves compare exactly.
func foldEqual(a, b uint16) bool {
	if a == b {
		return true
	}
	if a < 0x80 && b < 0x80 {
		return lowerASCII(a) == lowerASCII(b)
	}
	if isSurrogate(a) || isSurrogate(b) {
		return false
	}
	ra, rb := rune(a), rune(b)
	for r := unicode.SimpleFold(ra); r != ra; r = unicode.SimpleFold(r) {
		if r == rb {
			return true
		}
	}
	return false
}

func lowerASCII(c uint16) uint16 {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func isSurrogate(c uint16) bool { return c >= 0xD800 && c < 0xE000 }
