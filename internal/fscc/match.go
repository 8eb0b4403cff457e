package fscc

import (
	"math/bits"
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
// pattern. To match many names against one pattern, Compile it once.
func Match(pattern, name string) bool { return Compile(pattern).Match(name) }

// A Matcher is a compiled search pattern. It runs the pattern's
// nondeterministic automaton (one state per pattern position: "the name so
// far is matched and expr[p:] is still to match") with every state set held
// as a bit set, so that one name character costs O(len(pattern)/64) word
// operations, and a name O(len(name) * len(pattern)/64), whatever the
// wildcards: a pattern of thousands of '*' or DOS_STARs costs what a plain
// one of the same length does. It never backtracks. A Matcher is safe for
// concurrent use.
type Matcher struct {
	special int // 0: general; 1: matches every non-empty name; 2: empty pattern
	n       int // pattern length in UTF-16 units; state n accepts
	words   int // uint64 words per state set (n+1 bits)
	// The moves of each kind of name character (not a '.', the last '.',
	// another '.'), as sets of the positions that make them.
	plain, finalDot, otherDot moves
	atEnd                     []uint64            // positions that may match nothing at the end
	literal                   map[uint16][]uint64 // positions of literals, by foldKey
	none                      []uint64            // no position
}

// moves are the position sets for one kind of name character c.
type moves struct {
	skip []uint64 // may move on consuming nothing
	adv  []uint64 // may move on consuming c, whatever it is
	stay []uint64 // may stay consuming c
}

// Kinds of move a pattern position makes on a name character.
const (
	mSkip = 1 << iota // to the next position, consuming nothing
	mAdv              // to the next position, consuming the character
	mStay             // nowhere, consuming the character
)

// wildcards gives each wildcard's moves on a name character that is not a
// '.', is the last '.' of the name, or is another '.', and (1) whether it
// may match nothing at the end of the name. Literals move on (mAdv) on
// characters equal to them.
var wildcards = map[uint16][4]uint8{
	'*':     {mSkip | mStay, mSkip | mStay, mSkip | mStay, 1}, // anything
	'?':     {mAdv, mAdv, mAdv, 0},                            // any one character
	DOSStar: {mSkip | mStay, mSkip | mAdv, mSkip | mStay, 1},  // anything, the last '.' ending it
	DOSQM:   {mAdv, mSkip, mSkip, 1},                          // one character but a '.', or nothing before one
	DOSDot:  {0, mAdv, mAdv, 1},                               // a '.', or nothing at the end
}

func (mv *moves) add(kinds uint8, w int, bit uint64) {
	for _, k := range []struct {
		kind uint8
		set  []uint64
	}{{mSkip, mv.skip}, {mAdv, mv.adv}, {mStay, mv.stay}} {
		if kinds&k.kind != 0 {
			k.set[w] |= bit
		}
	}
}

// Compile compiles a search pattern for Match.
func Compile(pattern string) *Matcher {
	switch pattern {
	case "":
		return &Matcher{special: 2}
	case "*", "*.*":
		return &Matcher{special: 1}
	}
	expr := toUTF16(pattern)
	m := &Matcher{n: len(expr), words: len(expr)/64 + 1, literal: map[uint16][]uint64{}}
	newSet := func() []uint64 { return make([]uint64, m.words) }
	m.plain = moves{newSet(), newSet(), newSet()}
	m.finalDot = moves{newSet(), newSet(), newSet()}
	m.otherDot = moves{newSet(), newSet(), newSet()}
	m.atEnd, m.none = newSet(), newSet()
	for p, e := range expr {
		w, bit := p/64, uint64(1)<<(p%64)
		mv, wild := wildcards[e]
		if !wild {
			k := foldKey(e)
			if m.literal[k] == nil {
				m.literal[k] = newSet()
			}
			m.literal[k][w] |= bit
			continue
		}
		m.plain.add(mv[0], w, bit)
		m.finalDot.add(mv[1], w, bit)
		m.otherDot.add(mv[2], w, bit)
		if mv[3] != 0 {
			m.atEnd[w] |= bit
		}
	}
	return m
}

// Match reports whether name matches the compiled pattern.
func (m *Matcher) Match(name string) bool {
	switch {
	case m.special == 2 || name == "":
		return m.special == 2 && name == ""
	case m.special == 1:
		return true
	}
	nm := toUTF16(name)
	lastDot := -1
	for i, c := range nm {
		if c == '.' {
			lastDot = i
		}
	}
	sets := make([]uint64, 2*m.words)
	cur, next := sets[:m.words], sets[m.words:]
	cur[0] = 1
	for i, c := range nm {
		mv := &m.plain
		switch {
		case i == lastDot:
			mv = &m.finalDot
		case c == '.':
			mv = &m.otherDot
		}
		lit := m.literal[foldKey(c)]
		if lit == nil {
			lit = m.none
		}
		if !m.step(cur, next, mv, lit) {
			return false
		}
		cur, next = next, cur
	}
	// At the end of the name every wildcard may match nothing.
	closure(cur, m.atEnd)
	return cur[m.n/64]&(1<<(m.n%64)) != 0
}

// step consumes one name character, whose moves are mv and whose equal
// literals are at lit: it adds to cur the states reached by moves that
// consume nothing, sets next to the states reached by consuming the
// character, and reports whether there are any.
//
// As in the NT implementation, reaching the end of the expression through
// a move that consumes nothing also counts as having consumed the
// character. This only matters for DOS_QM: a trailing DOS_QM absorbs a
// final '.'.
func (m *Matcher) step(cur, next []uint64, mv *moves, lit []uint64) bool {
	closure(cur, mv.skip)
	last := m.n - 1
	endBySkip := cur[last/64]&mv.skip[last/64]&(1<<(last%64)) != 0
	var carry, alive uint64
	for w, c := range cur {
		moved := c & (mv.adv[w] | lit[w])
		next[w] = c&mv.stay[w] | moved<<1 | carry
		carry = moved >> 63
		alive |= next[w]
	}
	if endBySkip {
		next[m.n/64] |= 1 << (m.n % 64)
		alive = 1
	}
	return alive != 0
}

// closure adds to cur every state reachable from it by moves that consume
// nothing (skip: the positions that may move to the next one for free). A
// run of such positions entered at an active one is active from there to
// the position after the run: adding the active bits of each run to the
// runs carries through them, and the bits the addition changes are exactly
// those.
func closure(cur, skip []uint64) {
	var carry uint64
	for w, s := range skip {
		sum, c := bits.Add64(s, cur[w]&s, carry)
		cur[w] |= sum ^ s
		carry = c
	}
}

// foldKey maps a UTF-16 code unit to a key shared by exactly the units
// foldEqual considers equal: the smallest member of its simple case
// folding orbit (surrogate halves are their own key).
func foldKey(c uint16) uint16 {
	switch {
	case c < 0x80:
		if 'a' <= c && c <= 'z' {
			return c - ('a' - 'A') // an ASCII letter's orbit starts with its capital
		}
		return c
	case isSurrogate(c):
		return c
	}
	r, key := rune(c), rune(c)
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		key = min(key, f)
	}
	return uint16(key)
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
