package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/incidents"
)

// Local incidents (issue 18): one caller's failures, while the provider's other callers stay at
// their baseline, are an incident of their own, beside the provider's.

func localCases() []testCase {
	return []testCase{
		{"local incidents beside the provider's", testLocalBesideProvider},
		{"list filters by caller", testListCaller},
	}
}

// localOpening is the change that opens the local incident of caller's calls to provider/model.
func localOpening(provider, model, caller string, at time.Time) incidents.Change {
	c := opening(provider, model, at)
	c.Caller = caller
	c.Events[0].Evidence.ConfinedTo = caller
	return c
}

// testLocalBesideProvider: a provider incident and the local incidents of two of its callers are
// active at once, each found by Active with its caller; each attaches only to its own, and they
// resolve independently.
func testLocalBesideProvider(t *testing.T, s Store) {
	batch := apply(t, s, localOpening("anthropic", "claude-sonnet-4-5", "service:batch-jobs", t0))
	eu := apply(t, s, localOpening("anthropic", "claude-sonnet-4-5", "endpoint:eu.api.example.com", t0.Add(time.Second)))
	provider := apply(t, s, opening("anthropic", "claude-haiku-4-5", t0.Add(2*time.Second)))
	require.Equal(t, "service:batch-jobs", batch.Caller)
	require.Equal(t, "endpoint:eu.api.example.com", eu.Caller)
	require.Empty(t, provider.Caller)
	require.NotEqual(t, batch.ID, eu.ID)
	require.NotEqual(t, batch.ID, provider.ID)
	require.NotEqual(t, eu.ID, provider.ID)

	// A second opening for a caller attaches to that caller's incident, and only to it.
	again := apply(t, s, localOpening("anthropic", "claude-opus-4-1", "service:batch-jobs", t0.Add(time.Minute)))
	require.Equal(t, batch.ID, again.ID)
	require.Equal(t, []string{"claude-opus-4-1", "claude-sonnet-4-5"}, again.Models)
	require.Equal(t, "service:batch-jobs", again.Caller)

	active, err := s.Active(t.Context())
	require.NoError(t, err)
	require.Len(t, active, 3)
	callers := map[int64]string{}
	for _, inc := range active {
		callers[inc.ID] = inc.Caller
	}
	require.Equal(t, map[int64]string{batch.ID: "service:batch-jobs", eu.ID: "endpoint:eu.api.example.com", provider.ID: ""}, callers)

	// The batch-jobs incident resolves (by its key, as the manager does before it learns the
	// ID); the others stay active.
	resolved := apply(t, s, incidents.Change{Provider: "anthropic", Caller: "service:batch-jobs", At: t0.Add(5 * time.Minute),
		State: incidents.StateResolved, Events: []incidents.EventSpec{{Event: incidents.Event{
			At: t0.Add(5 * time.Minute), Kind: incidents.EventResolved, Provider: "anthropic", Actor: incidents.Actor,
			Evidence: incidents.Evidence{Detector: "widened"},
		}, Notify: []string{incidents.NotifyResolve}}}})
	require.Equal(t, batch.ID, resolved.ID)
	require.Equal(t, incidents.StateResolved, resolved.State)
	active, err = s.Active(t.Context())
	require.NoError(t, err)
	require.Len(t, active, 2)
	require.Equal(t, eu.ID, active[0].ID)
	require.Equal(t, provider.ID, active[1].ID)
	got, events := get(t, s, batch.ID)
	require.Equal(t, "service:batch-jobs", got.Caller, "Get reads the caller")
	require.Equal(t, "widened", events[len(events)-1].Evidence.Detector, "the end's evidence is kept")
	require.Equal(t, "service:batch-jobs", events[0].Evidence.ConfinedTo)

	// The provider's incident resolves; the endpoint's stays.
	apply(t, s, incidents.Change{IncidentID: provider.ID, At: t0.Add(6 * time.Minute), State: incidents.StateResolved})
	active, err = s.Active(t.Context())
	require.NoError(t, err)
	require.Len(t, active, 1)
	require.Equal(t, eu.ID, active[0].ID)
	require.Equal(t, "endpoint:eu.api.example.com", active[0].Caller)

	// batch-jobs fails alone again: a new local incident, not the resolved one.
	next := apply(t, s, localOpening("anthropic", "claude-sonnet-4-5", "service:batch-jobs", t0.Add(time.Hour)))
	require.NotEqual(t, batch.ID, next.ID)
	require.Equal(t, incidents.StateOpen, next.State)
}

func testListCaller(t *testing.T, s Store) {
	provider := apply(t, s, opening("anthropic", "claude", t0))
	batch := apply(t, s, localOpening("anthropic", "claude", "service:batch-jobs", t0.Add(time.Minute)))
	other := apply(t, s, localOpening("openai", "gpt-5", "service:batch-jobs", t0.Add(2*time.Minute)))
	apply(t, s, localOpening("anthropic", "claude", "service:search", t0.Add(3*time.Minute)))
	list, err := s.List(t.Context(), incidents.Filter{Caller: "service:batch-jobs"})
	require.NoError(t, err)
	require.Len(t, list, 2)
	require.Equal(t, []int64{other.ID, batch.ID}, []int64{list[0].ID, list[1].ID})
	require.Equal(t, "service:batch-jobs", list[0].Caller)
	list, err = s.List(t.Context(), incidents.Filter{Provider: "anthropic", Caller: "service:batch-jobs"})
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, batch.ID, list[0].ID)
	list, err = s.List(t.Context(), incidents.Filter{Provider: "anthropic"})
	require.NoError(t, err)
	require.Len(t, list, 3, "no caller filter: the provider's incident and the local ones")
	require.Equal(t, provider.ID, list[2].ID)
}
