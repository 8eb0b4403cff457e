package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Durable handles reclaimable on any node, and PreviousSessionId teardown
// across nodes (docs/cluster.md, "Durable handles and failover").
//
// A node that grants a durable handle writes a durable record
// <prefix>durable/<id>/<node> (id: the FileId of the open, which the
// client's reconnect names) and a copy of the open's share-mode entry,
// <prefix>opens/<file>/<node>/<owner>/d, both on no lease: they survive
// the node. While the node lives it checks its own opens in memory and the
// other nodes see the copy as one of its share modes. The record says
// whether the open is parked (its connection lost) and which lease the
// node held when it wrote it.
//
// A record is claimable by another node when it is parked, free, or its
// node's key is no longer held by the lease in the record (the node died,
// or restarted). The claim is one transaction conditioned on the record's
// modification revision: it deletes the record and the old node's entries
// of the open and writes the claimer's share-mode entry, so two nodes
// cannot both reclaim one handle.
//
// When a node dies, the surviving nodes (each watches nodes/) convert its
// records to free ones: the record and the share-mode copy are put on a
// fresh etcd lease of the handle's timeout, in a transaction that only one
// of them wins; the share modes go when the timeout does.
//
// Ownership: own (the node's records, by id) is guarded by Node.mu; the
// watch goroutines are the Node's, in mirrorWG, ended by Close.

// durableEnvelope is a durable record as stored in etcd: what the
// cluster package needs, and the server's own record (Data).
type durableEnvelope struct {
	Node    string `json:"node"`
	Lease   int64  `json:"lease"`  // the node's lease when it wrote the record
	Parked  bool   `json:"parked"` // its connection was lost; claimable
	Free    bool   `json:"free"`   // its node died; on a timeout lease
	File    string `json:"file"`   // the open's entries: opens/<file>/<node>/<owner>/
	Owner   string `json:"owner"`
	Share   []byte `json:"share"` // the open's share-mode entry value
	Timeout int64  `json:"timeout_ms"`
	Data    []byte `json:"data"`
	// Locks are the open's byte-range locks (one value each, as in
	// the locks table), also kept in locks/<file>/<node>/<owner>/d.
	Locks   [][]byte `json:"locks,omitempty"`
	LockVer uint64   `json:"lock_ver,omitempty"`
}

// ownDurable is a record this node wrote, with its last revision.
type ownDurable struct {
	env durableEnvelope
	rev int64
}

// Errors of the durable calls.
var (
	// ErrDurableNotFound: no record matches, or it went (claimed,
	// expired) before the transaction committed. It has a method
	// NotFound() bool (true), by which the server recognises it.
	ErrDurableNotFound error = notFoundError{}
)

type notFoundError struct{}

func (notFoundError) Error() string  { return "cluster: durable handle not found" }
func (notFoundError) NotFound() bool { return true }

func (n *Node) durableKey(id, node string) string {
	return n.prefix + "durable/" + escape(id) + "/" + node
}

func (n *Node) durableCopyKey(file, node, owner string) string {
	return n.fileDir("opens", file) + node + "/" + owner + "/d"
}

func (n *Node) durableLocksKey(file, node, owner string) string {
	return n.fileDir("locks", file) + node + "/" + owner + "/d"
}

// DurableLocks records the byte-range locks an open with a durable record
// holds now (ver orders the calls: an older snapshot than the last
// written is ignored): in the record, and as an entry of the locks table
// on no lease, locks/<file>/<node>/<owner>/d, which outlives the node
// like the share-mode copy. None deletes that entry.
func (n *Node) DurableLocks(ctx context.Context, id string, ver uint64, locks [][]byte) error {
	n.dmu.Lock()
	defer n.dmu.Unlock()
	n.mu.Lock()
	od, ok := n.own[id]
	n.mu.Unlock()
	if !ok {
		return ErrDurableNotFound
	}
	if ver <= od.env.LockVer && od.env.LockVer != 0 {
		return nil // a later snapshot was written
	}
	lk := n.durableLocksKey(od.env.File, n.cfg.Node, od.env.Owner)
	extra := clientv3.OpDelete(lk)
	if len(locks) > 0 {
		extra = clientv3.OpPut(lk, string(encodeVals(locks)))
	}
	_, err := n.durableRewriteLocked(ctx, id, id, func(e *durableEnvelope) { e.Locks, e.LockVer = locks, ver }, extra)
	return err
}

