package assemble

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/detectors"
)

// TestCapCountsWithTheSpanMadeSeries: calls made elsewhere (logs, metrics) are capped in the
// same count of series as the span-made calls, so both sources together stay within the caps.
func TestCapCountsWithTheSpanMadeSeries(t *testing.T) {
	a := New(Config{MaxProviders: 3, MaxModels: 2})
	a.Cap(&detectors.Call{Provider: "openai", Model: "gpt-4.1"})
	a.Cap(&detectors.Call{Provider: "anthropic", Model: "claude"})
	c := detectors.Call{Provider: "gemini", Model: "flash"}
	a.Cap(&c)
	require.Equal(t, detectors.OtherProvider, c.Provider, "two providers and the slot of other: a third is folded")
	c = detectors.Call{Provider: "openai", Model: "gpt-4.1"}
	a.Cap(&c)
	require.Equal(t, "openai/gpt-4.1", c.Provider+"/"+c.Model, "a known series")
	c = detectors.Call{Provider: "openai", Model: "o3"}
	a.Cap(&c)
	require.Equal(t, "openai/"+detectors.OtherModel, c.Provider+"/"+c.Model)
	st := a.Stats()
	require.Equal(t, 1, int(st.FoldedProv))
	require.Equal(t, 1, int(st.FoldedModels))
}
