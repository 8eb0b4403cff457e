package cluster_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signetsmb/signet/cluster"
	"github.com/signetsmb/signet/cluster/etcdtest"
)

// memDoc is a node's local copy of a document, in memory; a document
// starting with "bad" is invalid.
type memDoc struct {
	mu      sync.Mutex
	data    string
	applied int
}

func (m *memDoc) get() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.data
}

func (m *memDoc) set(s string) {
	m.mu.Lock()
	m.data = s
	m.mu.Unlock()
}

func (m *memDoc) doc(name string) cluster.Doc {
	return cluster.Doc{Name: name,
		Local: func() ([]byte, error) { return []byte(m.get()), nil },
		Apply: func(b []byte) error {
			if strings.HasPrefix(string(b), "bad") {
				return errors.New("invalid document")
			}
			m.mu.Lock()
			m.data = string(b)
			m.applied++
			m.mu.Unlock()
			return nil
		}}
}

func startSync(t *testing.T, n *cluster.Node, docs ...cluster.Doc) *cluster.DocSync {
	t.Helper()
	s := cluster.NewDocSync(n, docs...)
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDocSync: the first node publishes its copy; a node joining later
// adopts the cluster's; a local change reaches the other nodes; an
// invalid document is refused and the node keeps its copy.
func TestDocSync(t *testing.T) {
	ec := etcdtest.Start(t, 1)
	var logB syncBuf
	a := join(t, ec.Endpoints(), "a", 2*time.Second, nil)
	defer a.Close()
	b := join(t, ec.Endpoints(), "b", 2*time.Second, &logB)
	defer b.Close()

	da, db := &memDoc{data: "users of a"}, &memDoc{data: "users of b"}
	sa := startSync(t, a, da.doc("users"))
	startSync(t, b, db.doc("users"))
	if got := db.get(); got != "users of a" {
		t.Fatalf("b joined with %q, want the cluster's copy", got)
	}
	if !strings.Contains(logB.String(), "using the cluster's users instead of the local one") {
		t.Fatalf("b did not log which copy it used:\n%s", logB.String())
	}
	if da.get() != "users of a" {
		t.Fatalf("a changed: %q", da.get())
	}

	da.set("users of a, v2")
	sa.Changed("users")
	eventually(t, "a's change reaches b", func() bool { return db.get() == "users of a, v2" })

	// An invalid document from the cluster is refused.
	da.set("bad document")
	sa.Changed("users")
	eventually(t, "b refuses the invalid document", func() bool {
		return strings.Contains(logB.String(), "refusing the cluster's new users")
	})
	if got := db.get(); got != "users of a, v2" {
		t.Fatalf("b applied an invalid document: %q", got)
	}
	// The next valid change is applied again.
	da.set("users of a, v3")
	sa.Changed("users")
	eventually(t, "a's next change reaches b", func() bool { return db.get() == "users of a, v3" })

	// A node without a copy (its file missing) adopts the cluster's, and
	// never publishes the absence.
	c := join(t, ec.Endpoints(), "c", 2*time.Second, nil)
	defer c.Close()
	dc := &memDoc{}
	doc := dc.doc("users")
	doc.Local = func() ([]byte, error) {
		if d := dc.get(); d != "" {
			return []byte(d), nil
		}
		return nil, cluster.ErrNoLocalDoc
	}
	sc := startSync(t, c, doc)
	if got := dc.get(); got != "users of a, v3" {
		t.Fatalf("c without a copy joined with %q", got)
	}
	dc.set("")
	sc.Changed("users")
	time.Sleep(200 * time.Millisecond)
	if got := da.get(); got != "users of a, v3" {
		t.Fatalf("c's missing copy reached a: %q", got)
	}
}

// TestDocSyncConcurrent: two nodes change the document at once; both end
// with the same copy, the one that committed first, and the loser logs it.
func TestDocSyncConcurrent(t *testing.T) {
	ec := etcdtest.Start(t, 1)
	var logA, logB syncBuf
	a := join(t, ec.Endpoints(), "a", 2*time.Second, &logA)
	defer a.Close()
	b := join(t, ec.Endpoints(), "b", 2*time.Second, &logB)
	defer b.Close()
	da, db := &memDoc{data: "v1"}, &memDoc{data: "v1"}
	sa := startSync(t, a, da.doc("policy"))
	sb := startSync(t, b, db.doc("policy"))
	for round := 0; round < 5; round++ {
		da.set("from a " + string(rune('0'+round)))
		db.set("from b " + string(rune('0'+round)))
		sa.Changed("policy")
		sb.Changed("policy")
		eventually(t, "both nodes agree", func() bool {
			x, y := da.get(), db.get()
			return x == y
		})
		time.Sleep(50 * time.Millisecond)
		if x, y := da.get(), db.get(); x != y {
			t.Fatalf("round %d: nodes disagree: %q %q", round, x, y)
		}
	}
	if !strings.Contains(logA.String()+logB.String(), "change lost: another node changed it first") {
		t.Logf("no race lost in 5 rounds (each change committed before the other was sent)")
	}
}

// TestDocSyncQuorumLoss: a change made while etcd has no quorum is
// published when it returns.
func TestDocSyncQuorumLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("quorum loss takes seconds")
	}
	ec := etcdtest.Start(t, 3)
	a := join(t, ec.Endpoints(), "a", 2*time.Second, nil)
	defer a.Close()
	b := join(t, ec.Endpoints(), "b", 2*time.Second, nil)
	defer b.Close()
	da, db := &memDoc{data: "v1"}, &memDoc{data: "v1"}
	sa := startSync(t, a, da.doc("policy"))
	startSync(t, b, db.doc("policy"))
	ec.Stop(1)
	ec.Stop(2)
	da.set("v2 while etcd is down")
	sa.Changed("policy")
	time.Sleep(1500 * time.Millisecond)
	if db.get() != "v1" {
		t.Fatalf("b changed without a quorum: %q", db.get())
	}
	ec.Start(1)
	ec.Start(2)
	deadline := time.Now().Add(15 * time.Second)
	for db.get() != "v2 while etcd is down" {
		if time.Now().After(deadline) {
			t.Fatalf("change made during the outage never reached b: %q", db.get())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
