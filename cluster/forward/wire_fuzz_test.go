package forward

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/detectors"
)

// FuzzDecodeBatch checks that no input panics, that a decoded batch has at most MaxBatchCalls
// calls within their caps, and that it encodes to bytes that decode to the same calls.
func FuzzDecodeBatch(f *testing.F) {
	f.Add(AppendBatch(nil, []detectors.Call{fullCall(1), fullCall(2), {}}))
	f.Add(AppendBatch(nil, []detectors.Call{{Provider: "openai", Model: "gpt-5", HTTPStatus: 500}}))
	f.Add(call(varintField(fieldOutcome, 4)))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := DecodeBatch(data, nil)
		if err != nil {
			require.Empty(t, got)
			return
		}
		require.LessOrEqual(t, len(got), MaxBatchCalls)
		for i := range got {
			require.LessOrEqual(t, len(got[i].ErrorMessage), MaxErrorMessageBytes)
			require.LessOrEqual(t, len(got[i].Provider), MaxStringBytes)
		}
		again, err := DecodeBatch(AppendBatch(nil, got), nil)
		require.NoError(t, err)
		require.Equal(t, got, again)
	})
}
