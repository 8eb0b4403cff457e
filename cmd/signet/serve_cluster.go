package main

import (
	"context"
	"log/slog"

	"github.com/signetsmb/signet/cluster"
	"github.com/signetsmb/signet/policy"
	"github.com/signetsmb/signet/server"
)

// joinCluster joins the etcd cluster of [cluster] (docs/cluster.md) and
// returns the membership for server.Options.Cluster and the function that
// leaves it (revoking the node's lease) at shutdown. Without [cluster] it
// returns nil and etcd is never dialled. A change of [cluster] takes
// effect at the next start.
func joinCluster(ctx context.Context, cfg *policy.Config, log *slog.Logger) (server.Cluster, func(), error) {
	c := cfg.Cluster
	if c == nil {
		return nil, func() {}, nil
	}
	password, err := clusterPassword(c, log) // serve_cluster_sync.go
	if err != nil {
		return nil, nil, err
	}
	n, err := cluster.Join(ctx, cluster.Config{
		Endpoints: c.Endpoints, Node: c.Node, Prefix: c.Prefix,
		CA: c.CA, Cert: c.Cert, Key: c.Key,
		DialTimeout: c.DialTimeout, RequestTimeout: c.RequestTimeout, LeaseTTL: c.LeaseTTL,
		Logger: log, Mirror: server.ClusterMirrorTables,
		Username: c.Username, Password: password,
	})
	if err != nil {
		return nil, nil, err
	}
	return n, func() { n.Close() }, nil
}
