package health

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/detectors"
)

var t0 = time.Date(2026, 6, 20, 14, 0, 0, 0, time.UTC)

func st(provider, model string, s detectors.State) detectors.Status {
	return detectors.Status{
		Series: detectors.SeriesKey{Provider: provider, Model: model}, State: s, Since: t0,
		Evidence: detectors.Evidence{Detector: detectors.DetectorErrorDown, Observed: 0.9, Baseline: 0.01, SampleSize: 40,
			Classes: []detectors.ClassCount{{Class: detectors.ClassOverloaded, Count: 36}}, SampleError: "529 overloaded"},
		Baseline: detectors.BaselineSource{From: detectors.BaselineOwn, Calls: 1000},
		Figures:  detectors.Figures{CallRate: 5, ErrorRate: 0.9, LatencyP95: 2 * time.Second, Calls: 1000},
	}
}

// fresh makes s a new series judged on its provider's baselines.
func fresh(s detectors.Status) detectors.Status {
	s.Baseline = detectors.BaselineSource{From: detectors.BaselineProvider, Calls: 12}
	return s
}

// fixture is a board with two providers; bedrock's model name has dots and a colon, gemini's a
// slash.
func fixture() (*Board, []detectors.Status) {
	b := NewBoard()
	statuses := []detectors.Status{
		st("anthropic", "", detectors.StateDegraded),
		fresh(st("anthropic", "claude-haiku", detectors.StateUnknown)),
		st("anthropic", "claude-sonnet-4-5", detectors.StateDown),
		st("aws.bedrock", "", detectors.StateHealthy),
		st("aws.bedrock", "anthropic.claude-3-5-sonnet-20240620-v1:0", detectors.StateHealthy),
		st("gcp.gemini", "", detectors.StateHealthy),
		st("gcp.gemini", "models/gemini-2.5-flash", detectors.StateDegraded),
	}
	b.Update(statuses, []detectors.Transition{{Series: statuses[2].Series, From: detectors.StateHealthy, To: detectors.StateDown, At: t0}})
	return b, statuses
}

// waitingSignal makes b report, on the returned channel, each time a Wait is about to block
// (a long-poll is waiting). Call it before b is shared.
func waitingSignal(b *Board) <-chan struct{} {
	ch := make(chan struct{}, 16)
	b.testHookWaiting = func() {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	return ch
}

func serve(tb testing.TB, b *Board, heartbeat time.Duration) *httptest.Server {
	tb.Helper()
	mux := http.NewServeMux()
	NewAPI(b, HTTPOptions{Heartbeat: heartbeat, Now: func() time.Time { return t0 }}).Register(mux)
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	return srv
}

func get(tb testing.TB, url string, header ...string) (*http.Response, []byte) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(tb, err)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(tb, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(tb, err)
	return resp, body
}

func TestList(t *testing.T) {
	t.Parallel()
	b, _ := fixture()
	srv := serve(t, b, time.Second)
	resp, body := get(t, srv.URL+"/v1/health")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, `W/"1"`, resp.Header.Get("ETag"))
	var rep Report
	require.NoError(t, json.Unmarshal(body, &rep))
	require.EqualValues(t, 1, rep.Version)
	require.Len(t, rep.Providers, 3)
	a := rep.Providers[0]
	require.Equal(t, "anthropic", a.Provider)
	require.Equal(t, "degraded", a.State)
	require.True(t, a.Usable)
	require.Len(t, a.Models, 2)
	require.Equal(t, "degraded", a.Models[0].State, "an unknown model takes its degraded provider's state")
	require.Equal(t, "down", a.Models[1].State)
	require.False(t, a.Models[1].Usable)
	require.Equal(t, "error_rate_down", a.Models[1].Reasons[0].Detector)
	require.Equal(t, "overloaded", a.Models[1].Reasons[0].Classes[0].Class)
	require.InDelta(t, 2.0, a.Models[1].Figures.LatencyP95Seconds, 1e-9)
	require.Equal(t, BaselineView{From: "provider", Calls: 12}, a.Models[0].Baseline, "how sure: a new model on its provider's baselines")
	require.Equal(t, BaselineView{From: "own", Calls: 1000}, a.Models[1].Baseline)
	require.Equal(t, BaselineView{From: "own", Calls: 1000}, a.Baseline)

	resp, _ = get(t, srv.URL+"/v1/health", "If-None-Match", `W/"1"`)
	require.Equal(t, http.StatusNotModified, resp.StatusCode)
	_, body = get(t, srv.URL+"/v1/health?fail_degraded=1")
	require.NoError(t, json.Unmarshal(body, &rep))
	require.False(t, rep.Providers[0].Usable)
}

