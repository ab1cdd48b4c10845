package health

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
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
	// changeAt is when batch-jobs' calls began to fail.
	changeAt = time.Date(2026, 6, 20, 14, 7, 0, 0, time.UTC)
)

// localVerdict is the local verdict of caller c on the series own: its calls time out 95% of the
// time since 14:07 while two other callers stay at their baseline.
func localVerdict(own detectors.SeriesKey, c detectors.Caller, state detectors.State) detectors.Status {
	shares := []detectors.CallerShare{{Caller: c.Name, N: 20, K: 19}, {Caller: "checkout", N: 12}, {Caller: "search", N: 10}}
	ev := detectors.Evidence{
		Detector: detectors.DetectorErrorDown, Observed: 0.95, Baseline: 0.01, ChangePoint: changeAt, Window: 40 * time.Second,
		SampleSize: 20, Events: 19, Classes: []detectors.ClassCount{{Class: detectors.ClassTimeout, Count: 19}},
		ConfinedTo: c,
	}
	if c.Kind == detectors.CallerEndpoint {
		ev.Endpoints = []detectors.CallerShare{{Caller: c.Name, N: 20, K: 19}, {Caller: "us.api.example.com", N: 30}}
	} else {
		ev.Callers = shares
	}
	key := own
	key.Caller = c
	return detectors.Status{Series: key, State: state, Since: changeAt.Add(40 * time.Second), Evidence: ev}
}

// localFixture is a board where anthropic and claude-sonnet-4-5 are healthy for everyone but
// batch-jobs, whose calls to the model fail on their own; and where the provider's endpoint host
// eu.api.example.com fails on its own.
func localFixture() (*Board, []detectors.Status) {
	b := NewBoard()
	prov := st("anthropic", "", detectors.StateHealthy)
	model := st("anthropic", "claude-sonnet-4-5", detectors.StateHealthy)
	model.Evidence = detectors.Evidence{Detector: detectors.DetectorWarmup, SampleSize: 1}
	prov.Local = []detectors.Status{localVerdict(prov.Series, euHost, detectors.StateDegraded)}
	model.Local = []detectors.Status{localVerdict(model.Series, batchJobs, detectors.StateDown)}
	statuses := []detectors.Status{prov, model}
	b.Update(statuses, []detectors.Transition{{Series: model.Local[0].Series, From: detectors.StateHealthy, To: detectors.StateDown, At: changeAt}})
	return b, statuses
}

type modelAnswer struct {
	Version  uint64 `json:"version"`
	Provider string `json:"provider"`
	ModelView
}

func decodeModel(tb testing.TB, body []byte) modelAnswer {
	tb.Helper()
	var mv modelAnswer
	require.NoError(tb, json.Unmarshal(body, &mv), "%s", body)
	return mv
}

func TestCallerSeesItsLocalVerdict(t *testing.T) {
	t.Parallel()
	b, _ := localFixture()
	srv := serve(t, b, time.Second)
	const path = "/v1/health/anthropic/claude-sonnet-4-5"

	resp, body := get(t, srv.URL+path+"?service=batch-jobs")
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "%s", body)
	mv := decodeModel(t, body)
	require.Equal(t, "down", mv.State)
	require.False(t, mv.Usable)
	require.Equal(t, "service:batch-jobs", mv.Caller)
	require.Equal(t, changeAt.Add(40*time.Second), mv.Since, "since the local verdict")
	first := mv.Reasons[0]
	require.Equal(t, "error_rate_down", first.Detector)
	require.Equal(t, "service:batch-jobs", first.Caller)
	require.Equal(t, "down", first.State)
	require.Equal(t, "service batch-jobs: 95% timeout errors since 14:07 UTC while the model's 2 other services are at their baseline: likely its own network, key or deploy", first.Text)
	for _, r := range mv.Reasons {
		require.NotEqual(t, DetectorLocal, r.Detector, "the caller's answer does not say it is usable")
	}

	resp, body = get(t, srv.URL+path)
	require.Equal(t, http.StatusOK, resp.StatusCode, "the plain answer is the model's")
	mv = decodeModel(t, body)
	require.Equal(t, "healthy", mv.State)
	require.True(t, mv.Usable)
	require.Empty(t, mv.Caller)
	require.Len(t, mv.Local, 1)
	l := mv.Local[0]
	require.Equal(t, "service:batch-jobs", l.Caller)
	require.Equal(t, "service", l.Kind)
	require.Equal(t, "batch-jobs", l.Name)
	require.Equal(t, "down", l.State)
	require.Equal(t, changeAt.Add(40*time.Second), l.Since)
	require.Len(t, l.Reasons, 1)
	require.Contains(t, l.Reasons[0].Text, "service batch-jobs: 95% timeout errors since 14:07 UTC")
	require.Equal(t, []detectors.Detector{detectors.DetectorWarmup, DetectorLocal}, detectorsOf(mv.Reasons))
	local := mv.Reasons[1]
	require.Equal(t, "usable: only service batch-jobs fails, on its own (down since 14:07 UTC)", local.Text)
	require.Equal(t, "service:batch-jobs", local.Caller)
	require.Equal(t, "down", local.State)

	_, plain := get(t, srv.URL+path)
	for _, q := range []string{"?service=checkout", "?endpoint=eu.api.example.com", "?service=" + url.QueryEscape("ns/batch-jobs (prod)")} {
		resp, body = get(t, srv.URL+path+q)
		require.Equal(t, http.StatusOK, resp.StatusCode, q)
		require.JSONEq(t, string(plain), string(body), "%s: a caller without a local verdict of the model gets the model's answer", q)
	}

	resp, body = get(t, srv.URL+path+"?service=batch-jobs&fail_degraded=1")
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "%s", body)
	resp, _ = get(t, srv.URL+path+"?service=batch-jobs", "If-None-Match", `W/"1"`)
	require.Equal(t, http.StatusNotModified, resp.StatusCode, "the ETag follows the version")
}

