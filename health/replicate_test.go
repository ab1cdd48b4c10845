package health

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	"github.com/outagewatch/outagewatch/detectors"
)

var replKey = detectors.SeriesKey{Provider: "anthropic", Model: "claude"}

func replStatuses(s detectors.State) []detectors.Status {
	return []detectors.Status{{Series: replKey.Own(), State: s}, {Series: replKey, State: s}}
}

func tr(from, to detectors.State) detectors.Transition {
	return detectors.Transition{Series: replKey, From: from, To: to}
}

// TestReplicateInstallsTheLeadersVersions: the leader's version and statuses are installed as
// they are; the ring numbers the transitions as the leader did; waiters wake; a follow-on
// update keeps the life, so that resuming works as on one daemon.
func TestReplicateInstallsTheLeadersVersions(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := NewBoard()
		b.Replicate(41, replStatuses(detectors.StateHealthy), nil)
		require.EqualValues(t, 41, b.Version())
		got, ok := b.Get(replKey)
		require.True(t, ok)
		require.Equal(t, detectors.StateHealthy, got.State)
		life := b.lifeNow()

		woke := make(chan uint64, 1)
		go func() { woke <- b.Wait(context.Background(), 41) }()
		updated := b.Updated()
		synctest.Wait()
		b.Replicate(41, replStatuses(detectors.StateHealthy), nil) // figures only
		<-updated                                                  // publishers wake on every write
		synctest.Wait()
		require.Empty(t, woke, "figures alone wake no long-poll")

		b.Replicate(43, replStatuses(detectors.StateDegraded), []detectors.Transition{tr(0, 3), tr(3, 2)})
		require.EqualValues(t, 43, <-woke)
		require.Equal(t, life, b.lifeNow(), "a follow-on update keeps the life")
		changes, complete := b.Since(41)
		require.True(t, complete)
		require.Len(t, changes, 2)
		require.EqualValues(t, []uint64{42, 43}, []uint64{changes[0].Version, changes[1].Version})
		changes, complete = b.Since(42)
		require.True(t, complete)
		require.Len(t, changes, 1)
	})
}

// TestReplicateLives: a gap, a new term, or a switch between the leader's board and the
// replica's own engine starts a new life: waiters wake even at the same version number, the ring
// is cleared so that resuming from an earlier life's version is incomplete (a snapshot), and
// Update after Replicate moves the version by one.
func TestReplicateLives(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		b := NewBoard()
		b.Replicate(10, replStatuses(detectors.StateHealthy), nil)
		b.Replicate(11, replStatuses(detectors.StateDown), []detectors.Transition{tr(1, 3)})
		life := b.lifeNow()

		// A gap: the follower missed version 12.
		b.Replicate(14, replStatuses(detectors.StateDown), []detectors.Transition{tr(3, 2), tr(2, 3)})
		require.Greater(t, b.lifeNow(), life)
		_, complete := b.Since(11)
		require.False(t, complete, "changes missed: a snapshot")
		changes, complete := b.Since(12)
		require.True(t, complete)
		require.Len(t, changes, 2)

		// The replica falls back to its own engine: one past the last replicated version.
		life = b.lifeNow()
		b.Update(replStatuses(detectors.StateHealthy), nil)
		require.EqualValues(t, 15, b.Version())
		require.Greater(t, b.lifeNow(), life)
		_, complete = b.Since(14)
		require.False(t, complete, "the own engine's statuses replaced the leader's without a transition")
		b.Update(replStatuses(detectors.StateDown), []detectors.Transition{tr(1, 3)})
		require.EqualValues(t, 16, b.Version(), "its own transitions go on from there")
		changes, complete = b.Since(15)
		require.True(t, complete)
		require.Len(t, changes, 1)

		// The leader comes back at a version below the replica's: a version from another life.
		woke := make(chan uint64, 1)
		go func() { woke <- b.Wait(context.Background(), 16) }()
		synctest.Wait()
		b.Replicate(15, replStatuses(detectors.StateHealthy), nil)
		require.EqualValues(t, 15, <-woke)
		require.EqualValues(t, 15, b.Wait(context.Background(), 16), "an after from the future is answered at once")
		_, complete = b.Since(16)
		require.False(t, complete)

		// Same version number, another term: waiters wake all the same.
		go func() { woke <- b.Wait(context.Background(), 15) }()
		synctest.Wait()
		b.SetCluster(8, false)
		synctest.Wait()
		require.Empty(t, woke, "SetCluster alone wakes no long-poll")
		b.Replicate(15, replStatuses(detectors.StateDegraded), nil)
		require.EqualValues(t, 15, <-woke, "a new term is a new life")
	})
}

