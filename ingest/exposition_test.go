package ingest

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/health"
)

// TestMetricsHandlerNameFilter: name[] keeps the named families, kept text or not, as
// promhttp's handler does.
func TestMetricsHandlerNameFilter(t *testing.T) {
	t.Parallel()
	reg, m, board := fullSizeRegistryBoard(t)
	p := &Pipeline{metrics: m}
	old := promhttp.HandlerFor(reg, promhttp.HandlerOpts{EnableOpenMetrics: true})
	h := p.MetricsHandler(reg, health.StateFamilies(board, reg))
	get := func(h http.Handler) string {
		req := httptest.NewRequest(http.MethodGet, "/metrics?name[]=outagewatch_calls_total&name[]=outagewatch_health_state&name[]=outagewatch_ingest_spans_received_total", nil)
		req.Header.Set("Accept", fullSizeAcceptHeader)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		require.Equal(t, http.StatusOK, rec.Code)
		return rec.Body.String()
	}
	body := get(h)
	require.Contains(t, body, "# TYPE outagewatch_calls counter\n")
	require.Contains(t, body, "# TYPE outagewatch_health_state gauge\n")
	require.Contains(t, body, "# TYPE outagewatch_ingest_spans_received counter\n")
	require.NotContains(t, body, "outagewatch_ttft_seconds")
	require.True(t, strings.HasSuffix(body, "# EOF\n"))
	m.series.direct.Store(false)
	require.True(t, reg.Unregister(health.NewCollector(board)))
	reg.MustRegister(health.NewCollector(board))
	require.Equal(t, get(old), body)
}

// failing is a collector whose Collect fails.
type failing struct{ desc *prometheus.Desc }

func (f failing) Describe(ch chan<- *prometheus.Desc) { ch <- f.desc }
func (f failing) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.NewInvalidMetric(f.desc, errors.New("the disk is on fire"))
}

// TestMetricsHandlerGatherError: a collector's error is a 500 naming it, counted in
// promhttp_metric_handler_errors_total{cause="gathering"}, as promhttp answers.
func TestMetricsHandlerGatherError(t *testing.T) {
	t.Parallel()
	reg, m := fullSizeRegistryMetrics(t)
	reg.MustRegister(failing{prometheus.NewDesc("broken", "A broken collector.", nil, nil)})
	h := (&Pipeline{metrics: m}).MetricsHandler(reg)
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Equal(t, http.StatusInternalServerError, rec.Code)
	require.Contains(t, rec.Body.String(), "the disk is on fire")
	errs, err := reg.Gather()
	require.Error(t, err)
	var gathering float64
	for _, f := range errs {
		if f.GetName() == "promhttp_metric_handler_errors_total" {
			for _, mt := range f.Metric {
				if mt.Label[0].GetValue() == "gathering" {
					gathering = mt.Counter.GetValue()
				}
			}
		}
	}
	require.Equal(t, 1.0, gathering)
}
