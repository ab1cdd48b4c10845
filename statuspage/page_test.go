package statuspage

import (
	"cmp"
	"context"
	"errors"
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/health"
	"github.com/outagewatch/outagewatch/incidents"
)

var (
	now     = time.Date(2026, 6, 20, 14, 10, 0, 0, time.UTC)
	downAt  = time.Date(2026, 6, 20, 14, 2, 51, 0, time.UTC)
	warmAt  = time.Date(2026, 6, 20, 13, 0, 5, 0, time.UTC)
	evilAt  = time.Date(2026, 6, 20, 14, 8, 0, 0, time.UTC)
	hostile = "<script>alert(1)</script>"
	// hostileError is an error message as a provider might send it back, or an attacker craft it.
	hostileError = `upstream said <img src=x onerror=alert(2)> then </p><script>alert(3)</script>`
)

func sonnetEvidence() detectors.Evidence {
	return detectors.Evidence{
		Detector: detectors.DetectorErrorDown, Observed: 0.93, Baseline: 0.012, Threshold: 11.2,
		ChangePoint: downAt.Add(-7 * time.Second), Window: 7100 * time.Millisecond, SampleSize: 41, Events: 38,
		CallRate: 6.2, Classes: []detectors.ClassCount{{Class: detectors.ClassOverloaded, Count: 35}, {Class: detectors.ClassTimeout, Count: 3}},
		SampleError: "Error code: 529 - {'type': 'error', 'error': {'type': 'overloaded_error'}}",
	}
}

// fixtureStatuses is a board: anthropic down (one model down, one with no evidence of its own),
// openai healthy with a degraded model whose name and error message are hostile HTML.
func fixtureStatuses(errorRate float64) []detectors.Status {
	sonnet := detectors.Figures{CallRate: 6.1, ErrorRate: errorRate, LatencyP95: 2400 * time.Millisecond, Calls: 182344}
	st := []detectors.Status{
		{Series: detectors.SeriesKey{Provider: "anthropic"}, State: detectors.StateDown, Since: downAt,
			Evidence: detectors.Evidence{Detector: detectors.DetectorRollup}, Figures: sonnet},
		{Series: detectors.SeriesKey{Provider: "anthropic", Model: "claude-sonnet-4-5"}, State: detectors.StateDown,
			Since: downAt, Evidence: sonnetEvidence(), Figures: sonnet, Baseline: detectors.BaselineSource{From: detectors.BaselineOwn, Calls: 182344}},
		{Series: detectors.SeriesKey{Provider: "anthropic", Model: "claude-haiku-4-5"}, State: detectors.StateUnknown,
			Since: warmAt, Evidence: detectors.Evidence{Detector: detectors.DetectorSilence, Window: 2 * time.Minute}},
		{Series: detectors.SeriesKey{Provider: "openai"}, State: detectors.StateHealthy, Since: warmAt,
			Evidence: detectors.Evidence{Detector: detectors.DetectorWarmup}, Figures: detectors.Figures{CallRate: 12, ErrorRate: 0.004}},
		{Series: detectors.SeriesKey{Provider: "openai", Model: "gpt-4o"}, State: detectors.StateHealthy, Since: warmAt,
			Evidence: detectors.Evidence{Detector: detectors.DetectorWarmup}, Figures: detectors.Figures{CallRate: 9, ErrorRate: 0.003},
			Baseline: detectors.BaselineSource{From: detectors.BaselineProvider, Calls: 37}},
		{Series: detectors.SeriesKey{Provider: "openai", Model: hostile}, State: detectors.StateDegraded, Since: evilAt,
			Evidence: detectors.Evidence{Detector: detectors.DetectorErrorRate, Observed: 0.3, Baseline: 0.01, SampleSize: 20, Events: 6,
				Window: 40 * time.Second, SampleError: hostileError},
			Figures: detectors.Figures{CallRate: 3, ErrorRate: 0.3}},
	}
	slices.SortFunc(st, func(a, b detectors.Status) int {
		return cmp.Or(cmp.Compare(a.Series.Provider, b.Series.Provider), cmp.Compare(a.Series.Model, b.Series.Model))
	})
	return st
}

