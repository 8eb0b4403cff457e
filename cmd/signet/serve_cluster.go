package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/signetsmb/signet/auth/userdb"
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

// clusterMachineSID makes every node of a cluster use one machine SID, so
// that a user has the same SID on every node and the owners and ACEs a
// node stores in security descriptors on the shared file system mean the
// same user everywhere: the first node to join stores its SID in etcd,
// the others adopt it and rewrite their users.sid. Without a cluster it
// returns local unchanged.
func clusterMachineSID(ctx context.Context, clu server.Cluster, local, usersFile string, log *slog.Logger) (string, error) {
	ag, ok := clu.(interface {
		Agree(ctx context.Context, name, mine string) (string, error)
	})
	if !ok {
		return local, nil
	}
	sid, err := ag.Agree(ctx, "machine_sid", local)
	if err != nil {
		return "", err
	}
	if sid != local {
		if err := userdb.SetMachineSID(usersFile, sid); err != nil {
			return "", fmt.Errorf("cluster: adopting the cluster's machine SID %s: %w", sid, err)
		}
		log.Warn("cluster: using the cluster's machine SID instead of this node's (users.sid rewritten)", "sid", sid, "was", local)
	}
	return sid, nil
}
