package health

import (
	"math"
	"time"
)

// FreshnessSource says what ingest has received lately, so that "no traffic" never looks like
// "healthy". Freshness must be safe for concurrent use; the API calls it at most about once a
// second per kind of answer, the status page once per rendering. The returned value belongs to
// the caller. main adapts ingest's pipeline to it (health does not import ingest).
type FreshnessSource interface {
	Freshness(now time.Time) Freshness
}

// FreshnessSourceFunc adapts a function to FreshnessSource.
type FreshnessSourceFunc func(now time.Time) Freshness

// Freshness calls f(now).
func (f FreshnessSourceFunc) Freshness(now time.Time) Freshness { return f(now) }

// Freshness is what ingest has received lately.
type Freshness struct {
	// Start is when ingest started: nothing can have arrived before.
	Start time.Time
	// LastSpan is when the last span arrived (any span, LLM call or not); zero when none has.
	LastSpan time.Time
	// CallsPerSecond is the LLM calls of the last minute, per second.
	CallsPerSecond float64
	// Providers are the providers that have had calls since ingest started, sorted by name.
	Providers []ProviderFreshness
}

// ProviderFreshness is one provider's part of Freshness.
type ProviderFreshness struct {
	Provider string
	// LastCall is when the provider's last LLM call arrived.
	LastCall time.Time
	// CallsPerSecond is the provider's LLM calls of the last minute, per second.
	CallsPerSecond float64
}

// IngestView is the "ingest" object of GET /v1/health: is anything arriving. Times are null
// when nothing has arrived since the daemon started.
type IngestView struct {
	LastSpanAt         *time.Time           `json:"last_span_at"`
	LastSpanSecondsAgo *float64             `json:"last_span_seconds_ago"`
	CallsPerSecond     float64              `json:"calls_per_second"`
	Providers          []ProviderIngestView `json:"providers"`
}

// ProviderIngestView is one provider's arrivals.
type ProviderIngestView struct {
	Provider           string     `json:"provider"`
	LastCallAt         *time.Time `json:"last_call_at"`
	LastCallSecondsAgo *float64   `json:"last_call_seconds_ago"`
	CallsPerSecond     float64    `json:"calls_per_second"`
}

// ingestViewOf is f as JSON at now: seconds to the millisecond, rates to three decimals, so
// that the figures read as what they are.
func ingestViewOf(f Freshness, now time.Time) *IngestView {
	v := &IngestView{CallsPerSecond: round3(f.CallsPerSecond), Providers: make([]ProviderIngestView, 0, len(f.Providers))}
	v.LastSpanAt, v.LastSpanSecondsAgo = ago(f.LastSpan, now)
	for _, p := range f.Providers {
		pv := ProviderIngestView{Provider: p.Provider, CallsPerSecond: round3(p.CallsPerSecond)}
		pv.LastCallAt, pv.LastCallSecondsAgo = ago(p.LastCall, now)
		v.Providers = append(v.Providers, pv)
	}
	return v
}

// ago is t in UTC and how many seconds before now it was (never negative: a span stamped by a
// receiver a moment after the caller read its clock is 0 s old); both nil for a zero t.
func ago(t, now time.Time) (*time.Time, *float64) {
	if t.IsZero() {
		return nil, nil
	}
	at := t.UTC().Round(time.Millisecond)
	secs := round3(max(now.Sub(t).Seconds(), 0))
	return &at, &secs
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }
