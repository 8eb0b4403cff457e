package auth

import (
	"strings"
	"testing"
	"unicode"
)

func TestFoldName(t *testing.T) {
	cases := []struct{ in, want string }{
		{"kate", "KATE"},
		{"Kate", "KATE"},
		{"\u212Aate", "\u212AATE"},     // KELVIN SIGN is its own upper case
		{"\u017Fam", "SAM"},            // LATIN SMALL LETTER LONG S upper-cases to 'S'
		{"ßtraße", "ßTRAßE"},           // no simple upper case: kept (no "SS")
		{"\U00010428x", "\U00010428X"}, // outside the BMP: kept, as Windows' upcase table
		{"ǆ", "Ǆ"},
	}
	for _, c := range cases {
		if got := FoldName(c.in); got != c.want {
			t.Errorf("FoldName(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	// The reason for not using strings.EqualFold: it makes these equal.
	if !strings.EqualFold("\u212Aate", "kate") || FoldName("\u212Aate") == FoldName("kate") {
		t.Error("KELVIN SIGN must fold to a different account than 'k'")
	}
}

// TestFoldNameIdempotent: an account ID looked up again is the same
// account, for every character the fold changes.
func TestFoldNameIdempotent(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if u := UpperRune(r); UpperRune(u) != u {
			t.Fatalf("UpperRune(UpperRune(%U)) = %U, want %U", r, UpperRune(u), u)
		}
	}
}
