package incidents

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/detectors"
)

var (
	batchJobs = detectors.Caller{Kind: detectors.CallerService, Name: "batch-jobs"}
	euHost    = detectors.Caller{Kind: detectors.CallerEndpoint, Name: "eu.api.example.com"}
)

// local is a local verdict's transition: caller's calls to anthropic/model, while the model's
// other callers stay at their baseline.
func local(caller detectors.Caller, model string, from, to detectors.State, at time.Duration) detectors.Transition {
	t := tr(model, from, to, at)
	t.Series.Caller = caller
	t.Evidence.ConfinedTo = caller
	t.Evidence.Callers = []detectors.CallerShare{{Caller: "batch-jobs", N: 40, K: 38}, {Caller: "search", N: 30}, {Caller: "checkout", N: 20}}
	return t
}

// incidentOf returns the incident of incs with caller.
func incidentOf(t *testing.T, incs []Incident, caller string) Incident {
	t.Helper()
	for _, inc := range incs {
		if inc.Caller == caller {
			return inc
		}
	}
	t.Fatalf("no incident of caller %q in %+v", caller, incs)
	return Incident{}
}

// TestLocalIncidentBesideTheProviders: batch-jobs' calls fail alone (a local verdict), then the
// model fails for everyone: two incidents, each with its caller; batch-jobs' recovery resolves
// only its own.
func TestLocalIncidentBesideTheProviders(t *testing.T) {
	t.Parallel()
	store := &memStore{}
	mgr := newManager(t, store)
	mgr.Handle([]detectors.Transition{local(batchJobs, "claude-sonnet-4-5", H, D, 0)})
	mgr.tick(t0.Add(5 * time.Second))
	require.Empty(t, mgr.queue, "a local incident waits the same group wait")
	mgr.Handle([]detectors.Transition{local(batchJobs, "claude-haiku-4-5", H, G, 6*time.Second)})
	mgr.tick(t0.Add(10 * time.Second))
	require.NoError(t, mgr.flush(context.Background()))
	incs, _, _ := store.snapshot()
	require.Len(t, incs, 1)
	require.Equal(t, "service:batch-jobs", incs[0].Caller)
	require.Equal(t, []string{"claude-haiku-4-5", "claude-sonnet-4-5"}, incs[0].Models, "its models are listed")
	require.Equal(t, SeverityCritical, incs[0].Severity)

	// The model fails for everyone: the provider's own incident, beside the local one.
	mgr.Handle([]detectors.Transition{tr("claude-opus-4-1", H, D, time.Minute)})
	mgr.tick(t0.Add(time.Minute + 10*time.Second))
	require.NoError(t, mgr.flush(context.Background()))
	incs, events, _ := store.snapshot()
	require.Len(t, incs, 2)
	provider := incidentOf(t, incs, "")
	require.Equal(t, []string{"claude-opus-4-1"}, provider.Models)
	require.Equal(t, StateOpen, provider.State)
	require.Equal(t, "service:batch-jobs", events[0].Evidence.ConfinedTo, "the local opening names its caller")

	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(openCollector{mgr})
	require.NoError(t, testutil.CollectAndCompare(reg, strings.NewReader(`
# HELP outagewatch_incidents_open Incidents under way (open or acknowledged), by provider and caller ("" for the provider's own incident), as this daemon tracks them.
# TYPE outagewatch_incidents_open gauge
outagewatch_incidents_open{caller="",provider="anthropic"} 1
outagewatch_incidents_open{caller="service:batch-jobs",provider="anthropic"} 1
`), "outagewatch_incidents_open"))

	// batch-jobs recovers: its incident resolves, the provider's stays open.
	mgr.Handle([]detectors.Transition{
		local(batchJobs, "claude-sonnet-4-5", D, H, 2*time.Minute),
		local(batchJobs, "claude-haiku-4-5", G, H, 2*time.Minute),
	})
	require.NoError(t, mgr.flush(context.Background()))
	incs, events, _ = store.snapshot()
	require.Equal(t, StateResolved, incidentOf(t, incs, "service:batch-jobs").State)
	require.Equal(t, StateOpen, incidentOf(t, incs, "").State)
	last := events[len(events)-1]
	require.Equal(t, EventResolved, last.Kind)
	require.Empty(t, last.Evidence.Detector, "a recovery is no widening")

	// The provider's own recovery resolves it.
	mgr.Handle([]detectors.Transition{tr("claude-opus-4-1", D, H, 3*time.Minute)})
	require.NoError(t, mgr.flush(context.Background()))
	incs, _, _ = store.snapshot()
	require.Equal(t, StateResolved, incidentOf(t, incs, "").State)
}

