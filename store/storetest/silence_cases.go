package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outagewatch/outagewatch/incidents"
)

func silenceCases() []testCase {
	return []testCase{
		{"silences round trip and expire", testSilences},
		{"delete silence", testDeleteSilence},
		{"invalid silences", testInvalidSilences},
	}
}

func testSilences(t *testing.T, s Store) {
	ctx := t.Context()
	got, err := s.Silences(ctx, t0)
	require.NoError(t, err)
	require.Empty(t, got)

	want := incidents.Silence{
		Provider: "openai", Model: "gpt-5", Until: t0.Add(time.Hour), Reason: "vendor maintenance",
		CreatedBy: "alice", CreatedAt: t0,
	}
	added, err := s.AddSilence(ctx, want)
	require.NoError(t, err)
	require.NotZero(t, added.ID)
	want.ID = added.ID
	requireTime(t, want.Until, added.Until)
	requireTime(t, want.CreatedAt, added.CreatedAt)
	require.Equal(t, want, added)

	all, err := s.AddSilence(ctx, incidents.Silence{Provider: "anthropic", Until: t0.Add(2 * time.Hour)})
	require.NoError(t, err)
	require.Empty(t, all.Model, "'' silences every model")
	require.False(t, all.CreatedAt.IsZero(), "created now when not given")
	require.Greater(t, all.ID, added.ID)

	got, err = s.Silences(ctx, t0.Add(30*time.Minute))
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.Equal(t, []int64{added.ID, all.ID}, []int64{got[0].ID, got[1].ID}, "oldest first")
	require.Equal(t, want, got[0])

	got, err = s.Silences(ctx, t0.Add(time.Hour))
	require.NoError(t, err)
	require.Len(t, got, 1, "a silence ends at its until")
	require.Equal(t, all.ID, got[0].ID)

	got, err = s.Silences(ctx, t0.Add(3*time.Hour))
	require.NoError(t, err)
	require.Empty(t, got)
}

func testDeleteSilence(t *testing.T, s Store) {
	ctx := t.Context()
	sil, err := s.AddSilence(ctx, incidents.Silence{Provider: "openai", Until: t0.Add(time.Hour)})
	require.NoError(t, err)
	require.NoError(t, s.DeleteSilence(ctx, sil.ID))
	got, err := s.Silences(ctx, t0)
	require.NoError(t, err)
	require.Empty(t, got)
	require.ErrorIs(t, s.DeleteSilence(ctx, sil.ID), incidents.ErrSilenceNotFound)
	require.ErrorIs(t, s.DeleteSilence(ctx, 12345), incidents.ErrSilenceNotFound)

	expired, err := s.AddSilence(ctx, incidents.Silence{Provider: "openai", Until: t0.Add(-time.Hour)})
	require.NoError(t, err)
	require.NoError(t, s.DeleteSilence(ctx, expired.ID), "expired silences can be deleted too")
}

func testInvalidSilences(t *testing.T, s Store) {
	ctx := t.Context()
	_, err := s.AddSilence(ctx, incidents.Silence{Until: t0})
	require.Error(t, err, "no provider")
	_, err = s.AddSilence(ctx, incidents.Silence{Provider: "openai"})
	require.Error(t, err, "no until")
	got, err := s.Silences(ctx, time.Time{})
	require.NoError(t, err)
	require.Empty(t, got, "nothing was written")
}
