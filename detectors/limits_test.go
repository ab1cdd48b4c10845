package detectors

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestModelFloodStaysWithinTheCap: 10,000 model names of one provider give at most
// MaxModelsPerProvider series, the last one "other", whichever caller feeds the engine.
func TestModelFloodStaysWithinTheCap(t *testing.T) {
	t.Parallel()
	e, err := NewEngine(DefaultConfig())
	require.NoError(t, err)
	lim := e.Config().Limits
	for i := range 10_000 {
		c := Call{Provider: "anthropic", Model: fmt.Sprintf("model-%d", i), Outcome: OutcomeOK, Duration: time.Second}
		e.Observe(t0.Add(time.Duration(i)*time.Millisecond), &c, nil)
	}
	p := e.providers["anthropic"]
	require.Len(t, p.models, lim.MaxModelsPerProvider)
	require.Len(t, e.series, lim.MaxModelsPerProvider)
	other := e.series[SeriesKey{Provider: "anthropic", Model: OtherModel}]
	require.NotNil(t, other)
	require.Equal(t, uint64(10_000-(lim.MaxModelsPerProvider-1)), other.calls, "the rest counts under other")
	require.Equal(t, other.calls, e.Folded())
	require.Zero(t, e.Refused())
	require.Equal(t, uint64(10_000), p.calls, "the provider's pooled bank sees every call")
	require.Len(t, e.Status(t0, nil), lim.MaxModelsPerProvider+1)

	// A model that was tracked stays tracked; "other" itself is a model like any.
	e.Observe(t0, &Call{Provider: "anthropic", Model: "model-0", Outcome: OutcomeOK}, nil)
	e.Observe(t0, &Call{Provider: "anthropic", Model: OtherModel, Outcome: OutcomeOK}, nil)
	require.Equal(t, uint64(10_000-(lim.MaxModelsPerProvider-1)), e.Folded())
}

// TestProviderFloodIsRefused: providers beyond MaxProviders (OtherProvider aside) are ignored
// and counted, for LLM calls and for attempts without a model alike.
func TestProviderFloodIsRefused(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.Limits = Limits{MaxProviders: 4, MaxModelsPerProvider: 2}
	e, err := NewEngine(cfg)
	require.NoError(t, err)
	var trans []Transition
	for i := range 1000 {
		c := Call{Provider: fmt.Sprintf("p%d", i), Model: "m", Outcome: OutcomeError, ErrorClass: ClassOverloaded}
		if i%2 == 1 {
			c.Model, c.Source = UnknownModel, SourceAttempt
		}
		trans = e.Observe(t0.Add(time.Duration(i)*time.Millisecond), &c, trans)
	}
	require.Len(t, e.providers, 3, "three providers, and room for other")
	require.Equal(t, uint64(997), e.Refused())
	for _, tr := range trans {
		require.Contains(t, []string{"p0", "p1", "p2"}, tr.Series.Provider)
	}
	e.Observe(t0, &Call{Provider: OtherProvider, Model: "m", Outcome: OutcomeOK}, nil)
	require.Len(t, e.providers, 4, "ingest's other provider is always tracked")
	e.Observe(t0, &Call{Provider: "p1000", Model: "m", Outcome: OutcomeOK}, nil)
	require.Len(t, e.providers, 4)
	require.Equal(t, uint64(998), e.Refused())
}

// TestRestoreAppliesTheEngineLimits: a snapshot of an engine with larger caps restores at most
// the restoring engine's.
func TestRestoreAppliesTheEngineLimits(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.Limits = Limits{MaxProviders: 100, MaxModelsPerProvider: 1000}
	big, err := NewEngine(cfg)
	require.NoError(t, err)
	for i := range 500 {
		c := Call{Provider: fmt.Sprintf("p%d", i%50), Model: fmt.Sprintf("m%d", i), Outcome: OutcomeOK}
		big.Observe(t0.Add(time.Duration(i)*time.Second), &c, nil)
	}
	require.Len(t, big.series, 500)
	data, err := big.Snapshot()
	require.NoError(t, err)

	cfg.Limits = Limits{MaxProviders: 11, MaxModelsPerProvider: 5}
	small, err := NewEngine(cfg)
	require.NoError(t, err)
	require.NoError(t, small.Restore(data))
	require.Len(t, small.providers, 10)
	for _, p := range small.providers {
		require.Len(t, p.models, 4)
		require.Contains(t, []string{"p40", "p41", "p42", "p43", "p44", "p45", "p46", "p47", "p48", "p49"}, p.key.Provider, "the most recently called")
	}
}

func TestLimitsAreValidatedAndNotInYAML(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.Limits.MaxProviders = 0
	require.ErrorContains(t, cfg.Validate(), "Limits.MaxProviders")
	f, ok := reflect.TypeOf(Config{}).FieldByName("Limits")
	require.True(t, ok)
	require.Equal(t, "-", f.Tag.Get("yaml"), "the YAML surface detectors.* does not change")
}
