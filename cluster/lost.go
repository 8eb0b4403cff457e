package cluster

// SetOnLost sets the function called, from the renewal goroutine, for
// each entry the node held that it could not write again under a new
// lease because another node took a conflicting one while the node was
// cut off; it replaces Config.OnLost. The server sets it (server.New) to
// close the open whose share mode or lock was lost.
func (n *Node) SetOnLost(fn func(table, file, owner string)) {
	if fn == nil {
		n.onLost.Store(nil)
		return
	}
	n.onLost.Store(&fn)
}

// lost reports a dropped entry to SetOnLost's function, else to
// Config.OnLost.
func (n *Node) lost(table, file, owner string) {
	if fn := n.onLost.Load(); fn != nil {
		(*fn)(table, file, owner)
	} else if n.cfg.OnLost != nil {
		n.cfg.OnLost(table, file, owner)
	}
}
