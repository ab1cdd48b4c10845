package otlprecord

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
)

func sampleLogs(names ...string) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "claude-code")
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	for _, n := range names {
		lr := lrs.AppendEmpty()
		lr.Body().SetStr(n)
	}
	return ld
}

func TestRecorderProtobufJSONAndGzip(t *testing.T) {
	rec := New()
	srv := httptest.NewServer(rec)
	defer srv.Close()

	pb, err := plogotlp.NewExportRequestFromLogs(sampleLogs("claude_code.api_request")).MarshalProto()
	require.NoError(t, err)
	resp, err := http.Post(srv.URL+"/v1/logs", "application/x-protobuf", bytes.NewReader(pb))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	js, err := plogotlp.NewExportRequestFromLogs(sampleLogs("claude_code.api_error")).MarshalJSON()
	require.NoError(t, err)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(js)
	require.NoError(t, zw.Close())
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/logs", &gz)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "application/json", resp.Header.Get("Content-Type"))

	md := pmetric.NewMetrics()
	md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty().SetName("m")
	mj, err := pmetricotlp.NewExportRequestFromMetrics(md).MarshalJSON()
	require.NoError(t, err)
	resp, err = http.Post(srv.URL+"/v1/metrics", "application/json", bytes.NewReader(mj))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	require.Equal(t, []string{"claude_code.api_request", "claude_code.api_error"}, rec.LogEventNames())
	require.Equal(t, 1, rec.Metrics().MetricCount())
	require.Equal(t, 2, rec.Requests()["logs"])
	require.Equal(t, 1, rec.Requests()["/v1/logs application/x-protobuf"])
	require.Equal(t, 0, rec.Traces().SpanCount())

	resp, err = http.Post(srv.URL+"/v1/logs", "application/x-protobuf", bytes.NewReader([]byte{0xff, 0xff}))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	resp, err = http.Post(srv.URL+"/v1/other", "application/json", bytes.NewReader([]byte("{}")))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)

	rec.Reset()
	require.Empty(t, rec.LogEventNames())
}

func TestEventName(t *testing.T) {
	lr := plog.NewLogRecord()
	lr.Body().SetStr("claude_code.api_error")
	lr.Attributes().PutStr("event.name", "api_error")
	require.Equal(t, "claude_code.api_error", EventName(lr), "Claude Code: the body's full name")
	lr = plog.NewLogRecord()
	lr.SetEventName("event otel/src/events/session_telemetry.rs:380")
	lr.Attributes().PutStr("event.name", "codex.api_request")
	require.Equal(t, "codex.api_request", EventName(lr), "Codex: event.name, not the call site")
	lr = plog.NewLogRecord()
	lr.SetEventName("gemini_cli.api_error")
	require.Equal(t, "gemini_cli.api_error", EventName(lr))
}
