package receiver

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/proto"
)

// lockedBuffer is a log sink safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) lines(substr string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), substr)
}

// unknownPathMux mounts the receiver as the ingest server does: the traces handler at TracesPath,
// the unknown-path handler everywhere else. The clock is the test's.
func unknownPathMux(t *testing.T) (*http.ServeMux, *unknownPathHandler, *prometheus.Registry, *lockedBuffer, *time.Time) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	logs := &lockedBuffer{}
	h, ok := NewUnknownPathHandler(m, slog.New(slog.NewTextHandler(logs, nil))).(*unknownPathHandler)
	require.True(t, ok)
	now := time.Date(2026, 12, 3, 13, 0, 0, 0, time.UTC)
	h.now = func() time.Time { return now }
	mux := http.NewServeMux()
	mux.Handle(TracesPath, NewHTTPHandler(&sink{}, m, 1<<20, nil))
	mux.Handle("/", h)
	return mux, h, reg, logs, &now
}

func post(t *testing.T, h http.Handler, path, contentType string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader("x"))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

const unknownPathLog = `msg="OTLP/HTTP request to an unknown path`

func TestUnknownPathNamesTheTracesPath(t *testing.T) {
	t.Parallel()
	mux, _, reg, logs, _ := unknownPathMux(t)

	// An exporter speaking protobuf reads a google.rpc.Status naming the right path.
	rec := post(t, mux, "/v1/trace", contentTypeProto)
	require.Equal(t, http.StatusNotFound, rec.Code)
	var st status.Status
	require.NoError(t, proto.Unmarshal(rec.Body.Bytes(), &st))
	require.Contains(t, st.GetMessage(), "/v1/traces")
	require.Contains(t, st.GetMessage(), `"/v1/trace"`)

	// JSON, and anything else (curl), get it in words too.
	rec = post(t, mux, "/v1/trace", contentTypeJSON)
	require.Equal(t, http.StatusNotFound, rec.Code)
	require.Contains(t, rec.Body.String(), "/v1/traces")
	rec = post(t, mux, "/v1/trace", "")
	require.Equal(t, http.StatusNotFound, rec.Code)
	body, err := io.ReadAll(rec.Body)
	require.NoError(t, err)
	require.Contains(t, string(body), "/v1/traces")

	require.InDelta(t, 3, unknownPaths(t, reg), 0)
	require.Equal(t, 1, logs.lines(unknownPathLog), "logged once per path per minute")

	// The right path is not counted.
	rec = post(t, mux, TracesPath, "text/plain")
	require.Equal(t, http.StatusUnsupportedMediaType, rec.Code)
	require.InDelta(t, 3, unknownPaths(t, reg), 0)
}

func TestUnknownPathLogsOncePerPathPerMinute(t *testing.T) {
	t.Parallel()
	mux, _, reg, logs, now := unknownPathMux(t)
	for range 5 {
		post(t, mux, "/v1/trace", contentTypeProto)
	}
	require.Equal(t, 1, logs.lines(unknownPathLog))
	post(t, mux, "/v1/metrics", contentTypeProto)
	require.Equal(t, 2, logs.lines(unknownPathLog), "another path is logged on its own")
	*now = now.Add(30 * time.Second)
	post(t, mux, "/v1/trace", contentTypeProto)
	require.Equal(t, 2, logs.lines(unknownPathLog))
	*now = now.Add(31 * time.Second)
	post(t, mux, "/v1/trace", contentTypeProto)
	require.Equal(t, 3, logs.lines(unknownPathLog), "again after a minute")
	require.InDelta(t, 8, unknownPaths(t, reg), 0)
}

func TestUnknownPathMemoryIsBounded(t *testing.T) {
	t.Parallel()
	mux, h, reg, logs, _ := unknownPathMux(t)
	const n = 5 * maxUnknownPaths
	for i := range n {
		post(t, mux, fmt.Sprintf("/scan/%d/%s", i, strings.Repeat("a", 4096)), "")
	}
	h.mu.Lock()
	tracked := len(h.logged)
	h.mu.Unlock()
	require.LessOrEqual(t, tracked, maxUnknownPaths+1)
	require.LessOrEqual(t, logs.lines(unknownPathLog), maxUnknownPaths+1, "beyond the bound, one line a minute for the others")
	require.InDelta(t, n, unknownPaths(t, reg), 0)
}

// unknownPaths reads outagewatch_ingest_http_unknown_path_total, which has no labels.
func unknownPaths(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == "outagewatch_ingest_http_unknown_path_total" {
			require.Len(t, mf.GetMetric(), 1)
			require.Empty(t, mf.GetMetric()[0].GetLabel(), "no path label")
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatal("outagewatch_ingest_http_unknown_path_total is not registered")
	return 0
}
