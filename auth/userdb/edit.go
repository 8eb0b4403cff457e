package userdb

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Add sets user's password in the users file at path, creating the file
// (mode 0600, and its folder, mode 0700) if missing. An existing user with
// the same name, ignoring case, gets the new hash and the given spelling;
// other lines, comments included, are kept. The password must not be empty.
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
	nl := userLine(user, NTHash(password))
	if i := indexOf(lines, user); i >= 0 {
		lines[i] = nl
	} else {
		lines = append(lines, nl)
	}
	return writeAtomic(path, format(lines))
}

// Delete removes user (matched ignoring case) from the users file. It
// returns an error wrapping ErrUserNotFound if the user is not there.
func Delete(path, user string) error {
	lines, err := readLines(path, false)
	if err != nil {
		return err
	}
	i := indexOf(lines, user)
	if i < 0 {
		return fmt.Errorf("%s: user %q: %w", path, user, ErrUserNotFound)
	}
	lines = append(lines[:i], lines[i+1:]...)
	return writeAtomic(path, format(lines))
}

// List returns the user names in the users file, in file order. A missing
// file has no users.
func List(path string) ([]string, error) {
	db, err := Load(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return db.Users(), nil
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
	key := foldName(user)
	for i, l := range lines {
		if l.isUser && foldName(l.name) == key {
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