// TestLocalIncidentWidens: batch-jobs' failures spread to the other callers: its local incident
// resolves with the widened evidence, and the provider's opens after its group wait.
func TestLocalIncidentWidens(t *testing.T) {
	t.Parallel()
	store := &memStore{}
	mgr := newManager(t, store)
	mgr.Handle([]detectors.Transition{local(batchJobs, "claude-sonnet-4-5", H, D, 0)})
	mgr.tick(t0.Add(10 * time.Second))
	require.NoError(t, mgr.flush(context.Background()))

	widened := local(batchJobs, "claude-sonnet-4-5", D, H, time.Minute)
	widened.Evidence = detectors.Evidence{Detector: detectors.DetectorWidened, Observed: 0.6, CallRate: 4}
	mgr.Handle([]detectors.Transition{widened, tr("claude-sonnet-4-5", H, D, time.Minute)})
	require.NoError(t, mgr.flush(context.Background()))
	incs, events, notifies := store.snapshot()
	require.Len(t, incs, 1, "the provider's incident waits its group wait")
	require.Equal(t, StateResolved, incs[0].State)
	last := events[len(events)-1]
	require.Equal(t, EventResolved, last.Kind)
	require.Equal(t, "widened", last.Evidence.Detector, "the end says the failures spread")
	require.Equal(t, "claude-sonnet-4-5", last.Model)
	require.Equal(t, "resolved:resolve", notifies[len(notifies)-1])

	mgr.tick(t0.Add(time.Minute + 10*time.Second))
	require.NoError(t, mgr.flush(context.Background()))
	incs, _, _ = store.snapshot()
	require.Len(t, incs, 2)
	require.Equal(t, StateOpen, incidentOf(t, incs, "").State)
}

// TestLocalIncidentsPerCaller: two callers' local verdicts are two incidents; a transition of
// one never touches the other's.
func TestLocalIncidentsPerCaller(t *testing.T) {
	t.Parallel()
	store := &memStore{}
	mgr := newManager(t, store)
	mgr.Handle([]detectors.Transition{local(batchJobs, "claude-sonnet-4-5", H, G, 0), local(euHost, "claude-sonnet-4-5", H, D, 0)})
	mgr.tick(t0.Add(10 * time.Second))
	require.NoError(t, mgr.flush(context.Background()))
	incs, _, _ := store.snapshot()
	require.Len(t, incs, 2)
	require.Equal(t, SeverityWarning, incidentOf(t, incs, "service:batch-jobs").Severity)
	require.Equal(t, SeverityCritical, incidentOf(t, incs, "endpoint:eu.api.example.com").Severity)

	mgr.Handle([]detectors.Transition{local(euHost, "claude-sonnet-4-5", D, H, time.Minute)})
	require.NoError(t, mgr.flush(context.Background()))
	incs, _, _ = store.snapshot()
	require.Equal(t, StateOpen, incidentOf(t, incs, "service:batch-jobs").State)
	require.Equal(t, StateResolved, incidentOf(t, incs, "endpoint:eu.api.example.com").State)
}

// TestResumeRestoresLocalIncidents: after a restart, a local incident continues with its caller,
// beside its provider's, and resolves on its caller's recovery only.
func TestResumeRestoresLocalIncidents(t *testing.T) {
	t.Parallel()
	store := &memStore{}
	mgr := newManager(t, store)
	mgr.Handle([]detectors.Transition{local(batchJobs, "claude-sonnet-4-5", H, D, 0), tr("claude-opus-4-1", H, D, 0)})
	mgr.tick(t0.Add(10 * time.Second))
	require.NoError(t, mgr.flush(context.Background()))

	restarted := newManager(t, store)
	require.NoError(t, restarted.Resume(context.Background()))
	require.Contains(t, restarted.active, key{provider: "anthropic", caller: "service:batch-jobs"})
	require.Contains(t, restarted.active, key{provider: "anthropic"})
	restarted.Handle([]detectors.Transition{local(batchJobs, "claude-sonnet-4-5", U, D, time.Minute)})
	restarted.Handle([]detectors.Transition{local(batchJobs, "claude-sonnet-4-5", D, H, 2*time.Minute)})
	require.NoError(t, restarted.flush(context.Background()))
	incs, _, _ := store.snapshot()
	require.Len(t, incs, 2, "the restart continued both incidents")
	require.Equal(t, StateResolved, incidentOf(t, incs, "service:batch-jobs").State)
	require.Equal(t, StateOpen, incidentOf(t, incs, "").State)
}