func detectorsOf(reasons []Reason) []detectors.Detector {
	var out []detectors.Detector
	for _, r := range reasons {
		out = append(out, detectors.Detector(r.Detector))
	}
	return out
}

func TestEndpointHostSeesTheProvidersLocalVerdict(t *testing.T) {
	t.Parallel()
	b, _ := localFixture()
	srv := serve(t, b, time.Second)

	resp, body := get(t, srv.URL+"/v1/health/anthropic")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var pv struct {
		Version uint64 `json:"version"`
		ProviderView
	}
	require.NoError(t, json.Unmarshal(body, &pv))
	require.Equal(t, "healthy", pv.State)
	require.Len(t, pv.Local, 1)
	require.Equal(t, "endpoint:eu.api.example.com", pv.Local[0].Caller)
	require.Equal(t, "usable: only endpoint eu.api.example.com fails, on its own (degraded since 14:07 UTC)", pv.Reasons[len(pv.Reasons)-1].Text)
	require.Len(t, pv.Models[0].Local, 1, "the provider's body lists its models' local verdicts too")

	resp, body = get(t, srv.URL+"/v1/health/anthropic?endpoint=eu.api.example.com")
	require.Equal(t, http.StatusOK, resp.StatusCode, "degraded is usable")
	require.NoError(t, json.Unmarshal(body, &pv))
	require.Equal(t, "degraded", pv.State)
	require.Equal(t, "endpoint:eu.api.example.com", pv.Caller)
	require.Equal(t, "endpoint eu.api.example.com: 95% timeout errors since 14:07 UTC while the provider's 1 other endpoint host is at their baseline: likely that host's region or deployment", pv.Reasons[0].Text)
	resp, _ = get(t, srv.URL+"/v1/health/anthropic?endpoint=eu.api.example.com&fail_degraded=1")
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)

	resp, body = get(t, srv.URL+"/v1/health/anthropic?service=batch-jobs")
	require.Equal(t, http.StatusOK, resp.StatusCode, "the provider has no local verdict for batch-jobs")
	require.NoError(t, json.Unmarshal(body, &pv))
	require.Equal(t, "down", pv.Models[0].State, "but its model, as batch-jobs sees it, is down")
	require.Equal(t, "service:batch-jobs", pv.Models[0].Caller)
}

func TestListCarriesLocalVerdicts(t *testing.T) {
	t.Parallel()
	b, _ := localFixture()
	srv := serve(t, b, time.Second)
	var rep Report
	_, body := get(t, srv.URL+"/v1/health")
	require.NoError(t, json.Unmarshal(body, &rep))
	m := rep.Providers[0].Models[0]
	require.Equal(t, "healthy", m.State)
	require.Equal(t, "service:batch-jobs", m.Local[0].Caller)
	require.Equal(t, "endpoint:eu.api.example.com", rep.Providers[0].Local[0].Caller)

	_, body = get(t, srv.URL+"/v1/health?service=batch-jobs")
	require.NoError(t, json.Unmarshal(body, &rep))
	require.Equal(t, "down", rep.Providers[0].Models[0].State, "the whole report as batch-jobs sees it")
	require.Equal(t, "healthy", rep.Providers[0].State)
}