// DurableSave writes the durable record of an open of this node (a new
// durable handle): data is the server's record, file and owner name the
// open's share-mode entry (as in Acquire), share its value.
func (n *Node) DurableSave(ctx context.Context, id string, timeout time.Duration, file, owner string, share, data []byte) error {
	if !n.Healthy() {
		return ErrUnavailable
	}
	ctx, cancel := context.WithTimeout(ctx, n.cfg.RequestTimeout)
	defer cancel()
	env := durableEnvelope{Node: n.cfg.Node, Lease: int64(n.leaseID()), File: file, Owner: owner,
		Share: share, Timeout: timeout.Milliseconds(), Data: data}
	b, _ := json.Marshal(env)
	key := n.durableKey(id, n.cfg.Node)
	tr, err := n.cli.Txn(ctx).Then(
		clientv3.OpPut(key, string(b)),
		clientv3.OpPut(n.durableCopyKey(file, n.cfg.Node, owner), string(encodeVals([][]byte{share}))),
	).Commit()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	n.mu.Lock()
	if n.own == nil {
		n.own = map[string]ownDurable{}
	}
	n.own[id] = ownDurable{env: env, rev: tr.Header.Revision}
	n.mu.Unlock()
	return nil
}

// DurablePark marks this node's record of id parked (its connection was
// lost), so that another node may claim it at once.
func (n *Node) DurablePark(ctx context.Context, id string) error {
	n.dmu.Lock()
	defer n.dmu.Unlock()
	_, err := n.durableRewriteLocked(ctx, id, id, func(e *durableEnvelope) { e.Parked = true })
	return err
}

// DurableUnpark takes back a parked record of this node for a reconnect
// on this node, under the open's new id. It fails with
// ErrDurableNotFound when another node claimed it meanwhile.
func (n *Node) DurableUnpark(ctx context.Context, oldID, newID string) error {
	n.dmu.Lock()
	defer n.dmu.Unlock()
	_, err := n.durableRewriteLocked(ctx, oldID, newID, func(e *durableEnvelope) { e.Parked = false })
	return err
}

// durableRewriteLocked replaces the record oldID by newID, changed by f,
// with the extra operations, if it is unchanged since this node last
// wrote it. n.dmu held.
func (n *Node) durableRewriteLocked(ctx context.Context, oldID, newID string, f func(*durableEnvelope), extra ...clientv3.Op) (bool, error) {
	n.mu.Lock()
	od, ok := n.own[oldID]
	n.mu.Unlock()
	if !ok {
		return false, ErrDurableNotFound
	}
	ctx, cancel := context.WithTimeout(ctx, n.cfg.RequestTimeout)
	defer cancel()
	env := od.env
	f(&env)
	env.Lease = int64(n.leaseID())
	b, _ := json.Marshal(env)
	oldKey, newKey := n.durableKey(oldID, n.cfg.Node), n.durableKey(newID, n.cfg.Node)
	ops := []clientv3.Op{}
	if oldKey != newKey {
		ops = append(ops, clientv3.OpDelete(oldKey))
	}
	ops = append(ops, clientv3.OpPut(newKey, string(b)))
	ops = append(ops, extra...)
	tr, err := n.cli.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(oldKey), "=", od.rev)).Then(ops...).Commit()
	if err != nil {
		return false, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	n.mu.Lock()
	delete(n.own, oldID)
	if tr.Succeeded {
		n.own[newID] = ownDurable{env: env, rev: tr.Header.Revision}
	}
	n.mu.Unlock()
	if !tr.Succeeded {
		return false, ErrDurableNotFound
	}
	return true, nil
}

// DurableDelete deletes this node's record of id (the open closed). The
// share-mode copy goes with the open's entries (ReleaseOwner).
func (n *Node) DurableDelete(ctx context.Context, id string) error {
	n.mu.Lock()
	delete(n.own, id)
	n.mu.Unlock()
	return n.sync(ctx, []string{n.durableKey(id, n.cfg.Node)}, nil)
}

