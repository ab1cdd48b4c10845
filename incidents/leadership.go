package incidents

import "errors"

// ErrNotLeading answers the API calls waiting in the queue of a replica that stopped leading
// its cluster: the new leader continues from the store.
var ErrNotLeading = errors.New("this replica no longer leads the cluster; ask again (the leader continues from the store)")

// Reset forgets the lifecycle state and the queued changes, for a replica of a cluster that
// stopped leading (docs/cluster.md): whatever it had not written is the new leader's to decide
// again from its own view, and its writes would be refused anyway (fenced). API calls waiting
// for their change are answered ErrNotLeading. Resume starts it again when it leads again.
func (mgr *Manager) Reset() {
	mgr.mu.Lock()
	clear(mgr.active)
	clear(mgr.pending)
	mgr.mu.Unlock()
	mgr.qmu.Lock()
	q := mgr.queue
	mgr.queue, mgr.lastErr = nil, nil
	mgr.qmu.Unlock()
	for _, c := range q {
		if c.w != nil && c.w.begin() {
			c.w.reply <- applied{err: ErrNotLeading}
		}
	}
	if len(q) > 0 {
		mgr.logger.Info("no longer leading: queued incident changes dropped for the new leader", "dropped", len(q))
	}
}