// fixtureBoard fills a board and an hour of history: quiet, then anthropic's errors rising in
// the last eight minutes.
func fixtureBoard(tb testing.TB) (*health.Board, *History) {
	tb.Helper()
	board := health.NewBoard()
	hist := NewHistory(board, 10*time.Second, time.Hour)
	for at := now.Add(-time.Hour); !at.After(now); at = at.Add(10 * time.Second) {
		rate := 0.01
		if at.After(downAt.Add(-10 * time.Second)) {
			rate = 0.91
		}
		board.Update(fixtureStatuses(rate), nil)
		hist.Sample(at)
	}
	board.Update(fixtureStatuses(0.91), []detectors.Transition{
		{Series: detectors.SeriesKey{Provider: "anthropic", Model: "claude-sonnet-4-5"}, From: detectors.StateHealthy, To: detectors.StateDown, At: downAt, Evidence: sonnetEvidence()},
	})
	return board, hist
}

func fixtureIncidents() *fakeQuery {
	opened := downAt.Add(10 * time.Second)
	ev := incidents.Evidence{
		Detector: "error_rate_down", Observed: 0.93, Baseline: 0.012, Threshold: 11.2, ChangePoint: downAt.Add(-7 * time.Second),
		Window: 7.1, SampleSize: 41, Events: 38, CallRate: 6.2, Classes: map[string]int{"overloaded": 35, "timeout": 3},
		SampleError: hostileError,
	}
	return &fakeQuery{
		incidents: []incidents.Incident{
			{ID: 7, Provider: "anthropic", Models: []string{"", "claude-sonnet-4-5"}, Detectors: []string{"error_rate_down", "rollup"},
				Severity: incidents.SeverityCritical, State: incidents.StateOpen, OpenedAt: opened, UpdatedAt: opened,
				Peak: incidents.Peak{ErrorRate: 0.93, CallRate: 6.2}},
			{ID: 6, Provider: "openai", Models: []string{"gpt-4o"}, Detectors: []string{"error_rate"},
				Severity: incidents.SeverityWarning, State: incidents.StateResolved, OpenedAt: now.Add(-3 * time.Hour),
				ResolvedAt: now.Add(-2*time.Hour - 30*time.Minute), ResolvedBy: "outagewatch"},
			{ID: 5, Provider: "gcp.gemini", Models: []string{"models/gemini-2.5-flash"}, Detectors: []string{"truncation"},
				Severity: incidents.SeverityWarning, State: incidents.StateResolved, OpenedAt: now.Add(-26 * time.Hour),
				ResolvedAt: now.Add(-25 * time.Hour), ResolvedBy: "bob"},
		},
		events: map[int64][]incidents.Event{7: {
			{ID: 70, IncidentID: 7, At: opened, Kind: incidents.EventOpened, Provider: "anthropic", Model: "claude-sonnet-4-5",
				From: "healthy", To: "down", Severity: incidents.SeverityCritical, Evidence: ev, Actor: incidents.Actor},
			{ID: 71, IncidentID: 7, At: opened.Add(2 * time.Second), Kind: incidents.EventTransition, Provider: "anthropic",
				From: "healthy", To: "down", Evidence: incidents.Evidence{Detector: "rollup"}, Actor: incidents.Actor},
			{ID: 72, IncidentID: 7, At: opened.Add(3 * time.Second), Kind: incidents.EventEscalated, Provider: "anthropic",
				Severity: incidents.SeverityCritical, Actor: incidents.Actor},
		}},
	}
}

func fixtureSilences() SilenceListerFunc {
	return fakeSilences([]incidents.Silence{
		{ID: 1, Provider: "openai", Model: "gpt-4o", Until: now.Add(65 * time.Minute), Reason: "planned <b>migration</b>", CreatedBy: "alice", CreatedAt: now.Add(-time.Hour)},
		{ID: 2, Provider: "openai", Until: now.Add(-time.Minute), Reason: "expired one"},
	}, nil)
}

// serve returns a server with the page over the fixtures and the real health API.
func serve(tb testing.TB, q incidents.Query, silences SilenceLister, opts Options) *httptest.Server {
	tb.Helper()
	board, hist := fixtureBoard(tb)
	if opts.Now == nil {
		opts.Now = func() time.Time { return now }
	}
	mux := http.NewServeMux()
	New(board, hist, q, silences, opts).Register(mux)
	health.NewAPI(board, health.HTTPOptions{}).Register(mux)
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	return srv
}

