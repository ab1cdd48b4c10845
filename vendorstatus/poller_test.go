package vendorstatus

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/internal/statusfake"
)

var t0 = time.Date(2026, 10, 10, 12, 0, 0, 0, time.UTC)

// fixture is a poller on a fake page, with a clock the test moves.
type fixture struct {
	fake   *statusfake.Server
	board  *Board
	poller *Poller
	reg    *prometheus.Registry
	mu     sync.Mutex
	now    time.Time
}

func (f *fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fixture) advance(d time.Duration) time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
	return f.now
}

func newFixture(t *testing.T, format string, mutate func(*Config)) *fixture {
	t.Helper()
	f := &fixture{fake: statusfake.New(t, "Claude API (api.anthropic.com)", "claude.ai", "Vertex Gemini API"), board: NewBoard(), reg: prometheus.NewPedanticRegistry(), now: t0}
	src := Source{Provider: "anthropic", Format: format, URL: f.fake.StatuspageURL(), Page: "https://status.example.com", Components: anthropicSource().Components}
	switch format {
	case FormatIncidentIO:
		src.URL = f.fake.IncidentIOURL()
	case FormatGoogle:
		src = Source{Provider: "gcp.vertex_ai", Format: format, URL: f.fake.GoogleURL(), Components: vertexSource().Components}
	}
	cfg := DefaultConfig()
	cfg.Sources = []Source{src}
	if mutate != nil {
		mutate(&cfg)
	}
	p, err := NewPoller(cfg, f.board, PollerOptions{Registerer: f.reg, Now: f.clock})
	require.NoError(t, err)
	f.poller = p
	return f
}

func (f *fixture) poll(t *testing.T) Status {
	t.Helper()
	sts := f.poller.Poll(t.Context())
	require.Len(t, sts, 1)
	got, ok := f.board.Get(sts[0].Provider)
	require.True(t, ok)
	require.Equal(t, sts[0], got)
	return got
}

// metric returns the value of the series of name with the given label values (in order of the
// series' labels, which client_model sorts by name: indicator before provider).
func metric(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if labelsMatch(m, labels) {
				if c := m.GetCounter(); c != nil {
					return c.GetValue()
				}
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("no series %s%v", name, labels)
	return 0
}

func labelsMatch(m *dto.Metric, want []string) bool {
	if len(m.GetLabel()) != len(want) {
		return false
	}
	for i, l := range m.GetLabel() {
		if l.GetValue() != want[i] {
			return false
		}
	}
	return true
}

// TestBoardFollowsThePage changes the fake page over time and expects the board to follow, in
// each of the Statuspage-style formats.
func TestBoardFollowsThePage(t *testing.T) {
	t.Parallel()
	for _, format := range []string{FormatStatuspage, FormatIncidentIO} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, format, nil)
			st := f.poll(t)
			require.Equal(t, IndicatorNone, st.Indicator)
			require.Empty(t, st.Error)
			require.Equal(t, "All Systems Operational", st.Description)
			require.Equal(t, 1.0, metric(t, f.reg, "outagewatch_provider_status_up", "anthropic"))

			f.fake.SetComponent("Claude API (api.anthropic.com)", statusfake.DegradedPerformance)
			st = f.poll(t)
			require.Equal(t, IndicatorMinor, st.Indicator)
			require.Equal(t, "degraded_performance", componentByName(t, st, "Claude API (api.anthropic.com)").Status)

			f.fake.SetComponent("Claude API (api.anthropic.com)", statusfake.PartialOutage)
			created := f.advance(time.Minute)
			f.fake.PostIncident(statusfake.Incident{ID: "inc1", Name: "Elevated errors on Claude Opus 4.5", Impact: "major",
				Components: []string{"Claude API (api.anthropic.com)"}, CreatedAt: created})
			st = f.poll(t)
			require.Equal(t, IndicatorMajor, st.Indicator)
			require.Len(t, st.Incidents, 1)
			in := st.Incidents[0]
			require.Equal(t, created, in.CreatedAt.UTC())
			require.True(t, in.Open())
			require.Equal(t, []string{"claude-3-opus*", "claude-opus-*"}, in.Models)
			require.Equal(t, 1.0, metric(t, f.reg, "outagewatch_provider_status_incidents_open", "anthropic"))
			require.Equal(t, 1.0, metric(t, f.reg, "outagewatch_provider_status_indicator", "major", "anthropic"))
			require.Equal(t, 0.0, metric(t, f.reg, "outagewatch_provider_status_indicator", "none", "anthropic"))
			if format == FormatStatuspage {
				require.Equal(t, []string{"Claude API (api.anthropic.com)"}, in.Components)
			} else {
				require.Empty(t, in.Components, "incident.io's incidents name no components")
			}

			f.fake.UpdateIncident("inc1", "monitoring", f.advance(time.Minute))
			st = f.poll(t)
			require.Equal(t, "monitoring", st.Incidents[0].Status)

			resolved := f.advance(10 * time.Minute)
			f.fake.UpdateIncident("inc1", "resolved", resolved)
			f.fake.SetComponent("Claude API (api.anthropic.com)", statusfake.Operational)
			st = f.poll(t)
			require.Equal(t, IndicatorNone, st.Indicator)
			require.Len(t, st.Incidents, 1, "resolved within 24 h: still shown")
			require.Equal(t, resolved, st.Incidents[0].ResolvedAt.UTC())
			require.Equal(t, 0.0, metric(t, f.reg, "outagewatch_provider_status_incidents_open", "anthropic"))

			f.advance(25 * time.Hour)
			st = f.poll(t)
			require.Empty(t, st.Incidents, "resolved over 24 h ago")
			require.Equal(t, float64(f.clock().Unix()), metric(t, f.reg, "outagewatch_provider_status_last_success_timestamp_seconds", "anthropic"))
		})
	}
}

