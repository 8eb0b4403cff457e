// Package fileperm decides whether a file that controls the server (its
// configuration, its users) may be trusted: no one but its owner may be
// able to change it, and the owner must be root or the server's own
// account. This is OpenSSH's StrictModes rule for authorized_keys: a
// world-writable configuration lets any local user point a share at "/".
//
// The package holds no state and is safe for concurrent use.
package fileperm

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// Rules select the checks Check applies beyond the two always made (a
// regular file, not world-writable).
type Rules struct {
	// What names the file in messages: "config file", "users file".
	What string
	// AllowGroupWrite accepts a group-writable file.
	AllowGroupWrite bool
	// CheckOwner refuses a file owned by anyone but root or the effective
	// uid of this process.
	CheckOwner bool
	// CheckDir refuses a file whose folder is world-writable without the
	// sticky bit, where anyone could replace it.
	CheckDir bool
}

// Check returns why the file at path, described by fi, must not be used,
// or nil. Take fi from the open file (f.Stat), so that the file checked is
// the file read. The error does not start with path; callers name the
// file. On Windows, which has no such mode bits, only the file type is
// checked.
func Check(path string, fi fs.FileInfo, r Rules) error {
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("not a regular file")
	}
	if runtime.GOOS == "windows" {
		return nil
	}
	if err := checkMode(path, fi.Mode().Perm(), r); err != nil {
		return err
	}
	if r.CheckOwner {
		if err := checkOwner(path, fi, os.Geteuid(), r.What); err != nil {
			return err
		}
	}
	if r.CheckDir {
		return checkDir(filepath.Dir(path), r.What)
	}
	return nil
}

// checkMode refuses write permission for others (and for the group unless
// allowed).
func checkMode(path string, perm fs.FileMode, r Rules) error {
	switch {
	case perm&0o002 != 0:
		return fmt.Errorf("refusing a world-writable %s (mode %04o); run: chmod %s %s", r.What, perm, fixMode(r), path)
	case perm&0o020 != 0 && !r.AllowGroupWrite:
		return fmt.Errorf("refusing a group-writable %s (mode %04o); run: chmod %s %s", r.What, perm, fixMode(r), path)
	}
	return nil
}

func fixMode(r Rules) string {
	if r.AllowGroupWrite {
		return "o-w"
	}
	return "go-w"
}

// checkOwner refuses a file owned by someone other than root or euid.
// A FileInfo without an owner (not from the file system) is accepted.
func checkOwner(path string, fi fs.FileInfo, euid int, what string) error {
	uid, ok := owner(fi)
	if !ok || uid == 0 || uid == euid {
		return nil
	}
	want := "root"
	if euid != 0 {
		want = fmt.Sprintf("root or uid %d (this server)", euid)
	}
	return fmt.Errorf("refusing a %s owned by uid %d, want %s; run: chown root %s", what, uid, want, path)
}

// checkDir refuses a world-writable folder without the sticky bit.
func checkDir(dir, what string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("cannot check the folder of the %s: %v", what, err)
	}
	m := fi.Mode()
	if m.Perm()&0o002 != 0 && m&fs.ModeSticky == 0 {
		return fmt.Errorf("refusing a %s in a world-writable folder without the sticky bit (%s, mode %04o): anyone can replace it; run: chmod o-w %s",
			what, dir, m.Perm(), dir)
	}
	return nil
}