func get(tb testing.TB, url string) (*http.Response, string) {
	tb.Helper()
	resp, err := http.Get(url)
	require.NoError(tb, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(tb, err)
	return resp, string(body)
}

// attr is s as html/template writes it in an attribute.
func attr(s string) string { return template.HTMLEscapeString(s) }

// seriesBlock returns the markup of one series, from its element to the next series'.
func seriesBlock(tb testing.TB, body, provider, model string) string {
	tb.Helper()
	start := `<div class="series" data-series data-provider="` + attr(provider) + `" data-model="` + attr(model) + `"`
	i := strings.Index(body, start)
	require.GreaterOrEqual(tb, i, 0, "no series %s/%s in the page", provider, model)
	rest := body[i+len(start):]
	if j := strings.Index(rest, `<div class="series"`); j >= 0 {
		rest = rest[:j]
	}
	return start + rest
}

func TestIndexShowsEachSeries(t *testing.T) {
	t.Parallel()
	srv := serve(t, fixtureIncidents(), fixtureSilences(), Options{})
	resp, body := get(t, srv.URL+"/")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"))
	require.Contains(t, body, `<p id="summary" class="summary" data-part="summary">6 series: 3 down, 1 degraded, 2 healthy.</p>`)

	for _, tc := range []struct {
		name, provider, model, state, own, since, reason string
	}{
		{"provider down", "anthropic", "", "down", "down", `since <time datetime="2026-06-20T14:02:51Z">14:02:51 UTC</time> (<span data-ago="2026-06-20T14:02:51Z">7m ago</span>)`, "follows its models"},
		{"model down", "anthropic", "claude-sonnet-4-5", "down", "down", `<time datetime="2026-06-20T14:02:51Z">14:02:51 UTC</time>`,
			"errors (hard outage): 93% against a usual 1.2% (38 of 41 calls in 7s); overloaded 35, timeout 3; “Error code: 529 - {&#39;type&#39;: &#39;error&#39;, &#39;error&#39;: {&#39;type&#39;: &#39;overloaded_error&#39;}}”"},
		{"model without evidence takes the provider's state", "anthropic", "claude-haiku-4-5", "down", "unknown", `<time datetime="2026-06-20T13:00:05Z">13:00:05 UTC</time> (<span data-ago="2026-06-20T13:00:05Z">1h 9m ago</span>)`, "no calls for 2m0s, longer than its traffic explains"},
		{"provider healthy", "openai", "", "healthy", "healthy", `<time datetime="2026-06-20T13:00:05Z">`, "judged from its first call<"},
		{"model healthy", "openai", "gpt-4o", "healthy", "healthy", `<time datetime="2026-06-20T13:00:05Z">`, "judged from its first call<"},
		{"model degraded", "openai", hostile, "degraded", "degraded", `<time datetime="2026-06-20T14:08:00Z">14:08:00 UTC</time>`, "errors: 30% against a usual 1.0% (6 of 20 calls in 40s)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := seriesBlock(t, body, tc.provider, tc.model)
			require.Contains(t, b, `data-state="`+tc.state+`" data-own-state="`+tc.own+`"`)
			// Colour (the class) and word, always together.
			require.Contains(t, b, `<span class="state state-`+tc.state+`" data-role="state">`+tc.state+`</span>`)
			require.Contains(t, b, tc.since)
			require.Contains(t, b, `<p class="reason" data-role="reason">`+tc.reason)
			require.Equal(t, 4, strings.Count(b, `<svg class="spark" viewBox="0 0 120 32" preserveAspectRatio="none" role="img" aria-label="`))
			for _, label := range []string{"call rate", "error rate", "truncation", "p95 latency"} {
				require.Contains(t, b, "<dt>"+label+"</dt>")
			}
		})
	}

	t.Run("how sure the answer is", func(t *testing.T) {
		require.Contains(t, seriesBlock(t, body, "anthropic", "claude-sonnet-4-5"),
			`<p class="baseline" data-role="baseline">baseline: its own, from 182,344 calls</p>`)
		require.Contains(t, seriesBlock(t, body, "openai", "gpt-4o"),
			`<p class="baseline" data-role="baseline">baseline: its provider’s, while it is new (37 calls of its own)</p>`)
	})

	t.Run("charts draw the history", func(t *testing.T) {
		b := seriesBlock(t, body, "anthropic", "claude-sonnet-4-5")
		require.Contains(t, b, `aria-label="error rate, last 1h 0m: now 91%, peak 91%, low 1.0%"`)
		require.Contains(t, b, `<title>error rate, last 1h 0m: now 91%, peak 91%, low 1.0%</title>`)
		require.Contains(t, b, `aria-label="p95 latency, last 1h 0m: now 2.4 s, peak 2.4 s, low 2.4 s"`)
		require.Contains(t, b, `<path d="M0 30.7L104 30.7L105 1.0L119 1.0" vector-effect="non-scaling-stroke"/>`, "low, then the outage, across the hour")
		require.Contains(t, b, `<span class="value">6.1/s</span>`)
	})
}

