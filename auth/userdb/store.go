package userdb

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/signetsmb/signet/auth"
	"github.com/signetsmb/signet/internal/filewatch"
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
	// OnReload, when set, is called each time the Store replaced its
	// users (a changed file loaded, or the file removed), after the
	// Store's lock is released, on the goroutine that noticed: a Lookup's
	// or Watch's. It must return quickly; hand long work (such as
	// server.Server.Revalidate) to another goroutine.
	OnReload func()
}

// Store is a users file that follows changes: Lookup re-stats the file at
// most once per CheckInterval and reloads it when its identity, size,
// modification time or mode changed; Watch and Reload look at once. So
// `signet user add|delete|disable` takes effect on a running server
// without a restart. A missing file means no users; a file that fails to
// load is logged and the previous users stay.
//
// A Store is safe for concurrent use. Lookup matches the server's UserDB
// interface.
type Store struct {
	path     string
	interval time.Duration
	now      func() time.Time
	log      *slog.Logger
	onReload func()

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
	s := &Store{path: path, interval: o.CheckInterval, now: o.Now, log: o.Logger, onReload: o.OnReload}
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

// Lookup returns the account of user (matched under auth.FoldName),
// first reloading the file if it changed and the check interval has
// passed.
func (s *Store) Lookup(user string) (auth.Account, bool) {
	s.maybeRefresh()
	return s.db.Load().Lookup(user)
}

// Users returns the current user names, with the same refresh as Lookup.
func (s *Store) Users() []string {
	s.maybeRefresh()
	return s.db.Load().Users()
}

// Reload looks at the file now, whatever the check interval, and reloads
// it if it changed.
func (s *Store) Reload() { s.check(true) }

func (s *Store) maybeRefresh() {
	if s.now().UnixNano() < s.nextCheck.Load() {
		return
	}
	s.check(false)
}

// check refreshes unless (without force) another caller did within the
// interval, and calls OnReload once the lock is released.
func (s *Store) check(force bool) {
	if s.checkLocked(force) && s.onReload != nil {
		s.onReload()
	}
}

func (s *Store) checkLocked(force bool) (reloaded bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if !force && now.UnixNano() < s.nextCheck.Load() {
		return false // another caller refreshed meanwhile
	}
	s.nextCheck.Store(now.Add(s.interval).UnixNano())
	return s.refresh()
}

// refresh reloads the file if it changed and reports whether the users
// were replaced. Called with mu held.
func (s *Store) refresh() bool {
	fi, err := os.Stat(s.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if s.stamp != nil {
			s.log.Warn("users file removed; no users", "file", s.path)
			s.db.Store(newDB(nil))
			s.stamp = nil
			return true
		}
		return false
	case err != nil:
		s.log.Error("cannot check users file; keeping the current users", "file", s.path, "err", err)
		return false
	case sameFile(s.stamp, fi):
		return false
	}
	db, loaded, err := load(s.path)
	if err != nil {
		// Remember the bad version so it is reported once, not every check.
		s.stamp = fi
		s.log.Error("users file rejected; keeping the current users: "+err.Error(), "file", s.path)
		return false
	}
	s.stamp = loaded
	s.db.Store(db)
	s.logWarnings(db)
	s.log.Info("users file loaded", "file", s.path, "users", len(db.accounts))
	return true
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

// watchDebounce is how long the file must stay quiet before Watch looks.
const watchDebounce = 100 * time.Millisecond

// Watch reloads the users file (as Reload) whenever it changes, until ctx
// is done, so that a deleted or disabled user is seen at once rather than
// at the next Lookup. It watches the file's folder, so atomic replacement
// (as Add, Delete and SetDisabled write) is noticed. It returns nil when
// ctx is done, and an error only when the watch cannot be set up; the
// Store then still follows the file through Lookup.
func (s *Store) Watch(ctx context.Context) error {
	return filewatch.Watch(ctx, s.path, watchDebounce, s.Reload,
		func(err error) { s.log.Warn("users file watcher error", "file", s.path, "err", err) })
}
