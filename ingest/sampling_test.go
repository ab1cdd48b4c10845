package ingest

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/outagewatch/outagewatch/ingest/assemble"
	"github.com/outagewatch/outagewatch/ingest/hosts"
	"github.com/outagewatch/outagewatch/ingest/wire"
)

// TestSampledSpansStandForTheirAdjustedCount: both decoding paths read a span's tracestate, and
// its call stands for 2^56/(2^56-T) calls; an unsampled one for itself.
func TestSampledSpansStandForTheirAdjustedCount(t *testing.T) {
	g := newGatewayTraffic()
	for _, ts := range []string{"ot=th:c", "vendor=x,ot=rv:00112233445566;th:e6666666666666", ""} {
		g.call("anthropic", "claude-sonnet-4-5", "https://api.anthropic.com/v1/messages", 200, true)
		spans := g.ss
		for i := spans.Len() - 2; i < spans.Len(); i++ {
			spans.At(i).TraceState().FromRaw(ts)
		}
	}
	body, err := ptraceotlp.NewExportRequestFromTraces(g.td).MarshalProto()
	require.NoError(t, err)

	var fast wire.Batch
	require.NoError(t, newDecoder().DecodeProto(body, &fast))
	for name, recs := range map[string]wire.Batch{"fast path": fast, "pdata": newDecoder().DecodeTraces(g.td)} {
		a := assemble.New(assembleConfig(DefaultConfig(), hosts.New()))
		calls := a.Add(g.now, recs.Records, nil)
		require.Len(t, calls, 3, name)
		var got []float64
		for _, c := range calls {
			got = append(got, c.AdjustedCount())
		}
		require.InDeltaSlice(t, []float64{4, 10, 1}, got, 1e-9, name)
	}
}
