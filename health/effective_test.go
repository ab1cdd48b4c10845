package health

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/detectors"
)

// modelOf builds the report of a provider and one model and returns the model's view.
func modelOf(t *testing.T, provider, model detectors.Status) ModelView {
	t.Helper()
	rep := buildReport(1, []detectors.Status{provider, model}, Policy{}, t0)
	require.Len(t, rep.Providers, 1)
	require.Len(t, rep.Providers[0].Models, 1)
	return rep.Providers[0].Models[0]
}

// Issue 18, item 3.1: a model with recent traffic of its own answers from its own evidence
// while its provider is down; the provider's verdict fills in only for a model without any (unknown),
// and then its reasons say so.
func TestModelWithOwnTrafficAnswersFromItsOwnEvidence(t *testing.T) {
	prov := st("anthropic", "", detectors.StateDown)
	haiku := st("anthropic", "claude-haiku-4-5", detectors.StateHealthy)
	haiku.Evidence = detectors.Evidence{Detector: detectors.DetectorWarmup, SampleSize: 1, CallRate: 0.3}
	haiku.Figures = detectors.Figures{CallRate: 0.3, ErrorRate: 0.0095, Calls: 328}

	mv := modelOf(t, prov, haiku)
	require.Equal(t, "healthy", mv.State)
	require.True(t, mv.Usable)
	require.NotEmpty(t, mv.Reasons)
	for _, r := range mv.Reasons {
		require.NotEqual(t, "provider", r.Detector, "a model with traffic of its own is not judged by its provider")
	}
	require.Equal(t, detectors.StateHealthy, EffectiveOf(haiku, detectors.StateDown))

	// The same model whose own state is unknown while warm-up evidence and calls say it had
	// traffic: an unknown model has no verdict of its own, the provider's fills in, and says so.
	for name, ev := range map[string]detectors.Evidence{
		"no evidence": {},
		"no calls":    {Detector: detectors.DetectorWarmup},
		"silent":      {Detector: detectors.DetectorSilence, Window: 10 * time.Minute, CallRate: 0.01},
		"warm-up":     {Detector: detectors.DetectorWarmup, CallRate: 0.3},
	} {
		t.Run(name, func(t *testing.T) {
			m := haiku
			m.State, m.Evidence = detectors.StateUnknown, ev
			mv := modelOf(t, prov, m)
			require.Equal(t, "down", mv.State)
			require.False(t, mv.Usable)
			require.NotEmpty(t, mv.Reasons, "a down answer always says why")
			r := mv.Reasons[0]
			require.Equal(t, "provider", r.Detector)
			require.Equal(t, "provider anthropic is down", r.Text[:len("provider anthropic is down")])
			require.Equal(t, "down", r.State)
			if ev.Detector != "" {
				require.Len(t, mv.Reasons, 2, "the model's own reason follows the provider's")
				require.Equal(t, string(ev.Detector), mv.Reasons[1].Detector)
			}
			require.Equal(t, detectors.StateDown, EffectiveOf(m, detectors.StateDown))
		})
	}

	// A provider that is healthy fills nothing in: the model stays unknown, without a provider reason.
	m := haiku
	m.State, m.Evidence = detectors.StateUnknown, detectors.Evidence{Detector: detectors.DetectorSilence}
	mv = modelOf(t, st("anthropic", "", detectors.StateHealthy), m)
	require.Equal(t, "unknown", mv.State)
	require.Len(t, mv.Reasons, 1)
	require.Equal(t, "silence", mv.Reasons[0].Detector)

	// Old clients decode the new reason: the JSON keeps every field it had.
	b, err := json.Marshal(mv.Reasons[0])
	require.NoError(t, err)
	for _, k := range []string{`"detector"`, `"observed"`, `"baseline"`, `"window_seconds"`, `"sample_size"`, `"events"`, `"call_rate"`} {
		require.Contains(t, string(b), k)
	}
}

// The text of docs/health-api.md's example reason.
func TestReasonTextOfTheDocsExample(t *testing.T) {
	ev := detectors.Evidence{Detector: detectors.DetectorErrorDown, Observed: 0.93, Baseline: 0.012,
		Window: 7100 * time.Millisecond, SampleSize: 41, Events: 38}
	require.Equal(t, "errors (hard outage): 93% against a usual 1.2% (38 of 41 calls in 7s)", reasonOf(ev, detectors.StateDown).Text)
	require.Equal(t, "no calls yet", reasonOf(detectors.Evidence{Detector: detectors.DetectorWarmup}, detectors.StateUnknown).Text)
	require.Equal(t, "judged from its first call", reasonOf(detectors.Evidence{Detector: detectors.DetectorWarmup, SampleSize: 1}, detectors.StateHealthy).Text)
}

