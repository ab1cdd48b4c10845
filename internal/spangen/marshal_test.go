package spangen_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/outagewatch/outagewatch/internal/spangen"
)

func TestSplit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		spans    int
		perReq   int
		wantLens []int
	}{
		{"even", 600, 200, []int{200, 200, 200}},
		{"remainder", 1000, 300, []int{300, 300, 300, 100}},
		{"one big", 50, 0, []int{50}},
		{"larger than batch", 10, 512, []int{10}},
		{"empty", 0, 10, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			td := spangen.MixedBatch(tt.spans, 0.5, 2)
			before := spangen.MarshalProto(td)
			parts := spangen.Split(td, tt.perReq)
			require.Equal(t, before, spangen.MarshalProto(td), "Split leaves its input unchanged")
			var lens []int
			var ids []string
			for _, p := range parts {
				lens = append(lens, p.SpanCount())
				rs := p.ResourceSpans().At(0)
				name, ok := rs.Resource().Attributes().Get("service.name")
				require.True(t, ok)
				require.NotEmpty(t, name.Str())
				for _, s := range rs.ScopeSpans().At(0).Spans().All() {
					ids = append(ids, s.SpanID().String())
				}
			}
			require.Equal(t, tt.wantLens, lens)
			var want []string
			for _, s := range spans(t, td).All() {
				want = append(want, s.SpanID().String())
			}
			require.Equal(t, want, ids, "spans keep their order")
		})
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	t.Parallel()
	td := spangen.MixedBatch(300, 0.5, 4)
	tests := []struct {
		name      string
		body      []byte
		unmarshal func(ptraceotlp.ExportRequest, []byte) error
	}{
		{"proto", spangen.MarshalProto(td), ptraceotlp.ExportRequest.UnmarshalProto},
		{"json", spangen.MarshalJSON(td), ptraceotlp.ExportRequest.UnmarshalJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := ptraceotlp.NewExportRequest()
			require.NoError(t, tt.unmarshal(req, tt.body))
			got := req.Traces()
			require.Equal(t, td.SpanCount(), got.SpanCount())
			require.Equal(t, spangen.MarshalProto(td), spangen.MarshalProto(got))
		})
	}
}

func BenchmarkGenAIBatch(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = spangen.GenAIBatch(512, 1)
	}
}

func BenchmarkMarshalProto(b *testing.B) {
	td := spangen.GenAIBatch(512, 1)
	b.ReportAllocs()
	var size int
	for b.Loop() {
		size = len(spangen.MarshalProto(td))
	}
	b.ReportMetric(float64(size), "bytes/request")
}
