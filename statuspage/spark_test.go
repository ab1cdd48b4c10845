package statuspage

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/detectors"
)

func TestSparkPath(t *testing.T) {
	t.Parallel()
	b := make([]float64, 8)
	f := make([]bool, 8)
	for i, v := range []float64{0, 0, 0, 1, -1, 0.5, -1, 1} {
		if v >= 0 {
			b[i], f[i] = v, true
		}
	}
	// Flat run 0..2 drawn as its ends, a rise to 3, a gap, a lone point at 5, a gap, a lone
	// point at 7.
	require.Equal(t, "M0 31.0L2 31.0L3 1.0M5 16.0h1M7 1.0h1", sparkPath(b, f, 1))
}

func TestChart(t *testing.T) {
	t.Parallel()
	cur := detectors.Figures{ErrorRate: 0.02}
	c := charts(slices.Values([]Point(nil)), cur, now, time.Hour)[1] // error rate
	require.Equal(t, chart{ID: "error_rate", Label: "error rate", Now: "2.0%", Summary: "error rate, last 1h 0m: no data yet; now 2.0%"}, c)

	// Points outside the window are left out; quiet noise stays low under the metric's floor.
	points := []Point{
		{At: now.Add(-2 * time.Hour), ErrorRate: 0.9},
		{At: now.Add(-30 * time.Minute), ErrorRate: 0.01},
		{At: now.Add(-30*time.Minute + 10*time.Second), ErrorRate: 0.02},
		{At: now, ErrorRate: 0.02},
	}
	c = charts(slices.Values(points), cur, now, time.Hour)[1]
	require.Equal(t, "error rate, last 1h 0m: now 2.0%, peak 2.0%, low 1.0%", c.Summary)
	require.Equal(t, "M60 19.0h1M119 19.0h1", c.Path, "30 s buckets keep the peak; 2% of a 5% scale")
}
