package ingest

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/health"
)

// The scrape's targets at the default series limits (issue 20, docs/operations.md "Scraping at
// full size"): BenchmarkScrapeFullSize reports them beside what it measured, so that a run
// shows at once whether /metrics is still cheap. They are not asserted: a timed unit test would
// fail on a loaded machine.
const (
	scrapeTargetNs    = 50e6
	scrapeTargetBytes = 32 << 20
)

// fullSizeAcceptHeader is what a Prometheus server without native histograms sends.
const fullSizeAcceptHeader = "application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"

// prometheus3AcceptHeader is what Prometheus 3 asks for by default (scrape_protocols
// OpenMetricsText1.0.0, OpenMetricsText0.0.1, PrometheusText1.0.0, PrometheusText0.0.4).
const prometheus3AcceptHeader = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1"

// fullSizeRegistry is a registry as cmd/watcher assembles it for what grows with the series:
// the Go and process collectors, ingest's metrics and the board's collectors, with the default
// limits filled (32 providers of 64 models). Every series has seen a call of every outcome and
// every error class (each label combination that traffic creates exists), an observed duration
// and time to first token; every provider and model is on the board, and every 256th model has
// two local verdicts.
func fullSizeRegistry(tb testing.TB) *prometheus.Registry {
	tb.Helper()
	reg, _ := fullSizeRegistryMetrics(tb)
	return reg
}

// fullSizeRegistryMetrics is fullSizeRegistry, with ingest's metrics in it.
func fullSizeRegistryMetrics(tb testing.TB) (*prometheus.Registry, *metrics) {
	tb.Helper()
	reg, m, _ := fullSizeRegistryBoard(tb)
	return reg, m
}