func TestBoardFollowsGoogle(t *testing.T) {
	t.Parallel()
	f := newFixture(t, FormatGoogle, nil)
	st := f.poll(t)
	require.Equal(t, IndicatorNone, st.Indicator)
	require.Equal(t, "operational", componentByName(t, st, "Vertex Gemini API").Status)

	f.fake.PostGoogleIncident(statusfake.GoogleIncident{ID: "other", Desc: "Cloud SQL down", Severity: "high",
		StatusImpact: "SERVICE_OUTAGE", Products: []string{"Google Cloud SQL"}, Begin: f.advance(time.Minute)})
	st = f.poll(t)
	require.Equal(t, IndicatorNone, st.Indicator, "an unmapped product does not count")
	require.Empty(t, st.Incidents)

	begin := f.advance(time.Minute)
	f.fake.PostGoogleIncident(statusfake.GoogleIncident{ID: "g1", Desc: "Vertex Gemini API errors", Severity: "low",
		StatusImpact: "SERVICE_INFORMATION", Products: []string{"Vertex Gemini API"}, Begin: begin})
	st = f.poll(t)
	require.Equal(t, IndicatorMinor, st.Indicator)
	require.Equal(t, []string{"g1"}, ids(st.Incidents))
	require.Equal(t, begin, st.Incidents[0].CreatedAt.UTC())
	require.Equal(t, f.fake.URL()+"/gcloud/incidents/g1", st.Incidents[0].URL)
	require.Equal(t, "degraded_performance", componentByName(t, st, "Vertex Gemini API").Status)

	end := f.advance(time.Hour)
	f.fake.ResolveGoogleIncident("g1", end)
	st = f.poll(t)
	require.Equal(t, IndicatorNone, st.Indicator)
	require.Equal(t, end, st.Incidents[0].ResolvedAt.UTC())
}