func TestSeriesEndpoints(t *testing.T) {
	t.Parallel()
	b, _ := fixture()
	srv := serve(t, b, time.Second)
	for _, tc := range []struct {
		path string
		code int
	}{
		{"/v1/health/anthropic", http.StatusOK},
		{"/v1/health/anthropic?fail_degraded=1", http.StatusServiceUnavailable},
		{"/v1/health/anthropic/claude-sonnet-4-5", http.StatusServiceUnavailable},
		{"/v1/health/anthropic/claude-haiku", http.StatusOK},
		{"/v1/health/anthropic/claude-haiku?fail_degraded=true", http.StatusServiceUnavailable},
		{"/v1/health/aws.bedrock", http.StatusOK},
		{"/v1/health/aws.bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0", http.StatusOK},
		{"/v1/health/gcp.gemini/models/gemini-2.5-flash", http.StatusOK},
		{"/v1/health/gcp.gemini/models%2Fgemini-2.5-flash", http.StatusOK},
		{"/v1/health/gcp.gemini/models/gemini-2.5-flash?fail_degraded=1", http.StatusServiceUnavailable},
		{"/v1/health/openai", http.StatusNotFound},
		{"/v1/health/openai?fail_unknown=1", http.StatusServiceUnavailable},
		{"/v1/health/anthropic/nope", http.StatusNotFound},
	} {
		resp, body := get(t, srv.URL+tc.path)
		require.Equal(t, tc.code, resp.StatusCode, "%s: %s", tc.path, body)
		require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	}
	_, body := get(t, srv.URL+"/v1/health/gcp.gemini/models/gemini-2.5-flash")
	var mv struct {
		Version  uint64 `json:"version"`
		Provider string `json:"provider"`
		ModelView
	}
	require.NoError(t, json.Unmarshal(body, &mv))
	require.Equal(t, "models/gemini-2.5-flash", mv.Model)
	require.Equal(t, "gcp.gemini", mv.Provider)
	require.Equal(t, "degraded", mv.State)
}

func TestLongPoll(t *testing.T) {
	t.Parallel()
	b, statuses := fixture()
	waiting := waitingSignal(b)
	srv := serve(t, b, time.Second)

	start := time.Now()
	resp, _ := get(t, srv.URL+"/v1/health?wait=150ms&after=1")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.GreaterOrEqual(t, time.Since(start), 150*time.Millisecond, "waits while nothing changes")
	require.Equal(t, `W/"1"`, resp.Header.Get("ETag"))
	waitFor(t, waiting, "the timed-out long-poll's wait") // drained, so that the next signal is the next long-poll's

	go func() {
		<-waiting // the long-poll below is waiting: change under it
		statuses[2].State = detectors.StateDegraded
		b.Update(statuses, []detectors.Transition{{Series: statuses[2].Series, From: detectors.StateDown, To: detectors.StateDegraded}})
	}()
	start = time.Now()
	resp, body := get(t, srv.URL+"/v1/health?wait="+hangGuard.String()+"&after=1")
	require.Less(t, time.Since(start), hangGuard, "answered by the change, before its wait ended")
	var rep Report
	require.NoError(t, json.Unmarshal(body, &rep))
	require.EqualValues(t, 2, rep.Version)
	require.Equal(t, "degraded", rep.Providers[0].Models[1].State)
	require.Equal(t, `W/"2"`, resp.Header.Get("ETag"))

	resp, _ = get(t, srv.URL+"/v1/health?wait=1s&after=1")
	require.Equal(t, http.StatusOK, resp.StatusCode, "already past: answers at once")
	resp, _ = get(t, srv.URL+"/v1/health?wait=banana")
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
}