func TestCallerParameterIsValidated(t *testing.T) {
	t.Parallel()
	b, _ := localFixture()
	srv := serve(t, b, time.Second)
	for _, tc := range []struct{ query, err string }{
		{"service=", "service: must not be empty"},
		{"endpoint=", "endpoint: must not be empty"},
		{"service=" + strings.Repeat("a", maxCallerName+1), "service: longer than 256 bytes"},
		{"service=a&endpoint=b", "give service or endpoint, not both"},
		{"service=a&service=b", "service: give it once"},
		{"service=a%0Ab", "service: must be printable UTF-8"},
		{"service=%ff", "service: must be printable UTF-8"},
	} {
		for _, path := range []string{"/v1/health", "/v1/health/anthropic", "/v1/health/anthropic/claude-sonnet-4-5", "/v1/health/stream"} {
			resp, body := get(t, srv.URL+path+"?"+tc.query)
			require.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s?%s", path, tc.query)
			var e struct{ Error string }
			require.NoError(t, json.Unmarshal(body, &e))
			require.Equal(t, tc.err, e.Error)
		}
	}
	resp, _ := get(t, srv.URL+"/v1/health/anthropic/claude-sonnet-4-5?service="+strings.Repeat("a", maxCallerName))
	require.Equal(t, http.StatusOK, resp.StatusCode, "a long name within the bound is fine")
}