// TestConditionalRequests: the second poll sends the ETags back, gets 304s and keeps the parse.
func TestConditionalRequests(t *testing.T) {
	t.Parallel()
	f := newFixture(t, FormatStatuspage, nil)
	f.fake.SetComponent("claude.ai", statusfake.MajorOutage)
	first := f.poll(t)
	require.Equal(t, IndicatorCritical, first.Indicator)
	second := f.poll(t)
	require.Equal(t, IndicatorCritical, second.Indicator)
	require.Equal(t, first.Components, second.Components)
	reqs := f.fake.Requests()
	require.Len(t, reqs, 4)
	for _, r := range reqs[2:] {
		require.NotEmpty(t, r.IfNoneMatch, r.Path)
		require.Equal(t, http.StatusNotModified, r.Status, r.Path)
	}
	require.Equal(t, 2.0, metric(t, f.reg, "outagewatch_provider_status_fetches_total", "anthropic", "not_modified"))
	require.Equal(t, 2.0, metric(t, f.reg, "outagewatch_provider_status_fetches_total", "anthropic", "ok"))
	require.Equal(t, 0.0, metric(t, f.reg, "outagewatch_provider_status_fetches_total", "anthropic", "error"))

	f.fake.SetComponent("claude.ai", statusfake.Operational)
	require.Equal(t, IndicatorNone, f.poll(t).Indicator, "a changed document is read again")
}

// TestFailures: each failure makes the status unknown with the reason, and changes nothing else.
func TestFailures(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		fault statusfake.Fault
		want  string
	}{
		{"500", statusfake.Fail500, "status 500"},
		{"hang", statusfake.Hang, "context deadline exceeded"},
		{"oversized", statusfake.Oversize, "body over 1048576 bytes"},
		{"malformed", statusfake.Malformed, "parse "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, FormatStatuspage, func(c *Config) {
				c.Timeout = 300 * time.Millisecond
				c.MaxBodyBytes = 1 << 20
			})
			f.fake.SetComponent("claude.ai", statusfake.DegradedPerformance)
			f.fake.PostIncident(statusfake.Incident{ID: "inc1", Name: "Login errors", Impact: "minor", CreatedAt: t0})
			good := f.poll(t)
			require.Equal(t, IndicatorMinor, good.Indicator)

			f.fake.SetFault(tc.fault)
			checked := f.advance(time.Minute)
			bad := f.poll(t)
			require.Equal(t, IndicatorUnknown, bad.Indicator)
			require.Contains(t, bad.Error, tc.want)
			require.Equal(t, checked, bad.CheckedAt)
			require.Equal(t, good.FetchedAt, bad.FetchedAt, "FetchedAt is the last success")
			require.Equal(t, good.Components, bad.Components)
			require.Equal(t, good.Incidents, bad.Incidents)
			require.Equal(t, good.Description, bad.Description)
			require.Equal(t, 0.0, metric(t, f.reg, "outagewatch_provider_status_up", "anthropic"))
			require.Equal(t, 1.0, metric(t, f.reg, "outagewatch_provider_status_indicator", "unknown", "anthropic"))
			require.Equal(t, 1.0, metric(t, f.reg, "outagewatch_provider_status_fetches_total", "anthropic", "error"))

			f.fake.SetFault(statusfake.NoFault)
			again := f.poll(t)
			require.Equal(t, IndicatorMinor, again.Indicator)
			require.Empty(t, again.Error)
		})
	}
}

// TestFailureBeforeAnyRead: unknown, with nothing else.
func TestFailureBeforeAnyRead(t *testing.T) {
	t.Parallel()
	f := newFixture(t, FormatGoogle, nil)
	f.fake.SetFault(statusfake.Malformed)
	st := f.poll(t)
	require.Equal(t, IndicatorUnknown, st.Indicator)
	require.Contains(t, st.Error, "parse "+f.fake.GoogleURL())
	require.True(t, st.FetchedAt.IsZero())
	require.Empty(t, st.Components)
}

func TestGzip(t *testing.T) {
	t.Parallel()
	f := newFixture(t, FormatStatuspage, nil)
	f.fake.SetGzip(true)
	require.Equal(t, IndicatorNone, f.poll(t).Indicator)
	for _, r := range f.fake.Requests() {
		require.Equal(t, http.StatusOK, r.Status)
	}
}

