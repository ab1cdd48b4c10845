package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/alerts/webhook"
	"github.com/outagewatch/outagewatch/cluster"
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
	// Every replica has the same webhook target too: only the leader sends, and the takeover
	// neither loses nor repeats an event (issue 24).
	secret := "whsec_" + base64.StdEncoding.EncodeToString([]byte("the-cluster-secret-of-32-bytes!!"))
	secretFile := filepath.Join(t.TempDir(), "hook.secret")
	require.NoError(t, os.WriteFile(secretFile, []byte(secret), 0o600))
	hook := newHookReceiver(t, secret)
	// A short lease: a delivery the killed leader had claimed but not recorded waits for its
	// lease to end before the next leader claims it (alerts.lease, 5 minutes by default).
	config := clusterConfig + fmt.Sprintf("alerts:\n  lease: 4s\n  send_timeout: 2s\n  targets:\n    - {name: hook, type: webhook, urls: [%q], secret_file: %q}\n", hook.srv.URL, secretFile)
	var rs []replicaOf
	for _, name := range []string{"a", "b", "c"} {
		rs = append(rs, replicaOf{proc{watchertest.StartWatcher(t, config, env...)}, name})
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

	// Visible on every replica: the members, the leader and the term; the status page's line.
	lv := leader.clusterView(t)
	for _, r := range rs {
		v := r.clusterView(t)
		require.Len(t, v.Members, 3, "replica %s lists the members", r.name)
		require.Equal(t, lv.ID, v.Leader)
		require.Equal(t, lv.Term, v.Term)
		code, page := get(t, "http://"+r.API+"/")
		require.Equal(t, http.StatusOK, code)
		require.Contains(t, page, fmt.Sprintf("cluster: 3 replicas, leader %s", lv.ID))
		code, metrics := get(t, "http://"+r.API+"/metrics")
		require.Equal(t, http.StatusOK, code)
		for _, name := range []string{"outagewatch_cluster_members 3", "outagewatch_cluster_term ", "outagewatch_health_board_version "} {
			require.Contains(t, metrics, "\n"+name, "replica %s", r.name)
		}
	}

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

	// The webhook: the opening and the resolution, each under one webhook-id. A leader killed
	// between the receiver's 2xx and its record sends again under the same id, which receivers
	// deduplicate on (the Standard Webhooks rule), so ids are what is counted.
	require.Eventually(t, func() bool {
		_, types, _ := hook.got()
		return len(types) > 0 && types[len(types)-1] == webhook.TypeResolved
	}, 30*time.Second, 50*time.Millisecond, "the resolution by webhook")
	ids, types, bad := hook.got()
	require.Zero(t, bad)
	byID := map[string]string{}
	count := map[string]int{}
	for i, id := range ids {
		if _, seen := byID[id]; !seen {
			count[types[i]]++
		}
		byID[id] = types[i]
	}
	t.Logf("webhooks: %d requests, %d ids: %v", len(ids), len(byID), types)
	require.Equal(t, 1, count[webhook.TypeOpened], types)
	require.Equal(t, 1, count[webhook.TypeResolved], types)
}

// startReplicas starts n replicas on dsn with a fake Slack and waits for one to lead.
func startReplicas(t *testing.T, n int, dsn string, slack *slackfake.Workspace) (leader replicaOf, followers []replicaOf) {
	t.Helper()
	env := []string{"OUTAGEWATCH_POSTGRES_DSN=" + dsn, "OUTAGEWATCH_SLACK_BOT_TOKEN=xoxb-test",
		"OUTAGEWATCH_SLACK_CHANNEL=C0CLUSTER", "OUTAGEWATCH_SLACK_API_URL=" + slack.APIURL()}
	var rs []replicaOf
	for i := range n {
		rs = append(rs, replicaOf{proc{watchertest.StartWatcher(t, clusterConfig, env...)}, string(rune('a' + i))})
	}
	require.Eventually(t, func() bool {
		k := 0
		for _, r := range rs {
			if r.leads(t) {
				leader, k = r, k+1
			}
		}
		return k == 1
	}, 20*time.Second, 50*time.Millisecond, "one leader")
	for _, r := range rs {
		if r.name != leader.name {
			followers = append(followers, r)
		}
	}
	return leader, followers
}

// clusterView fetches GET /v1/cluster.
func (r replicaOf) clusterView(t *testing.T) cluster.View {
	t.Helper()
	code, body := get(t, "http://"+r.API+"/v1/cluster")
	require.Equal(t, http.StatusOK, code, body)
	var v cluster.View
	require.NoError(t, json.Unmarshal([]byte(body), &v))
	return v
}

// threadRoots counts the Slack thread roots.
func threadRoots(slack *slackfake.Workspace) int {
	n := 0
	for _, m := range slack.Messages() {
		if m.ThreadTS == "" {
			n++
		}
	}
	return n
}

