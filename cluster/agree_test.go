package cluster_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/signetsmb/signet/cluster/etcdtest"
)

// TestAgree: nodes that race to settle a value all get the one value that
// committed first, and a later node with its own value gets it too.
func TestAgree(t *testing.T) {
	ec := etcdtest.Start(t, 1)
	a := join(t, ec.Endpoints(), "a", 3*time.Second, nil)
	defer a.Close()
	b := join(t, ec.Endpoints(), "b", 3*time.Second, nil)
	defer b.Close()
	ctx := context.Background()
	got := make([]string, 8)
	var wg sync.WaitGroup
	for i := range got {
		n := a
		if i%2 == 1 {
			n = b
		}
		wg.Go(func() {
			v, err := n.Agree(ctx, "machine_sid", fmt.Sprintf("v%d", i))
			if err != nil {
				t.Error(err)
			}
			got[i] = v
		})
	}
	wg.Wait()
	for _, v := range got {
		if v != got[0] || v == "" {
			t.Fatalf("nodes disagree: %q", got)
		}
	}
	c := join(t, ec.Endpoints(), "c", 3*time.Second, nil)
	defer c.Close()
	if v, err := c.Agree(ctx, "machine_sid", "late"); err != nil || v != got[0] {
		t.Fatalf("late node: %q %v, want %q", v, err, got[0])
	}
}
