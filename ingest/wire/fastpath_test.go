package wire

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/outagewatch/outagewatch/ingest/normalize"
	"github.com/outagewatch/outagewatch/internal/spangen"
)

// conventionsDir holds ingest's fixtures: OTLP requests of every convention the normaliser
// reads (see its README.md).
const conventionsDir = "../testdata/conventions"

func newDecoder() *Decoder { return New(normalize.New(nil)) }

// diffPaths runs body through pdata and the fast path and fails unless both reject it, or
// both accept it with the same result. The fast path's input is overwritten before the
// comparison, so that a record still sharing the request bytes shows.
func diffPaths(tb testing.TB, d *Decoder, body []byte) {
	tb.Helper()
	req := ptraceotlp.NewExportRequest()
	perr := req.UnmarshalProto(body)
	buf := append([]byte(nil), body...)
	var got Batch
	ferr := d.DecodeProto(buf, &got)
	for i := range buf {
		buf[i] = 0xA5
	}
	if (perr == nil) != (ferr == nil) {
		tb.Fatalf("pdata error %v, fast path error %v", perr, ferr)
	}
	if perr != nil {
		return
	}
	want := d.DecodeTraces(req.Traces())
	if len(want.Records) == 0 {
		want.Records = nil
	}
	if len(got.Records) == 0 {
		got.Records = nil
	}
	require.Equal(tb, want, got)
}

func fixtureBodies(tb testing.TB) map[string][]byte {
	tb.Helper()
	files, err := filepath.Glob(conventionsDir + "/*.pb")
	require.NoError(tb, err)
	require.NotEmpty(tb, files)
	out := make(map[string][]byte)
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(tb, err)
		out[filepath.Base(f)] = b
	}
	out["genai512"] = spangen.MarshalProto(spangen.GenAIBatch(512, 1))
	out["mixed512"] = spangen.MarshalProto(spangen.MixedBatch(512, 0.1, 1))
	out["mixed512_seed7"] = spangen.MarshalProto(spangen.MixedBatch(512, 0.3, 7))
	for name, b := range out {
		out[name+".ascending"] = ascending(tb, b)
	}
	return out
}

// ascending re-marshals a request with protobuf-go, as the Go, Python and Java SDKs do: fields
// in ascending order, where pdata (the Collector) writes them in descending order. The fast
// path reads both layouts in place.
func ascending(tb testing.TB, body []byte) []byte {
	tb.Helper()
	var req coltracepb.ExportTraceServiceRequest
	require.NoError(tb, proto.Unmarshal(body, &req))
	out, err := proto.MarshalOptions{Deterministic: true}.Marshal(&req)
	require.NoError(tb, err)
	return out
}

func TestFastPathMatchesPdata(t *testing.T) {
	t.Parallel()
	d := newDecoder()
	for name, body := range fixtureBodies(t) {
		t.Run(name, func(t *testing.T) {
			diffPaths(t, d, body)
		})
	}
}

func TestFastPathRejects(t *testing.T) {
	t.Parallel()
	d := newDecoder()
	body := spangen.MarshalProto(spangen.GenAIBatch(8, 1))
	for _, b := range [][]byte{
		body[:len(body)-3],
		append([]byte{0x0a, 0x80}, body...),
		{0x08, 0x01}, // request field 1 as a varint
		{0x00},       // field 0
		{0x0b},       // start group, never ended
		{0x0c},       // end group
		{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, // varint too long
		{0x0a, 0x04, 0x12, 0x02, 0x12, 0x00},                               // span without IDs: accepted
		{0x0a, 0x06, 0x12, 0x04, 0x12, 0x02, 0x0a, 0x01, 0x00},             // trace ID of 1 byte
	} {
		diffPaths(t, d, b)
	}
}
