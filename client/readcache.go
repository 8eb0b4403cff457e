package client

// Read caching. Under a lease with read caching [MS-SMB2 2.2.13.2.8],
// readAt keeps the data READ returned in one window per file (rcache,
// contiguous from rcacheOff, at most readCacheLimit bytes) and serves a
// later read that lies wholly inside the window without a READ. The
// window is dropped (dropReadCache) when a break takes read caching away,
// before the break is acknowledged [MS-SMB2 3.2.5.19.2], by every write
// of this client (cached or not, before it is sent and again after it
// completes), by Truncate, by Close, and by a reconnect that reclaims the
// handle. rgen counts the drops: a READ that was in flight across a drop
// does not fill the window (storeRead compares the generation it started
// with). WriteTo (io.Copy, `signet get`) streams past the cache.
//
// All fields are guarded by File.cmu, which is never taken while f.mu is
// wanted (lock order mu, then cmu).

// defaultReadCache bounds the read cache when Dialer.ReadCache is zero.
const defaultReadCache = 1 << 20

// readCacheLimit is the read cache bound; 0 means no caching.
func (s *Session) readCacheLimit() int {
	switch {
	case s.cfg.ReadCache < 0:
		return 0
	case s.cfg.ReadCache == 0:
		return defaultReadCache
	}
	return s.cfg.ReadCache
}

// cachedRead fills p from the read cache when the file holds read caching
// and the window covers [off, off+len(p)); otherwise it returns the
// generation to pass to storeRead.
func (f *File) cachedRead(p []byte, off int64) (bool, uint64) {
	f.cmu.Lock()
	defer f.cmu.Unlock()
	// The window is filled only under read caching and dropped when a
	// break, a lost handle or a reconnect changes that, so a non-empty
	// window means the lease still has R.
	if len(f.rcache) > 0 && off >= f.rcacheOff && off+int64(len(p)) <= f.rcacheOff+int64(len(f.rcache)) {
		copy(p, f.rcache[off-f.rcacheOff:])
		f.rhits++
		return true, 0
	}
	return false, f.rgen
}

// storeRead keeps data, read at off by a READ started at generation gen,
// in the window: appended when it continues or overlaps its end and the
// whole fits the bound, else in place of the window (its last
// readCacheLimit bytes).
func (f *File) storeRead(data []byte, off int64, gen uint64) {
	limit := f.sh.t.s.readCacheLimit()
	if limit == 0 || len(data) == 0 {
		return
	}
	f.cmu.Lock()
	defer f.cmu.Unlock()
	if f.rgen != gen || f.lstate&LeaseRead == 0 || f.lost() != nil {
		return
	}
	if len(data) > limit {
		off += int64(len(data) - limit)
		data = data[len(data)-limit:]
	}
	end := off + int64(len(data))
	cend := f.rcacheOff + int64(len(f.rcache))
	keep := 0 // bytes of the window kept before data
	if len(f.rcache) > 0 && off >= f.rcacheOff && off <= cend && end-f.rcacheOff <= int64(limit) {
		if end <= cend {
			copy(f.rcache[off-f.rcacheOff:], data)
			return
		}
		keep = int(off - f.rcacheOff)
	} else {
		f.rcacheOff = off
	}
	need := keep + len(data)
	if need > cap(f.rcache) {
		grown := make([]byte, keep, min(max(2*cap(f.rcache), need), limit))
		copy(grown, f.rcache[:keep])
		f.rcache = grown
	}
	f.rcache = append(f.rcache[:keep], data...)
}

// dropReadCache empties the window and ends the generation; f.cmu is
// held.
func (f *File) dropReadCacheLocked() {
	f.rcache = nil
	f.rgen++
}

// dropReadCache empties the window and ends the generation.
func (f *File) dropReadCache() {
	f.cmu.Lock()
	f.dropReadCacheLocked()
	f.cmu.Unlock()
}

// ReadCached returns the number of bytes the file's read cache holds and
// how many reads it served without a READ.
func (f *File) ReadCached() (bytes, hits int) {
	f.cmu.Lock()
	defer f.cmu.Unlock()
	return len(f.rcache), f.rhits
}
