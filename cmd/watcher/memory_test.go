package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/health"
	"github.com/outagewatch/outagewatch/ingest"
	"github.com/outagewatch/outagewatch/internal/spangen"
	"github.com/outagewatch/outagewatch/statuspage"
)

var heapProfile = flag.String("memory.heapprofile", "", "write the heap profile of the daemon at 10,000 series to this file (BenchmarkMemory10000Series)")

// BenchmarkMemory10000Series measures the daemon's heap with 10,000 (provider, model) series,
// each with its detector state, metric children, board entry and status-page history, against
// the same daemon before its first call. /metrics is scraped before measuring, as Prometheus
// would: a native histogram's first scrape doubles its sparse buckets (hot and cold). The body
// measures once whatever b.N is: run it with -benchtime 1x; -memory.heapprofile writes where the
// heap goes.
func BenchmarkMemory10000Series(b *testing.B) {
	load := seriesLoad{providers: 100, models: 100, calls: 30, perRequest: 2000}
	series := load.providers * load.models
	// "other" counts towards the caps, so 100 providers of 100 models need caps of 101.
	cfg := filepath.Join(b.TempDir(), "watcher.yaml")
	caps := fmt.Sprintf("ingest:\n  max_providers: %d\n  max_models_per_provider: %d\n", load.providers+1, load.models+1)
	require.NoError(b, os.WriteFile(cfg, []byte(caps), 0o600))
	a, _ := startWatcher(b, "-config", cfg)
	api := "http://" + a.apiAddr()

	empty := memStats()
	start := time.Now()
	sent := load.send(b, "http://"+a.ingest.HTTPAddr()+ingest.TracesPath)
	sentIn := time.Since(start)
	waitForCalls(b, api, series, sent)
	b.Logf("sent %d calls in %v; the board had them all %v later", sent, sentIn.Round(time.Millisecond), (time.Since(start) - sentIn).Round(time.Millisecond))
	// The status page samples the board every 10 s: wait for the sample that has every series.
	kept := min(series+load.providers, statuspage.MaxSeries)
	require.Eventually(b, func() bool { n, _ := a.history.Len(); return n == kept }, 2*a.history.Every(), 100*time.Millisecond)
	logBreakdown(b, a, api, series)

	full := memStats()
	perSeries := float64(full.HeapInuse-empty.HeapInuse) / float64(series)
	b.ReportMetric(mb(full.HeapInuse), "MB-heap-inuse")
	b.ReportMetric(perSeries/1024, "KB-heap/series")
	b.ReportMetric(mb(full.Sys), "MB-sys")
	b.Logf("without series: heap in use %.1f MB, heap alloc %.1f MB, sys %.1f MB", mb(empty.HeapInuse), mb(empty.HeapAlloc), mb(empty.Sys))
	b.Logf("with %d series: heap in use %.1f MB, heap alloc %.1f MB, sys %.1f MB (heap kept from the OS %.1f MB); %.2f KB/series in use, %.2f KB/series allocated",
		series, mb(full.HeapInuse), mb(full.HeapAlloc), mb(full.Sys), mb(full.HeapSys-full.HeapReleased), perSeries/1024, float64(full.HeapAlloc-empty.HeapAlloc)/float64(series)/1024)
	writeHeapProfile(b, *heapProfile)

	// A series' status-page ring starts small and grows to an hour of samples: sample as an hour
	// would have, for the steady state.
	now := time.Now()
	for i := 1; i <= int(a.history.Keep()/a.history.Every()); i++ {
		a.history.Sample(now.Add(time.Duration(i) * a.history.Every()))
	}
	hour := memStats()
	b.ReportMetric(mb(hour.HeapInuse), "MB-heap-inuse-1h")
	b.Logf("after an hour of status-page samples: heap in use %.1f MB (+%.1f MB)", mb(hour.HeapInuse), mb(hour.HeapInuse)-mb(full.HeapInuse))
}

