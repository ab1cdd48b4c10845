package receiver

import (
	"bytes"
	"context"
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
	srv := NewGRPCServer(p, NewMetrics(prometheus.NewRegistry()), GRPCOptions{MaxRequestBytes: maxBytes})
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

func TestInflateBoundsTheMessage(t *testing.T) {
	t.Parallel()
	gz := func(b []byte) []byte {
		var zb bytes.Buffer
		zw := kgzip.NewWriter(&zb)
		_, err := zw.Write(b)
		require.NoError(t, err)
		require.NoError(t, zw.Close())
		return zb.Bytes()
	}
	var readers gzipReaders
	var pool bufferPool
	adm := NewAdmission(AdmissionOptions{MaxBytesInFlight: 1 << 30})
	tk := ticket{a: adm}
	ctx := context.Background()

	_, err := inflate(ctx, &tk, &readers, &pool, gz(make([]byte, 1<<20)), 1000)
	require.ErrorIs(t, err, errTooLarge, "a bomb declaring more than the limit is refused before inflating")
	require.Zero(t, adm.InFlight())

	liar := gz(make([]byte, 1<<20))
	copy(liar[len(liar)-4:], []byte{10, 0, 0, 0}) // declares 10 bytes
	_, err = inflate(ctx, &tk, &readers, &pool, liar, 1000)
	require.ErrorIs(t, err, errTooLarge, "one that lies stops one byte past the bound")
	require.Zero(t, adm.InFlight(), "and gives back what it was charged")

	small := []byte("a small request")
	for range 2 { // the second time with a pooled reader and buffer
		out, err := inflate(ctx, &tk, &readers, &pool, gz(small), 1000)
		require.NoError(t, err)
		require.Equal(t, small, out.bytes())
		require.Equal(t, int64(cap(out.bytes())), adm.InFlight(), "the buffer is charged")
		out.free(&tk)
		require.Zero(t, adm.InFlight())
	}
	_, err = inflate(ctx, &tk, &readers, &pool, gz(small)[:15], 1000)
	require.Error(t, err, "a cut stream is an error")
	require.Zero(t, adm.InFlight())
}