// fullSizeRegistryBoard is fullSizeRegistry, with ingest's metrics and the board in it.
func fullSizeRegistryBoard(tb testing.TB) (*prometheus.Registry, *metrics, *health.Board) {
	tb.Helper()
	cfg := DefaultConfig()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	p, err := NewPipeline(cfg, ConsumerFunc(func([]detectors.Call) {}), reg, slog.New(slog.NewTextHandler(io.Discard, nil)), PipelineOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	board := health.NewBoard()
	tb.Cleanup(board.Close)
	reg.MustRegister(health.NewCollector(board), health.NewVersionGauge(board))
	var statuses []detectors.Status
	since := time.Unix(1_782_000_000, 0)
	for i := range cfg.MaxProviders {
		provider := fmt.Sprintf("provider-%02d", i)
		statuses = append(statuses, detectors.Status{Series: detectors.SeriesKey{Provider: provider}, State: detectors.StateHealthy, Since: since})
		for j := range cfg.MaxModelsPerProvider {
			model := fmt.Sprintf("model-%02d-%02d-2026-01-01", i, j)
			fillSeries(p.metrics, provider, model)
			s := detectors.Status{Series: detectors.SeriesKey{Provider: provider, Model: model}, State: detectors.StateHealthy, Since: since}
			if n := i*cfg.MaxModelsPerProvider + j; n%256 == 7 {
				s.State = detectors.StateDegraded
				for _, c := range []string{"batch-jobs", "eu-web"} {
					s.Local = append(s.Local, detectors.Status{
						Series: detectors.SeriesKey{Provider: provider, Model: model, Caller: detectors.Caller{Kind: detectors.CallerService, Name: c}},
						State:  detectors.StateDown, Since: since,
					})
				}
			}
			statuses = append(statuses, s)
		}
	}
	board.Update(statuses, nil)
	return reg, p.metrics, board
}

// fillSeries counts one call of every outcome and error class for a series (errors and
// truncated calls of every class), streamed, with a duration and a time to first token.
func fillSeries(m *metrics, provider, model string) {
	call := func(o detectors.Outcome, cl detectors.ErrorClass) {
		c := detectors.Call{Provider: provider, Model: model, Outcome: o, ErrorClass: cl,
			Duration: 1200 * time.Millisecond, TTFT: 300 * time.Millisecond, Streaming: true}
		m.countCall(&c)
	}
	for _, o := range detectors.Outcomes() {
		if o != detectors.OutcomeError {
			call(o, detectors.ClassNone)
		}
	}
	// Truncated calls carry the class of their cut when it is known (ingest/assemble).
	for _, cl := range detectors.ErrorClasses() {
		call(detectors.OutcomeError, cl)
		call(detectors.OutcomeTruncated, cl)
	}
}

// countingWriter is a ResponseWriter that keeps only the number of bytes and lines written.
type countingWriter struct {
	header       http.Header
	bytes, lines int
}

func (w *countingWriter) Header() http.Header { return w.header }
func (w *countingWriter) WriteHeader(int)     {}
func (w *countingWriter) Write(p []byte) (int, error) {
	w.bytes += len(p)
	w.lines += bytes.Count(p, []byte{'\n'})
	return len(p), nil
}

// BenchmarkScrapeFullSize scrapes the full-size registry through the Pipeline's MetricsHandler,
// with the board's state families, as /metrics serves it, as a Prometheus server asks:
// OpenMetrics text, plain and gzipped. In
// the "moving" runs every series counts one more call (and latencies) between two scrapes, the
// worst case for what is kept between scrapes; the counting is not timed. It reports the body's
// size and lines, the process's CPU time per scrape (on a loaded machine the wall time per
// scrape also holds other processes' turns), and the targets beside ns/op and B/op.
//
//	go test -run '^$' -bench ScrapeFullSize -benchmem ./ingest/
func BenchmarkScrapeFullSize(b *testing.B) {
	reg, m, board := fullSizeRegistryBoard(b)
	p := &Pipeline{metrics: m}
	h := p.MetricsHandler(reg, health.StateFamilies(board, reg))
	for _, run := range []struct {
		name, enc string
		moving    bool
	}{{"identity", "identity", false}, {"gzip", "gzip", false}, {"identity-moving", "identity", true}, {"gzip-moving", "gzip", true}} {
		b.Run(run.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
			req.Header.Set("Accept", fullSizeAcceptHeader)
			req.Header.Set("Accept-Encoding", run.enc)
			var w *countingWriter
			var cpu time.Duration
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if run.moving {
					b.StopTimer()
					countEverySeries(m)
					b.StartTimer()
				}
				w = &countingWriter{header: http.Header{}}
				before := processCPU()
				h.ServeHTTP(w, req)
				cpu += processCPU() - before
			}
			b.StopTimer()
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(w.bytes), "body-bytes")
			if run.enc == "identity" {
				b.ReportMetric(float64(w.lines), "lines")
			}
			b.ReportMetric(scrapeTargetNs, "target-ns/op")
			b.ReportMetric(scrapeTargetBytes, "target-B/op")
		})
	}
}

// countEverySeries counts one successful streamed call in every series m has seen.
func countEverySeries(m *metrics) {
	for k := range m.seen {
		c := detectors.Call{Provider: k[0], Model: k[1], Outcome: detectors.OutcomeOK, Duration: time.Second, TTFT: 200 * time.Millisecond, Streaming: true}
		m.countCall(&c)
	}
}

// processCPU returns the CPU time the process has used, user and system, all threads.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// scrapeFullSize returns the identity body of one scrape of reg, as /metrics serves it.
func scrapeFullSize(tb testing.TB, reg *prometheus.Registry, accept string) []byte {
	tb.Helper()
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg, EnableOpenMetrics: true})
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("Accept", accept)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		tb.Fatalf("scrape: %d %s", rec.Code, rec.Body)
	}
	if rec.Header().Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(rec.Body)
		if err != nil {
			tb.Fatal(err)
		}
		body, err := io.ReadAll(zr)
		if err != nil {
			tb.Fatal(err)
		}
		return body
	}
	return rec.Body.Bytes()
}
