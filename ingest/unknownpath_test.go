package ingest

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/detectors"
)

// TestWrongOTLPPathIsTold: the OTLP/HTTP server answers a request to a wrong path
// (`/v1/trace`) with a 404 that names the right one, and counts it.
func TestWrongOTLPPathIsTold(t *testing.T) {
	reg := prometheus.NewRegistry()
	p, err := NewPipeline(DefaultConfig(), ConsumerFunc(func([]detectors.Call) {}), reg, slog.New(slog.NewTextHandler(io.Discard, nil)), PipelineOptions{})
	require.NoError(t, err)
	s, err := NewServer(DefaultConfig(), p, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	t.Cleanup(s.GRPC().Stop) // built, never started: its workers still end
	rec := httptest.NewRecorder()
	s.http.Handler.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/trace", bytes.NewReader([]byte("x"))))
	require.Equal(t, http.StatusNotFound, rec.Code)
	require.True(t, strings.Contains(rec.Body.String(), "/v1/traces"), rec.Body.String())
	require.Equal(t, 1.0, metricValue(t, reg, "outagewatch_ingest_http_unknown_path_total"))
}