// sseReader reads events from a stream.
type sseReader struct{ r *bufio.Reader }

type sseEvent struct{ id, event, data string }

func (s sseReader) next(tb testing.TB) sseEvent {
	tb.Helper()
	var ev sseEvent
	for {
		line, err := s.r.ReadString('\n')
		require.NoError(tb, err)
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "":
			if ev.event != "" || ev.data != "" || ev.id != "" {
				return ev
			}
		case strings.HasPrefix(line, ":"):
			ev.event = "heartbeat"
		case strings.HasPrefix(line, "id: "):
			ev.id = line[4:]
		case strings.HasPrefix(line, "event: "):
			ev.event = line[7:]
		case strings.HasPrefix(line, "data: "):
			ev.data = line[6:]
		}
		if ev.event == "heartbeat" {
			return ev
		}
	}
}

func openStream(tb testing.TB, url, lastID string) (sseReader, func()) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	require.NoError(tb, err)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(tb, err)
	require.Equal(tb, "text/event-stream", resp.Header.Get("Content-Type"))
	return sseReader{bufio.NewReader(resp.Body)}, func() { cancel(); resp.Body.Close() }
}

func TestStream(t *testing.T) {
	t.Parallel()
	b, statuses := fixture()
	srv := serve(t, b, 100*time.Millisecond)
	s, stop := openStream(t, srv.URL+"/v1/health/stream", "")
	defer stop()
	ev := s.next(t)
	require.Equal(t, "snapshot", ev.event)
	require.Equal(t, "1", ev.id)
	var rep Report
	require.NoError(t, json.Unmarshal([]byte(ev.data), &rep))
	require.Len(t, rep.Providers, 3)

	require.Equal(t, "heartbeat", s.next(t).event)

	statuses[2].State = detectors.StateDegraded
	b.Update(statuses, []detectors.Transition{{Series: statuses[2].Series, From: detectors.StateDown, To: detectors.StateDegraded, At: t0,
		Evidence: detectors.Evidence{Detector: detectors.DetectorRecovery}}})
	for ev = s.next(t); ev.event == "heartbeat"; ev = s.next(t) {
	}
	require.Equal(t, "change", ev.event)
	require.Equal(t, "2", ev.id)
	var ch ChangeView
	require.NoError(t, json.Unmarshal([]byte(ev.data), &ch))
	require.Equal(t, "claude-sonnet-4-5", ch.Model)
	require.Equal(t, "down", ch.From)
	require.Equal(t, "degraded", ch.To)
	require.True(t, ch.Usable)
	require.Equal(t, "recovery", ch.Reason.Detector)
	stop()

	// Two changes happen while the client is away; it resumes from the last id it saw.
	statuses[3].State = detectors.StateDown
	b.Update(statuses, []detectors.Transition{{Series: statuses[3].Series, From: detectors.StateHealthy, To: detectors.StateDown}})
	statuses[3].State = detectors.StateDegraded
	b.Update(statuses, []detectors.Transition{{Series: statuses[3].Series, From: detectors.StateDown, To: detectors.StateDegraded}})
	s2, stop2 := openStream(t, srv.URL+"/v1/health/stream", "2")
	defer stop2()
	first, second := s2.next(t), s2.next(t)
	require.Equal(t, []string{"change", "change"}, []string{first.event, second.event})
	require.Equal(t, []string{"3", "4"}, []string{first.id, second.id})

	// An id too old or from another life of the daemon gets a fresh snapshot.
	s3, stop3 := openStream(t, srv.URL+"/v1/health/stream", "999")
	defer stop3()
	require.Equal(t, "snapshot", s3.next(t).event)
}
