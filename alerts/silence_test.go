package alerts_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/alerts"
	"github.com/outagewatch/outagewatch/incidents"
)

func TestSilenced(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	until := now.Add(time.Hour)
	provider := incidents.Silence{Provider: "openai", Until: until}
	gpt5 := incidents.Silence{Provider: "openai", Model: "gpt-5", Until: until}
	o3 := incidents.Silence{Provider: "openai", Model: "o3", Until: until}
	for _, tc := range []struct {
		name     string
		silences []incidents.Silence
		models   []string
		want     bool
	}{
		{"none", nil, []string{"gpt-5"}, false},
		{"provider-wide", []incidents.Silence{provider}, []string{"gpt-5", ""}, true},
		{"other provider", []incidents.Silence{{Provider: "anthropic", Until: until}}, []string{"gpt-5"}, false},
		{"expired", []incidents.Silence{{Provider: "openai", Until: now}}, []string{"gpt-5"}, false},
		{"the model", []incidents.Silence{gpt5}, []string{"gpt-5"}, true},
		{"one of two models", []incidents.Silence{gpt5}, []string{"gpt-5", "o3"}, false},
		{"both models", []incidents.Silence{gpt5, o3}, []string{"gpt-5", "o3"}, true},
		{"model silence, pooled series", []incidents.Silence{gpt5}, []string{""}, false},
		{"model silence, no models", []incidents.Silence{gpt5}, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, alerts.Silenced(tc.silences, "openai", tc.models, now))
		})
	}
}

type listerFunc func(ctx context.Context, now time.Time) ([]incidents.Silence, error)

func (f listerFunc) Silences(ctx context.Context, now time.Time) ([]incidents.Silence, error) {
	return f(ctx, now)
}

func TestCheckSilences(t *testing.T) {
	t.Parallel()
	now := time.Now()
	check := alerts.CheckSilences(listerFunc(func(_ context.Context, at time.Time) ([]incidents.Silence, error) {
		require.Equal(t, now, at)
		return []incidents.Silence{{Provider: "openai", Until: now.Add(time.Minute)}}, nil
	}))
	got, err := check.Silenced(t.Context(), "openai", []string{"m"}, now)
	require.NoError(t, err)
	require.True(t, got)

	boom := errors.New("store down")
	check = alerts.CheckSilences(listerFunc(func(context.Context, time.Time) ([]incidents.Silence, error) { return nil, boom }))
	_, err = check.Silenced(t.Context(), "openai", nil, now)
	require.ErrorIs(t, err, boom)
}
