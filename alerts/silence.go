package alerts

import (
	"context"
	"slices"
	"time"

	"github.com/outagewatch/outagewatch/incidents"
)

// SilenceChecker tells whether an incident's notifications are silenced.
type SilenceChecker interface {
	// Silenced reports whether notifications of an incident of provider with these models are
	// silenced at at. It is safe for concurrent use; errors are retryable.
	Silenced(ctx context.Context, provider string, models []string, at time.Time) (bool, error)
}

// SilenceCheckerFunc adapts a function to SilenceChecker.
type SilenceCheckerFunc func(ctx context.Context, provider string, models []string, at time.Time) (bool, error)

// Silenced calls f.
func (f SilenceCheckerFunc) Silenced(ctx context.Context, provider string, models []string, at time.Time) (bool, error) {
	return f(ctx, provider, models, at)
}

// SilenceLister lists the silences active at now, oldest first. The stores implement it; it is
// safe for concurrent use and its errors are retryable.
type SilenceLister interface {
	Silences(ctx context.Context, now time.Time) ([]incidents.Silence, error)
}

// SilenceStore keeps silences; the stores implement it, safely for concurrent use.
type SilenceStore interface {
	SilenceLister
	// AddSilence records s (its ID is ignored) and returns it with its ID.
	AddSilence(ctx context.Context, s incidents.Silence) (incidents.Silence, error)
	// DeleteSilence removes silence id; incidents.ErrSilenceNotFound when there is none.
	DeleteSilence(ctx context.Context, id int64) error
}

// CheckSilences returns a SilenceChecker over the silences of l, read at every check
// (notifications are rare, and several replicas then agree at once).
func CheckSilences(l SilenceLister) SilenceCheckerFunc {
	return func(ctx context.Context, provider string, models []string, at time.Time) (bool, error) {
		silences, err := l.Silences(ctx, at)
		if err != nil {
			return false, err
		}
		return Silenced(silences, provider, models, at), nil
	}
}

// Silenced reports whether silences mute an incident of provider with models at at: some active
// silence of the provider has no model, or every model of the incident has one ("" being the
// provider's own series, muted by a provider-wide silence only).
func Silenced(silences []incidents.Silence, provider string, models []string, at time.Time) bool {
	var muted []string
	for _, s := range silences {
		if s.Provider != provider || !s.Active(at) {
			continue
		}
		if s.Model == "" {
			return true
		}
		muted = append(muted, s.Model)
	}
	if len(muted) == 0 || len(models) == 0 {
		return false
	}
	for _, m := range models {
		if !slices.Contains(muted, m) {
			return false
		}
	}
	return true
}