// durableToken is what DurableFind hands to DurableClaim.
type durableToken struct {
	Key       string   `json:"key"`
	Rev       int64    `json:"rev"`
	Node      string   `json:"node"`
	Lease     int64    `json:"lease"`
	NeedDead  bool     `json:"need_dead"` // neither parked nor free: its node must be gone
	File      string   `json:"file"`
	Owner     string   `json:"owner"`
	TimeoutMS int64    `json:"timeout_ms"`
	Record    []byte   `json:"record"`
	Locks     [][]byte `json:"locks,omitempty"`
}

// DurableFind looks for another node's durable record of id that match
// accepts, and waits (at most wait) until it is claimable: parked, free,
// or its node gone. It returns the server's record and a token for
// DurableClaim. ErrDurableNotFound when no record matches (or none became
// claimable in time).
func (n *Node) DurableFind(ctx context.Context, id string, wait time.Duration, match func(data []byte) bool) ([]byte, string, error) {
	if !n.Healthy() {
		return nil, "", ErrUnavailable
	}
	deadline := time.Now().Add(wait)
	dir := n.prefix + "durable/" + escape(id) + "/"
	for {
		rctx, cancel := context.WithTimeout(ctx, n.cfg.RequestTimeout)
		gr, err := n.cli.Get(rctx, dir, clientv3.WithPrefix())
		cancel()
		if err != nil {
			return nil, "", fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		var cand *durableToken
		for _, kv := range gr.Kvs {
			var env durableEnvelope
			if json.Unmarshal(kv.Value, &env) != nil || !match(env.Data) ||
				env.Node == n.cfg.Node && env.Lease == int64(n.leaseID()) && !env.Free {
				// (this node's own live records are in its memory; a
				// previous run's are claimable like another node's)
				continue
			}
			cand = &durableToken{Key: string(kv.Key), Rev: kv.ModRevision, Node: env.Node, Lease: env.Lease,
				NeedDead: !env.Parked && !env.Free, File: env.File, Owner: env.Owner, TimeoutMS: env.Timeout, Record: env.Data,
				Locks: env.Locks}
			break
		}
		if cand == nil {
			return nil, "", ErrDurableNotFound
		}
		nodeKey := n.prefix + "nodes/" + cand.Node
		if cand.NeedDead {
			rctx, cancel := context.WithTimeout(ctx, n.cfg.RequestTimeout)
			nr, err := n.cli.Get(rctx, nodeKey)
			cancel()
			if err != nil {
				return nil, "", fmt.Errorf("%w: %v", ErrUnavailable, err)
			}
			if len(nr.Kvs) == 0 || nr.Kvs[0].Lease != cand.Lease {
				// The node that wrote it is gone (or restarted).
				t, _ := json.Marshal(cand)
				return cand.Record, string(t), nil
			}
			// Its node lives and has not parked it: wait for it to park it
			// (a PreviousSessionId teardown), or to die.
			left := time.Until(deadline)
			if left <= 0 {
				return nil, "", ErrDurableNotFound
			}
			wctx, cancel := context.WithTimeout(ctx, left)
			// Each watch starts after the read it follows, so that no
			// change between the two reads is missed.
			wa := n.cli.Watch(wctx, cand.Key, clientv3.WithRev(gr.Header.Revision+1))
			wb := n.cli.Watch(wctx, nodeKey, clientv3.WithRev(nr.Header.Revision+1))
			select {
			case <-wa:
			case <-wb:
			case <-wctx.Done():
			}
			cancel()
			if ctx.Err() != nil {
				return nil, "", ctx.Err()
			}
			continue
		}
		t, _ := json.Marshal(cand)
		return cand.Record, string(t), nil
	}
}

// DurableClaim takes the record DurableFind found for an open of this
// node: in one transaction, if the record is unchanged (and, for a record
// neither parked nor free, its node is still gone), it deletes the record
// and its node's entries of the open and writes this node's share-mode
// entry for owner on file (as Acquire would, without a conflict check:
// the open's share modes were checked when it was made and held since),
// and, when the open held byte-range locks, one locks entry with them
// all. It returns those locks and their entry's key; the conflict
// functions are kept for writing the entries again after a lost lease
// (as Acquire's). ErrDurableNotFound when another node claimed it first,
// or it expired.
func (n *Node) DurableClaim(ctx context.Context, token, file, owner string, share []byte,
	shareConflict, lockConflict func(mine, other []byte) bool) (locks [][]byte, lockKey string, err error) {
	var t durableToken
	if err := json.Unmarshal([]byte(token), &t); err != nil {
		return nil, "", fmt.Errorf("cluster: bad durable token: %w", err)
	}
	if !n.Healthy() {
		return nil, "", ErrUnavailable
	}
	ctx, cancel := context.WithTimeout(ctx, n.cfg.RequestTimeout)
	defer cancel()
	lease := n.leaseID()
	me := n.prefix + "nodes/" + n.cfg.Node
	conds := []clientv3.Cmp{
		clientv3.Compare(clientv3.ModRevision(t.Key), "=", t.Rev),
		clientv3.Compare(clientv3.LeaseValue(me), "=", lease),
	}
	if t.NeedDead {
		conds = append(conds, clientv3.Compare(clientv3.LeaseValue(n.prefix+"nodes/"+t.Node), "!=", clientv3.LeaseID(t.Lease)))
	}
	key := n.fileDir("opens", file) + n.cfg.Node + "/" + owner + "/" + strconv.FormatUint(n.seq.Add(1), 36)
	lockKey = n.fileDir("locks", file) + n.cfg.Node + "/" + owner + "/" + strconv.FormatUint(n.seq.Add(1), 36)
	vals := [][]byte{share}
	for attempt := 0; ; attempt++ {
		// The old node's entries of the open: all of them while that
		// incarnation lives (a parked open); else only the copies on no
		// lease, the others went with its lease (and a restarted node of
		// that name may use the same owner names again). A record of
		// this node's own previous run: that run is dead.
		oldOpens := n.fileDir("opens", t.File) + t.Node + "/" + t.Owner + "/"
		oldLocks := n.fileDir("locks", t.File) + t.Node + "/" + t.Owner + "/"
		ops := []clientv3.Op{clientv3.OpDelete(t.Key), clientv3.OpDelete(oldOpens + "d"), clientv3.OpDelete(oldLocks + "d")}
		if t.Node != n.cfg.Node {
			ops = append(ops, clientv3.OpTxn(
				[]clientv3.Cmp{clientv3.Compare(clientv3.LeaseValue(n.prefix+"nodes/"+t.Node), "=", clientv3.LeaseID(t.Lease))},
				[]clientv3.Op{clientv3.OpDelete(oldOpens, clientv3.WithPrefix()), clientv3.OpDelete(oldLocks, clientv3.WithPrefix())}, nil))
		}
		ops = append(ops, clientv3.OpPut(key, string(encodeVals(vals)), clientv3.WithLease(lease)))
		if len(t.Locks) > 0 {
			ops = append(ops, clientv3.OpPut(lockKey, string(encodeVals(t.Locks)), clientv3.WithLease(lease)))
		}
		tr, err := n.cli.Txn(ctx).If(conds...).Then(ops...).Commit()
		if err != nil {
			return nil, "", fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		if tr.Succeeded {
			break
		}
		// A surviving node may have made the record free (sweepDurables)
		// or its node parked it since it was read: the same open, still
		// claimable, under a new revision.
		gr, err := n.cli.Get(ctx, t.Key)
		if err != nil {
			return nil, "", fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		var env durableEnvelope
		if attempt == 3 || len(gr.Kvs) == 0 || json.Unmarshal(gr.Kvs[0].Value, &env) != nil ||
			env.Node != t.Node || env.Owner != t.Owner || env.File != t.File || !(env.Free || env.Parked) {
			return nil, "", ErrDurableNotFound
		}
		t.Locks = env.Locks
		conds = conds[:2]
		conds[0] = clientv3.Compare(clientv3.ModRevision(t.Key), "=", gr.Kvs[0].ModRevision)
	}
	n.mu.Lock()
	if n.held == nil {
		n.held = map[string]map[string]heldEntry{}
	}
	hold := func(table, k string, vals [][]byte, conflict func(mine, other []byte) bool) {
		prefix := k[:strings.LastIndexByte(k, '/')+1]
		if n.held[prefix] == nil {
			n.held[prefix] = map[string]heldEntry{}
		}
		n.held[prefix][k] = heldEntry{table: table, file: file, owner: owner, vals: vals, conflict: conflict}
	}
	hold("opens", key, vals, shareConflict)
	if len(t.Locks) > 0 {
		hold("locks", lockKey, t.Locks, lockConflict)
	} else {
		lockKey = ""
	}
	n.mu.Unlock()
	return t.Locks, lockKey, nil
}

// SessionTeardown asks the node that holds session id (if any) to end it
// as lost, its durable opens parked [MS-SMB2 3.3.5.5.3]: a request key
// on a lease of a few seconds, which the holder deletes when done. It
// does not wait: a durable reconnect that follows waits for the record
// to be parked (DurableFind).
func (n *Node) SessionTeardown(ctx context.Context, id uint64, account string) error {
	if !n.Healthy() {
		return ErrUnavailable
	}
	ctx, cancel := context.WithTimeout(ctx, n.cfg.RequestTimeout)
	defer cancel()
	lr, err := n.cli.Grant(ctx, sessionRequestTTL)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	key := n.prefix + "sessreq/" + strconv.FormatUint(id, 16) + "/" + n.cfg.Node
	if _, err := n.cli.Put(ctx, key, account, clientv3.WithLease(lr.ID)); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return nil
}

// sessionRequestTTL bounds how long an unanswered teardown request stays.
const sessionRequestTTL = 10

// DurableHooks are the server's callbacks for the durable watches:
// Gone(id) when another node claimed a record of this node (the parked
// open is dropped here without touching etcd), EndSession(id, account)
// for a teardown request (true when the session was here and ended).
type DurableHooks struct {
	Gone       func(id string)
	EndSession func(id uint64, account string) bool
}

// WatchDurable sets the server's callbacks; they are called from the
// Node's watch goroutines.
func (n *Node) WatchDurable(gone func(id string), endSession func(id uint64, account string) bool) {
	n.mu.Lock()
	n.hooks = DurableHooks{Gone: gone, EndSession: endSession}
	n.mu.Unlock()
}

func (n *Node) durableHooks() DurableHooks {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.hooks
}

// startDurable starts the durable watches (Join): records of this node
// deleted by another node's claim, teardown requests, and node deaths,
// after which the dead node's records become free.
func (n *Node) startDurable(ctx context.Context) {
	n.mirrorWG.Go(func() {
		n.watchLoop(ctx, n.prefix+"durable/", func(ev *clientv3.Event) {
			if ev.Type != clientv3.EventTypeDelete {
				return
			}
			rest := strings.TrimPrefix(string(ev.Kv.Key), n.prefix+"durable/")
			id, node, ok := strings.Cut(rest, "/")
			if !ok || node != n.cfg.Node {
				return
			}
			id = unescape(id)
			n.mu.Lock()
			_, mine := n.own[id]
			delete(n.own, id)
			n.mu.Unlock()
			if h := n.durableHooks(); mine && h.Gone != nil {
				h.Gone(id)
			}
		})
	})
	n.mirrorWG.Go(func() {
		n.watchLoop(ctx, n.prefix+"sessreq/", func(ev *clientv3.Event) {
			if ev.Type != clientv3.EventTypePut {
				return
			}
			rest := strings.TrimPrefix(string(ev.Kv.Key), n.prefix+"sessreq/")
			hex, _, _ := strings.Cut(rest, "/")
			id, err := strconv.ParseUint(hex, 16, 64)
			if err != nil {
				return
			}
			if h := n.durableHooks(); h.EndSession != nil && h.EndSession(id, string(ev.Kv.Value)) {
				dctx, cancel := context.WithTimeout(ctx, n.cfg.RequestTimeout)
				n.cli.Delete(dctx, string(ev.Kv.Key))
				cancel()
			}
		})
	})
	n.mirrorWG.Go(func() {
		n.sweepDurables(ctx) // records of nodes that died while none watched
		n.watchLoop(ctx, n.prefix+"nodes/", func(ev *clientv3.Event) {
			if ev.Type == clientv3.EventTypeDelete {
				n.sweepDurables(ctx)
			}
		})
	})
}

// watchLoop follows prefix from now on, calling f for each event, until
// ctx ends; a failed watch starts again after the last revision seen (or
// from now, if that revision was compacted: events meanwhile are missed,
// and the callers' states are also checked by transactions).
func (n *Node) watchLoop(ctx context.Context, prefix string, f func(*clientv3.Event)) {
	var rev int64
	for ctx.Err() == nil {
		wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
		opts := []clientv3.OpOption{clientv3.WithPrefix()}
		if rev > 0 {
			opts = append(opts, clientv3.WithRev(rev+1))
		}
		for wr := range n.cli.Watch(wctx, prefix, opts...) {
			if wr.CompactRevision != 0 {
				rev = 0
			}
			if wr.Err() != nil {
				break
			}
			for _, ev := range wr.Events {
				f(ev)
				rev = ev.Kv.ModRevision
			}
		}
		cancel()
		select {
		case <-ctx.Done():
		case <-time.After(n.cfg.RequestTimeout / 4):
		}
	}
}

// sweepDurables makes the records of dead nodes free: each on a fresh
// lease of its timeout, with its share-mode copy, by a transaction that
// commits only if the record is unchanged and its node still gone (one
// surviving node wins; the others give their lease back).
func (n *Node) sweepDurables(ctx context.Context) {
	if !n.Healthy() {
		return
	}
	rctx, cancel := context.WithTimeout(ctx, n.cfg.RequestTimeout)
	defer cancel()
	gr, err := n.cli.Get(rctx, n.prefix+"durable/", clientv3.WithPrefix())
	if err != nil {
		return
	}
	nr, err := n.cli.Get(rctx, n.prefix+"nodes/", clientv3.WithPrefix())
	if err != nil {
		return
	}
	live := map[string]int64{}
	for _, kv := range nr.Kvs {
		live[strings.TrimPrefix(string(kv.Key), n.prefix+"nodes/")] = kv.Lease
	}
	for _, kv := range gr.Kvs {
		var env durableEnvelope
		if kv.Lease != 0 || json.Unmarshal(kv.Value, &env) != nil || env.Free {
			continue
		}
		if l, ok := live[env.Node]; ok && l == env.Lease {
			continue // its node lives
		}
		lr, err := n.cli.Grant(rctx, max((env.Timeout+999)/1000, 1))
		if err != nil {
			return
		}
		env.Free = true
		b, _ := json.Marshal(env)
		ops := []clientv3.Op{
			clientv3.OpPut(string(kv.Key), string(b), clientv3.WithLease(lr.ID)),
			clientv3.OpPut(n.durableCopyKey(env.File, env.Node, env.Owner), string(encodeVals([][]byte{env.Share})), clientv3.WithLease(lr.ID)),
		}
		if len(env.Locks) > 0 {
			ops = append(ops, clientv3.OpPut(n.durableLocksKey(env.File, env.Node, env.Owner), string(encodeVals(env.Locks)), clientv3.WithLease(lr.ID)))
		}
		tr, err := n.cli.Txn(rctx).If(
			clientv3.Compare(clientv3.ModRevision(string(kv.Key)), "=", kv.ModRevision),
			clientv3.Compare(clientv3.LeaseValue(n.prefix+"nodes/"+env.Node), "!=", clientv3.LeaseID(env.Lease)),
		).Then(ops...).Commit()
		if err != nil || !tr.Succeeded {
			n.cli.Revoke(rctx, lr.ID)
			continue
		}
		n.log.Info("cluster: durable handle of a dead node kept for its timeout", "node", env.Node, "timeout_ms", env.Timeout)
	}
}

// renewDurables rewrites this node's records under its new lease after
// it registered again (keepAlive), so that they do not look like a dead
// node's; a record claimed or freed meanwhile is dropped and reported.
func (n *Node) renewDurables() {
	n.mu.Lock()
	ids := make([]string, 0, len(n.own))
	for id := range n.own {
		ids = append(ids, id)
	}
	n.mu.Unlock()
	for _, id := range ids {
		n.dmu.Lock()
		_, err := n.durableRewriteLocked(context.Background(), id, id, func(*durableEnvelope) {})
		n.dmu.Unlock()
		if errors.Is(err, ErrDurableNotFound) {
			n.log.Error("cluster: a durable record was claimed or freed while the node's lease was lost", "id", id)
		}
	}
}

func unescape(s string) string {
	return strings.NewReplacer("%2F", "/", "%25", "%").Replace(s)
}

// Kill stops the node as a dead process would, for tests of failover:
// no more renewals and no revoke, so its lease runs out after its TTL.
// The Node is unusable afterwards; do not call Close.
func (n *Node) Kill() {
	close(n.stop)
	<-n.done
	n.mirrorStop()
	n.mirrorWG.Wait()
	n.cli.Close()
}