// TestMemoryBoundedBeyondCaps sends calls of 200 providers × 200 models to a daemon with the
// default caps (32 × 64): what is beyond them folds into "other", in the metrics and on the board.
// It takes about a second, but 5 s of CPU under -race (2,048 series to scrape, snapshot and
// encode whatever the input), up to 20 s on a loaded 2-core machine: -short skips it, and the
// full-size run without -race keeps it.
func TestMemoryBoundedBeyondCaps(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: 5 s of CPU under -race; CI runs it in the full-size run")
	}
	t.Parallel()
	a, _ := startWatcher(t)
	api := "http://" + a.apiAddr()
	load := seriesLoad{providers: 200, models: 200, calls: 1, perRequest: 5000}
	sent := load.send(t, "http://"+a.ingest.HTTPAddr()+ingest.TracesPath)
	maxSeries := a.cfg.Ingest.MaxProviders * a.cfg.Ingest.MaxModelsPerProvider

	rep := waitForCalls(t, api, -1, sent)
	require.LessOrEqual(t, rep.models, maxSeries)
	require.LessOrEqual(t, len(rep.Providers), a.cfg.Ingest.MaxProviders)
	// The metrics count a call before the board sees it: they have every call now.
	pairs, total := callSeries(string(fetch(t, api+"/metrics")))
	require.Equal(t, float64(sent), total)
	require.LessOrEqual(t, len(pairs), maxSeries)
	require.True(t, pairs[[2]string{detectors.OtherProvider, detectors.OtherModel}], "calls beyond the caps fold into other/other")
	series, skipped := a.history.Len()
	require.LessOrEqual(t, series, maxSeries+a.cfg.Ingest.MaxProviders)
	require.Zero(t, skipped)
}

// seriesLoad describes the calls sent to the daemon: for each of providers × models series,
// calls of them, in OTLP/HTTP protobuf requests of perRequest spans. They go in rounds (every
// series gets its first call before any gets its second), as from many independent clients.
// Models of even index stream; about one call in 20 fails.
type seriesLoad struct {
	providers, models, calls, perRequest int
}

// send posts the load to url, retrying while the daemon's queue is full, and returns the number
// of calls sent. The calls of round r end about (calls-r) seconds before now.
func (l seriesLoad) send(tb testing.TB, url string) int {
	tb.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	providers, models := names("provider", l.providers), names("model", l.models)
	now := time.Now()
	td, spans := newRequest()
	n := 0
	for r := range l.calls {
		end := now.Add(-time.Duration(l.calls-r) * time.Second)
		for p := range l.providers {
			for m := range l.models {
				llmSpan(spans.AppendEmpty(), rng, providers[p], models[m], m%2 == 0, end.Add(time.Duration(rng.IntN(1000))*time.Millisecond), (p+m+r)%20 == 7)
				if n++; spans.Len() == l.perRequest {
					post(tb, url, spangen.MarshalProto(td))
					td, spans = newRequest()
				}
			}
		}
	}
	if spans.Len() > 0 {
		post(tb, url, spangen.MarshalProto(td))
	}
	return n
}

// names returns prefix-000, prefix-001… n of them.
func names(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%03d", prefix, i)
	}
	return out
}

func newRequest() (ptrace.Traces, ptrace.SpanSlice) {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "memory-bench")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("outagewatch/memory-test")
	return td, ss.Spans()
}

// llmSpan fills s as a chat call of the GenAI semantic conventions. A failed call is overloaded
// or rate limited, before its first chunk when it streams.
func llmSpan(s ptrace.Span, rng *rand.Rand, provider, model string, stream bool, end time.Time, failed bool) {
	var tid pcommon.TraceID
	var sid pcommon.SpanID
	binary.LittleEndian.PutUint64(tid[:8], rng.Uint64()|1) // non-zero
	binary.LittleEndian.PutUint64(tid[8:], rng.Uint64())
	binary.LittleEndian.PutUint64(sid[:], rng.Uint64()|1)
	dur := time.Duration(500+rng.IntN(4000)) * time.Millisecond
	s.SetName("chat " + model)
	s.SetKind(ptrace.SpanKindClient)
	s.SetTraceID(tid)
	s.SetSpanID(sid)
	s.SetStartTimestamp(pcommon.NewTimestampFromTime(end.Add(-dur)))
	s.SetEndTimestamp(pcommon.NewTimestampFromTime(end))
	a := s.Attributes()
	a.PutStr("gen_ai.operation.name", "chat")
	a.PutStr("gen_ai.provider.name", provider)
	a.PutStr("gen_ai.request.model", model)
	if stream {
		a.PutBool("gen_ai.request.stream", true)
	}
	if failed {
		typ, msg := "OverloadedError", "Error code: 529 - overloaded_error"
		if rng.IntN(2) == 0 {
			typ, msg = "RateLimitError", "Error code: 429 - rate_limit_error"
		}
		a.PutStr("error.type", typ)
		s.Status().SetCode(ptrace.StatusCodeError)
		s.Status().SetMessage(msg)
		return
	}
	if stream {
		a.PutDouble("gen_ai.response.time_to_first_chunk", float64(200+rng.IntN(600))/1000)
	}
	a.PutEmptySlice("gen_ai.response.finish_reasons").AppendEmpty().SetStr("stop")
	a.PutInt("gen_ai.usage.input_tokens", int64(100+rng.IntN(2000)))
	a.PutInt("gen_ai.usage.output_tokens", int64(20+rng.IntN(500)))
}

