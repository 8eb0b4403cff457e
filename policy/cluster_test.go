package policy

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestClusterConfig(t *testing.T) {
	f := newFixture(t)
	cfg, _ := f.load(t, shareData)
	if cfg.Cluster != nil {
		t.Fatalf("no [cluster], got %+v", cfg.Cluster)
	}
	for _, n := range []string{"ca.pem", "node.pem", "node.key"} {
		if err := os.WriteFile(filepath.Join(f.dir, n), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg, warns := f.load(t, `
[cluster]
endpoints = ["https://10.0.0.1:2379", "https://10.0.0.2:2379"]
node = "fs1"
ca = "ca.pem"
cert = "node.pem"
key = "node.key"
lease_ttl = "5s"
`+shareData)
	if len(warns) != 0 {
		t.Fatalf("warnings %v", warns)
	}
	want := &Cluster{Endpoints: []string{"https://10.0.0.1:2379", "https://10.0.0.2:2379"}, Node: "fs1", Prefix: "/signet/",
		CA: filepath.Join(f.dir, "ca.pem"), Cert: filepath.Join(f.dir, "node.pem"), Key: filepath.Join(f.dir, "node.key"),
		DialTimeout: defaultClusterDial, RequestTimeout: defaultClusterRequest, LeaseTTL: 5 * time.Second}
	if !reflect.DeepEqual(cfg.Cluster, want) {
		t.Fatalf("cluster %+v\nwant %+v", cfg.Cluster, want)
	}
	shown := map[string]Setting{}
	for _, s := range cfg.Show() {
		shown[s.Key] = s
	}
	if s := shown["cluster.node"]; s.Value != "fs1" || s.Source != SourceExplicit {
		t.Errorf("show cluster.node: %+v", s)
	}
	if s := shown["cluster.lease_ttl"]; s.Value != "5s" || s.Source != SourceExplicit {
		t.Errorf("show cluster.lease_ttl: %+v", s)
	}
	if s := shown["cluster.dial_timeout"]; s.Value != "5s" || s.Source == SourceExplicit {
		t.Errorf("show cluster.dial_timeout: %+v", s)
	}
	if !NeedsRestart("cluster.node") {
		t.Error("a [cluster] change applies without a restart")
	}
}

func TestClusterConfigErrors(t *testing.T) {
	f := newFixture(t)
	const ok = "endpoints = [\"http://127.0.0.1:2379\"]\nnode = \"n\"\n"
	for _, tc := range []struct{ text, key string }{
		{"[cluster]\nnode = \"n\"\n", "cluster.endpoints"},
		{"[cluster]\nendpoints = [\"127.0.0.1:2379\"]\nnode = \"n\"\n", "cluster.endpoints"},
		{"[cluster]\nendpoints = [\"http://127.0.0.1:2379\"]\n", "cluster.node"},
		{"[cluster]\nendpoints = [\"http://127.0.0.1:2379\"]\nnode = \"a/b\"\n", "cluster.node"},
		{"[cluster]\n" + ok + "prefix = \"signet\"\n", "cluster.prefix"},
		{"[cluster]\n" + ok + "ca = \"missing.pem\"\n", "cluster.ca"},
		{"[cluster]\n" + ok + "lease_ttl = \"1s\"\n", "cluster.lease_ttl"},
		{"[cluster]\n" + ok + "request_timeout = \"soon\"\n", "cluster.request_timeout"},
		{"[cluster]\n" + ok + "members = 3\n", "cluster.members"},
	} {
		err := f.loadErr(t, tc.text+shareData)
		found := false
		for _, fe := range fieldErrors(err) {
			found = found || fe.Key == tc.key
		}
		if !found {
			t.Errorf("%q: error %v does not name %s", tc.text, err, tc.key)
		}
	}
}