// handlerClient is an in-memory client: it calls the handler directly, so a poller can run
// inside a synctest bubble.
func handlerClient(h http.Handler) *http.Client {
	return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Result(), nil
	})}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestRunPollsEveryInterval runs the poller under synctest: a poll at once, then one each
// Interval, OnUpdate after each, nothing after cancellation.
func TestRunPollsEveryInterval(t *testing.T) {
	t.Parallel()
	fake := statusfake.New(t, "Claude API (api.anthropic.com)")
	synctest.Test(t, func(t *testing.T) {
		cfg := DefaultConfig()
		cfg.Sources = []Source{{Provider: "anthropic", Format: FormatStatuspage, URL: "http://fake.test/statuspage"}}
		var mu sync.Mutex
		var updates []Status
		p, err := NewPoller(cfg, NewBoard(), PollerOptions{
			Client: handlerClient(fake.Handler()),
			OnUpdate: func(s Status) {
				mu.Lock()
				defer mu.Unlock()
				updates = append(updates, s)
			},
		})
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- p.Run(ctx) }()
		count := func() int {
			synctest.Wait()
			mu.Lock()
			defer mu.Unlock()
			return len(updates)
		}
		require.Equal(t, 1, count(), "a poll at once")
		time.Sleep(cfg.Interval - time.Second)
		require.Equal(t, 1, count())
		time.Sleep(time.Second)
		require.Equal(t, 2, count())
		fake.SetComponent("Claude API (api.anthropic.com)", statusfake.MajorOutage)
		time.Sleep(cfg.Interval)
		require.Equal(t, 3, count())
		mu.Lock()
		require.Equal(t, IndicatorCritical, updates[2].Indicator)
		mu.Unlock()
		cancel()
		require.NoError(t, <-done)
		time.Sleep(10 * cfg.Interval)
		require.Equal(t, 3, count())
	})
}

// TestRunDisabled: with enabled false, Run returns at once and reads nothing.
func TestRunDisabled(t *testing.T) {
	t.Parallel()
	fake := statusfake.New(t)
	synctest.Test(t, func(t *testing.T) {
		cfg := DefaultConfig()
		cfg.Enabled = false
		cfg.Sources = []Source{{Provider: "anthropic", Format: FormatStatuspage, URL: "http://fake.test/statuspage"}}
		board := NewBoard()
		p, err := NewPoller(cfg, board, PollerOptions{Client: handlerClient(fake.Handler())})
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		done := make(chan error, 1)
		go func() { done <- p.Run(ctx) }()
		synctest.Wait()
		select {
		case err := <-done:
			require.NoError(t, err)
		default:
			cancel()
			<-done
			t.Fatal("Run did not return at once")
		}
		require.Empty(t, board.All())
		require.Empty(t, fake.Requests())
	})
}

func TestBoard(t *testing.T) {
	t.Parallel()
	b := NewBoard()
	b.Set(Status{Provider: "openai", Indicator: IndicatorNone})
	b.Set(Status{Provider: "anthropic", Indicator: IndicatorMinor, Components: []Component{{Name: "a", Models: []string{"m"}}}})
	all := b.All()
	require.Equal(t, "anthropic", all[0].Provider)
	require.Equal(t, "openai", all[1].Provider)
	all[0].Components[0].Models[0] = "changed"
	got, ok := b.Get("anthropic")
	require.True(t, ok)
	require.Equal(t, "m", got.Components[0].Models[0], "callers get copies")
	got.Components[0].Models[0] = "changed"
	again, _ := b.Get("anthropic")
	require.Equal(t, "m", again.Components[0].Models[0], "callers get copies")
	_, ok = b.Get("nobody")
	require.False(t, ok)
}

func TestNewPollerRejectsInvalidConfig(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.Interval = 0
	_, err := NewPoller(cfg, NewBoard(), PollerOptions{})
	require.ErrorContains(t, err, "provider_status.interval")
	_, err = NewPoller(DefaultConfig(), nil, PollerOptions{})
	require.Error(t, err)
}
