package policy

import "testing"

// TestAllowsUserByAccount: share user lists match accounts under
// auth.FoldName, never strings.EqualFold.
func TestAllowsUserByAccount(t *testing.T) {
	s := Share{Users: []string{"kate", "sam"}}
	for user, want := range map[string]bool{
		"kate":      true,
		"KATE":      true,
		"\u212Aate": false, // KELVIN SIGN: EqualFold("\u212Aate", "kate") is true
		"\u017Fam":  true,  // LONG S upper-cases to 'S': the same account as sam
		"":          false,
		"katherine": false,
	} {
		if got := s.AllowsUser(user); got != want {
			t.Errorf("AllowsUser(%+q) = %v, want %v", user, got, want)
		}
	}
	if !(&Share{}).AllowsUser("anyone") {
		t.Error("a share without users refused a user")
	}
}
