package statuspage

import (
	"context"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/health"
	"github.com/outagewatch/outagewatch/incidents"
)

// Issue 18, item 3: three defects of the status page.

// rateSim drives the real engine with one series at a fixed call rate and error rate, updating
// a board and sampling a History every 10 s, as the daemon does.
type rateSim struct {
	engine *detectors.Engine
	board  *health.Board
	hist   *History
	key    detectors.SeriesKey
	rng    *rand.Rand
	now    time.Time
	next   time.Time
	req    uint64
	trans  []detectors.Transition
	stats  []detectors.Status
}

func newRateSim(t *testing.T, start time.Time) *rateSim {
	t.Helper()
	e, err := detectors.NewEngine(detectors.DefaultConfig())
	require.NoError(t, err)
	board := health.NewBoard()
	s := &rateSim{engine: e, board: board, hist: NewHistory(board, 10*time.Second, time.Hour),
		key: detectors.SeriesKey{Provider: "anthropic", Model: "claude-sonnet-4-5"}, rng: rand.New(rand.NewPCG(3, 5)), now: start}
	// The daemon samples from its start, before any call has come.
	s.hist.Sample(start)
	s.next = start.Add(s.hist.Every())
	return s
}

// run sends perSecond calls a second for d, failing with probability errRate.
func (s *rateSim) run(d time.Duration, perSecond int, errRate float64) {
	for end := s.now.Add(d); s.now.Before(end); {
		for i := range perSecond {
			s.req++
			c := detectors.Call{Time: s.now.Add(time.Duration(i) * time.Second / time.Duration(perSecond)), Provider: s.key.Provider,
				Model: s.key.Model, Operation: "chat", Outcome: detectors.OutcomeOK, FinishReason: detectors.FinishStop, RequestID: s.req,
				Duration: 900 * time.Millisecond, InputTokens: 500, OutputTokens: 200}
			if s.rng.Float64() < errRate {
				c.Outcome, c.ErrorClass, c.HTTPStatus, c.FinishReason, c.OutputTokens = detectors.OutcomeError, detectors.ClassOverloaded, 529, detectors.FinishNone, 0
				c.ErrorMessage = "Error code: 529"
			}
			s.trans = s.engine.Observe(c.Time, &c, s.trans)
		}
		s.now = s.now.Add(time.Second)
		s.trans = s.engine.Tick(s.now, s.trans)
		s.stats = s.engine.Status(s.now, s.stats[:0])
		s.board.Update(s.stats, s.trans)
		s.trans = s.trans[:0]
		if !s.now.Before(s.next) {
			s.hist.Sample(s.now)
			s.next = s.now.Add(s.hist.Every())
		}
	}
}

func (s *rateSim) card(t *testing.T) seriesCard {
	t.Helper()
	p := New(s.board, s.hist, nil, nil, Options{Now: func() time.Time { return s.now }})
	for _, pc := range p.buildHealth(s.now).Providers {
		for _, m := range pc.Models {
			if m.Model == s.key.Model {
				return m
			}
		}
	}
	t.Fatalf("no card for %v", s.key)
	return seriesCard{}
}

func chartNow(t *testing.T, c seriesCard, id string) string {
	t.Helper()
	for _, ch := range c.Charts {
		if ch.ID == id {
			return ch.Now
		}
	}
	t.Fatalf("no %s chart", id)
	return ""
}

func parseRate(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(strings.TrimSuffix(s, "/s"), 64)
	require.NoError(t, err, s)
	return v
}

// 1. The call rate shown is the true recent rate, not a decayed count from zero.
func TestCallRateIsTheTrueRecentRate(t *testing.T) {
	t.Parallel()
	s := newRateSim(t, time.Date(2026, 6, 20, 14, 0, 0, 0, time.UTC))
	s.run(60*time.Second, 8, 0.01)
	got := parseRate(t, chartNow(t, s.card(t), "call_rate"))
	require.InEpsilon(t, 8, got, 0.10, "8 calls/s for 60 s shows %v/s", got)

	// The chart's points say so too, from the first one on.
	pts := s.hist.Series(s.key)
	require.NotEmpty(t, pts)
	for _, p := range pts {
		require.InEpsilon(t, 8, p.CallRate, 0.10, "point at %s", p.At)
	}

	// And once the rate changes, the figure follows within a minute.
	s.run(2*time.Minute, 8, 0.01)
	s.run(60*time.Second, 2, 0.01)
	require.InEpsilon(t, 2, parseRate(t, chartNow(t, s.card(t), "call_rate")), 0.10)
}

