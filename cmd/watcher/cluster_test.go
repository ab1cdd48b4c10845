package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/health"
	"github.com/outagewatch/outagewatch/internal/pgtest"
	"github.com/outagewatch/outagewatch/internal/slackfake"
	"github.com/outagewatch/outagewatch/internal/watchertest"
)

// The proofs of issue 19 on the real binary: three replicas on one Postgres form one cluster.

// clusterConfig is fastConfig with hold-downs longer than the test's outage: a down model stays
// down through the failover unless it recovers for real.
var clusterConfig = strings.NewReplacer("hold_down_base: 1s", "hold_down_base: 20s", "hold_down_max: 1s", "hold_down_max: 20s").Replace(fastConfig)

// replicaOf is one replica binary of a test cluster.
type replicaOf struct {
	proc
	name string
}

// leads reads outagewatch_cluster_leader from the replica's /metrics.
func (r replicaOf) leads(t *testing.T) bool {
	code, body := get(t, "http://"+r.API+"/metrics")
	require.Equal(t, http.StatusOK, code)
	return strings.Contains(body, "\noutagewatch_cluster_leader 1\n")
}

// answer is a replica's GET /v1/health/anthropic/{model}: status code, state and the cluster's
// term and staleness.
type answer struct {
	code  int
	state string
	term  int64
	stale bool
}

func (r replicaOf) answer(model string) (answer, error) {
	resp, err := http.Get("http://" + r.API + "/v1/health/anthropic/" + model)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	var v struct {
		health.ModelView
		Term  int64 `json:"term"`
		Stale bool  `json:"stale"`
	}
	if resp.StatusCode == http.StatusNotFound {
		return answer{code: resp.StatusCode}, nil
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return answer{}, err
	}
	return answer{code: resp.StatusCode, state: v.State, term: v.Term, stale: v.Stale}, nil
}

// TestThreeReplicasOneView: three replicas on one Postgres; the exporters reach one follower
// only. Every replica answers 503 within a second of the leader's decision; the leader is
// killed (SIGKILL) mid-outage and the provider stays down on every other replica through the
// takeover; the outage ends and every replica recovers; one incident and one Slack thread root.
func TestThreeReplicasOneView(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("-short: three binaries for a minute; scripts/test.sh runs it")
	}
	dsn := pgtest.NewDatabase(t)
	slack := slackfake.New(t)
	env := []string{"OUTAGEWATCH_POSTGRES_DSN=" + dsn, "OUTAGEWATCH_SLACK_BOT_TOKEN=xoxb-test",
		"OUTAGEWATCH_SLACK_CHANNEL=C0CLUSTER", "OUTAGEWATCH_SLACK_API_URL=" + slack.APIURL()}
	var rs []replicaOf
	for _, name := range []string{"a", "b", "c"} {
		rs = append(rs, replicaOf{proc{watchertest.StartWatcher(t, clusterConfig, env...)}, name})
	}
	var leader replicaOf
	require.Eventually(t, func() bool {
		n := 0
		for _, r := range rs {
			if r.leads(t) {
				leader, n = r, n+1
			}
		}
		return n == 1
	}, 20*time.Second, 50*time.Millisecond, "one leader")
	var followers []replicaOf
	for _, r := range rs {
		if r.name != leader.name {
			followers = append(followers, r)
		}
	}
	t.Logf("leader %s", leader.name)

	// Traffic to one follower only, forwarded to the leader.
	target := followers[0]
	calls := &caller{service: "checkout", fail: 0.01, class: "OverloadedError"}
	traffic(t, target.OTLPHTTP, 20, calls)
	for _, r := range rs {
		r.await(t, 60*time.Second, "the model healthy on "+r.name, func(rep health.Report) bool {
			m, ok := model(rep, whoseModel)
			return ok && m.State == "healthy" && m.Figures.Calls >= 200
		})
	}

	// The outage: every replica answers 503, within a second of the leader.
	down := map[string]time.Time{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, r := range rs {
		wg.Go(func() {
			r.await(t, 30*time.Second, "down on "+r.name, func(rep health.Report) bool {
				m, _ := model(rep, whoseModel)
				return m.State == "down"
			})
			mu.Lock()
			down[r.name] = time.Now()
			mu.Unlock()
		})
	}
	calls.set(1, "OverloadedError")
	wg.Wait()
	for _, r := range followers {
		lag := down[r.name].Sub(down[leader.name])
		t.Logf("replica %s answered down %v after the leader", r.name, lag.Round(time.Millisecond))
		require.Less(t, lag, time.Second, "within a second of the leader")
		a, err := r.answer(whoseModel)
		require.NoError(t, err)
		require.Equal(t, http.StatusServiceUnavailable, a.code)
		require.Positive(t, a.term, "answers carry the term")
		require.False(t, a.stale)
	}
	require.Eventually(t, func() bool { return len(incidentsOf(t, leader.API)) == 1 }, 20*time.Second, 50*time.Millisecond, "one incident")

	// kill -9 the leader mid-outage: the others never answer anything but down, and one of them
	// takes the lead within 5 s.
	killed := time.Now()
	require.NoError(t, leader.Signal(syscall.SIGKILL))
	<-leader.Done()
	var next replicaOf
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for next.name == "" {
		require.NoError(t, ctx.Err(), "no replica took the lead")
		for _, r := range followers {
			a, err := r.answer(whoseModel)
			require.NoError(t, err)
			require.Equal(t, http.StatusServiceUnavailable, a.code, "replica %s through the takeover: %+v", r.name, a)
			if r.leads(t) {
				next = r
			}
		}
	}
	t.Logf("replica %s leads %v after the leader was killed", next.name, time.Since(killed).Round(time.Millisecond))
	require.Less(t, time.Since(killed), 5*time.Second)
	for _, r := range followers {
		a, err := r.answer(whoseModel)
		require.NoError(t, err)
		require.Equal(t, "down", a.state, "down on %s after the takeover", r.name)
	}

	// The outage ends: every replica recovers; one incident, resolved; one thread root.
	calls.set(0.01, "OverloadedError")
	for _, r := range followers {
		r.await(t, 90*time.Second, "recovered on "+r.name, func(rep health.Report) bool {
			m, _ := model(rep, whoseModel)
			return m.State == "healthy"
		})
	}
	require.Eventually(t, func() bool {
		incs := incidentsOf(t, next.API)
		return len(incs) == 1 && incs[0].State == "resolved"
	}, 30*time.Second, 100*time.Millisecond, "one incident, resolved: %+v", incidentsOf(t, next.API))
	roots := 0
	for _, m := range slack.Messages() {
		if m.ThreadTS == "" {
			roots++
		}
	}
	require.Equal(t, 1, roots, "one Slack thread root: %s", fmt.Sprint(slack.Messages()))
}
