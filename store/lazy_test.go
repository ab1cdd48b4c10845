package store

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/incidents"
)

func TestLazyAnswersNotOpenUntilSet(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var l Lazy
	_, err := l.Active(ctx)
	require.ErrorIs(t, err, ErrNotOpen)
	require.ErrorIs(t, l.Check(ctx), ErrNotOpen)
	require.ErrorIs(t, l.SaveBaselines(ctx, "engine", []byte("x"), time.Now()), ErrNotOpen)
	_, err = l.Claim(ctx, time.Now(), 1, time.Minute)
	require.ErrorIs(t, err, ErrNotOpen)
	require.NoError(t, l.Close(), "closing what never opened is fine")
}

// TestOpenInBackgroundSetsAndCallsOpened opens the embedded store from the background opener:
// the lazy store then serves it, and opened runs once it does.
func TestOpenInBackgroundSetsAndCallsOpened(t *testing.T) {
	t.Parallel()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	var l Lazy
	opened := make(chan struct{})
	opts := Options{DataDir: t.TempDir()}
	require.True(t, opts.Embedded())
	OpenInBackground(context.Background(), opts, &l, logger, func(ctx context.Context) {
		require.NoError(t, l.SaveBaselines(ctx, "engine", []byte("snapshot"), time.Now()), "usable from opened")
		close(opened)
	})
	<-opened
	ctx := context.Background()
	require.NoError(t, l.Check(ctx))
	got, err := l.LoadBaselines(ctx, "engine")
	require.NoError(t, err)
	require.Equal(t, []byte("snapshot"), got)
	active, err := l.Active(ctx)
	require.NoError(t, err)
	require.Empty(t, active)
	_, err = l.Apply(ctx, incidents.Change{Provider: "openai", At: time.Now(), State: incidents.StateOpen})
	require.NoError(t, err)
	require.NoError(t, l.Close())
	require.ErrorIs(t, l.Check(ctx), ErrNotOpen, "closed is not open")
	require.FileExists(t, filepath.Join(opts.DataDir, "outagewatch.db"))
}

func TestOpenInBackgroundStopsWithItsContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var l Lazy
	OpenInBackground(ctx, Options{PostgresDSN: "postgres://127.0.0.1:1/none"}, &l, slog.New(slog.NewTextHandler(io.Discard, nil)), func(context.Context) {
		t.Error("opened called after cancellation")
	})
	_, err := l.Backend()
	require.ErrorIs(t, err, ErrNotOpen)
}