// post sends one OTLP/HTTP protobuf request, retrying while the daemon answers 503 (queue full).
func post(tb testing.TB, url string, body []byte) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Post(url, "application/x-protobuf", bytes.NewReader(body))
		require.NoError(tb, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || time.Now().After(deadline) {
			require.Equal(tb, http.StatusOK, resp.StatusCode)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func fetch(tb testing.TB, url string) []byte {
	tb.Helper()
	b, err := tryFetch(url)
	require.NoError(tb, err)
	return b
}

// tryFetch GETs url and returns its body, or an error unless the answer is 200; conditions of
// require.Eventually use it, since they run on another goroutine and must not fail the test.
func tryFetch(url string) ([]byte, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	// Uncompressed: gzip would cost more than the loopback saves, several seconds under -race.
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("get %s: %s", url, resp.Status)
	}
	return b, err
}

// boardReport is a /v1/health answer with its number of models.
type boardReport struct {
	health.Report
	models int
}

// waitForCalls polls /v1/health until the models' call counts add up to calls and, unless
// models is negative, there are that many models. It returns the last answer.
func waitForCalls(tb testing.TB, api string, models, calls int) boardReport {
	tb.Helper()
	var rep boardReport
	require.Eventually(tb, func() bool {
		body, err := tryFetch(api + "/v1/health")
		rep = boardReport{}
		if err != nil || json.Unmarshal(body, &rep.Report) != nil {
			return false
		}
		total := uint64(0)
		for _, p := range rep.Providers {
			rep.models += len(p.Models)
			for _, m := range p.Models {
				total += m.Figures.Calls
			}
		}
		return total == uint64(calls) && (models < 0 || rep.models == models)
	}, 60*time.Second, 250*time.Millisecond, "the board has every call")
	return rep
}

// callSeries returns the distinct (provider, model) pairs of outagewatch_calls_total in a text
// exposition, and the sum of its counters. Label values are read up to the next quote: the names
// of this test have none to escape.
func callSeries(exposition string) (map[[2]string]bool, float64) {
	pairs := map[[2]string]bool{}
	total := 0.0
	for line := range strings.Lines(exposition) {
		rest, ok := strings.CutPrefix(line, "outagewatch_calls_total{")
		if !ok {
			continue
		}
		labels, value, _ := strings.Cut(rest, "} ")
		pairs[[2]string{labelValue(labels, "provider"), labelValue(labels, "model")}] = true
		v, _ := strconv.ParseFloat(strings.TrimSpace(value), 64)
		total += v
	}
	return pairs, total
}

func labelValue(labels, name string) string {
	for kv := range strings.SplitSeq(labels, ",") {
		if v, ok := strings.CutPrefix(kv, name+"=\""); ok {
			return strings.TrimSuffix(v, "\"")
		}
	}
	return ""
}

// memStats returns the memory statistics after collecting all garbage (twice, so that sync.Pools
// are emptied too) and returning free memory to the OS.
func memStats() runtime.MemStats {
	runtime.GC()
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms
}

func mb(n uint64) float64 { return float64(n) / (1 << 20) }

func writeHeapProfile(tb testing.TB, path string) {
	tb.Helper()
	if path == "" {
		return
	}
	f, err := os.Create(path)
	require.NoError(tb, err)
	defer f.Close()
	require.NoError(tb, pprof.Lookup("heap").WriteTo(f, 0))
}

// logBreakdown logs what holds the series: the status-page history, the metrics exposition and
// the health API's answer (whose encoded body the API keeps until the board moves and it is asked
// again). It checks that the caps were raised: every series has its metrics, none is "other".
func logBreakdown(tb testing.TB, a *app, api string, series int) {
	tb.Helper()
	kept, skipped := a.history.Len()
	tb.Logf("status-page history: %d series kept (at most %d), %d samples refused", kept, statuspage.MaxSeries, skipped)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	exposition := string(fetch(tb, api+"/metrics"))
	runtime.ReadMemStats(&after)
	pairs, _ := callSeries(exposition)
	require.Len(tb, pairs, series)
	require.False(tb, pairs[[2]string{detectors.OtherProvider, detectors.OtherModel}])
	families, samples := 0, 0
	for _, line := range strings.Split(exposition, "\n") {
		switch {
		case strings.HasPrefix(line, "# TYPE "):
			families++
		case line != "" && !strings.HasPrefix(line, "#"):
			samples++
		}
	}
	tb.Logf("/metrics: %d families, %d samples, %.1f MB, %.0f MB allocated by one scrape (daemon and client); /v1/health: %.1f MB",
		families, samples, mb(uint64(len(exposition))), mb(after.TotalAlloc-before.TotalAlloc), mb(uint64(len(fetch(tb, api+"/v1/health")))))
}