// TestPausedLeaderIsDeposed: the leader's process is paused (SIGSTOP) past its lease; the other
// replica takes the lead (a higher term) and, with the exporters on it, opens the outage's
// incident. Resumed (SIGCONT), the old leader believes for a moment it still leads, then reads
// the lease: it follows, serves the new leader's board, and writes nothing (one incident, one
// thread root). The database's fence behind this is proven in cluster/lease
// (TestDeposedLeaderCannotWrite).
func TestPausedLeaderIsDeposed(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("-short: two binaries for half a minute; scripts/test.sh runs it")
	}
	slack := slackfake.New(t)
	old, followers := startReplicas(t, 2, pgtest.NewDatabase(t), slack)
	niu := followers[0]
	term := niu.clusterView(t).Term
	require.NoError(t, old.Signal(syscall.SIGSTOP))
	paused := time.Now()
	require.Eventually(t, func() bool { return niu.leads(t) }, 10*time.Second, 50*time.Millisecond, "the other replica takes the lead")
	t.Logf("takeover %v after the leader was paused", time.Since(paused).Round(time.Millisecond))
	v := niu.clusterView(t)
	require.Greater(t, v.Term, term)
	require.Equal(t, "leader", v.Role)

	calls := &caller{service: "checkout", fail: 0.01, class: "OverloadedError"}
	traffic(t, niu.OTLPHTTP, 20, calls)
	niu.await(t, 60*time.Second, "healthy", func(rep health.Report) bool {
		m, ok := model(rep, whoseModel)
		return ok && m.State == "healthy" && m.Figures.Calls >= 200
	})
	calls.set(1, "OverloadedError")
	niu.await(t, 30*time.Second, "down", func(rep health.Report) bool { m, _ := model(rep, whoseModel); return m.State == "down" })
	require.Eventually(t, func() bool { return len(incidentsOf(t, niu.API)) == 1 && threadRoots(slack) == 1 }, 20*time.Second, 50*time.Millisecond)

	require.NoError(t, old.Signal(syscall.SIGCONT))
	require.Eventually(t, func() bool {
		ov := old.clusterView(t)
		return ov.Role == "follower" && ov.Leader == v.ID && !ov.Stale
	}, 10*time.Second, 50*time.Millisecond, "the old leader follows the new one")
	a, err := old.answer(whoseModel)
	require.NoError(t, err)
	require.Equal(t, http.StatusServiceUnavailable, a.code, "it serves the new leader's board: %+v", a)
	require.Equal(t, v.Term, niu.clusterView(t).Term, "no flapping: the new leader keeps its term")
	require.True(t, niu.leads(t))
	require.Len(t, incidentsOf(t, niu.API), 1)
	require.Equal(t, 1, threadRoots(slack), "the old leader sent nothing")
}

// TestPostgresAwayForThirtySeconds: two replicas, each with exporters, and Postgres stops for
// 30 s. Every replica keeps answering, marked stale, on its own traffic; an outage that starts
// meanwhile turns both down; when Postgres is back, the replica that led writes its queued
// incident (one incident, one thread root), and the cluster serves one board again.
func TestPostgresAwayForThirtySeconds(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("-short: Postgres away for 30 s; scripts/test.sh runs it")
	}
	pg := pgtest.NewCluster(t)
	slack := slackfake.New(t)
	leader, followers := startReplicas(t, 2, pg.NewDatabase(t), slack)
	rs := []replicaOf{leader, followers[0]}
	var calls []*caller
	for _, r := range rs {
		c := &caller{service: "svc-" + r.name, fail: 0.01, class: "OverloadedError"}
		calls = append(calls, c)
		traffic(t, r.OTLPHTTP, 15, c)
	}
	for _, r := range rs {
		r.await(t, 60*time.Second, "healthy on "+r.name, func(rep health.Report) bool {
			m, ok := model(rep, whoseModel)
			return ok && m.State == "healthy" && m.Figures.Calls >= 200
		})
	}

	pg.Stop(t)
	stopped := time.Now()
	for _, r := range rs {
		require.Eventually(t, func() bool {
			a, err := r.answer(whoseModel)
			return err == nil && a.code == http.StatusOK && a.stale
		}, 15*time.Second, 50*time.Millisecond, "replica %s answers, marked stale", r.name)
	}
	t.Logf("both replicas stale %v after Postgres stopped", time.Since(stopped).Round(time.Millisecond))
	for _, c := range calls {
		c.set(1, "OverloadedError")
	}
	for _, r := range rs {
		r.await(t, 20*time.Second, "down on "+r.name+" without Postgres", func(rep health.Report) bool {
			m, _ := model(rep, whoseModel)
			return m.State == "down"
		})
	}
	require.Zero(t, threadRoots(slack), "nothing sent while the incident cannot be written")
	// The database stays away for the drill's 30 s: a duration the scenario prescribes (the
	// issue's "Postgres stopped for 30 s"), not a wait for something to happen; what had to
	// happen meanwhile (both replicas stale and down) was awaited above.
	<-time.After(30*time.Second - time.Since(stopped))
	pg.Start(t)

	require.Eventually(t, func() bool {
		for _, r := range rs {
			if a, err := r.answer(whoseModel); err != nil || a.stale || a.code != http.StatusServiceUnavailable {
				return false
			}
		}
		return true
	}, 30*time.Second, 100*time.Millisecond, "one board again, the model down")
	require.Eventually(t, func() bool {
		incs := incidentsOf(t, rs[0].API)
		return len(incs) == 1 && threadRoots(slack) == 1
	}, 30*time.Second, 100*time.Millisecond, "one incident, one thread root: %v", slack.Messages())
}