// TestClusterMetadataInAnswers: SetCluster puts term and stale into every JSON answer and the
// headers; outside a cluster there is neither.
func TestClusterMetadataInAnswers(t *testing.T) {
	t.Parallel()
	b, _ := fixture()
	srv := serve(t, b, time.Hour)
	paths := []string{"/v1/health", "/v1/health?wait=1ms&after=1", "/v1/health/anthropic", "/v1/health/anthropic/claude-sonnet-4-5", "/v1/health/nope"}
	for _, p := range paths {
		resp, body := get(t, srv.URL+p)
		require.NotContains(t, string(body), `"term"`, p)
		require.NotContains(t, string(body), `"stale"`, p)
		require.NotContains(t, resp.Header, "Outagewatch-Term", p)
		require.NotContains(t, resp.Header, "Outagewatch-Stale", p)
	}

	b.SetCluster(12, false)
	for _, p := range paths {
		resp, body := get(t, srv.URL+p)
		require.Contains(t, string(body), `"term":12`, p)
		require.NotContains(t, string(body), `"stale"`, p)
		require.Equal(t, "12", resp.Header.Get("Outagewatch-Term"), p)
		require.Empty(t, resp.Header.Get("Outagewatch-Stale"), p)
	}
	resp, body := get(t, srv.URL+"/v1/health/anthropic/claude-sonnet-4-5")
	require.True(t, strings.HasPrefix(string(body), `{"version":1,"term":12,"provider":"anthropic",`), string(body))
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)

	b.SetCluster(12, true)
	for _, p := range paths {
		resp, body := get(t, srv.URL+p)
		require.Contains(t, string(body), `"term":12`, p)
		require.Contains(t, string(body), `"stale":true`, p)
		require.Equal(t, "true", resp.Header.Get("Outagewatch-Stale"), p)
	}
	resp, _ = get(t, srv.URL+"/v1/health", "If-None-Match", `W/"1"`)
	require.Equal(t, http.StatusNotModified, resp.StatusCode)
	require.Equal(t, "true", resp.Header.Get("Outagewatch-Stale"), "a 304 says it too")

	s, stop := openStream(t, srv.URL+"/v1/health/stream", "")
	defer stop()
	require.Contains(t, s.next(t).data, `"term":12,"stale":true`)
	_, statuses := b.Snapshot()
	statuses[3].State = detectors.StateDown
	b.Update(statuses, []detectors.Transition{{Series: statuses[3].Series, From: detectors.StateHealthy, To: detectors.StateDown}})
	ev := s.next(t)
	require.Equal(t, "change", ev.event)
	require.Contains(t, ev.data, `"term":12,"stale":true`)
}

// TestStreamStartsAgainInANewLife: an SSE stream on a replica whose board starts a new life
// (the leader's board again after its own engine's) gets a fresh snapshot, not changes whose
// numbers do not follow on.
func TestStreamStartsAgainInANewLife(t *testing.T) {
	t.Parallel()
	b := NewBoard()
	b.Replicate(20, replStatuses(detectors.StateHealthy), nil)
	srv := serve(t, b, time.Hour)
	s, stop := openStream(t, srv.URL+"/v1/health/stream", "")
	defer stop()
	ev := s.next(t)
	require.Equal(t, []string{"snapshot", "20"}, []string{ev.event, ev.id})

	b.Update(replStatuses(detectors.StateDown), nil) // own engine: version 21, a new life
	ev = s.next(t)
	require.Equal(t, []string{"snapshot", "21"}, []string{ev.event, ev.id})
	b.Replicate(18, replStatuses(detectors.StateHealthy), nil) // the leader back, below
	ev = s.next(t)
	require.Equal(t, []string{"snapshot", "18"}, []string{ev.event, ev.id})
	b.Replicate(19, replStatuses(detectors.StateDown), []detectors.Transition{tr(1, 3)})
	ev = s.next(t)
	require.Equal(t, []string{"change", "19"}, []string{ev.event, ev.id})
}

// TestGRPCCarriesClusterMetadata: in a cluster, Check's and Watch's header metadata carry the
// term, the version and stale; outside one, none.
func TestGRPCCarriesClusterMetadata(t *testing.T) {
	t.Parallel()
	b, _ := fixture()
	addr := startGRPC(t, b)
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	c := healthpb.NewHealthClient(conn)
	var md metadata.MD
	_, err = c.Check(t.Context(), &healthpb.HealthCheckRequest{Service: "anthropic"}, grpc.Header(&md))
	require.NoError(t, err)
	require.Empty(t, md.Get("outagewatch-term"))

	b.SetCluster(5, true)
	_, err = c.Check(t.Context(), &healthpb.HealthCheckRequest{Service: "anthropic"}, grpc.Header(&md))
	require.NoError(t, err)
	require.Equal(t, []string{"5"}, md.Get("outagewatch-term"))
	require.Equal(t, []string{"1"}, md.Get("outagewatch-version"))
	require.Equal(t, []string{"true"}, md.Get("outagewatch-stale"))

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	w, err := c.Watch(ctx, &healthpb.HealthCheckRequest{Service: "anthropic"})
	require.NoError(t, err)
	hd, err := w.Header()
	require.NoError(t, err)
	require.Equal(t, []string{"5"}, hd.Get("outagewatch-term"))
}
