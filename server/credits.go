package server

import (
	"errors"
	"fmt"
)

// creditWindow is the command sequence window [MS-SMB2 3.3.1.1, 3.3.1.2]:
// message ids in [low, low+size) are valid, each usable once. Ids consumed
// out of order above low are remembered in used until low catches up, so
// the state stays small for well-behaved clients.
type creditWindow struct {
	mu   orderedMutex[rankLeaf]
	low  uint64
	size uint64 // credits granted and not yet consumed, plus holes
	used map[uint64]struct{}
	max  uint64 // Limits.MaxCredits
}

func (w *creditWindow) init(maxCredits int) {
	w.low, w.size = 0, 1 // one credit for the first NEGOTIATE (MessageId 0)
	w.max = uint64(maxCredits)
	if maxCredits <= 0 || maxCredits > 65535 {
		w.max = 65535
	}
}

var errSequence = errors.New("message id outside the sequence window")

// consume validates and marks message ids [mid, mid+charge).
func (w *creditWindow) consume(mid uint64, charge uint16) error {
	n := uint64(max(charge, 1))
	w.mu.Lock()
	defer w.mu.Unlock()
	if mid < w.low || mid+n < mid || mid+n > w.low+w.size {
		return fmt.Errorf("%w: id %d charge %d window [%d,%d)", errSequence, mid, n, w.low, w.low+w.size)
	}
	for i := mid; i < mid+n; i++ {
		if _, dup := w.used[i]; dup {
			return fmt.Errorf("%w: id %d reused", errSequence, i)
		}
	}
	for i := mid; i < mid+n; i++ {
		if i == w.low {
			w.low++
			w.size--
			continue
		}
		if w.used == nil {
			w.used = map[uint64]struct{}{}
		}
		w.used[i] = struct{}{}
	}
	for {
		if _, ok := w.used[w.low]; !ok {
			break
		}
		delete(w.used, w.low)
		w.low++
		w.size--
	}
	if len(w.used) == 0 {
		w.used = nil
	}
	return nil
}

// grant decides how many credits to return for a request that asked for
// requested and was charged charge, and widens the window by that much.
// The client always keeps at least one credit.
func (w *creditWindow) grant(requested, charge uint16) uint16 {
	w.mu.Lock()
	defer w.mu.Unlock()
	want := uint64(max(requested, 1))
	if c := uint64(max(charge, 1)); want < c && w.size == 0 {
		want = c
	}
	if w.size+want > w.max {
		if w.size >= w.max {
			want = 0
		} else {
			want = w.max - w.size
		}
	}
	if want == 0 && w.size == 0 {
		want = 1
	}
	w.size += want
	return uint16(want)
}
