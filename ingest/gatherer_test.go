package ingest

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/health"
)

// TestGathererServesTheRegistrysExposition scrapes the full-size registry through the registry
// (as /metrics did before) and through the Pipeline's Gatherer with the board's state
// families, in every format Prometheus asks for, before and after every series moved and
// states changed, and requires the same bytes (but for the Go and process collectors'
// families, which move between two scrapes).
func TestGathererServesTheRegistrysExposition(t *testing.T) {
	t.Parallel()
	reg, m, board := fullSizeRegistryBoard(t)
	p := &Pipeline{metrics: m}
	old := promhttp.HandlerFor(reg, promhttp.HandlerOpts{EnableOpenMetrics: true})
	// The handler registers its error counter in reg: the registry's exposition has it too.
	direct := p.MetricsHandler(reg, health.StateFamilies(board, reg))
	for _, moved := range []bool{false, true} {
		if moved {
			countEverySeries(m)
			moveBoard(board)
		}
		for _, accept := range []string{
			fullSizeAcceptHeader,
			prometheus3AcceptHeader,
			"application/openmetrics-text;version=2.0.0",
			"application/openmetrics-text;version=1.0.0;escaping=underscores",
			"text/plain;version=0.0.4",
			"text/plain;version=0.0.4;escaping=allow-utf-8",
			"",
			string(expfmt.NewFormat(expfmt.TypeProtoDelim)),
		} {
			// The registry's path: the series collector and a board collector collect again.
			m.series.direct.Store(false)
			require.True(t, reg.Unregister(health.NewCollector(board)))
			reg.MustRegister(health.NewCollector(board))
			want := stableExposition(t, old, accept, "")
			m.series.direct.Store(true)
			health.StateFamilies(board, reg)
			require.Greater(t, len(want), 1<<20, "a full-size exposition")
			for _, name := range []string{"outagewatch_health_state", "outagewatch_health_local_state"} {
				require.True(t, bytes.Contains(want, []byte(name)), "moved %v, Accept: %s: %s in the exposition", moved, accept, name)
			}
			require.Equal(t, responseHeader(old, accept, "Content-Type"), responseHeader(direct, accept, "Content-Type"), accept)
			for _, enc := range []string{"", "gzip"} {
				got := stableExposition(t, direct, accept, enc)
				require.True(t, bytes.Equal(want, got), "moved %v, Accept: %s, Accept-Encoding: %s: the Gatherer's exposition differs from the registry's", moved, accept, enc)
			}
		}
	}
	// The registry alone no longer sends the families the Gatherer serves.
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range mfs {
		require.NotContains(t, []string{"outagewatch_calls_total", "outagewatch_health_state", "outagewatch_health_local_state"}, f.GetName())
	}
}

// moveBoard changes states on board: every 100th series goes down, and every 300th model
// gains a local verdict.
func moveBoard(board *health.Board) {
	_, statuses := board.Snapshot()
	statuses = slices.Clone(statuses)
	for i := range statuses {
		s := &statuses[i]
		if i%100 == 3 {
			s.State = detectors.StateDown
		}
		if i%300 == 5 && s.Series.Model != "" {
			s.Local = append(slices.Clone(s.Local), detectors.Status{
				Series: detectors.SeriesKey{Provider: s.Series.Provider, Model: s.Series.Model, Caller: detectors.Caller{Kind: detectors.CallerService, Name: "moved"}},
				State:  detectors.StateDegraded, Since: s.Since,
			})
		}
	}
	board.Update(statuses, nil)
}

// TestGathererWithoutSeries: before the first call the per-series families are left out, as
// the registry leaves out families without a metric.
func TestGathererWithoutSeries(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	p := &Pipeline{metrics: &metrics{series: newSeriesCollector()}}
	reg.MustRegister(p.metrics.series)
	mfs, done, err := p.Gatherer(reg).Gather()
	defer done()
	require.NoError(t, err)
	require.Empty(t, mfs)
}

// responseHeader returns h's response header name for accept.
func responseHeader(h http.Handler, accept, name string) string {
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Header().Get(name)
}

// stableExposition returns h's body for accept (asked with Accept-Encoding encoding, when not
// empty, and decompressed), without the Go and process collectors' families. A protobuf body
// is decoded and its other families written again, delimited.
func stableExposition(tb testing.TB, h http.Handler, accept, encoding string) []byte {
	tb.Helper()
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if encoding != "" {
		req.Header.Set("Accept-Encoding", encoding)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Equal(tb, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(tb, encoding, rec.Header().Get("Content-Encoding"))
	body := rec.Body.Bytes()
	if encoding == "gzip" {
		zr, err := gzip.NewReader(rec.Body)
		require.NoError(tb, err)
		body, err = io.ReadAll(zr)
		require.NoError(tb, err)
	}
	var out []byte
	if expfmt.ResponseFormat(rec.Header()).FormatType() == expfmt.TypeProtoDelim {
		dec := expfmt.NewDecoder(bytes.NewReader(body), expfmt.NewFormat(expfmt.TypeProtoDelim))
		for {
			var f dto.MetricFamily
			if err := dec.Decode(&f); errors.Is(err, io.EOF) {
				return out
			} else if err != nil {
				tb.Fatal(err)
			}
			if !strings.HasPrefix(f.GetName(), "go_") && !strings.HasPrefix(f.GetName(), "process_") {
				b, err := proto.MarshalOptions{Deterministic: true}.Marshal(&f)
				require.NoError(tb, err)
				out = append(out, b...)
			}
		}
	}
	for line := range bytes.Lines(body) {
		name := bytes.TrimPrefix(bytes.TrimPrefix(line, []byte("# HELP ")), []byte("# TYPE "))
		if bytes.HasPrefix(name, []byte("go_")) || bytes.HasPrefix(name, []byte("process_")) {
			continue
		}
		out = append(out, line...)
	}
	return out
}
