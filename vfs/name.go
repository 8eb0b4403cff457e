package vfs

import (
	"os"
	"strings"
)

// Root is the canonical name of the share root, as returned by CleanName.
const Root = "."

// CleanName validates name against the path contract of FS and returns it in
// canonical form: components joined by single slashes, without empty or "."
// components, and Root for the root itself.
//
// It fails with ErrInvalidName if name contains a NUL byte, starts with a
// slash (is absolute) or has a ".." component. It does not limit component
// length; backends report ErrNameTooLong.
func CleanName(name string) (string, error) {
	if strings.IndexByte(name, 0) >= 0 || strings.HasPrefix(name, "/") {
		return "", ErrInvalidName
	}
	if !needsCleaning(name) {
		return name, nil
	}
	parts := strings.Split(name, "/")
	kept := parts[:0]
	for _, p := range parts {
		switch p {
		case "", ".":
		case "..":
			return "", ErrInvalidName
		default:
			kept = append(kept, p)
		}
	}
	if len(kept) == 0 {
		return Root, nil
	}
	return strings.Join(kept, "/"), nil
}

// needsCleaning reports whether name may be other than a canonical non-root
// name: empty, or with an empty, "." or ".." component.
func needsCleaning(name string) bool {
	if name == "" || name == Root {
		return true
	}
	for p := range strings.SplitSeq(name, "/") {
		if p == "" || p == "." || p == ".." {
			return true
		}
	}
	return false
}

// openFlagMask is the set of flags FS.OpenFile accepts.
const openFlagMask = os.O_RDONLY | os.O_WRONLY | os.O_RDWR |
	os.O_CREATE | os.O_EXCL | os.O_TRUNC | os.O_SYNC

// CheckOpenFlag validates an FS.OpenFile flag: exactly one access mode,
// optionally combined with os.O_CREATE, os.O_EXCL, os.O_TRUNC and os.O_SYNC,
// and no O_TRUNC without write access. It returns an error matching
// fs.ErrInvalid otherwise.
func CheckOpenFlag(flag int) error {
	if flag&^openFlagMask != 0 {
		return &flagError{flag: flag, reason: "unsupported open flag"}
	}
	switch flag & (os.O_RDONLY | os.O_WRONLY | os.O_RDWR) {
	case os.O_RDONLY:
		if flag&os.O_TRUNC != 0 {
			return &flagError{flag: flag, reason: "O_TRUNC without write access"}
		}
	case os.O_WRONLY, os.O_RDWR:
	default:
		return &flagError{flag: flag, reason: "invalid access mode"}
	}
	return nil
}

// Readable reports whether an open flag grants read access.
func Readable(flag int) bool {
	return flag&(os.O_WRONLY|os.O_RDWR) != os.O_WRONLY
}

// Writable reports whether an open flag grants write access.
func Writable(flag int) bool {
	return flag&(os.O_WRONLY|os.O_RDWR) != os.O_RDONLY
}
