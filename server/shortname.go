package server

import (
	"hash/fnv"
	"strings"
)

// shortName returns the 8.3 alternate name reported for a file, as Samba's
// name mangling does for shares on Unix file systems: a name that already
// is a valid 8.3 name is reported upper-cased; any other name gets a
// mangled form (up to five leading characters, "~", two characters of a
// hash of the full name, and the first three characters of the extension).
func shortName(name string) string {
	if name == "." || name == ".." {
		return ""
	}
	if is83(name) {
		return strings.ToUpper(name)
	}
	base, ext := name, ""
	if i := strings.LastIndexByte(name, '.'); i > 0 {
		base, ext = name[:i], name[i+1:]
	}
	h := fnv.New32a()
	h.Write([]byte(name))
	sum := h.Sum32()
	const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	prefix := clean83(base, 5)
	if prefix == "" {
		prefix = "_"
	}
	out := prefix + "~" + string(digits[sum%36]) + string(digits[(sum/36)%36])
	if e := clean83(ext, 3); e != "" {
		out += "." + e
	}
	return out
}

// is83 reports whether name is a valid DOS 8.3 name.
func is83(name string) bool {
	base, ext := name, ""
	if i := strings.IndexByte(name, '.'); i >= 0 {
		base, ext = name[:i], name[i+1:]
	}
	if len(base) == 0 || len(base) > 8 || len(ext) > 3 || strings.ContainsRune(ext, '.') {
		return false
	}
	return clean83(base, 8) == strings.ToUpper(base) && clean83(ext, 3) == strings.ToUpper(ext)
}

// clean83 keeps up to n characters valid in 8.3 names, upper-cased.
func clean83(s string, n int) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		if b.Len() == n {
			break
		}
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("!#$%&'()-@^_`{}~", r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}
