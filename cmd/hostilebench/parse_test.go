package main

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestScrape(t *testing.T) {
	t.Parallel()
	text := `# HELP outagewatch_ingest_requests_total OTLP export requests.
# TYPE outagewatch_ingest_requests_total counter
outagewatch_ingest_requests_total{encoding="protobuf",protocol="http",result="ok"} 40
outagewatch_ingest_requests_total{encoding="json",protocol="http",result="ok"} 2
outagewatch_ingest_requests_total{encoding="protobuf",protocol="http",result="refused"} 7
outagewatch_ingest_requests_total{encoding="protobuf",protocol="grpc",result="refused"} 0
outagewatch_ingest_requests_totalx{protocol="grpc"} 99
outagewatch_ingest_spans_accepted_total{protocol="grpc"} 1.5e+06
outagewatch_ingest_spans_accepted_total{protocol="http"} 100
outagewatch_memory_shed_total 3
`
	require.Equal(t, map[string]int64{"http ok": 42, "http refused": 7}, requestsByResult(text))
	require.Equal(t, int64(1_500_100), sum(text, metricSpansAccepted))
	require.Equal(t, int64(3), sum(text, metricShed))
	require.Zero(t, sum(text, "outagewatch_absent_total"))
}

func TestFormatCounts(t *testing.T) {
	t.Parallel()
	require.Equal(t, "-", formatCounts(nil))
	require.Equal(t, "429: 1,234, 200: 5, 400: 5", formatCounts(map[string]int64{"200": 5, "400": 5, "429": 1234, "503": 0}))
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -4000: "-4,000"} {
		require.Equal(t, want, thousands(n))
	}
}

func TestDeepJSONBody(t *testing.T) {
	t.Parallel()
	body := deepJSONBody(3)
	require.True(t, json.Valid(body), "%s", body)
	require.Equal(t, 3, bytes.Count(body, []byte("kvlistValue")))
	require.Greater(t, len(deepJSONBody(300_000)), 13_000_000, "49 bytes a level")
}

func TestGzipBomb(t *testing.T) {
	t.Parallel()
	bomb, err := gzipBomb(16 << 20)
	require.NoError(t, err)
	require.Less(t, len(bomb), 20_000, "16 MiB of zeros deflate to about 16 KB")
}
