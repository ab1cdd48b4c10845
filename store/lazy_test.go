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
	require.ErrorIs(t, l.RegisterTargets(ctx, []string{"hook"}, time.Now()), ErrNotOpen)
	_, err = l.ClaimDeliveries(ctx, "hook", time.Now(), 1, time.Minute)
	require.ErrorIs(t, err, ErrNotOpen)
	_, _, err = l.DeliveryBacklog(ctx, "hook", time.Now())
	require.ErrorIs(t, err, ErrNotOpen)
	require.ErrorIs(t, l.CompleteDelivery(ctx, 1, time.Now()), ErrNotOpen)
	require.ErrorIs(t, l.RetryDelivery(ctx, 1, time.Now(), "x"), ErrNotOpen)
	require.ErrorIs(t, l.FailDelivery(ctx, 1, "x"), ErrNotOpen)
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

// TestLazyDeliveries goes through the lazy store to the deliveries of an embedded store.
func TestLazyDeliveries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b, _, err := Open(ctx, Options{DataDir: t.TempDir()}, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	var l Lazy
	l.Set(b)
	t.Cleanup(func() { require.NoError(t, l.Close()) })
	at := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	require.NoError(t, l.RegisterTargets(ctx, []string{"hook"}, at))
	_, err = l.Apply(ctx, incidents.Change{Provider: "openai", At: at, State: incidents.StateOpen,
		Events: []incidents.EventSpec{{
			Event:  incidents.Event{At: at, Kind: incidents.EventOpened, Provider: "openai", Actor: incidents.Actor},
			Notify: []string{incidents.NotifyOpen},
		}}})
	require.NoError(t, err)
	n, _, err := l.DeliveryBacklog(ctx, "hook", at)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	rows, err := l.ClaimDeliveries(ctx, "hook", at, 10, time.Minute)
	require.NoError(t, err)
	require.Len(t, rows, 1)
	require.NoError(t, l.RetryDelivery(ctx, rows[0].ID, at, "webhook: 503"))
	require.NoError(t, l.CompleteDelivery(ctx, rows[0].ID, at))
	require.NoError(t, l.FailDelivery(ctx, rows[0].ID, "late"), "a late failure of a delivered delivery does nothing")
	n, _, err = l.DeliveryBacklog(ctx, "hook", at)
	require.NoError(t, err)
	require.Zero(t, n)
}
