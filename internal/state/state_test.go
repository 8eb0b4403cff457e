package state

import (
	"sync"
	"testing"
)

func TestSessionsInsertGetDelete(t *testing.T) {
	tab := NewMemSessions[string]()
	ids := map[uint64]bool{}
	for i := range 1000 {
		id, err := tab.Insert(func(uint64) string { return "s" })
		if err != nil {
			t.Fatal(err)
		}
		if id == 0 || id == ^uint64(0) || ids[id] {
			t.Fatalf("insert %d: bad or repeated id %#x", i, id)
		}
		ids[id] = true
	}
	if tab.Len() != 1000 {
		t.Fatalf("Len = %d", tab.Len())
	}
	for id := range ids {
		if _, ok := tab.Get(id); !ok {
			t.Fatalf("Get(%#x) missing", id)
		}
		tab.Delete(id)
	}
	if tab.Len() != 0 {
		t.Fatalf("Len after delete = %d", tab.Len())
	}
}

// A random source that repeats itself must not make two sessions share
// an id, nor hand out 0 or all ones.
func TestSessionsCollisionRetried(t *testing.T) {
	tab := NewMemSessions[int]()
	seq := []uint64{0, 7, ^uint64(0), 7, 9}
	tab.Rand = func(b []byte) {
		v := seq[0]
		seq = seq[1:]
		for i := range 8 {
			b[i] = byte(v >> (8 * i))
		}
	}
	a, err := tab.Insert(func(uint64) int { return 1 })
	if err != nil || a != 7 {
		t.Fatalf("first = %#x, %v", a, err)
	}
	b, err := tab.Insert(func(uint64) int { return 2 })
	if err != nil || b != 9 {
		t.Fatalf("second = %#x, %v; want 9 after skipping the taken 7", b, err)
	}
}

func TestSessionsFull(t *testing.T) {
	tab := NewMemSessions[int]()
	tab.Rand = func(b []byte) { clear(b); b[0] = 5 }
	if _, err := tab.Insert(func(uint64) int { return 1 }); err != nil {
		t.Fatal(err)
	}
	if _, err := tab.Insert(func(uint64) int { return 2 }); err != ErrFull {
		t.Fatalf("err = %v, want ErrFull when every draw is taken", err)
	}
}

func TestOpensExactMatch(t *testing.T) {
	tab := NewMemOpens[string]()
	id, err := tab.Insert(func(FileID) string { return "a" })
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := tab.Get(id); !ok || v != "a" {
		t.Fatalf("Get = %q %v", v, ok)
	}
	wrong := FileID{Persistent: id.Persistent, Volatile: id.Volatile + 1}
	if _, ok := tab.Get(wrong); ok {
		t.Fatal("a FileId with the wrong volatile half was found")
	}
	if _, ok := tab.Delete(wrong); ok {
		t.Fatal("a FileId with the wrong volatile half was deleted")
	}
	if v, ok := tab.Delete(id); !ok || v != "a" {
		t.Fatalf("Delete = %q %v", v, ok)
	}
	if _, ok := tab.Get(id); ok || tab.Len() != 0 {
		t.Fatal("open still there after Delete")
	}
}

// FileIds are unique across concurrent inserters (the server inserts from
// every connection's handlers at once).
func TestOpensUniqueConcurrent(t *testing.T) {
	tab := NewMemOpens[int]()
	const workers, per = 8, 2000
	var mu sync.Mutex
	seen := map[uint64]bool{}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]FileID, 0, per)
			for range per {
				id, err := tab.Insert(func(FileID) int { return w })
				if err != nil {
					t.Error(err)
					return
				}
				local = append(local, id)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, id := range local {
				if seen[id.Persistent] || id.Volatile == 0 || id.Volatile == ^uint64(0) {
					t.Errorf("bad or repeated FileId %+v", id)
				}
				seen[id.Persistent] = true
			}
		}()
	}
	wg.Wait()
	if tab.Len() != workers*per {
		t.Fatalf("Len = %d", tab.Len())
	}
	n := 0
	tab.Range(func(FileID, int) bool { n++; return true })
	if n != workers*per {
		t.Fatalf("Range saw %d", n)
	}
}