func TestIndexEscapesHTML(t *testing.T) {
	t.Parallel()
	srv := serve(t, fixtureIncidents(), fixtureSilences(), Options{GrafanaURL: "https://grafana.example.com/"})
	resp, body := get(t, srv.URL+"/")
	require.Equal(t, http.StatusOK, resp.StatusCode)

	for _, raw := range []string{hostile, "<script>alert(3)", "<img src=x", "<b>migration</b>", "alert(1)</script>"} {
		require.NotContains(t, body, raw)
	}
	escaped := "&lt;script&gt;alert(1)&lt;/script&gt;"
	require.Contains(t, body, `<h4 class="name">`+escaped+`</h4>`, "the model name is text")
	require.Contains(t, body, `data-model="`+escaped+`"`, "and an attribute value")
	require.Contains(t, body, "“upstream said &lt;img src=x onerror=alert(2)&gt; then &lt;/p&gt;&lt;script&gt;alert(3)&lt;/script&gt;”", "the error message is text")
	require.Contains(t, body, "planned &lt;b&gt;migration&lt;/b&gt;")
	require.Contains(t, body, `href="https://grafana.example.com/d/outagewatch-overview?from=now-1h&amp;to=now&amp;var-model=%3Cscript%3Ealert%281%29%3C%2Fscript%3E&amp;var-provider=openai"`)
	// The only script is the page's own file; the policy forbids any other.
	require.Equal(t, 1, strings.Count(body, "<script"))
	require.Contains(t, body, `<script src="/static/live.js" defer></script>`)
	require.Contains(t, resp.Header.Get("Content-Security-Policy"), "script-src 'self'")
	require.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
}

func TestIndexShowsIncidentsAndSilences(t *testing.T) {
	t.Parallel()
	srv := serve(t, fixtureIncidents(), fixtureSilences(), Options{})
	_, body := get(t, srv.URL+"/")
	open := section(t, body, "incidents")
	require.Contains(t, open, `<a href="/incidents/7">#7 anthropic</a> <span class="sev sev-critical">critical</span> <span class="istate">open</span>`)
	require.Contains(t, open, "Models: all models (provider-wide), claude-sonnet-4-5. Detectors: error_rate_down, rollup.")
	require.Contains(t, open, "Opened <time datetime=\"2026-06-20T14:03:01Z\">14:03:01 UTC</time> (<span data-ago=\"2026-06-20T14:03:01Z\">6m ago</span>), for 6m 59s.")
	require.Contains(t, open, "Peak: errors 93%, truncation 0%, rate limited 0%, 6.2 calls/s.")
	require.Equal(t, 3, strings.Count(open, `<li class="event">`))
	require.Contains(t, open, `<span class="kind">opened</span> claude-sonnet-4-5: <span class="state state-healthy">healthy</span> <span aria-hidden="true">→</span><span class="visually-hidden">to</span> <span class="state state-down">down</span>`)
	require.Contains(t, open, `<span class="kind">transition</span> all models (provider-wide): `)
	require.Contains(t, open, `<span class="kind">escalated</span> to <span class="sev sev-critical">critical</span>`)
	require.Contains(t, open, "errors (hard outage): 93% against a usual 1.2% (38 of 41 calls in 7s); overloaded 35, timeout 3")

	resolved := section(t, body, "resolved")
	require.Contains(t, resolved, `<a href="/incidents/6">#6 openai</a>`)
	require.Contains(t, resolved, `<a href="/incidents/5">#5 gcp.gemini</a> <span class="sev sev-warning">warning</span>: models/gemini-2.5-flash; resolved <time datetime="2026-06-19T13:10:00Z">19 Jun 13:10 UTC</time> (<span data-ago="2026-06-19T13:10:00Z">25h 0m ago</span>) by bob after 1h 0m.`)
	require.Less(t, strings.Index(resolved, "#6"), strings.Index(resolved, "#5"), "newest first")

	silences := section(t, body, "silences")
	require.Contains(t, silences, `<strong>openai</strong> gpt-4o: until <time datetime="2026-06-20T15:15:00Z">15:15:00 UTC</time>, ends in 1h 5m.`)
	require.Contains(t, silences, "ends in 1h 5m. planned &lt;b&gt;migration&lt;/b&gt; (by alice)")
	require.NotContains(t, silences, "expired one")
}

