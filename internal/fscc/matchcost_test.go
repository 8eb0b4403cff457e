package fscc

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// adversarialPatterns are 1024-unit patterns (the default MaxSearchPattern)
// built to keep as many automaton states alive as possible against
// adversarialName.
var adversarialPatterns = []string{
	strings.Repeat("*a", 512),
	strings.Repeat("*", 1023) + "b",
	strings.Repeat("<", 1024),
	"*" + strings.Repeat(">", 1023),
	strings.Repeat("*?", 512),
	strings.Repeat("<a", 511) + "*b",
}

var adversarialName = strings.Repeat("a", 120) + "." + strings.Repeat("a", 133) + "c"

// TestMatchCostAdversarial: a pattern of 1024 units, built to keep many
// states alive, costs little against a 255-unit name (under 10 ms), and a
// directory of 100 such names costs a few milliseconds, not the 35 to 50
// ms a matcher stepping through every pattern position per character took.
func TestMatchCostAdversarial(t *testing.T) {
	dirLimit := 20 * time.Millisecond
	if raceEnabled {
		dirLimit *= 15
	}
	for _, p := range adversarialPatterns {
		m := Compile(p)
		start := time.Now()
		m.Match(adversarialName)
		one := time.Since(start)
		dir := time.Duration(1 << 62)
		for run := 0; run < 2; run++ {
			start = time.Now()
			for i := 0; i < 100; i++ {
				m.Match(adversarialName)
			}
			dir = min(dir, time.Since(start))
		}
		t.Logf("%.8q...: %v, 100 names %v", p, one, dir)
		if one > 10*time.Millisecond || dir > dirLimit {
			t.Errorf("%.8q...: %v for one name, %v for 100", p, one, dir)
		}
	}
}

// TestMatchLongPatternsAgainstReference: patterns longer than one 64-bit
// word of states answer as the reference does.
func TestMatchLongPatternsAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	pieces := []string{"a", "b", ".", "*", "?", "<", ">", `"`, "a", "b"}
	names := []string{"a", "ab.ba", "a.b.a", strings.Repeat("ab", 40), strings.Repeat("a.", 50) + "b",
		strings.Repeat("a", 70) + "." + strings.Repeat("b", 70), strings.Repeat(".", 130)}
	for i := 0; i < 600; i++ {
		var b strings.Builder
		for n := 40 + rng.IntN(200); b.Len() < n; {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		p := b.String()
		if rng.IntN(2) == 0 { // more likely to match
			p = strings.ReplaceAll(p, "b", "*")
		}
		for _, n := range names {
			if got, want := Match(p, n), refMatch(p, n); got != want {
				t.Fatalf("Match(%q, %q) = %v, reference %v", p, n, got, want)
			}
		}
	}
}
