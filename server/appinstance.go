package server

import (
	"encoding/binary"
	"strings"

	"github.com/signetsmb/signet/internal/ntstatus"
	"github.com/signetsmb/signet/internal/state"
	"github.com/signetsmb/signet/internal/wire"
)

// Application instances (MS-SMB2 3.3.5.9.13): a clustered application
// that fails over to another node opens its files again from a new client
// with the same SMB2_CREATE_APP_INSTANCE_ID, and the server closes the
// opens the old instance left behind (live or waiting for a durable
// reconnect) so that the new open does not wait for them or conflict
// with them. An open of another client qualifies when it was made with
// the same AppInstanceId, on the same share, for the same file name, and
// (Signet's addition, so that no user closes another's files) by the same
// account. On
// 3.1.1, SMB2_CREATE_APP_INSTANCE_VERSION orders the instances: an open
// whose version is not older than the request's is kept and the CREATE
// fails with STATUS_FILE_FORCED_CLOSED.
//
// An open's instance (appInstance) is part of its durable state, guarded
// by nodeTable.mu; it is set when the CREATE succeeds.

// appInstance is an open's Open.AppInstanceId and
// Open.ApplicationInstanceVersionHigh/Low.
type appInstance struct {
	id              [16]byte
	hasVersion      bool
	verHigh, verLow uint64
}

// olderThan reports whether instance a's version is older than b's, so
// that b may close a's open; without a version on either side it may.
func (a *appInstance) olderThan(b *appInstance) bool {
	if !a.hasVersion || !b.hasVersion || (a.verHigh == 0 && a.verLow == 0) {
		return true
	}
	return a.verHigh < b.verHigh || a.verHigh == b.verHigh && a.verLow < b.verLow
}

// parseAppInstance reads the request's application instance contexts;
// nil without a valid SMB2_CREATE_APP_INSTANCE_ID or below 3.x.
func (cc *createCall) parseAppInstance() *appInstance {
	d := cc.dialect()
	if d < wire.Dialect300 || d == wire.DialectWildcard {
		return nil
	}
	b, ok := cc.ctxs[wire.CtxNameAppInstID]
	if !ok || len(b) < 20 || binary.LittleEndian.Uint16(b) != 20 {
		return nil // StructureSize 20, Reserved, AppInstanceId
	}
	a := &appInstance{}
	copy(a.id[:], b[4:20])
	if v, ok := cc.ctxs[wire.CtxNameAppInstVer]; ok && d == wire.Dialect311 && len(v) >= 24 &&
		binary.LittleEndian.Uint16(v) == 24 {
		a.hasVersion = true
		a.verHigh = binary.LittleEndian.Uint64(v[8:])
		a.verLow = binary.LittleEndian.Uint64(v[16:])
	}
	return a
}

// closeAppInstance closes the opens of other clients made with this
// CREATE's AppInstanceId on the same share and file, before the CREATE
// looks at share modes and oplocks; it runs after resolve (cc.path).
func (cc *createCall) closeAppInstance() error {
	a := cc.parseAppInstance()
	if a == nil || cc.r.tree == nil || cc.r.tree.ipc {
		return nil
	}
	srv := cc.r.c.srv
	share := cc.r.tree.share
	client := cc.r.c.clientGUID
	account := cc.r.sess.account()
	t := &srv.nodes
	match := func(o *open) (hit, refuse bool) {
		tree, sess := o.owner()
		if tree == nil || tree.share != share || sess == nil || sess.clientGUID == client ||
			account == "" || sess.account() != account {
			return false, false
		}
		t.mu.Lock()
		old := o.dur.app
		t.mu.Unlock()
		if old == nil || old.id != a.id || !strings.EqualFold(o.pathNow(), cc.path) {
			return false, false
		}
		return true, a.hasVersion && !old.olderThan(a)
	}
	var live []*open
	var parked []state.FileID
	refused := false
	srv.files.Range(func(_ state.FileID, o *open) bool {
		if hit, refuse := match(o); hit {
			refused = refused || refuse
			live = append(live, o)
		}
		return true
	})
	srv.durables.Range(func(id state.FileID, o *open) bool {
		if hit, refuse := match(o); hit {
			refused = refused || refuse
			parked = append(parked, id)
		}
		return true
	})
	if refused {
		return ntstatus.FileForcedClosed
	}
	for _, o := range live {
		cc.r.c.log.Info("open closed for a new instance of its application", "path", cc.path)
		srv.forgetOpen(o)
		cancelOpenEverywhere(o)
		if tree, _ := o.owner(); tree != nil {
			tree.removeOpen(o)
		}
		o.release()
	}
	for _, id := range parked {
		srv.purgeDurable(wire.FileID(id))
	}
	return nil
}

// owner returns the open's tree and session, which a durable reconnect
// may change (read under refsMu, as belongsTo does).
func (o *open) owner() (*treeConnect, *session) {
	o.refsMu.Lock()
	defer o.refsMu.Unlock()
	return o.tree, o.sess
}

// recordAppInstance sets Open.AppInstanceId (and version) of a new open.
func (cc *createCall) recordAppInstance(o *open) {
	a := cc.parseAppInstance()
	t := &cc.r.c.srv.nodes
	t.mu.Lock()
	o.dur.app = a
	t.mu.Unlock()
}
