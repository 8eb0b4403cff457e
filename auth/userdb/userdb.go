// Package userdb reads and edits Signet's users file: the accounts, with
// the NT hashes (MD4 of the UTF-16LE password) that NTLM authentication
// needs.
//
// # File format
//
// UTF-8 text, one user per line:
//
//	# comment
//	alice:8846f7eaee8fb117ad06bdd830b7586c
//	bob:32ed87bdb5fdc5e9cba88547376818d4:disabled
//
// The hash is 32 hexadecimal digits (written lower-case; upper-case is
// accepted). An optional third field holds flags; the only one is
// "disabled": the account cannot log on and its established sessions end
// (see server.Server.Revalidate). Files without the field are read as
// before; a flag this version does not know makes the file invalid rather
// than loading a restricted account as an unrestricted one. Blank lines
// and lines starting with '#' are ignored. See ValidateName for the
// allowed characters.
//
// # Account identity
//
// Each line is one account whose identity is auth.FoldName of its name
// (simple per-character upper-casing, as Windows compares account names):
// "alice", "Alice" and "ALICE" are the same account, and a second line for
// it is an error. Names that only a looser comparison such as
// strings.EqualFold would confuse ("kate" and "\u212Aate", with U+212A
// KELVIN SIGN) are different accounts; Add refuses to create one next to
// the other, and Load warns about such pairs written by hand.
//
// An NT hash is password-equivalent for NTLM, so the file must be private:
// it is written with mode 0600, Load reports a warning when group or others
// may read it, and refuses a world-writable file. Writes replace the file
// atomically (temporary file, fsync, rename), so a running server never
// sees a half-written file.
package userdb

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"

	"github.com/signetsmb/signet/auth"
	"github.com/signetsmb/signet/internal/fileperm"
)

// DB is an immutable, parsed users file.
type DB struct {
	users    map[string]auth.Account // by Account.ID
	accounts []auth.Account          // in file order
	warnings []string
}

// ParseError reports a malformed line of a users file.
type ParseError struct {
	Path string
	Line int // 1-based
	Msg  string
}

func (e *ParseError) Error() string { return fmt.Sprintf("%s:%d: %s", e.Path, e.Line, e.Msg) }

var (
	// ErrUserNotFound is returned (wrapped) by Delete and SetDisabled for
	// an unknown user.
	ErrUserNotFound = errors.New("no such user")
	// ErrNameCollision is returned (wrapped) by Add for a new name that a
	// case-insensitive comparison would confuse with an existing account.
	ErrNameCollision = errors.New("name collides with an existing user")
)

// Load reads and parses the users file at path. A malformed file is
// rejected with every bad line reported (as *ParseError values joined with
// errors.Join). A world-writable file is refused; a file readable by group
// or others loads with a warning (see DB.Warnings).
func Load(path string) (*DB, error) {
	db, _, err := load(path)
	return db, err
}

// load also returns the file's stat, taken from the open file.
func load(path string) (*DB, fs.FileInfo, error) {
	data, fi, warns, err := readPrivate(path)
	if err != nil {
		return nil, nil, err
	}
	lines, err := parse(path, data)
	if err != nil {
		return nil, nil, err
	}
	db := newDB(lines)
	db.warnings = append(warns, db.warnings...)
	return db, fi, nil
}

// readPrivate reads a regular file after checking its permissions.
func readPrivate(path string) ([]byte, fs.FileInfo, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, nil, err
	}
	if err := fileperm.Check(path, fi, usersFileRules); err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	warns := readableWarning(path, fi.Mode())
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, nil, nil, err
	}
	return data, fi, warns, nil
}

// usersFileRules: only a world-writable users file is refused (it would
// let anyone add an account); a group-writable one loads, with the warning
// about group access below.
var usersFileRules = fileperm.Rules{What: "users file", AllowGroupWrite: true}

// readableWarning warns about a users file group or others may access.
// Windows has no such mode bits; nothing is checked there.
func readableWarning(path string, m fs.FileMode) []string {
	if runtime.GOOS == "windows" || m.Perm()&0o077 == 0 {
		return nil
	}
	return []string{fmt.Sprintf("%s: users file is accessible by group or others (mode %04o); NT hashes are password-equivalent, run: chmod 600 %s", path, m.Perm(), path)}
}

func newDB(lines []line) *DB {
	db := &DB{users: map[string]auth.Account{}}
	for _, l := range lines {
		if l.isUser {
			a := l.account()
			db.users[a.ID] = a
			db.accounts = append(db.accounts, a)
		}
	}
	db.warnings = confusableWarnings(lines)
	return db
}

// Lookup returns the account of user, matching the name under
// auth.FoldName.
func (db *DB) Lookup(user string) (auth.Account, bool) {
	a, ok := db.users[auth.FoldName(user)]
	return a, ok
}

// Users returns the user names as written in the file, in file order.
func (db *DB) Users() []string {
	names := make([]string, len(db.accounts))
	for i, a := range db.accounts {
		names[i] = a.Name
	}
	return names
}

// Accounts returns the accounts in file order.
func (db *DB) Accounts() []auth.Account { return append([]auth.Account(nil), db.accounts...) }

// Warnings returns problems found while loading that did not prevent it,
// such as a file readable by others.
func (db *DB) Warnings() []string { return append([]string(nil), db.warnings...) }

func (l line) account() auth.Account {
	return auth.Account{ID: auth.FoldName(l.name), Name: l.name, NTHash: l.hash, Disabled: l.disabled}
}