// 2. The "usual" error rate is the engine's baseline: it does not learn from the outage.
func TestUsualErrorRateStaysAtTheBaselineDuringAnOutage(t *testing.T) {
	t.Parallel()
	s := newRateSim(t, time.Date(2026, 6, 20, 12, 0, 0, 0, time.UTC))
	s.run(70*time.Minute, 5, 0.01)
	st, ok := s.board.Get(s.key)
	require.True(t, ok)
	require.Equal(t, detectors.StateHealthy, st.State)

	s.run(3*time.Minute, 5, 0.9)
	st, _ = s.board.Get(s.key)
	require.Contains(t, []detectors.State{detectors.StateDown, detectors.StateDegraded}, st.State)
	first := usual(t, s.card(t).Reason)
	require.Less(t, first, 0.06, "the usual rate at the alarm is the pre-outage baseline: %s", s.card(t).Reason)

	// A long outage: the usual figure does not drift towards the outage's error rate.
	for range 6 {
		s.run(10*time.Minute, 5, 0.9)
		c := s.card(t)
		require.InDelta(t, first, usual(t, c.Reason), 0.005, "after a long outage: %s", c.Reason)
	}
}

// usual reads the "against a usual X%" figure of a reason line.
func usual(t *testing.T, reason string) float64 {
	t.Helper()
	_, after, ok := strings.Cut(reason, " against a usual ")
	require.True(t, ok, reason)
	pct, _, _ := strings.Cut(after, "%")
	v, err := strconv.ParseFloat(pct, 64)
	require.NoError(t, err, reason)
	return v / 100
}

// 3. A resolved critical incident shows as critical: its peak severity, not the warning it was
// de-escalated to on its way to recovery.
func TestResolvedCriticalIncidentShowsCritical(t *testing.T) {
	t.Parallel()
	opened := now.Add(-time.Hour)
	q := &fakeQuery{
		incidents: []incidents.Incident{{ID: 9, Provider: "anthropic", Models: []string{"claude-sonnet-4-5"}, Detectors: []string{"error_rate_down"},
			// What the manager stores: down, then degraded (de-escalated to warning), then healthy.
			Severity: incidents.SeverityWarning, State: incidents.StateResolved, OpenedAt: opened,
			UpdatedAt: opened.Add(20 * time.Minute), ResolvedAt: opened.Add(20 * time.Minute), ResolvedBy: incidents.Actor}},
		events: map[int64][]incidents.Event{9: {
			{ID: 90, IncidentID: 9, At: opened, Kind: incidents.EventOpened, Provider: "anthropic", Model: "claude-sonnet-4-5",
				From: "healthy", To: "down", Severity: incidents.SeverityCritical, Actor: incidents.Actor},
			{ID: 91, IncidentID: 9, At: opened.Add(10 * time.Minute), Kind: incidents.EventTransition, Provider: "anthropic", Model: "claude-sonnet-4-5",
				From: "down", To: "degraded", Severity: incidents.SeverityWarning, Actor: incidents.Actor},
			{ID: 92, IncidentID: 9, At: opened.Add(10 * time.Minute), Kind: incidents.EventDeescalated, Provider: "anthropic",
				Severity: incidents.SeverityWarning, Actor: incidents.Actor},
			{ID: 93, IncidentID: 9, At: opened.Add(20 * time.Minute), Kind: incidents.EventTransition, Provider: "anthropic", Model: "claude-sonnet-4-5",
				From: "degraded", To: "healthy", Severity: incidents.SeverityWarning, Actor: incidents.Actor},
			{ID: 94, IncidentID: 9, At: opened.Add(20 * time.Minute), Kind: incidents.EventResolved, Provider: "anthropic",
				Severity: incidents.SeverityWarning, Actor: incidents.Actor},
		}},
	}
	srv := serve(t, q, fixtureSilences(), Options{})
	_, body := get(t, srv.URL+"/")
	require.Contains(t, section(t, body, "resolved"), `<a href="/incidents/9">#9 anthropic</a> <span class="sev sev-critical">critical</span>`)
	_, body = get(t, srv.URL+"/incidents/9")
	require.Contains(t, body, `<div><dt>severity</dt><dd><span class="sev sev-critical">critical</span></dd></div>`)

	// An incident that never went down stays a warning.
	var v incidentsView
	q.set([]incidents.Incident{{ID: 4, Provider: "openai", Severity: incidents.SeverityWarning, State: incidents.StateResolved,
		OpenedAt: opened, ResolvedAt: opened.Add(time.Minute)}}, map[int64][]incidents.Event{4: {
		{ID: 40, IncidentID: 4, At: opened, Kind: incidents.EventOpened, Provider: "openai", From: "healthy", To: "degraded", Severity: incidents.SeverityWarning},
	}})
	p := New(health.NewBoard(), nil, q, nil, Options{})
	require.NoError(t, p.readIncidents(context.Background(), now, &v))
	require.Len(t, v.Resolved, 1)
	require.Equal(t, "warning", v.Resolved[0].Severity)
}
