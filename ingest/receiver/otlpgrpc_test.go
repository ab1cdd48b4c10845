package receiver

import (
	"bytes"
	"context"
	"io"
	"net"
	"sync"
	"testing"

	kgzip "github.com/klauspost/compress/gzip"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/status"
)

// sink is a Pipeline that keeps the protobuf bodies it is given.
type sink struct {
	mu     sync.Mutex
	bodies [][]byte
}

func (s *sink) Submit(string, ptrace.Traces) (Result, error) { return Result{}, nil }

func (s *sink) SubmitProto(_ string, body []byte) (Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bodies = append(s.bodies, bytes.Clone(body))
	return Result{Spans: 1}, nil
}

func traces(n int) ptrace.Traces {
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
	for i := range n {
		s := ss.Spans().AppendEmpty()
		s.SetName("chat gpt-4.1")
		s.SetTraceID(pcommon.TraceID{1, byte(i >> 8), byte(i)})
		s.SetSpanID(pcommon.SpanID{2, byte(i >> 8), byte(i)})
	}
	return td
}

// TestGRPCGzipIsThisServers sends gzip-compressed exports to a server of NewGRPCServer in a
// process where no "gzip" compressor is registered (the client uses grpc-go's legacy
// compressor, which needs no registration): the server decompresses them with its own
// decompressor, and bounds them.
func TestGRPCGzipIsThisServers(t *testing.T) {
	require.Nil(t, encoding.GetCompressor("gzip"), "nothing in this test binary registers a gzip compressor, the receiver least of all")
	const maxBytes = 64 << 10
	p := &sink{}
	srv := NewGRPCServer(p, NewMetrics(prometheus.NewRegistry()), maxBytes)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		srv.Stop()
		require.NoError(t, <-served)
	}()
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithCompressor(grpc.NewGZIPCompressor())) //nolint:staticcheck // the legacy compressor needs no registration
	require.NoError(t, err)
	defer conn.Close()
	client := ptraceotlp.NewGRPCClient(conn)

	req := ptraceotlp.NewExportRequestFromTraces(traces(3))
	_, err = client.Export(context.Background(), req)
	require.NoError(t, err)
	want, err := req.MarshalProto()
	require.NoError(t, err)
	require.Equal(t, [][]byte{want}, p.bodies, "the pipeline gets the decompressed request")

	_, err = client.Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(traces(5000)))
	require.Equal(t, codes.ResourceExhausted, status.Code(err), "%v", err)
	require.Len(t, p.bodies, 1)
}

func TestGRPCGzipBoundsTheMessage(t *testing.T) {
	t.Parallel()
	var zb bytes.Buffer
	zw := kgzip.NewWriter(&zb)
	_, err := zw.Write(make([]byte, 1<<20))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	d := newGRPCGzip(1000)
	require.Equal(t, "gzip", d.Type())
	out, err := d.Do(bytes.NewReader(zb.Bytes()))
	require.NoError(t, err)
	require.Len(t, out, 1001, "a bomb stops one byte past the bound, for gRPC to refuse")

	small := []byte("a small request")
	zb.Reset()
	zw.Reset(&zb)
	_, err = zw.Write(small)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	for range 2 { // the second time with a pooled reader
		out, err = d.Do(bytes.NewReader(zb.Bytes()))
		require.NoError(t, err)
		require.Equal(t, small, out)
	}
	_, err = d.Do(io.LimitReader(bytes.NewReader(zb.Bytes()), 5))
	require.Error(t, err, "a cut stream is an error")
}
