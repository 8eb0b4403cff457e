package policy

import (
	"os"
	"path/filepath"
	"testing"
)

func TestClusterAuthConfig(t *testing.T) {
	f := newFixture(t)
	if err := os.WriteFile(filepath.Join(f.dir, "etcd.pw"), []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const ok = "[cluster]\nendpoints = [\"http://127.0.0.1:2379\"]\nnode = \"n\"\n"
	cfg, _ := f.load(t, ok+"username = \"fs1\"\npassword_file = \"etcd.pw\"\n"+shareData)
	if cfg.Cluster.Username != "fs1" || cfg.Cluster.PasswordFile != filepath.Join(f.dir, "etcd.pw") {
		t.Fatalf("cluster %+v", cfg.Cluster)
	}
	for _, tc := range []struct{ text, key string }{
		{ok + "username = \"fs1\"\n", "cluster.username"},
		{ok + "password_file = \"etcd.pw\"\n", "cluster.username"},
		{ok + "username = \"fs 1\"\npassword_file = \"etcd.pw\"\n", "cluster.username"},
		{ok + "username = \"fs1\"\npassword_file = \"missing.pw\"\n", "cluster.password_file"},
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
