package cluster_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/signetsmb/signet/cluster"
	"github.com/signetsmb/signet/cluster/etcdtest"
)

// TestEtcdAuth: with etcd's authentication on, a node with its user and
// password joins and writes its entries under the prefix its role
// allows; a wrong password cannot join.
func TestEtcdAuth(t *testing.T) {
	ec := etcdtest.Start(t, 1)
	ctx := context.Background()
	root, err := clientv3.New(clientv3.Config{Endpoints: ec.Endpoints(), DialTimeout: 2 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	steps := []func() error{
		func() error { _, err := root.UserAdd(ctx, "root", "root-pw"); return err },
		func() error { _, err := root.UserGrantRole(ctx, "root", "root"); return err },
		func() error { _, err := root.RoleAdd(ctx, "signet"); return err },
		func() error {
			_, err := root.RoleGrantPermission(ctx, "signet", "/signet/", clientv3.GetPrefixRangeEnd("/signet/"),
				clientv3.PermissionType(clientv3.PermReadWrite))
			return err
		},
		func() error { _, err := root.UserAdd(ctx, "fs1", "fs1-pw"); return err },
		func() error { _, err := root.UserGrantRole(ctx, "fs1", "signet"); return err },
		func() error { _, err := root.AuthEnable(ctx); return err },
	}
	for i, f := range steps {
		if err := f(); err != nil {
			t.Fatalf("etcd auth setup step %d: %v", i, err)
		}
	}
	root.Close()

	cfg := cluster.Config{Endpoints: ec.Endpoints(), Node: "a", LeaseTTL: 2 * time.Second,
		RequestTimeout: time.Second, DialTimeout: 2 * time.Second,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if n, err := cluster.Join(ctx, cfg); err == nil {
		n.Close()
		t.Fatal("joined without credentials while etcd requires them")
	}
	cfg.Username, cfg.Password = "fs1", "wrong"
	if n, err := cluster.Join(ctx, cfg); err == nil {
		n.Close()
		t.Fatal("joined with a wrong password")
	}
	cfg.Password = "fs1-pw"
	n, err := cluster.Join(ctx, cfg)
	if err != nil {
		t.Fatalf("join with user and password: %v", err)
	}
	defer n.Close()
	if _, err := n.Acquire(ctx, "opens", "f", n.Owner(), [][]byte{[]byte("x")}, conflict); err != nil {
		t.Fatalf("acquire with user and password: %v", err)
	}
	d := &memDoc{data: "users"}
	s := cluster.NewDocSync(n, d.doc("users"))
	if err := s.Start(ctx); err != nil {
		t.Fatalf("config sync with user and password: %v", err)
	}
	s.Close()
}
