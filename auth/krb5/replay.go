package krb5

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"sync"
	"time"

	"github.com/jcmturner/gokrb5/v8/types"
)

// DefaultReplayEntries bounds a ReplayCache made without a size.
const DefaultReplayEntries = 65536

// ReplayCache remembers the authenticators accepted within the clock-skew
// window so that a captured AP-REQ cannot be presented again [RFC 4120
// 3.2.3]. It is bounded: when full, expired entries are dropped; if every
// entry is still live the new logon is refused (fail closed: forgetting a
// live entry would reopen the replay window). Only authenticators that
// decrypted with a ticket from our keytab get in, so filling it takes
// valid tickets.
//
// A ReplayCache is safe for concurrent use; its mutex is a leaf (nothing
// else is locked while it is held). One cache must outlive the acceptors
// built from successive policy snapshots (signet serve keeps one).
type ReplayCache struct {
	mu      sync.Mutex
	max     int
	entries map[[32]byte]time.Time // authenticator digest → when it may be forgotten
}

// NewReplayCache returns a cache holding at most max entries
// (DefaultReplayEntries when max <= 0).
func NewReplayCache(max int) *ReplayCache {
	if max <= 0 {
		max = DefaultReplayEntries
	}
	return &ReplayCache{max: max, entries: make(map[[32]byte]time.Time)}
}

var (
	errReplay    = errors.New("krb5: replayed authenticator")
	errCacheFull = errors.New("krb5: replay cache full of live entries")
)

// Len returns the number of entries held.
func (c *ReplayCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// add records key until expires; it fails with errReplay when key is
// present and unexpired, errCacheFull when no room can be made.
func (c *ReplayCache) add(key [32]byte, now, expires time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if exp, ok := c.entries[key]; ok && now.Before(exp) {
		return errReplay
	}
	if len(c.entries) >= c.max {
		for k, exp := range c.entries {
			if !now.Before(exp) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= c.max {
			return errCacheFull
		}
	}
	c.entries[key] = expires
	return nil
}

// replayKey identifies one authenticator: server, client, its time, and
// a digest of its ciphertext (as MIT's replay cache keeps), so that two
// clients' authenticators in the same microsecond do not collide.
func replayKey(sname types.PrincipalName, crealm string, cname types.PrincipalName, ctime time.Time, cusec int, cipher []byte) [32]byte {
	h := sha256.New()
	put := func(s string) {
		h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(s))))
		h.Write([]byte(s))
	}
	put(sname.PrincipalNameString())
	put(crealm)
	put(cname.PrincipalNameString())
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(ctime.Unix())))
	h.Write(binary.BigEndian.AppendUint32(nil, uint32(cusec)))
	h.Write(cipher)
	var k [32]byte
	h.Sum(k[:0])
	return k
}
