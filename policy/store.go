package policy

import (
	"sync"
	"sync/atomic"
)

// Store holds the current configuration snapshot and replaces it as a
// whole on reload. Readers call Current at the moments they consult policy
// (NEGOTIATE, SESSION_SETUP, TREE_CONNECT) and keep the snapshot they got;
// a reload never changes a snapshot already handed out.
//
// A Store is safe for concurrent use.
type Store struct {
	cur atomic.Pointer[Config]

	// reloadMu serialises reloads: read, parse, swap and notify happen as
	// one step, so subscribers see changes in order.
	reloadMu sync.Mutex

	// subMu guards subs and nextSub.
	subMu   sync.Mutex
	subs    []subscriber
	nextSub uint64
}

type subscriber struct {
	id uint64
	fn func(old, new *Config)
}

// NewStore returns a Store whose current snapshot is c, which must not be
// nil. Reload re-reads c.Path; when c.Path is "" (a Config from Parse or
// LoadDefault) Reload does nothing.
func NewStore(c *Config) *Store {
	if c == nil {
		panic("policy: NewStore(nil)")
	}
	s := &Store{}
	s.cur.Store(c)
	return s
}

// Current returns the current snapshot. It never returns nil.
func (s *Store) Current() *Config { return s.cur.Load() }

// Subscribe registers fn to be called after every successful reload with
// the previous and the new snapshot. Calls happen one at a time, in reload
// order, on the goroutine that reloaded; fn must not call Reload. The
// returned function removes the subscription.
func (s *Store) Subscribe(fn func(old, new *Config)) (unsubscribe func()) {
	s.subMu.Lock()
	defer s.subMu.Unlock()
	s.nextSub++
	id := s.nextSub
	s.subs = append(s.subs, subscriber{id: id, fn: fn})
	return func() { s.unsubscribe(id) }
}

func (s *Store) unsubscribe(id uint64) {
	s.subMu.Lock()
	defer s.subMu.Unlock()
	for i, sub := range s.subs {
		if sub.id == id {
			s.subs = append(s.subs[:i], s.subs[i+1:]...)
			return
		}
	}
}

func (s *Store) subscribers() []subscriber {
	s.subMu.Lock()
	defer s.subMu.Unlock()
	return append([]subscriber(nil), s.subs...)
}

// Reload re-reads the file the current snapshot came from. A valid file
// replaces the snapshot and notifies subscribers; an invalid one is
// rejected with the error and the current snapshot stays. The new
// snapshot's warnings are available from its Warnings method. Reload is a
// no-op for a snapshot without a file.
func (s *Store) Reload() error {
	_, _, err := s.reload()
	return err
}

// reload returns the old and the new snapshot; next is nil when nothing
// was swapped.
func (s *Store) reload() (old, next *Config, err error) {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	old = s.Current()
	if old.Path == "" {
		return old, nil, nil
	}
	next, _, err = loadFile(old.Path, old.Name, osEnv(), old.allowUnknown)
	if err != nil {
		return old, nil, err
	}
	s.cur.Store(next)
	for _, sub := range s.subscribers() {
		sub.fn(old, next)
	}
	return old, next, nil
}
