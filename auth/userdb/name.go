package userdb

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/signetsmb/signet/auth"
)

// MaxNameLen is the longest user name accepted, in characters.
const MaxNameLen = 104

// invalidNameChars may not appear in a Windows account name; ':' is also
// the users file's separator.
const invalidNameChars = `"/\[]:;|=,+*?<>`

// ValidateName checks a user name: non-empty, at most MaxNameLen
// characters, valid UTF-8 without control characters, none of
// " / \ [ ] : ; | = , + * ? < >, no leading or trailing space, not starting
// with '#', and not made only of dots and spaces.
func ValidateName(name string) error {
	switch {
	case name == "":
		return errors.New("empty user name")
	case !utf8.ValidString(name):
		return fmt.Errorf("user name %q is not valid UTF-8", name)
	case utf8.RuneCountInString(name) > MaxNameLen:
		return fmt.Errorf("user name %q is longer than %d characters", name, MaxNameLen)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return fmt.Errorf("user name %q contains a control character", name)
	case strings.ContainsAny(name, invalidNameChars):
		return fmt.Errorf("user name %q contains one of %s", name, invalidNameChars)
	case strings.TrimSpace(name) != name:
		return fmt.Errorf("user name %q has leading or trailing spaces", name)
	case strings.HasPrefix(name, "#"):
		return fmt.Errorf("user name %q starts with '#'", name)
	case strings.Trim(name, ". ") == "":
		return fmt.Errorf("user name %q consists only of dots and spaces", name)
	}
	return nil
}

// looseKey maps every character of name to the smallest member of its
// Unicode simple case-folding orbit, so that two names have the same key
// exactly when strings.EqualFold reports them equal ('k', 'K' and U+212A
// KELVIN SIGN all map to 'K').
func looseKey(name string) string {
	return strings.Map(func(r rune) rune {
		m := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			m = min(m, f)
		}
		return m
	}, name)
}

// confusable reports whether a and b are different accounts that a
// case-insensitive comparison (strings.EqualFold) would take for one.
func confusable(a, b string) bool {
	return auth.FoldName(a) != auth.FoldName(b) && looseKey(a) == looseKey(b)
}

// confusableWith returns the index of a user line whose name is
// confusable with name, or -1.
func confusableWith(lines []line, name string) int {
	for i, l := range lines {
		if l.isUser && confusable(l.name, name) {
			return i
		}
	}
	return -1
}

// confusableWarnings describes the confusable pairs among the users.
func confusableWarnings(lines []line) []string {
	var out []string
	seen := map[string]string{} // looseKey -> first name
	for _, l := range lines {
		if !l.isUser {
			continue
		}
		k := looseKey(l.name)
		if prev, ok := seen[k]; ok && confusable(prev, l.name) {
			out = append(out, fmt.Sprintf("users %q and %q are different accounts but equal under case-insensitive comparison; rename one", prev, l.name))
			continue
		}
		seen[k] = l.name
	}
	return out
}
