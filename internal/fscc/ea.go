package fscc

import (
	"encoding/binary"
	"errors"
	"strings"
)

// Extended attributes [MS-FSCC 2.4.15, 2.4.15.1].

// EA is one extended attribute: a name (ASCII, at most 255 bytes), flags
// (FileNeedEA) and a value (at most 65535 bytes).
type EA struct {
	Flags uint8
	Name  string
	Value []byte
}

// FileNeedEA marks an EA the file cannot be understood without
// [MS-FSCC 2.4.15].
const FileNeedEA uint8 = 0x80

// Errors of the EA codecs: ErrEAList for a malformed list
// (STATUS_EA_LIST_INCONSISTENT), ErrEAName for an invalid name
// (STATUS_INVALID_EA_NAME).
var (
	ErrEAList = errors.New("fscc: inconsistent EA list")
	ErrEAName = errors.New("fscc: invalid EA name")
)

// invalidEANameChars are the characters FAT and NTFS refuse in EA names.
const invalidEANameChars = "\"*+,/:;<=>?[\\]|"

// ValidEAName reports whether name may name an EA: 1 to 255 bytes of
// printable ASCII without " * + , / : ; < = > ? [ \ ] |.
func ValidEAName(name string) error {
	if name == "" || len(name) > 255 {
		return ErrEAName
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c < 0x20 || c > 0x7e || strings.IndexByte(invalidEANameChars, c) >= 0 {
			return ErrEAName
		}
	}
	return nil
}

// DecodeFullEAList decodes a chain of FILE_FULL_EA_INFORMATION entries,
// as SET_INFO and the SMB2_CREATE_EA_BUFFER context carry: each entry
// inside b, NextEntryOffset 0 in the last and otherwise past the entry,
// the name NUL-terminated. Names are checked with ValidEAName.
func DecodeFullEAList(b []byte) ([]EA, error) {
	var out []EA
	for off := 0; ; {
		if len(b)-off < 8 {
			return nil, ErrEAList
		}
		e := b[off:]
		next := int(binary.LittleEndian.Uint32(e))
		nameLen := int(e[5])
		valueLen := int(binary.LittleEndian.Uint16(e[6:]))
		size := 8 + nameLen + 1 + valueLen
		if size > len(e) || next != 0 && (next < size || next > len(e)) {
			return nil, ErrEAList
		}
		if e[8+nameLen] != 0 {
			return nil, ErrEAList
		}
		name := string(e[8 : 8+nameLen])
		if err := ValidEAName(name); err != nil {
			return nil, err
		}
		out = append(out, EA{Flags: e[4], Name: name, Value: append([]byte(nil), e[9+nameLen:size]...)})
		if next == 0 {
			return out, nil
		}
		off += next
	}
}

// DecodeGetEAList decodes a chain of FILE_GET_EA_INFORMATION entries, the
// names a QUERY_INFO of FileFullEaInformation asks for.
func DecodeGetEAList(b []byte) ([]string, error) {
	var out []string
	for off := 0; ; {
		if len(b)-off < 6 {
			return nil, ErrEAList
		}
		e := b[off:]
		next := int(binary.LittleEndian.Uint32(e))
		nameLen := int(e[4])
		size := 5 + nameLen + 1
		if size > len(e) || next != 0 && (next < size || next > len(e)) || e[5+nameLen] != 0 {
			return nil, ErrEAList
		}
		name := string(e[5 : 5+nameLen])
		if err := ValidEAName(name); err != nil {
			return nil, err
		}
		out = append(out, name)
		if next == 0 {
			return out, nil
		}
		off += next
	}
}

// FullEASize is the size of ea as a FILE_FULL_EA_INFORMATION entry,
// without alignment padding.
func FullEASize(ea *EA) int { return 8 + len(ea.Name) + 1 + len(ea.Value) }

// EASize is FileEaInformation.EaSize for eas: the size of the list as
// FILE_FULL_EA_INFORMATION entries aligned to 4 bytes (0 for none).
func EASize(eas []EA) uint32 {
	var n int
	for i := range eas {
		n += (FullEASize(&eas[i]) + 3) &^ 3
	}
	return uint32(n)
}

// AppendFullEAs appends eas as a chain of FILE_FULL_EA_INFORMATION
// entries, each but the last padded to 4 bytes.
func AppendFullEAs(dst []byte, eas []EA) []byte {
	for i := range eas {
		ea := &eas[i]
		start := len(dst)
		size := FullEASize(ea)
		next := 0
		if i < len(eas)-1 {
			next = (size + 3) &^ 3
		}
		dst = binary.LittleEndian.AppendUint32(dst, uint32(next))
		dst = append(dst, ea.Flags, byte(len(ea.Name)))
		dst = binary.LittleEndian.AppendUint16(dst, uint16(len(ea.Value)))
		dst = append(dst, ea.Name...)
		dst = append(dst, 0)
		dst = append(dst, ea.Value...)
		for next > 0 && len(dst)-start < next {
			dst = append(dst, 0)
		}
	}
	return dst
}

// AppendGetEAs appends names as FILE_GET_EA_INFORMATION entries (a client
// helper and test aid).
func AppendGetEAs(dst []byte, names []string) []byte {
	for i, name := range names {
		start := len(dst)
		size := 5 + len(name) + 1
		next := 0
		if i < len(names)-1 {
			next = (size + 3) &^ 3
		}
		dst = binary.LittleEndian.AppendUint32(dst, uint32(next))
		dst = append(dst, byte(len(name)))
		dst = append(dst, name...)
		dst = append(dst, 0)
		for next > 0 && len(dst)-start < next {
			dst = append(dst, 0)
		}
	}
	return dst
}
