package policy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const nodeA = `# node a
[server]
listen = "127.0.0.1:4451"
server_name = "FSA"
require_signing = true
users_file = "users"

[cluster]
endpoints = ["http://127.0.0.1:2379"]
node = "a"

[limits]
max_opens = 1000

[[share]]
name = "share"
path = "s1"
`

const nodeB = `[server]
require_signing = true   # comment
listen = "127.0.0.1:4452"
server_name = "FSB"
users_file = "users"
[[share]]
path = "s1"
name = "share"
[limits]
max_opens = 1000
[cluster]
node = "b"
endpoints = ["http://127.0.0.1:2379"]
`

func TestReplicablePart(t *testing.T) {
	a, err := ReplicablePart([]byte(nodeA))
	if err != nil {
		t.Fatal(err)
	}
	b, err := ReplicablePart([]byte(nodeB))
	if err != nil {
		t.Fatal(err)
	}
	if string(a) != string(b) {
		t.Fatalf("same policy, different per-node keys and layout:\n%s\n---\n%s", a, b)
	}
	for _, own := range []string{"listen", "server_name", "users_file", "cluster", "node"} {
		if strings.Contains(string(a), own) {
			t.Fatalf("per-node key %q in the shared part:\n%s", own, a)
		}
	}
	c, _ := ReplicablePart([]byte(strings.Replace(nodeB, "max_opens = 1000", "max_opens = 10", 1)))
	if string(c) == string(a) {
		t.Fatal("a change of [limits] does not change the shared part")
	}
}

func TestApplyReplicable(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "signet.toml")
	for _, d := range []string{"s1", "s2"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(path, []byte(nodeB), 0o600); err != nil {
		t.Fatal(err)
	}
	// The shared part of node a, changed, with a per-node key that must
	// not reach b.
	shared := `[server]
require_signing = false
listen = "0.0.0.0:445"

[limits]
max_opens = 77

[[share]]
name = "share"
path = "s1"

[[share]]
name = "extra"
path = "s2"
read_only = true
`
	if err := ApplyReplicable(path, []byte(shared), false); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:4452" || cfg.Cluster == nil || cfg.Cluster.Node != "b" {
		t.Fatalf("per-node keys not kept: listen %q cluster %+v", cfg.Listen, cfg.Cluster)
	}
	if cfg.RequireSigning || len(cfg.Shares) != 2 || !cfg.Shares[1].ReadOnly || cfg.Limits.MaxOpens != 77 {
		t.Fatalf("shared part not applied: signing %v shares %+v limits %d", cfg.RequireSigning, cfg.Shares, cfg.Limits.MaxOpens)
	}
	got, err := ReplicableFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := ReplicablePart([]byte(shared))
	if string(got) != string(want) {
		t.Fatalf("shared part after applying:\n%s\nwant:\n%s", got, want)
	}

	// An invalid policy is refused and the file left alone.
	before, _ := os.ReadFile(path)
	if err := os.WriteFile(path+".bad", []byte(strings.Replace(string(before), "max_opens", "max_opens_typo", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReplicableFile(path+".bad", false); err == nil {
		t.Fatal("shared part of an invalid configuration")
	}
	if err := ApplyReplicable(path, []byte("[server]\nmax_dialect = \"9.9\"\n"), false); err == nil {
		t.Fatal("invalid policy applied")
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Fatal("file changed by a refused policy")
	}
}
