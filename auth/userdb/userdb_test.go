package userdb

import (
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/signetsmb/signet/auth"
)

func mustHex(t *testing.T, s string) [16]byte {
	t.Helper()
	var h [16]byte
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		t.Fatal(err)
	}
	return h
}

func usersPath(t *testing.T) string { return filepath.Join(t.TempDir(), "users") }

func writeFile(t *testing.T, path, text string, mode fs.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // WriteFile honours umask
		t.Fatal(err)
	}
}

func TestNTHash(t *testing.T) {
	cases := map[string]string{
		"":         "31d6cfe0d16ae931b73c59d7e0c089c0", // MD4 of the empty string
		"Password": "a4f49c406510bdcab6824ee7c30fd852", // [MS-NLMP] 4.2.2.1.2 NTOWFv1
	}
	for pw, want := range cases {
		if got := NTHash(pw); got != mustHex(t, want) {
			t.Errorf("NTHash(%q) = %x, want %s", pw, got, want)
		}
	}
	// Passwords are hashed as UTF-16LE, not UTF-8 or Latin-1.
	if NTHash("pässword") == NTHash("p\xe4ssword") {
		t.Error("NTHash ignores the UTF-8 encoding of the password")
	}
}

func TestAddListDeleteRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "users") // folder created by Add
	if users, err := List(path); err != nil || users != nil {
		t.Fatalf("List(missing) = %v, %v", users, err)
	}
	for _, u := range []string{"alice", "Bob", "carol"} {
		if err := Add(path, u, "pw-"+u); err != nil {
			t.Fatalf("Add(%s): %v", u, err)
		}
	}
	users, err := List(path)
	if err != nil || len(users) != 3 || users[1] != (auth.Account{ID: "BOB", Name: "Bob", NTHash: NTHash("pw-Bob")}) {
		t.Fatalf("List = %+v, %v", users, err)
	}
	if err := Delete(path, "BOB"); err != nil {
		t.Fatal(err)
	}
	if err := Delete(path, "bob"); !errors.Is(err, ErrUserNotFound) || !strings.Contains(err.Error(), path) {
		t.Errorf("Delete(absent) = %v, want ErrUserNotFound naming the file", err)
	}
	db, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := db.Users(); !reflect.DeepEqual(got, []string{"alice", "carol"}) {
		t.Errorf("Users after delete = %v", got)
	}
	if a, ok := db.Lookup("carol"); !ok || a.NTHash != NTHash("pw-carol") {
		t.Errorf("Lookup(carol) = %x, %v", a.NTHash, ok)
	}
}

func TestLookupIgnoresCase(t *testing.T) {
	path := usersPath(t)
	if err := Add(path, "Alice", "Password"); err != nil {
		t.Fatal(err)
	}
	db, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"Alice", "alice", "ALICE", "aLiCe"} {
		if a, ok := db.Lookup(u); !ok || a.NTHash != mustHex(t, "a4f49c406510bdcab6824ee7c30fd852") {
			t.Errorf("Lookup(%q) = %x, %v", u, a.NTHash, ok)
		}
	}
	if _, ok := db.Lookup("alic"); ok {
		t.Error("Lookup(alic) succeeded")
	}
}

func TestAddReplacesAndKeepsComments(t *testing.T) {
	path := usersPath(t)
	writeFile(t, path, "# team\nalice:"+strings.Repeat("0", 32)+"\n\n# more\nbob:"+strings.Repeat("1", 32)+"\n", 0o600)
	if err := Add(path, "ALICE", "new"); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	h := NTHash("new")
	want := "# team\nALICE:" + hex.EncodeToString(h[:]) + "\n\n# more\nbob:" + strings.Repeat("1", 32) + "\n"
	if string(data) != want {
		t.Errorf("file =\n%s\nwant\n%s", data, want)
	}
}

func TestAddValidates(t *testing.T) {
	path := usersPath(t)
	if err := Add(path, "a:b", "pw"); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("Add with ':' in name = %v", err)
	}
	if err := Add(path, "alice", ""); err == nil || !strings.Contains(err.Error(), "empty password") {
		t.Errorf("Add with empty password = %v", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("failed Add created the file: %v", err)
	}
}

func TestAddRefusesToOverwriteBrokenFile(t *testing.T) {
	path := usersPath(t)
	const broken = "alice:nothex\n"
	writeFile(t, path, broken, 0o600)
	if err := Add(path, "bob", "pw"); err == nil || !strings.Contains(err.Error(), path+":1:") {
		t.Errorf("Add = %v, want the parse error", err)
	}
	if data, _ := os.ReadFile(path); string(data) != broken {
		t.Errorf("broken file was rewritten: %q", data)
	}
}

