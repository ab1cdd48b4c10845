package statuspage

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/health"
	"github.com/outagewatch/outagewatch/incidents"
)

// localBoard is a board where gpt-4o is healthy for everyone but batch-jobs, whose calls time out
// on their own since 14:07, and where openai's endpoint host eu.api.openai.com is degraded on its
// own.
func localBoard() *health.Board {
	failAt := time.Date(2026, 6, 20, 14, 7, 0, 0, time.UTC)
	local := func(own detectors.SeriesKey, c detectors.Caller, state detectors.State, d detectors.Detector) detectors.Status {
		own.Caller = c
		return detectors.Status{Series: own, State: state, Since: failAt.Add(40 * time.Second), Evidence: detectors.Evidence{
			Detector: d, Observed: 0.95, Baseline: 0.01, ChangePoint: failAt, Window: 40 * time.Second, SampleSize: 20, Events: 19,
			Classes: []detectors.ClassCount{{Class: detectors.ClassTimeout, Count: 19}}, ConfinedTo: c,
		}}
	}
	prov := detectors.Status{Series: detectors.SeriesKey{Provider: "openai"}, State: detectors.StateHealthy, Since: warmAt,
		Evidence: detectors.Evidence{Detector: detectors.DetectorWarmup, SampleSize: 1}}
	model := detectors.Status{Series: detectors.SeriesKey{Provider: "openai", Model: "gpt-4o"}, State: detectors.StateHealthy, Since: warmAt,
		Evidence: detectors.Evidence{Detector: detectors.DetectorWarmup, SampleSize: 1}}
	prov.Local = []detectors.Status{local(prov.Series, detectors.Caller{Kind: detectors.CallerEndpoint, Name: "eu.api.openai.com"}, detectors.StateDegraded, detectors.DetectorLatency)}
	model.Local = []detectors.Status{local(model.Series, detectors.Caller{Kind: detectors.CallerService, Name: "batch-jobs"}, detectors.StateDown, detectors.DetectorErrorDown)}
	b := health.NewBoard()
	b.Update([]detectors.Status{prov, model}, []detectors.Transition{{Series: model.Local[0].Series, From: detectors.StateHealthy, To: detectors.StateDown, At: failAt}})
	return b
}

func TestIndexShowsLocalVerdictsUnderTheirSeries(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	New(localBoard(), nil, &fakeQuery{}, fakeSilences(nil, nil), Options{Now: func() time.Time { return now }}).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	resp, body := get(t, srv.URL+"/")
	require.Equal(t, http.StatusOK, resp.StatusCode)

	require.Contains(t, body, `2 series: 2 healthy.`, "a local verdict is no series and changes no state")
	m := seriesBlock(t, body, "openai", "gpt-4o")
	require.Contains(t, m, `data-state="healthy" data-own-state="healthy"`)
	require.Contains(t, m, `<ul class="plain local" data-role="local" aria-label="callers failing on their own">`)
	require.Contains(t, m, `<li data-local data-caller="service:batch-jobs" data-state="down"><strong>service batch-jobs</strong>: `+
		`<span class="state state-down" data-role="local-state">down</span> `+
		`<span data-role="local-since">since <time datetime="2026-06-20T14:07:40Z">14:07:40 UTC</time></span> — `+
		`<span data-role="local-reason">95% timeout errors; the model is usable for its other callers</span></li>`)

	p := seriesBlock(t, body, "openai", "")
	require.Contains(t, p, `<li data-local data-caller="endpoint:eu.api.openai.com" data-state="degraded"><strong>endpoint eu.api.openai.com</strong>: `)
	require.Contains(t, p, `<span data-role="local-reason">95% slow responses; the provider is usable for its other callers</span>`)
	require.NotContains(t, p, "batch-jobs", "the model's verdict is under the model")
}

func TestSeriesWithoutLocalVerdictsHasAnEmptyHiddenList(t *testing.T) {
	t.Parallel()
	srv := serve(t, fixtureIncidents(), fixtureSilences(), Options{})
	_, body := get(t, srv.URL+"/")
	b := seriesBlock(t, body, "openai", "gpt-4o")
	require.Contains(t, b, `<ul class="plain local" data-role="local" aria-label="callers failing on their own" hidden>`+"\n</ul>", "a place for live.js to add entries")
	require.NotContains(t, b, "data-local ")
}

