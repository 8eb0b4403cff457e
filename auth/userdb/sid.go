package userdb

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"strings"
)

// SIDFileSuffix names the file next to the users file that holds the
// machine SID: "users" keeps it in "users.sid".
const SIDFileSuffix = ".sid"

var machineSIDPattern = regexp.MustCompile(`^S-1-5-21-[0-9]{1,10}-[0-9]{1,10}-[0-9]{1,10}$`)

// MachineSID returns the machine SID kept with the users file at path
// (in path+SIDFileSuffix), creating it once with three random
// sub-authorities ("S-1-5-21-a-b-c", as Windows draws its own). Every
// user's SID is this SID plus the user's RID, so the file must stay with
// the users file: descriptors stored on shares name users by SID.
func MachineSID(path string) (string, error) {
	sidPath := path + SIDFileSuffix
	b, err := os.ReadFile(sidPath)
	if err == nil {
		s := strings.TrimSpace(string(b))
		if !machineSIDPattern.MatchString(s) {
			return "", fmt.Errorf("%s: not a machine SID (S-1-5-21-a-b-c): %q", sidPath, s)
		}
		return s, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	var r [12]byte
	if _, err := rand.Read(r[:]); err != nil {
		return "", err
	}
	s := fmt.Sprintf("S-1-5-21-%d-%d-%d", binary.LittleEndian.Uint32(r[0:]), binary.LittleEndian.Uint32(r[4:]),
		binary.LittleEndian.Uint32(r[8:]))
	if err := writeAtomic(sidPath, []byte(s+"\n")); err != nil {
		return "", err
	}
	return s, nil
}

// SetMachineSID replaces the machine SID kept with the users file at path
// (a cluster node adopts the cluster's, so that every node names a user by
// the same SID).
func SetMachineSID(path, sid string) error {
	if !machineSIDPattern.MatchString(sid) {
		return fmt.Errorf("not a machine SID (S-1-5-21-a-b-c): %q", sid)
	}
	return writeAtomic(path+SIDFileSuffix, []byte(sid+"\n"))
}
