package userdb

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
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