func TestWritesAreAtomicAndPrivate(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	path := usersPath(t)
	writeFile(t, path, "", 0o644) // too open: rewritten as 0600
	if err := Add(path, "alice", "pw"); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %04o, want 0600", fi.Mode().Perm())
	}
	// The rename replaced the file rather than rewriting it in place.
	if err := Add(path, "bob", "pw"); err != nil {
		t.Fatal(err)
	}
	fi2, _ := os.Stat(path)
	if os.SameFile(fi, fi2) {
		t.Error("file rewritten in place, want a new file renamed over it")
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("temporary files left behind: %v", names)
	}
}

func TestParseErrorsHaveLineNumbers(t *testing.T) {
	path := usersPath(t)
	text := strings.Join([]string{
		"# header",                          // 1
		"alice:" + strings.Repeat("a", 32),  // 2
		"nocolon",                           // 3
		"bob:abc",                           // 4
		"carol:" + strings.Repeat("z", 32),  // 5
		":" + strings.Repeat("a", 32),       // 6
		"ALICE:" + strings.Repeat("b", 32),  // 7
		"d\tave:" + strings.Repeat("a", 32), // 8
		"",                                  // 9
		"  erin:" + strings.Repeat("C", 32) + " ", // 10: fine (spaces, upper-case hex)
	}, "\n")
	writeFile(t, path, text, 0o600)
	_, err := Load(path)
	if err == nil {
		t.Fatal("Load accepted a broken file")
	}
	want := map[int]string{
		3: "missing ':'",
		4: "32 hex digits",
		5: "not hexadecimal",
		6: "empty user name",
		7: `duplicate user "ALICE" (first defined on line 2)`,
		8: "control character",
	}
	got := map[int]string{}
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var pe *ParseError
		if !errors.As(e, &pe) || pe.Path != path {
			t.Fatalf("not a ParseError for %s: %v", path, e)
		}
		got[pe.Line] = pe.Msg
		if !strings.HasPrefix(e.Error(), path+":") {
			t.Errorf("error does not start with path: %v", e)
		}
	}
	if len(got) != len(want) {
		t.Errorf("errors on lines %v, want %v", got, want)
	}
	for line, msg := range want {
		if !strings.Contains(got[line], msg) {
			t.Errorf("line %d: %q, want %q", line, got[line], msg)
		}
	}
}

func TestCRLFCommentsAndUpperCaseHex(t *testing.T) {
	path := usersPath(t)
	writeFile(t, path, "# c\r\n\r\n  # indented comment\r\nalice:A4F49C406510BDCAB6824EE7C30FD852\r\n", 0o600)
	db, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if a, ok := db.Lookup("alice"); !ok || a.NTHash != NTHash("Password") {
		t.Errorf("Lookup = %x, %v", a.NTHash, ok)
	}
	if len(db.Warnings()) != 0 {
		t.Errorf("warnings: %v", db.Warnings())
	}
}

func TestPermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	cases := []struct {
		mode   fs.FileMode
		warn   bool
		refuse bool
	}{
		{0o600, false, false},
		{0o400, false, false},
		{0o640, true, false},
		{0o604, true, false},
		{0o660, true, false},
		{0o602, false, true},
		{0o666, false, true},
	}
	for _, c := range cases {
		path := usersPath(t)
		writeFile(t, path, "alice:"+strings.Repeat("a", 32)+"\n", c.mode)
		db, err := Load(path)
		if c.refuse {
			if err == nil || !strings.Contains(err.Error(), "world-writable") || !strings.Contains(err.Error(), path) {
				t.Errorf("mode %04o: err = %v, want refusal naming the file", c.mode, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("mode %04o: %v", c.mode, err)
			continue
		}
		if got := len(db.Warnings()) > 0; got != c.warn {
			t.Errorf("mode %04o: warnings %v, want warning=%v", c.mode, db.Warnings(), c.warn)
		}
	}
}

func TestLoadRejectsNonRegular(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("Load(dir) = %v", err)
	}
	if _, err := Load(filepath.Join(dir, "absent")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load(absent) = %v, want ErrNotExist", err)
	}
}

func TestValidateName(t *testing.T) {
	good := []string{"alice", "Bob Smith", "j.doe", "user@example.com", "ütf-8", "a$", strings.Repeat("x", 104)}
	for _, n := range good {
		if err := ValidateName(n); err != nil {
			t.Errorf("ValidateName(%q) = %v", n, err)
		}
	}
	bad := []string{"", "a:b", "a\nb", "a\x00", "a\x7f", "DOM\\user", "a/b", "a*", " lead", "trail ", "#x", "...", ". .",
		strings.Repeat("x", 105), "bad\xff"}
	for _, n := range bad {
		if err := ValidateName(n); err == nil {
			t.Errorf("ValidateName(%q) accepted", n)
		}
	}
}
