package bufpool

import (
	"runtime/debug"
	"testing"
)

func TestClasses(t *testing.T) {
	for _, n := range []int{0, 1, 1 << 10, 1<<10 + 1, 1 << 20, 1<<20 + 112, 8 << 20, 8<<20 + 112, 9 << 20} {
		b := Get(n)
		if len(b) != n || cap(b) != ClassSize(n) || cap(b) < n {
			t.Fatalf("Get(%d): len %d cap %d, class %d", n, len(b), cap(b), ClassSize(n))
		}
		Put(b)
	}
	if ClassSize(1<<20+112) != 1<<20+4<<10 {
		t.Fatalf("a 1 MiB payload with its headers must fit the 1 MiB class, got %d", ClassSize(1<<20+112))
	}
}

func TestReuseAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops a random share of Put under -race")
	}
	// A collection empties the pools; keep it from running between
	// Put and Get.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	Put(Get(1 << 20))
	if n := testing.AllocsPerRun(100, func() { Put(Get(1 << 20)) }); n > 0 {
		t.Fatalf("Get/Put of a pooled class allocates %.1f times", n)
	}
}
