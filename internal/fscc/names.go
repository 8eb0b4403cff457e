package fscc

import (
	"strings"
	"unicode/utf8"
)

// MaxComponentLength is the longest file name component, in UTF-16 code
// units [MS-FSCC 2.1.5.2].
const MaxComponentLength = 255

// invalidNameChars are the printable characters MS-FSCC 2.1.5.2 excludes
// from file names; control characters 0x00-0x1F are excluded as well.
const invalidNameChars = `"*/:<>?\|`

// ValidComponent reports whether name is a legal file or directory name
// [MS-FSCC 2.1.5.2]: at least one character; none of " * / : < > ? \ | or
// 0x00-0x1F; at most 255 UTF-16 units (ErrNameTooLong); valid UTF-8; not
// the dot names "." or ".." [MS-FSCC 2.1.5.1]. Other failures are
// ErrInvalidName.
//
// Names ending in a dot or a space are accepted: the Win32 layer strips
// them before a request is sent, but the NT layer (and NTFS, and Samba)
// accept such names when a client does send them.
func ValidComponent(name string) error {
	if name == "" || name == "." || name == ".." || !utf8.ValidString(name) {
		return ErrInvalidName
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 0x20 || strings.IndexByte(invalidNameChars, c) >= 0 {
			return ErrInvalidName
		}
	}
	if UTF16Len(name) > MaxComponentLength {
		return ErrNameTooLong
	}
	return nil
}

// Path is a parsed SMB path: see ParsePath.
type Path struct {
	// Components are the validated names from the share root; empty for
	// the root itself.
	Components []string
	// DefaultStream is set when the last component named the unnamed data
	// stream explicitly ("file::$DATA"); the suffix has been removed.
	DefaultStream bool
	// Stream is the named data stream of the last component
	// ("file:stream" or "file:stream:$DATA"), "" for none; the suffix has
	// been removed from Components.
	Stream string
	// TrailingSeparator is set when the path ended in a separator, which
	// MS-FSA 2.1.5.1 only allows when opening a directory.
	TrailingSeparator bool
}

// String returns the canonical share-relative form, components joined by
// backslashes without a leading one ("" for the root).
func (p Path) String() string { return strings.Join(p.Components, `\`) }

// SplitPath returns the validated components of an SMB path relative to
// the share root; see ParsePath for the rules.
func SplitPath(smbPath string) ([]string, error) {
	p, err := ParsePath(smbPath)
	if err != nil {
		return nil, err
	}
	if p.Stream != "" {
		return nil, ErrStreamsNotSupported
	}
	return p.Components, nil
}

// ParsePath parses an SMB2 path relative to the share root, such as the
// CREATE Buffer or a rename target:
//
//   - both '\' and '/' separate components (as Samba does); leading,
//     trailing and repeated separators are ignored, so "\dir\\f" is
//     "dir", "f";
//   - "." components are dropped and ".." removes the previous component
//     [MS-FSCC 2.1.5.1]. A ".." at the root is ErrPathOutsideShare:
//     MS-FSCC 2.1.5.1 says to treat it as ".", but Samba refuses it with
//     STATUS_OBJECT_PATH_SYNTAX_BAD, and refusing is the safer choice for a
//     server mapping shares onto a host file system;
//   - every remaining component must pass ValidComponent;
//   - a ':' is only allowed in the last component, as a stream suffix:
//     "file::$DATA" (any case) is the file itself (DefaultStream is set),
//     "file:stream" and "file:stream:$DATA" name a stream (Stream is set;
//     SplitPath refuses them with ErrStreamsNotSupported), other uses of
//     ':' (including a stream followed by a separator, a type other than
//     $DATA and an empty stream name without a type) are ErrInvalidName.
//     Stream names follow ValidStreamName.
func ParsePath(smbPath string) (Path, error) {
	var p Path
	parts := strings.FieldsFunc(smbPath, isSeparator)
	p.TrailingSeparator = len(parts) > 0 && isSeparator(rune(smbPath[len(smbPath)-1]))
	for i, part := range parts {
		last := i == len(parts)-1
		if last {
			if p.TrailingSeparator && strings.ContainsRune(part, ':') {
				return Path{}, ErrInvalidName // "file:s\"
			}
			base, stream, isDefault, err := splitStream(part)
			if err != nil {
				return Path{}, err
			}
			part, p.DefaultStream, p.Stream = base, isDefault, stream
		}
		comps, err := pushComponent(p.Components, part)
		if err != nil {
			return Path{}, err
		}
		p.Components = comps
	}
	return p, nil
}

func isSeparator(r rune) bool { return r == '\\' || r == '/' }

// pushComponent applies one path component to comps.
func pushComponent(comps []string, part string) ([]string, error) {
	switch part {
	case ".":
		return comps, nil
	case "..":
		if len(comps) == 0 {
			return nil, ErrPathOutsideShare
		}
		return comps[:len(comps)-1], nil
	}
	if err := ValidComponent(part); err != nil {
		return nil, err
	}
	return append(comps, part), nil
}

// splitStream separates a stream suffix from the last path component.
func splitStream(part string) (base, stream string, isDefault bool, err error) {
	base, suffix, ok := strings.Cut(part, ":")
	if !ok {
		return part, "", false, nil
	}
	if base == "" || base == "." || base == ".." {
		return "", "", false, ErrInvalidName
	}
	name, typ, hasType := strings.Cut(suffix, ":")
	switch {
	case hasType && strings.ContainsRune(typ, ':'):
		return "", "", false, ErrInvalidName // more than two colons
	case hasType && !strings.EqualFold(typ, "$DATA"):
		return "", "", false, ErrInvalidName // only $DATA streams exist
	case name == "" && hasType:
		return base, "", true, nil // file::$DATA
	case name == "":
		return "", "", false, ErrInvalidName // "file:"
	}
	if err := ValidStreamName(name); err != nil {
		return "", "", false, err
	}
	return base, name, false, nil
}

// ValidStreamName reports whether name is a legal stream name: NTFS
// allows any character in a stream name except NUL, '\\', '/' and ':'
// (control characters, '*' and '?' included), at most 255 UTF-16 units
// (ErrNameTooLong), valid UTF-8 here. Other failures are ErrInvalidName.
func ValidStreamName(name string) error {
	if name == "" || !utf8.ValidString(name) || strings.ContainsAny(name, "\x00\\/:") {
		return ErrInvalidName
	}
	if UTF16Len(name) > MaxComponentLength {
		return ErrNameTooLong
	}
	return nil
}
