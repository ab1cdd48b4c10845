package ingest

import (
	"bytes"
	"context"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// TestServerShedsThroughTheConfig: the Shed hook of ingest.admission reaches both receivers, which
// refuse with the retryable statuses while it says so, and take requests again after.
func TestServerShedsThroughTheConfig(t *testing.T) {
	t.Parallel()
	var shedding atomic.Bool
	shedding.Store(true)
	cfg := DefaultConfig()
	cfg.Admission.Shed = shedding.Load
	ts := startServer(t, cfg, &recorder{})
	pb := protoBody(t, llmTraces(1, "m"))

	resp, _ := post(t, ts.httpURL, "application/x-protobuf", "", bytes.NewReader(pb))
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	require.Equal(t, "1", resp.Header.Get("Retry-After"))

	conn, err := grpc.NewClient(ts.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	client := ptraceotlp.NewGRPCClient(conn)
	_, err = client.Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(llmTraces(1, "m")))
	require.Equal(t, codes.ResourceExhausted, status.Code(err), "%v", err)

	shedding.Store(false)
	resp, _ = post(t, ts.httpURL, "application/x-protobuf", "", bytes.NewReader(pb))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	_, err = client.Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(llmTraces(1, "m")))
	require.NoError(t, err)
}
