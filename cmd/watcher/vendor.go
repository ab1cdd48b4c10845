package main

import (
	"context"
	"time"

	"github.com/outagewatch/outagewatch/vendorstatus"
	"github.com/outagewatch/outagewatch/vendorstatus/leadtime"
)

// linkTimeout bounds one linking of a page's posts to our incidents: the page's next poll waits
// for it.
const linkTimeout = 10 * time.Second

// linkVendor returns what runs after each poll of a provider's page: its posts are linked to our
// incidents, with the lead time stored and measured, by the cluster's leader only (a follower's
// writes are fenced off; the leader links them at its own next poll).
func (a *app) linkVendor(l *leadtime.Linker) func(vendorstatus.Status) {
	return func(st vendorstatus.Status) {
		if a.cluster != nil && !a.cluster.node.Leading() {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), linkTimeout)
		defer cancel()
		if err := l.Update(ctx, st); err != nil {
			a.logger.Warn("link the provider's posts to incidents, will retry at the next poll", "provider", st.Provider, "err", err)
		}
	}
}