// section returns the markup of the page's part named name (data-part).
func section(tb testing.TB, body, name string) string {
	tb.Helper()
	re := regexp.MustCompile(`(?s)<section [^>]*data-part="` + name + `">.*?</section>`)
	m := re.FindString(body)
	require.NotEmpty(tb, m, "no section %s", name)
	return m
}

func TestIndexWhenTheStoreIsUnavailable(t *testing.T) {
	t.Parallel()
	blocked := &blockingQuery{}
	for name, tc := range map[string]struct {
		q        incidents.Query
		silences SilenceLister
	}{
		"errors": {&fakeQuery{err: errors.New("dial tcp 10.0.0.5:5432: connect: connection refused")}, fakeSilences(nil, errors.New("down"))},
		"hangs": {blocked, SilenceListerFunc(func(ctx context.Context, _ time.Time) ([]incidents.Silence, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		})},
		"no store": {nil, nil},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := serve(t, tc.q, tc.silences, Options{StoreTimeout: 100 * time.Millisecond})
			start := time.Now()
			resp, body := get(t, srv.URL+"/")
			require.Less(t, time.Since(start), 2*time.Second)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.Contains(t, body, "<strong>incident store unavailable</strong>")
			require.Contains(t, body, "Silences cannot be read right now")
			require.NotContains(t, body, "connection refused", "store errors stay out of the page")
			require.NotContains(t, body, `data-part="resolved"`)
			require.Contains(t, seriesBlock(t, body, "anthropic", "claude-sonnet-4-5"), `data-state="down"`, "the health part is there")
		})
	}
}

// blockingQuery answers only when its context ends, like a store behind a dead network.
type blockingQuery struct{}

func (blockingQuery) List(ctx context.Context, _ incidents.Filter) ([]incidents.Incident, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func (blockingQuery) Get(ctx context.Context, _ int64) (incidents.Incident, []incidents.Event, error) {
	<-ctx.Done()
	return incidents.Incident{}, nil, ctx.Err()
}

func TestIncidentPage(t *testing.T) {
	t.Parallel()
	srv := serve(t, fixtureIncidents(), fixtureSilences(), Options{Title: "acme outagewatch"})

	resp, body := get(t, srv.URL+"/incidents/7")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, body, "<title>Incident #7 anthropic: acme outagewatch</title>")
	require.Contains(t, body, "<h1>Incident #7: anthropic</h1>")
	require.Contains(t, body, `<div><dt>severity</dt><dd><span class="sev sev-critical">critical</span></dd></div>`)
	require.Contains(t, body, `<div><dt>models</dt><dd>all models (provider-wide), claude-sonnet-4-5</dd></div>`)
	require.Equal(t, 3, strings.Count(body, `<li class="event">`), "the whole timeline")
	for _, f := range []string{
		"<dt>detector</dt><dd>error_rate_down</dd>", "<dt>observed rate</dt><dd>93%</dd>",
		"<dt>usual rate (baseline)</dt><dd>1.2%</dd>", "<dt>threshold</dt><dd>11.20 nats</dd>",
		"<dt>change began</dt><dd>14:02:44 UTC</dd>", "<dt>window</dt><dd>7s</dd>",
		"<dt>calls in the window</dt><dd>41</dd>", "<dt>of which counted</dt><dd>38</dd>",
		"<dt>call rate</dt><dd>6.2/s</dd>", "<dt>error classes</dt><dd>overloaded 35, timeout 3</dd>",
		`<div class="wide"><dt>sample error</dt><dd>upstream said &lt;img src=x onerror=alert(2)&gt; then &lt;/p&gt;&lt;script&gt;alert(3)&lt;/script&gt;</dd>`,
	} {
		require.Contains(t, body, f)
	}
	require.Contains(t, body, `<dl class="evidence"><div><dt>detector</dt><dd>rollup</dd></div></dl>`, "no rates for a roll-up")
	require.NotContains(t, body, "<script")
	require.Contains(t, body, `<a href="/">← acme outagewatch status page</a>`)

	for path, code := range map[string]int{"/incidents/999": 404, "/incidents/abc": 404, "/incidents/0": 404, "/incidents/-3": 404} {
		resp, body := get(t, srv.URL+path)
		require.Equal(t, code, resp.StatusCode, path)
		require.Contains(t, body, `<p class="note">There is no incident`, path)
	}

	down := serve(t, &fakeQuery{err: errors.New("connection refused")}, nil, Options{})
	resp, body = get(t, down.URL+"/incidents/7")
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	require.Contains(t, body, "The incident store is unavailable")
}

