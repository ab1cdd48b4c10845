package statuspage

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/detectors"
	"github.com/outagewatch/outagewatch/health"
)

var claude = detectors.SeriesKey{Provider: "anthropic", Model: "claude"}

func boardWith(errorRate float64, keys ...detectors.SeriesKey) *health.Board {
	b := health.NewBoard()
	update(b, errorRate, keys...)
	return b
}

func update(b *health.Board, errorRate float64, keys ...detectors.SeriesKey) {
	st := make([]detectors.Status, 0, len(keys))
	for _, k := range keys {
		st = append(st, detectors.Status{Series: k, State: detectors.StateHealthy, Figures: detectors.Figures{
			CallRate: 5, ErrorRate: errorRate, TruncationRate: errorRate / 2, LatencyP95: 1500 * time.Millisecond,
		}})
	}
	b.Update(st, nil)
}

func TestHistoryKeepsARingPerSeries(t *testing.T) {
	t.Parallel()
	provider := detectors.SeriesKey{Provider: "anthropic"}
	board := boardWith(0, provider, claude)
	h := NewHistory(board, 10*time.Second, time.Minute)
	for i := range 10 {
		update(board, float64(i)/100, provider, claude)
		h.Sample(now.Add(time.Duration(i) * 10 * time.Second))
	}
	got := h.Series(claude)
	require.Len(t, got, 6, "a minute at 10 s")
	for i, p := range got {
		require.True(t, p.At.Equal(now.Add(time.Duration(i+4)*10*time.Second)), "oldest first")
		require.InDelta(t, float64(i+4)/100, p.ErrorRate, 1e-6)
		require.InDelta(t, float64(i+4)/200, p.TruncationRate, 1e-6)
		require.InDelta(t, 5, p.CallRate, 1e-6)
		require.InDelta(t, float64(1500*time.Millisecond), float64(p.LatencyP95), float64(time.Microsecond))
	}
	require.Len(t, h.Series(provider), 6)
	require.Nil(t, h.Series(detectors.SeriesKey{Provider: "openai"}))
}

func TestHistoryForgetsSeriesGoneFromTheBoard(t *testing.T) {
	t.Parallel()
	gone := detectors.SeriesKey{Provider: "anthropic", Model: "retired"}
	board := boardWith(0, claude, gone)
	h := NewHistory(board, 10*time.Second, time.Minute)
	h.Sample(now)
	update(board, 0, claude)
	h.Sample(now.Add(time.Minute))
	require.Len(t, h.Series(gone), 1, "kept for as long as its samples are")
	h.Sample(now.Add(time.Minute + time.Second))
	require.Nil(t, h.Series(gone))
	require.Len(t, h.Series(claude), 3)
}

func TestHistoryBoundsItsSeries(t *testing.T) {
	t.Parallel()
	keys := make([]detectors.SeriesKey, 0, MaxSeries+10)
	for i := range MaxSeries + 10 {
		keys = append(keys, detectors.SeriesKey{Provider: "p", Model: fmt.Sprintf("m%05d", i)})
	}
	h := NewHistory(boardWith(0, keys...), 0, 0)
	require.Equal(t, DefaultEvery, h.Every())
	require.Equal(t, DefaultKeep, h.Keep())
	h.Sample(now)
	h.Sample(now.Add(10 * time.Second))
	n, skipped := h.Len()
	require.Equal(t, MaxSeries, n)
	require.Equal(t, uint64(20), skipped)
	require.Len(t, h.Series(keys[0]), 2)
	require.Nil(t, h.Series(keys[MaxSeries+9]))
}

func TestHistoryRunSamplesUntilCancelled(t *testing.T) {
	t.Parallel()
	board := boardWith(0.1, claude)
	h := NewHistory(board, 5*time.Millisecond, time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	var readers sync.WaitGroup
	for range 4 {
		readers.Go(func() {
			for ctx.Err() == nil {
				_ = h.Series(claude)
			}
		})
	}
	require.Eventually(t, func() bool { return len(h.Series(claude)) >= 3 }, 5*time.Second, time.Millisecond)
	cancel()
	require.NoError(t, <-done)
	readers.Wait()
}