// Answers for callers without a local verdict are the plain ones: however many names clients
// send, the cache holds one answer for them.
func TestUnknownCallersDoNotGrowTheCache(t *testing.T) {
	t.Parallel()
	b, _ := localFixture()
	api := NewAPI(b, HTTPOptions{Now: func() time.Time { return t0 }})
	mux := http.NewServeMux()
	api.Register(mux)
	for i := range 100 {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/health/anthropic/claude-sonnet-4-5?service=svc-"+uitoa(uint64(i)), nil))
		require.Equal(t, http.StatusOK, rec.Code)
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/health/anthropic/claude-sonnet-4-5?service=batch-jobs", nil))
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	api.mu.Lock()
	defer api.mu.Unlock()
	require.Len(t, api.bodies, 2, "the plain answer and batch-jobs'")
}

func TestLongPollAsCallerWakesOnItsLocalVerdict(t *testing.T) {
	t.Parallel()
	b := NewBoard()
	waiting := waitingSignal(b)
	prov, model := st("anthropic", "", detectors.StateHealthy), st("anthropic", "claude-sonnet-4-5", detectors.StateHealthy)
	b.Update([]detectors.Status{prov, model}, []detectors.Transition{{Series: model.Series, To: detectors.StateHealthy}})
	srv := serve(t, b, time.Second)

	go func() {
		<-waiting // the long-poll is waiting: batch-jobs' calls begin to fail on their own
		m := model
		m.Local = []detectors.Status{localVerdict(model.Series, batchJobs, detectors.StateDown)}
		b.Update([]detectors.Status{prov, m}, []detectors.Transition{{Series: m.Local[0].Series, From: detectors.StateHealthy, To: detectors.StateDown, At: changeAt}})
	}()
	start := time.Now()
	resp, body := get(t, srv.URL+"/v1/health?service=batch-jobs&wait="+hangGuard.String()+"&after=1")
	require.Less(t, time.Since(start), hangGuard, "answered by the local verdict, before its wait ended")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var rep Report
	require.NoError(t, json.Unmarshal(body, &rep))
	require.EqualValues(t, 2, rep.Version)
	require.Equal(t, "down", rep.Providers[0].Models[0].State)
	require.Equal(t, "service:batch-jobs", rep.Providers[0].Models[0].Caller)
}

func TestStreamSendsLocalVerdictsApart(t *testing.T) {
	t.Parallel()
	b := NewBoard()
	prov, model := st("anthropic", "", detectors.StateHealthy), st("anthropic", "claude-sonnet-4-5", detectors.StateHealthy)
	b.Update([]detectors.Status{prov, model}, []detectors.Transition{{Series: model.Series, To: detectors.StateHealthy}})
	srv := serve(t, b, time.Hour)
	plain, stopPlain := openStream(t, srv.URL+"/v1/health/stream", "")
	defer stopPlain()
	mine, stopMine := openStream(t, srv.URL+"/v1/health/stream?service=batch-jobs", "")
	defer stopMine()
	other, stopOther := openStream(t, srv.URL+"/v1/health/stream?service=checkout", "")
	defer stopOther()
	for _, s := range []sseReader{plain, mine, other} {
		require.Equal(t, "snapshot", s.next(t).event)
	}

	m := model
	m.Local = []detectors.Status{localVerdict(model.Series, batchJobs, detectors.StateDown)}
	b.Update([]detectors.Status{prov, m}, []detectors.Transition{{Series: m.Local[0].Series, From: detectors.StateHealthy, To: detectors.StateDown, At: changeAt, Evidence: m.Local[0].Evidence}})

	for name, s := range map[string]sseReader{"plain": plain, "checkout": other} {
		ev := s.next(t)
		require.Equal(t, "local", ev.event, "%s: a local verdict is not the model changing state", name)
		require.Equal(t, "2", ev.id)
		var ch ChangeView
		require.NoError(t, json.Unmarshal([]byte(ev.data), &ch))
		require.Equal(t, "service:batch-jobs", ch.Caller)
		require.Equal(t, "down", ch.To)
	}
	ev := mine.next(t)
	require.Equal(t, "change", ev.event, "batch-jobs' stream: its own answer changed")
	var ch ChangeView
	require.NoError(t, json.Unmarshal([]byte(ev.data), &ch))
	require.Equal(t, "claude-sonnet-4-5", ch.Model)
	require.Equal(t, "service:batch-jobs", ch.Caller)
	require.Equal(t, "healthy", ch.From)
	require.Equal(t, "down", ch.To)
	require.False(t, ch.Usable)
	require.Equal(t, "service batch-jobs: 95% timeout errors since 14:07 UTC while the model's 2 other services are at their baseline: likely its own network, key or deploy", ch.Reason.Text)

	// The model's own latency degrades while batch-jobs' verdict holds: a change for everyone;
	// batch-jobs still cannot use it.
	m.State = detectors.StateDegraded
	b.Update([]detectors.Status{prov, m}, []detectors.Transition{{Series: m.Series, From: detectors.StateHealthy, To: detectors.StateDegraded, At: changeAt,
		Evidence: detectors.Evidence{Detector: detectors.DetectorLatency}}})
	for name, tc := range map[string]struct {
		s      sseReader
		usable bool
	}{"plain": {plain, true}, "checkout": {other, true}, "batch-jobs": {mine, false}} {
		ev := tc.s.next(t)
		require.Equal(t, "change", ev.event, name)
		ch = ChangeView{}
		require.NoError(t, json.Unmarshal([]byte(ev.data), &ch))
		require.Equal(t, "degraded", ch.To, name)
		require.Empty(t, ch.Caller, name)
		require.Equal(t, tc.usable, ch.Usable, name)
	}

	// The verdict widens: the model's own verdict takes it over.
	m.State, m.Local = detectors.StateDown, nil
	b.Update([]detectors.Status{prov, m}, []detectors.Transition{{Series: localVerdict(model.Series, batchJobs, 0).Series, From: detectors.StateDown, To: detectors.StateHealthy, At: changeAt,
		Evidence: detectors.Evidence{Detector: detectors.DetectorWidened}}})
	ev = mine.next(t)
	require.Equal(t, "change", ev.event)
	require.NoError(t, json.Unmarshal([]byte(ev.data), &ch))
	require.Equal(t, "healthy", ch.To)
	require.False(t, ch.Usable, "the model itself is down now")
	require.Equal(t, "widened", ch.Reason.Detector)
	require.Contains(t, ch.Reason.Text, "the model's own verdict took them over")
	require.Equal(t, "local", plain.next(t).event)
}

func TestLocalStateMetric(t *testing.T) {
	t.Parallel()
	b, _ := localFixture()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewCollector(b))
	want := `
# HELP outagewatch_health_local_state State of each local verdict (a caller, service:NAME or endpoint:HOST, failing on its own while the series' other callers are at their baseline) of a provider (model="") or model: 1 for the current state, 0 for the others.
# TYPE outagewatch_health_local_state gauge
outagewatch_health_local_state{caller="endpoint:eu.api.example.com",model="",provider="anthropic",state="degraded"} 1
outagewatch_health_local_state{caller="endpoint:eu.api.example.com",model="",provider="anthropic",state="down"} 0
outagewatch_health_local_state{caller="endpoint:eu.api.example.com",model="",provider="anthropic",state="healthy"} 0
outagewatch_health_local_state{caller="endpoint:eu.api.example.com",model="",provider="anthropic",state="unknown"} 0
outagewatch_health_local_state{caller="service:batch-jobs",model="claude-sonnet-4-5",provider="anthropic",state="degraded"} 0
outagewatch_health_local_state{caller="service:batch-jobs",model="claude-sonnet-4-5",provider="anthropic",state="down"} 1
outagewatch_health_local_state{caller="service:batch-jobs",model="claude-sonnet-4-5",provider="anthropic",state="healthy"} 0
outagewatch_health_local_state{caller="service:batch-jobs",model="claude-sonnet-4-5",provider="anthropic",state="unknown"} 0
`
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(want), "outagewatch_health_local_state"))
	require.Equal(t, (2+2)*4, testutil.CollectAndCount(NewCollector(b)), "two series and two local verdicts")
}
