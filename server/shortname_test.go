package server

import "testing"

func TestShortName(t *testing.T) {
	cases := map[string]string{
		"readme.txt": "README.TXT",
		"A.B":        "A.B",
		".":          "",
	}
	for in, want := range cases {
		if got := shortName(in); got != want {
			t.Errorf("shortName(%q) = %q, want %q", in, got, want)
		}
	}
	for _, long := range []string{"a long file name.document", "big.bin.gz", ".hidden", "über.txt"} {
		s := shortName(long)
		if !is83(s) {
			t.Errorf("shortName(%q) = %q is not 8.3", long, s)
		}
		if s != shortName(long) {
			t.Errorf("shortName(%q) not stable", long)
		}
	}
	if shortName("a long name one.txt") == shortName("a long name two.txt") {
		t.Error("different long names share a short name")
	}
}
