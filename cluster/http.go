package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/outagewatch/outagewatch/cluster/lease"
)

// View is GET /v1/cluster: this replica's role, the cluster's term and leader, and its members.
type View struct {
	ID        string `json:"id"`
	Advertise string `json:"advertise"`
	// Role is leader or follower.
	Role  string `json:"role"`
	Term  int64  `json:"term"`
	Stale bool   `json:"stale"`
	// Leader is the leader's ID and address; empty while no one holds the lease.
	Leader          string         `json:"leader"`
	LeaderAdvertise string         `json:"leader_advertise"`
	Members         []lease.Member `json:"members"`
}

// View describes the cluster as this replica sees it; members from Postgres, or none when it
// cannot be read (the view says what the replica knows).
func (n *Node) View(ctx context.Context) (View, error) {
	p := n.p.Load()
	if p == nil {
		return View{Role: "follower", Stale: true, Members: []lease.Member{}}, nil
	}
	st := p.lease.State()
	v := View{ID: p.lease.ID(), Advertise: p.lease.Advertise(), Role: "follower", Term: st.Term,
		Stale: !st.Leading && p.follower.Stale(), Leader: st.Leader, LeaderAdvertise: st.Advertise}
	if st.Leading {
		v.Role = "leader"
	}
	ms, err := p.lease.Members(ctx)
	if ms == nil {
		ms = []lease.Member{}
	}
	v.Members = ms
	return v, err
}

// Handler serves GET /v1/cluster.
func (n *Node) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		v, err := n.View(ctx)
		w.Header().Set("Content-Type", "application/json")
		if err != nil {
			// Postgres unreachable: the replica's own view, without the member list.
			w.Header().Set("Outagewatch-Members-Error", err.Error())
		}
		_ = json.NewEncoder(w).Encode(v)
	})
}

// Line is the status page's line about the cluster: "cluster: 3 replicas, leader
// outagewatch-1-3f2a (this replica), term 7", and "; this replica has lost its leader: its own
// decisions, stale" while it serves its own engine.
func (n *Node) Line() string {
	p := n.p.Load()
	if p == nil {
		return "cluster: starting"
	}
	st := p.lease.State()
	leader := st.Leader
	switch {
	case st.Leading:
		leader += " (this replica)"
	case leader == "":
		leader = "none (a takeover is under way, or the database is unreachable)"
	}
	line := fmt.Sprintf("cluster: %d replicas, leader %s, term %d", st.Members, leader, st.Term)
	if !st.Leading && p.follower.Stale() {
		line += "; this replica has lost its leader: its own decisions, stale"
	}
	return line
}