func TestLocalLine(t *testing.T) {
	t.Parallel()
	errs := evidence{Detector: "error_rate_down", Observed: 0.95, Classes: []classCount{{"timeout", 19}}}
	for _, tc := range []struct {
		name     string
		ev       evidence
		provider bool
		state    detectors.State
		want     string
	}{
		{"errors with a class", errs, false, detectors.StateHealthy, "95% timeout errors; the model is usable for its other callers"},
		{"errors without a class", evidence{Detector: "error_rate", Observed: 0.3}, false, detectors.StateDegraded, "30% errors; the model is usable for its other callers"},
		{"a provider's endpoint host", evidence{Detector: "truncation", Observed: 0.4}, true, detectors.StateHealthy, "40% truncated responses; the provider is usable for its other callers"},
		{"the model is down itself", errs, false, detectors.StateDown, "95% timeout errors"},
		{"no evidence", evidence{}, false, detectors.StateHealthy, "failures; the model is usable for its other callers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, localLine(tc.ev, tc.provider, tc.state))
		})
	}
}

func TestLiveScriptWritesLocalVerdictsLikeTheServer(t *testing.T) {
	t.Parallel()
	js, err := os.ReadFile("static/live.js")
	require.NoError(t, err)
	for _, phrase := range []string{
		`" errors"`, `"; the "`, `" is usable for its other callers"`, `"failures"`, `"local-state"`, `"local-since"`, `"local-reason"`,
		`source.addEventListener("local"`, `r.detector !== "local"`,
	} {
		require.Contains(t, string(js), phrase)
	}
	for _, d := range []detectors.Detector{detectors.DetectorErrorRate, detectors.DetectorErrorMid, detectors.DetectorErrorDown} {
		require.Contains(t, string(js), string(d)+": true", "an error detector in ERROR_DETECTORS")
	}
}

func TestIncidentsShowTheirCaller(t *testing.T) {
	t.Parallel()
	q := fixtureIncidents()
	opened := now.Add(-3 * time.Minute)
	q.incidents = append(q.incidents,
		incidents.Incident{ID: 8, Provider: "openai", Caller: "service:batch-jobs", Models: []string{"gpt-4o"}, Detectors: []string{"error_rate_down"},
			Severity: incidents.SeverityCritical, State: incidents.StateOpen, OpenedAt: opened, UpdatedAt: opened},
		incidents.Incident{ID: 4, Provider: "openai", Caller: "endpoint:eu.api.openai.com", Models: []string{""}, Detectors: []string{"latency"},
			Severity: incidents.SeverityWarning, State: incidents.StateResolved, OpenedAt: now.Add(-time.Hour), ResolvedAt: now.Add(-50 * time.Minute)},
	)
	srv := serve(t, q, fixtureSilences(), Options{})
	_, body := get(t, srv.URL+"/")
	require.Contains(t, body, `<h3><a href="/incidents/8">#8 openai</a> <span class="caller">batch-jobs only</span> <span class="sev sev-critical">`)
	require.Contains(t, body, `<li><a href="/incidents/4">#4 openai</a> <span class="caller">endpoint eu.api.openai.com only</span> <span class="sev`)
	require.Contains(t, body, `<h3><a href="/incidents/7">#7 anthropic</a> <span class="sev`, "a provider incident names no caller")

	_, body = get(t, srv.URL+"/incidents/8")
	require.Contains(t, body, "<title>Incident #8 openai (batch-jobs only): outagewatch</title>")
	require.Contains(t, body, "<h1>Incident #8: openai, batch-jobs only</h1>")
	require.Contains(t, body, "<div><dt>caller</dt><dd>batch-jobs only: its calls fail while the other callers are at their baseline</dd></div>")
	_, body = get(t, srv.URL+"/incidents/7")
	require.NotContains(t, body, "<dt>caller</dt>")

	require.Empty(t, callerOnly(""))
	require.Equal(t, "batch-jobs only", callerOnly("service:batch-jobs"))
	require.Equal(t, "mystery:x only", callerOnly("mystery:x"), "a caller of a later build is shown as stored")
	require.True(t, strings.HasSuffix(callerOnly("endpoint:eu.api.openai.com"), " only"))
}