// Issue 18, item 3.2: after an outage and a recovery with traffic, through a restart and a
// silence, every series answers healthy, and every reason's text is true of its state.
func TestRecoveryWithTrafficIsHealthyAndItsTextsTrue(t *testing.T) {
	cfg := detectors.DefaultConfig()
	e, err := detectors.NewEngine(cfg)
	require.NoError(t, err)
	now := time.Date(2026, 6, 20, 12, 0, 0, 0, time.UTC)
	b := NewBoard()
	var trs []detectors.Transition
	call := func(model string, ok bool) {
		c := &detectors.Call{Time: now, Provider: "anthropic", Model: model, Outcome: detectors.OutcomeOK, Duration: time.Second, OutputTokens: 100}
		if !ok {
			c.Outcome, c.ErrorClass = detectors.OutcomeError, detectors.ClassOverloaded
		}
		trs = e.Observe(now, c, trs)
	}
	report := func() Report {
		trs = e.Tick(now, trs)
		b.Update(e.Status(now, nil), trs)
		trs = trs[:0]
		v, st := b.Snapshot()
		return buildReport(v, st, Policy{}, now)
	}
	traffic := func(d time.Duration, sonnetOK bool) {
		for end := now.Add(d); now.Before(end); {
			now = now.Add(time.Second)
			call("claude-sonnet-4-5", sonnetOK || now.Second()%50 == 0)
			if now.Second()%10 == 0 {
				call("claude-haiku-4-5", true)
			}
			trs = e.Tick(now, trs)
		}
	}
	// checkTexts: no text claims a warm-up or first calls of a series that had many, and an
	// unknown series is never said to be judged.
	checkTexts := func(stage string, rep Report) {
		t.Helper()
		for _, p := range rep.Providers {
			all := []struct {
				state   string
				calls   uint64
				reasons []Reason
			}{{p.State, p.Figures.Calls, p.Reasons}}
			for _, m := range p.Models {
				all = append(all, struct {
					state   string
					calls   uint64
					reasons []Reason
				}{m.State, m.Figures.Calls, m.Reasons})
			}
			for _, s := range all {
				for _, r := range s.reasons {
					require.NotEmpty(t, r.Text, "%s: a reason of %s has no text", stage, r.Detector)
					require.NotContains(t, r.Text, "warm-up ended", stage)
					if s.calls > 1 && r.Detector == "warmup" && r.SampleSize > 1 {
						require.NotContains(t, r.Text, "first call", "%s: %q", stage, r.Text)
					}
					if s.state == "unknown" {
						require.NotContains(t, r.Text, "judged", "%s: %q", stage, r.Text)
					}
				}
			}
		}
	}
	healthy := func(stage string, rep Report) {
		t.Helper()
		require.Len(t, rep.Providers, 1)
		require.Equal(t, "healthy", rep.Providers[0].State, stage)
		for _, m := range rep.Providers[0].Models {
			require.Equal(t, "healthy", m.State, "%s: %s", stage, m.Model)
		}
		checkTexts(stage, rep)
	}

	traffic(2*time.Hour, true)
	healthy("warm", report())
	traffic(2*time.Minute, false)
	rep := report()
	require.Equal(t, "down", rep.Providers[0].State)
	checkTexts("outage", rep)
	traffic(10*time.Minute, true)
	healthy("recovered", report())

	// A restart from the saved state, then traffic.
	data, err := e.Snapshot()
	require.NoError(t, err)
	e, err = detectors.NewEngine(cfg)
	require.NoError(t, err)
	require.NoError(t, e.Restore(data))
	b = NewBoard()
	now = now.Add(20 * time.Second)
	healthy("restored", report())
	traffic(time.Minute, true)
	healthy("restored with traffic", report())

	// A silence (unknown), then traffic again.
	now = now.Add(2 * time.Hour)
	rep = report()
	require.Equal(t, "unknown", rep.Providers[0].State)
	checkTexts("silent", rep)
	traffic(time.Minute, true)
	rep = report()
	healthy("traffic after the silence", rep)
	for _, m := range rep.Providers[0].Models {
		require.True(t, strings.Contains(m.Reasons[0].Text, "again"), "%s: %q", m.Model, m.Reasons[0].Text)
	}
}
