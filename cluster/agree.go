package cluster

import (
	"context"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Agree settles a value every node must share and that never changes once
// set (the machine SID, from which every user's SID is built): the first
// node to ask stores mine under config/<name>, in a transaction that
// commits only if the key does not exist; every node, that one included,
// gets the stored value back. One transaction, no read-then-write.
func (n *Node) Agree(ctx context.Context, name, mine string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.RequestTimeout)
	defer cancel()
	key := n.docKey(name)
	tr, err := n.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, mine)).
		Else(clientv3.OpGet(key)).Commit()
	if err != nil {
		return "", fmt.Errorf("cluster: agreeing on %s: %w", name, err)
	}
	if tr.Succeeded {
		return mine, nil
	}
	kvs := tr.Responses[0].GetResponseRange().GetKvs()
	if len(kvs) != 1 {
		return "", fmt.Errorf("cluster: agreeing on %s: key vanished", name)
	}
	return string(kvs[0].Value), nil
}
