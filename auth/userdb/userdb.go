// Package userdb reads and edits Signet's users file: the NT hashes
// (MD4 of the UTF-16LE password) that NTLM authentication needs.
//
// # File format
//
// UTF-8 text, one user per line:
//
//	# comment
//	alice:8846f7eaee8fb117ad06bdd830b7586c
//
// The hash is 32 hexadecimal digits (written lower-case; upper-case is
// accepted). Blank lines and lines starting with '#' are ignored. User
// names compare case-insensitively, as on Windows; see ValidateName for
// the allowed characters.
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
	"strings"

	"github.com/signetsmb/signet/internal/fileperm"
)

// DB is an immutable, parsed users file.
type DB struct {
	users    map[string][16]byte // by foldName(name)
	names    []string            // as written, in file order
	warnings []string
}

// ParseError reports a malformed line of a users file.
type ParseError struct {
	Path string
	Line int // 1-based
	Msg  string
}

func (e *ParseError) Error() string { return fmt.Sprintf("%s:%d: %s", e.Path, e.Line, e.Msg) }

// ErrUserNotFound is returned (wrapped) by Delete for an unknown user.
var ErrUserNotFound = errors.New("no such user")

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
	db.warnings = warns
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
	db := &DB{users: map[string][16]byte{}}
	for _, l := range lines {
		if l.isUser {
			db.users[foldName(l.name)] = l.hash
			db.names = append(db.names, l.name)
		}
	}
	return db
}

// Lookup returns the NT hash of user, matching the name case-insensitively.
func (db *DB) Lookup(user string) (ntHash [16]byte, ok bool) {
	h, ok := db.users[foldName(user)]
	return h, ok
}

// Users returns the user names as written in the file, in file order.
func (db *DB) Users() []string { return append([]string(nil), db.names...) }

// Warnings returns problems found while loading that did not prevent it,
// such as a file readable by others.
func (db *DB) Warnings() []string { return append([]string(nil), db.warnings...) }

// foldName is the case-insensitive key of a user name. Windows compares
// account names by upper-casing them.
func foldName(name string) string { return strings.ToUpper(name) }