func TestStaticFiles(t *testing.T) {
	t.Parallel()
	srv := serve(t, fixtureIncidents(), nil, Options{})
	for path, ctype := range map[string]string{"/static/style.css": "text/css; charset=utf-8", "/static/live.js": "text/javascript; charset=utf-8"} {
		resp, body := get(t, srv.URL+path)
		require.Equal(t, http.StatusOK, resp.StatusCode, path)
		require.Equal(t, ctype, resp.Header.Get("Content-Type"), path)
		require.NotEmpty(t, body)
		require.NotContains(t, body, "http://", "no external resources")
		require.NotContains(t, body, "https://", "no external resources")
	}
	resp, _ := get(t, srv.URL+"/static/favicon.svg")
	require.Equal(t, "image/svg+xml", resp.Header.Get("Content-Type"))
	resp, _ = get(t, srv.URL+"/static/nothing.js")
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	for _, dir := range []string{"/static/", "/static", "/static/./", "/static/%2e/"} {
		resp, body := get(t, srv.URL+dir)
		require.Equal(t, http.StatusNotFound, resp.StatusCode, "%s: the directory is not listed", dir)
		require.NotContains(t, body, "live.js", dir)
	}
	resp, _ = get(t, srv.URL+"/elsewhere")
	require.Equal(t, http.StatusNotFound, resp.StatusCode, "the page takes the root only")
}

// The static view is the whole page: everything a person needs is in the server's HTML, and
// the script only keeps it current.
func TestStaticViewNeedsNoJavaScript(t *testing.T) {
	t.Parallel()
	srv := serve(t, fixtureIncidents(), fixtureSilences(), Options{})
	_, body := get(t, srv.URL+"/")
	noScript := regexp.MustCompile(`<script[^>]*></script>`).ReplaceAllString(body, "")
	for _, want := range []string{
		`<h3 class="name">anthropic</h3>`, `<h4 class="name">claude-sonnet-4-5</h4>`, `<h4 class="name">claude-haiku-4-5</h4>`,
		`<h3 class="name">openai</h3>`, `<h4 class="name">gpt-4o</h4>`,
		`<span class="state state-down" data-role="state">down</span>`, `<span class="state state-degraded" data-role="state">degraded</span>`,
		`<span class="state state-healthy" data-role="state">healthy</span>`,
		`since <time datetime=`, `<p class="reason" data-role="reason">errors (hard outage)`, `<svg class="spark"`,
		`#7 anthropic`, `<ol class="timeline">`, `#6 openai`, `<strong>openai</strong> gpt-4o`,
		`<noscript><meta http-equiv="refresh" content="30"></noscript>`,
		`<p id="connection" class="connection" role="status" data-connection="static">Static view generated at`,
	} {
		require.Contains(t, noScript, want)
	}
	require.NotContains(t, noScript, "<script")
}

func TestFragmentIsTheLivePart(t *testing.T) {
	t.Parallel()
	srv := serve(t, fixtureIncidents(), fixtureSilences(), Options{})
	resp, body := get(t, srv.URL+"/?fragment=live")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.True(t, strings.HasPrefix(body, `<div id="live" data-version="1" data-now="2026-06-20T14:10:00Z">`), body[:min(len(body), 200)])
	require.NotContains(t, body, "<html")
	require.Contains(t, body, `data-part="provider:anthropic"`)
	require.Contains(t, body, `data-part="incidents"`)
}

func TestEmptyBoard(t *testing.T) {
	t.Parallel()
	board := health.NewBoard()
	mux := http.NewServeMux()
	New(board, NewHistory(board, 0, 0), &fakeQuery{}, fakeSilences(nil, nil), Options{}).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	resp, body := get(t, srv.URL+"/")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, body, "<title>outagewatch: provider status</title>")
	require.Contains(t, body, "No calls seen yet")
	require.Contains(t, body, "No open incidents.")
	require.Contains(t, body, "None: every incident notifies.")
}
