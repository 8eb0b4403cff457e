package userdb

import (
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/signetsmb/signet/auth"
)

const kelvinKate = "\u212Aate" // U+212A KELVIN SIGN + "ate"

// TestKelvinSignIsNotKate: the KELVIN SIGN account is refused next to
// kate, and even when written by hand it never looks up as kate.
func TestKelvinSignIsNotKate(t *testing.T) {
	path := usersPath(t)
	if err := Add(path, "kate", "kate-pw"); err != nil {
		t.Fatal(err)
	}
	err := Add(path, kelvinKate, "other")
	if !errors.Is(err, ErrNameCollision) || !strings.Contains(err.Error(), `"kate"`) {
		t.Fatalf("Add(KELVIN+ate) = %v, want ErrNameCollision naming kate", err)
	}
	// Also the other way round, and with other confusables.
	for _, pair := range [][2]string{
		{"\u212Bsa", "åsa"},     // ANGSTROM SIGN vs å
		{"\u2126mega", "ωmega"}, // OHM SIGN vs ω
	} {
		if err := Add(path, pair[0], "pw"); err != nil {
			t.Fatal(err)
		}
		if err := Add(path, pair[1], "pw"); !errors.Is(err, ErrNameCollision) {
			t.Errorf("Add(%q) next to %q = %v, want ErrNameCollision", pair[1], pair[0], err)
		}
	}

	// Hand-written file with both: loads (they are different accounts),
	// with a warning, and each name finds only its own account.
	writeFile(t, path, "kate:"+strings.Repeat("a", 32)+"\n"+kelvinKate+":"+strings.Repeat("b", 32)+"\n", 0o600)
	db, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if w := db.Warnings(); len(w) != 1 || !strings.Contains(w[0], kelvinKate) {
		t.Errorf("warnings = %q, want one about the confusable pair", w)
	}
	kate, ok1 := db.Lookup("KATE")
	kelvin, ok2 := db.Lookup(kelvinKate)
	if !ok1 || !ok2 || kate.ID == kelvin.ID || kate.Name != "kate" || kelvin.Name != kelvinKate {
		t.Fatalf("Lookup: kate %+v %v, kelvin %+v %v", kate, ok1, kelvin, ok2)
	}
	if kate.NTHash == kelvin.NTHash {
		t.Fatal("the two accounts share a hash")
	}
}

// TestSameAccountUnderFold: names equal under auth.FoldName are one
// account: Add changes its password, a second line is a duplicate.
func TestSameAccountUnderFold(t *testing.T) {
	path := usersPath(t)
	if err := Add(path, "sam", "pw1"); err != nil {
		t.Fatal(err)
	}
	// LATIN SMALL LETTER LONG S upper-cases to 'S': the same account,
	// as on Windows.
	if err := Add(path, "\u017Fam", "pw2"); err != nil {
		t.Fatal(err)
	}
	db, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if a, ok := db.Lookup("SAM"); !ok || a.ID != "SAM" || a.NTHash != NTHash("pw2") || len(db.Users()) != 1 {
		t.Fatalf("Lookup(SAM) = %+v, %v; users %v", a, ok, db.Users())
	}
	writeFile(t, path, "sam:"+strings.Repeat("a", 32)+"\nSAM:"+strings.Repeat("b", 32)+"\n", 0o600)
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "duplicate user") {
		t.Fatalf("Load with sam and SAM = %v, want duplicate", err)
	}
}

func TestDisableEnable(t *testing.T) {
	path := usersPath(t)
	for _, u := range []string{"alice", "bob"} {
		if err := Add(path, u, "pw"); err != nil {
			t.Fatal(err)
		}
	}
	if err := SetDisabled(path, "BOB", true); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	h := NTHash("pw")
	if !strings.HasSuffix(string(data), "\nbob:"+hex.EncodeToString(h[:])+":disabled\n") {
		t.Fatalf("file after disable:\n%s", data)
	}
	db, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := db.Lookup("bob"); !a.Disabled {
		t.Error("bob not disabled")
	}
	if a, _ := db.Lookup("alice"); a.Disabled {
		t.Error("alice disabled")
	}
	// A password change keeps the account disabled.
	if err := Add(path, "bob", "new"); err != nil {
		t.Fatal(err)
	}
	if db, _ := Load(path); !mustLookup(t, db, "bob").Disabled {
		t.Error("password change enabled the account")
	}
	// Disabling again does not rewrite the file.
	before, _ := os.Stat(path)
	if err := SetDisabled(path, "bob", true); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.Stat(path); !os.SameFile(before, after) {
		t.Error("no-op disable rewrote the file")
	}
	if err := SetDisabled(path, "bob", false); err != nil {
		t.Fatal(err)
	}
	if db, _ := Load(path); mustLookup(t, db, "bob").Disabled {
		t.Error("enable did not take")
	}
	if err := SetDisabled(path, "carol", true); !errors.Is(err, ErrUserNotFound) {
		t.Errorf("SetDisabled(absent) = %v", err)
	}
}

func TestFlagsField(t *testing.T) {
	path := usersPath(t)
	hash := strings.Repeat("a", 32)
	// Old format (no flags field) and an empty field: enabled.
	writeFile(t, path, "alice:"+hash+"\nbob:"+hash+":\ncarol:"+hash+": disabled \n", 0o600)
	db, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if mustLookup(t, db, "alice").Disabled || mustLookup(t, db, "bob").Disabled || !mustLookup(t, db, "carol").Disabled {
		t.Errorf("accounts %+v", db.Accounts())
	}
	// An unknown flag rejects the file rather than enabling the account.
	writeFile(t, path, "alice:"+hash+":locked\n", 0o600)
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), `unknown flag "locked"`) {
		t.Errorf("Load with unknown flag = %v", err)
	}
}

func mustLookup(t *testing.T, db *DB, user string) auth.Account {
	t.Helper()
	a, ok := db.Lookup(user)
	if !ok {
		t.Fatalf("user %q missing", user)
	}
	return a
}
