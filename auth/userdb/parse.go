package userdb

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/signetsmb/signet/auth"
)

// line is one line of a users file, kept verbatim so that edits preserve
// comments and order.
type line struct {
	text     string // without the line terminator
	isUser   bool
	name     string
	hash     [16]byte
	disabled bool
}

// parse splits a users file into lines, rejecting malformed and duplicate
// entries. All problems are reported, each with its line number.
func parse(path string, data []byte) ([]line, error) {
	var (
		out   []line
		errs  []error
		first = map[string]int{} // auth.FoldName -> line number
	)
	text := strings.TrimSuffix(string(data), "\n")
	if text == "" {
		return nil, nil
	}
	for i, raw := range strings.Split(text, "\n") {
		n := i + 1
		l, err := parseLine(strings.TrimSuffix(raw, "\r"))
		if err != nil {
			errs = append(errs, &ParseError{Path: path, Line: n, Msg: err.Error()})
			continue
		}
		if l.isUser {
			key := auth.FoldName(l.name)
			if prev, dup := first[key]; dup {
				errs = append(errs, &ParseError{Path: path, Line: n,
					Msg: fmt.Sprintf("duplicate user %q (first defined on line %d)", l.name, prev)})
				continue
			}
			first[key] = n
		}
		out = append(out, l)
	}
	if len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	return out, nil
}

func parseLine(text string) (line, error) {
	t := strings.TrimSpace(text)
	if t == "" || strings.HasPrefix(t, "#") {
		return line{text: text}, nil
	}
	name, rest, ok := strings.Cut(t, ":")
	if !ok {
		return line{}, fmt.Errorf("missing ':' (want name:NTHASH)")
	}
	if err := ValidateName(name); err != nil {
		return line{}, err
	}
	hexHash, flags, _ := strings.Cut(rest, ":")
	h, err := parseHash(hexHash)
	if err != nil {
		return line{}, fmt.Errorf("user %q: %v", name, err)
	}
	disabled, err := parseFlags(flags)
	if err != nil {
		return line{}, fmt.Errorf("user %q: %v", name, err)
	}
	return line{text: text, isUser: true, name: name, hash: h, disabled: disabled}, nil
}

// flagDisabled is the third field of a disabled user's line.
const flagDisabled = "disabled"

// parseFlags reads the optional third field: empty, or "disabled". Any
// other value is an error, so that a flag this version does not know
// (say, a future restriction) never loads as an unrestricted account.
func parseFlags(s string) (disabled bool, err error) {
	switch strings.TrimSpace(s) {
	case "":
		return false, nil
	case flagDisabled:
		return true, nil
	}
	return false, fmt.Errorf("unknown flag %q after the NT hash (known: %s)", s, flagDisabled)
}

func parseHash(s string) ([16]byte, error) {
	var h [16]byte
	if len(s) != 2*len(h) {
		return h, fmt.Errorf("NT hash must be %d hex digits, got %d characters", 2*len(h), len(s))
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, fmt.Errorf("NT hash is not hexadecimal: %q", s)
	}
	return h, nil
}

// format renders lines back into file content.
func format(lines []line) []byte {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l.text)
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

func userLine(name string, h [16]byte, disabled bool) line {
	text := name + ":" + hex.EncodeToString(h[:])
	if disabled {
		text += ":" + flagDisabled
	}
	return line{text: text, isUser: true, name: name, hash: h, disabled: disabled}
}
