package state

import (
	"sync"
	"testing"
	"time"
)

// TestMemDurables: Park, Peek, Take (once only, even when raced), Expired
// and NextExpiry.
func TestMemDurables(t *testing.T) {
	d := NewMemDurables[string]()
	now := time.Unix(1000, 0)
	if !d.NextExpiry().IsZero() || d.Len() != 0 {
		t.Fatal("empty table not empty")
	}
	a, b := FileID{1, 1}, FileID{2, 2}
	d.Park(a, "a", now.Add(time.Second))
	d.Park(b, "b", now.Add(time.Minute))
	if got := d.NextExpiry(); !got.Equal(now.Add(time.Second)) {
		t.Fatalf("NextExpiry %v", got)
	}
	if ids := d.Expired(now); len(ids) != 0 {
		t.Fatalf("expired too early: %v", ids)
	}
	if ids := d.Expired(now.Add(time.Second)); len(ids) != 1 || ids[0] != a {
		t.Fatalf("Expired %v, want [a]", ids)
	}
	if v, ok := d.Peek(a); !ok || v != "a" || d.Len() != 2 {
		t.Fatal("Peek removed or missed")
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, ok := d.Take(a); ok {
				mu.Lock()
				won++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if won != 1 {
		t.Fatalf("%d takers won, want exactly 1", won)
	}
	n := 0
	d.Range(func(id FileID, v string) bool { n++; return id == b && v == "b" })
	if n != 1 || d.Len() != 1 {
		t.Fatalf("Range saw %d, Len %d", n, d.Len())
	}
}
