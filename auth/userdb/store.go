package userdb

import (
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultCheckInterval is how often a Store looks at its file by default.
const DefaultCheckInterval = time.Second

// StoreOptions configure a Store. The zero value is usable.
type StoreOptions struct {
	// CheckInterval is the minimum time between two looks at the file.
	// Defaults to DefaultCheckInterval.
	CheckInterval time.Duration
	// Now is the clock. Defaults to time.Now.
	Now func() time.Time
	// Logger receives reloads, warnings and rejected files. Defaults to
	// slog.Default().
	Logger *slog.Logger
}

// Store is a users file that follows changes: Lookup re-stats the file at
// most once per CheckInterval and reloads it when its identity, size,
// modification time or mode changed. So `signet user add` takes effect on
// a running server without a restart. A missing file means no users; a
// file that fails to load is logged and the previous users stay.
//
// A Store is safe for concurrent use. Lookup matches the server's UserDB
// interface.
type Store struct {
	path     string
	interval time.Duration
	now      func() time.Time
	log      *slog.Logger

	db        atomic.Pointer[DB]
	nextCheck atomic.Int64 // unix nanoseconds; checks before it are skipped

	// mu serialises refreshes and guards stamp.
	mu    sync.Mutex
	stamp fs.FileInfo // of the file last tried; nil when it was missing
}

// NewStore returns a Store for the users file at path with default
// options. It does not touch the file: the first Lookup loads it, and
// problems are logged to slog.Default(). Use OpenStore to load eagerly
// and fail on a broken file.
func NewStore(path string) *Store {
	return newStore(path, StoreOptions{})
}

// OpenStore loads the users file at path and returns a Store following it.
// A missing file gives an empty Store that picks the file up once it
// appears; any other load failure is returned.
func OpenStore(path string, o StoreOptions) (*Store, error) {
	s := newStore(path, o)
	db, fi, err := load(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		s.log.Info("users file does not exist yet; no users", "file", path)
	case err != nil:
		return nil, err
	default:
		s.db.Store(db)
		s.stamp = fi
		s.logWarnings(db)
	}
	s.nextCheck.Store(s.now().Add(s.interval).UnixNano())
	return s, nil
}

// newStore returns an empty Store due for a check at once.
func newStore(path string, o StoreOptions) *Store {
	s := &Store{path: path, interval: o.CheckInterval, now: o.Now, log: o.Logger}
	if s.interval <= 0 {
		s.interval = DefaultCheckInterval
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.db.Store(newDB(nil))
	return s
}

// Path returns the users file's path.
func (s *Store) Path() string { return s.path }

// Lookup returns the NT hash of user (case-insensitive), first reloading
// the file if it changed and the check interval has passed.
func (s *Store) Lookup(user string) (ntHash [16]byte, ok bool) {
	s.maybeRefresh()
	return s.db.Load().Lookup(user)
}

// Users returns the current user names, with the same refresh as Lookup.
func (s *Store) Users() []string {
	s.maybeRefresh()
	return s.db.Load().Users()
}

func (s *Store) maybeRefresh() {
	now := s.now()
	if now.UnixNano() < s.nextCheck.Load() {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.UnixNano() < s.nextCheck.Load() {
		return // another caller refreshed meanwhile
	}
	s.nextCheck.Store(now.Add(s.interval).UnixNano())
	s.refresh()
}

// refresh reloads the file if it changed. Called with mu held.
func (s *Store) refresh() {
	fi, err := os.Stat(s.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if s.stamp != nil {
			s.log.Warn("users file removed; no users", "file", s.path)
			s.db.Store(newDB(nil))
			s.stamp = nil
		}
		return
	case err != nil:
		s.log.Error("cannot check users file; keeping the current users", "file", s.path, "err", err)
		return
	case sameFile(s.stamp, fi):
		return
	}
	db, loaded, err := load(s.path)
	if err != nil {
		// Remember the bad version so it is reported once, not every check.
		s.stamp = fi
		s.log.Error("users file rejected; keeping the current users: "+err.Error(), "file", s.path)
		return
	}
	s.stamp = loaded
	s.db.Store(db)
	s.logWarnings(db)
	s.log.Info("users file loaded", "file", s.path, "users", len(db.names))
}

func (s *Store) logWarnings(db *DB) {
	for _, w := range db.warnings {
		s.log.Warn(w)
	}
}

// sameFile reports whether b describes the same unchanged file as a.
func sameFile(a, b fs.FileInfo) bool {
	return a != nil && b != nil && os.SameFile(a, b) &&
		a.Size() == b.Size() && a.ModTime().Equal(b.ModTime()) && a.Mode() == b.Mode()
}
