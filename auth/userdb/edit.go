package userdb

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/signetsmb/signet/auth"
)

// Add sets user's password in the users file at path, creating the file
// (mode 0600, and its folder, mode 0700) if missing. A user that is the
// same account under auth.FoldName gets the new hash and the given
// spelling, and stays disabled if it was; other lines, comments included,
// are kept. A new name that strings.EqualFold would confuse with an
// existing account (such as "\u212Aate" next to "kate") is refused with an
// error wrapping ErrNameCollision. The password must not be empty.
func Add(path, user, password string) error {
	if err := ValidateName(user); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if password == "" {
		return fmt.Errorf("%s: user %q: empty password not allowed", path, user)
	}
	lines, err := readLines(path, true)
	if err != nil {
		return err
	}
	h := NTHash(password)
	if i := indexOf(lines, user); i >= 0 {
		lines[i] = userLine(user, h, lines[i].disabled)
	} else if j := confusableWith(lines, user); j >= 0 {
		return fmt.Errorf("%s: user %q: %w %q (a case-insensitive comparison would take them for one account); choose another name",
			path, user, ErrNameCollision, lines[j].name)
	} else {
		lines = append(lines, userLine(user, h, false))
	}
	return writeAtomic(path, format(lines))
}

// Delete removes user (matched under auth.FoldName) from the users file.
// It returns an error wrapping ErrUserNotFound if the user is not there.
func Delete(path, user string) error {
	return editUser(path, user, func(lines []line, i int) ([]line, bool) {
		return append(lines[:i], lines[i+1:]...), true
	})
}

// SetDisabled disables or enables user (matched under auth.FoldName) in
// the users file, keeping its name and hash. It returns an error wrapping
// ErrUserNotFound if the user is not there; setting the state it already
// has leaves the file untouched.
func SetDisabled(path, user string, disabled bool) error {
	return editUser(path, user, func(lines []line, i int) ([]line, bool) {
		if lines[i].disabled == disabled {
			return lines, false
		}
		lines[i] = userLine(lines[i].name, lines[i].hash, disabled)
		return lines, true
	})
}

// editUser applies edit to the line of user and writes the result back
// when edit reports a change.
func editUser(path, user string, edit func(lines []line, i int) ([]line, bool)) error {
	lines, err := readLines(path, false)
	if err != nil {
		return err
	}
	i := indexOf(lines, user)
	if i < 0 {
		return fmt.Errorf("%s: user %q: %w", path, user, ErrUserNotFound)
	}
	lines, changed := edit(lines, i)
	if !changed {
		return nil
	}
	return writeAtomic(path, format(lines))
}

// List returns the accounts in the users file, in file order. A missing
// file has no users.
func List(path string) ([]auth.Account, error) {
	db, err := Load(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return db.Accounts(), nil
}

// readLines reads a users file for editing. With missingOK a missing file
// reads as empty. The permission and syntax checks of Load apply, so a
// broken file is never overwritten.
func readLines(path string, missingOK bool) ([]line, error) {
	data, _, _, err := readPrivate(path)
	if missingOK && errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return parse(path, data)
}

func indexOf(lines []line, user string) int {
	key := auth.FoldName(user)
	for i, l := range lines {
		if l.isUser && auth.FoldName(l.name) == key {
			return i
		}
	}
	return -1
}

// writeAtomic replaces path with data: a temporary file in the same folder
// is written with mode 0600, synced, and renamed over path; then the
// folder is synced so the rename survives a crash.
func writeAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

func joinErrors(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}
