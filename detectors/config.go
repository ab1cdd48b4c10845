package detectors

import (
	"errors"
	"fmt"
	"time"
)

// Config holds every tunable of the detection engine. DefaultConfig gives the defaults of the
// design (docs/detection.md); Validate names the first field out of range.
type Config struct {
	// FalseAlarmInterval (T_FA) is the mean time between false alarms each member of a series'
	// detector bank is calibrated for: each member gets an in-control run length of
	// 2·λ_ref·T_FA calls, so that the bank's union stays at one false alarm per T_FA.
	FalseAlarmInterval time.Duration `yaml:"false_alarm_interval"`
	// MinReferenceRate is the floor of λ_ref (calls/s), the rate thresholds are calibrated for:
	// λ_ref = max(peak one-minute rate over 7 days, MinReferenceRate).
	MinReferenceRate float64 `yaml:"min_reference_rate"`

	// BaselineMargin multiplies the 95% upper confidence bound of a learned baseline rate; the
	// result is clamped to [BaselineMin, BaselineMax] (TruncationBaselineMin for truncation).
	BaselineMargin        float64       `yaml:"baseline_margin"`
	BaselineMin           float64       `yaml:"baseline_min"`
	BaselineMax           float64       `yaml:"baseline_max"`
	TruncationBaselineMin float64       `yaml:"truncation_baseline_min"`
	BaselineHalfLife      time.Duration `yaml:"baseline_half_life"`
	// ColdStartBaseline is the global error-rate prior: a new series' when its provider has no
	// history (docs/detection.md, "Priors").
	ColdStartBaseline float64 `yaml:"cold_start_baseline"`
	// WarmupCalls and WarmupAge end a series' prior phase: every member runs from its first
	// call, but until it has seen both, its baselines lean on its priors (Status.Baseline.From
	// is provider or global), its hard-outage member is designed on the posterior mean and it
	// is redesigned every second.
	WarmupCalls int           `yaml:"warmup_calls"`
	WarmupAge   time.Duration `yaml:"warmup_age"`

	// DegradedMinRate and DegradedFactor give the degraded member's alternative:
	// p1 = max(DegradedMinRate, DegradedFactor·p̃0). DownRate is the hard-outage member's.
	DegradedMinRate float64 `yaml:"degraded_min_rate"`
	DegradedFactor  float64 `yaml:"degraded_factor"`
	DownRate        float64 `yaml:"down_rate"`
	// MidRate is the alternative of a third error member between the two, for partial
	// outages: the design's two members are each about 1.4× slower than the optimum at p1 = 0.5.
	MidRate float64 `yaml:"mid_rate"`
	// DownEstimate and DownEstimateCalls: an alarm whose estimated rate since the change point
	// reaches DownEstimate over at least DownEstimateCalls calls means down, not degraded.
	DownEstimate      float64 `yaml:"down_estimate"`
	DownEstimateCalls int     `yaml:"down_estimate_calls"`
	// Truncation and rate-limit members: p1 = max(MinRate, Factor·p̃0).
	TruncationMinRate float64 `yaml:"truncation_min_rate"`
	TruncationFactor  float64 `yaml:"truncation_factor"`
	RateLimitMinRate  float64 `yaml:"rate_limit_min_rate"`
	RateLimitFactor   float64 `yaml:"rate_limit_factor"`
	// Latency and TTFT members test y = 1{x > LatencyFactor·q95 of the baseline}, designed at
	// LatencyBaseline·BaselineMargin against LatencyAlternative. They start after
	// LatencyMinSamples baseline samples.
	LatencyFactor      float64 `yaml:"latency_factor"`
	LatencyBaseline    float64 `yaml:"latency_baseline"`
	LatencyAlternative float64 `yaml:"latency_alternative"`
	LatencyMinSamples  int     `yaml:"latency_min_samples"`

	// HoldDegraded is the hold-down of a degraded alarm; a down alarm holds
	// min(HoldDownBase·2^(n−1), HoldDownMax) for its n-th entry into down in the last hour.
	HoldDegraded time.Duration `yaml:"hold_degraded"`
	HoldDownBase time.Duration `yaml:"hold_down_base"`
	HoldDownMax  time.Duration `yaml:"hold_down_max"`
	// RecoveryThreshold is the reverse CUSUM's boundary, ln(1/α_rec).
	RecoveryThreshold float64 `yaml:"recovery_threshold"`

	// SilenceMin and SilenceKappa: no call for max(κ·ln(λ̂·T_FA)/λ̂, SilenceMin) makes a
	// series unknown.
	SilenceMin   time.Duration `yaml:"silence_min"`
	SilenceKappa float64       `yaml:"silence_kappa"`

	// MaxRetryErrors caps the errors one logical request (one RequestID) contributes. The design
	// allows 3; the bench measured that a client whose request fails its 3 attempts about once
	// in 1,000 requests then adds 12 nats to the hard-outage member at once (its threshold is
	// about 15), and gave 18–32 false alarms per 30 days at 1 call/s. Attempts of one request
	// are not independent evidence: 1 restores the bar.
	MaxRetryErrors int `yaml:"max_retry_errors"`

	// ConfineWait is how long an alarm's verdict may wait to tell whether its failures are
	// one caller's (a local verdict) or the provider's, while the other callers have made too
	// few calls to be sure they do not fail as well; then it is the provider's. 0 makes every
	// verdict the provider's (docs/detection.md, "Whose failures").
	ConfineWait time.Duration `yaml:"confine_wait"`

	// Limits cap the series the engine tracks. They are not part of the YAML surface
	// (detectors.*): the daemon copies ingest.max_providers and ingest.max_models_per_provider
	// here, so that the engine and ingest agree on one set of caps.
	Limits Limits `yaml:"-"`
}

// DefaultConfig returns the defaults of the design: one false alarm per 30 days per series,
// λ_ref ≥ 1/s, a 25% margin on baselines clamped to [0.2%, 30%], and so on.
func DefaultConfig() Config {
	return Config{
		FalseAlarmInterval:    30 * 24 * time.Hour,
		MinReferenceRate:      1,
		BaselineMargin:        1.25,
		BaselineMin:           0.002,
		BaselineMax:           0.30,
		TruncationBaselineMin: 0.001,
		BaselineHalfLife:      6 * time.Hour,
		ColdStartBaseline:     0.05,
		WarmupCalls:           50,
		WarmupAge:             time.Hour,
		DegradedMinRate:       0.20,
		DegradedFactor:        4,
		DownRate:              0.80,
		MidRate:               0.50,
		DownEstimate:          0.5,
		DownEstimateCalls:     5,
		TruncationMinRate:     0.10,
		TruncationFactor:      10,
		RateLimitMinRate:      0.20,
		RateLimitFactor:       4,
		LatencyFactor:         1.1,
		LatencyBaseline:       0.05,
		LatencyAlternative:    0.20,
		LatencyMinSamples:     200,
		HoldDegraded:          60 * time.Second,
		HoldDownBase:          30 * time.Second,
		HoldDownMax:           300 * time.Second,
		RecoveryThreshold:     4.6,
		SilenceMin:            60 * time.Second,
		SilenceKappa:          2,
		MaxRetryErrors:        1,
		ConfineWait:           5 * time.Second,
		Limits:                Limits{MaxProviders: 32, MaxModelsPerProvider: 64},
	}
}

// Validate reports the fields out of range, each named by its path under "detectors".
func (c Config) Validate() error {
	var errs []error
	bad := func(field, msg string) { errs = append(errs, fmt.Errorf("detectors.%s: %s", field, msg)) }
	positive := func(field string, d time.Duration) {
		if d <= 0 {
			bad(field, "must be > 0")
		}
	}
	rate := func(field string, v float64) {
		if !(v > 0 && v < 1) {
			bad(field, "must be between 0 and 1, exclusive")
		}
	}
	positive("false_alarm_interval", c.FalseAlarmInterval)
	positive("baseline_half_life", c.BaselineHalfLife)
	positive("hold_degraded", c.HoldDegraded)
	positive("hold_down_base", c.HoldDownBase)
	positive("silence_min", c.SilenceMin)
	if c.HoldDownMax < c.HoldDownBase {
		bad("hold_down_max", "must be at least hold_down_base")
	}
	if c.WarmupAge < 0 {
		bad("warmup_age", "must be >= 0")
	}
	if c.ConfineWait < 0 || c.ConfineWait > time.Minute {
		bad("confine_wait", "must be between 0 and 1m")
	}
	if !(c.MinReferenceRate > 0) {
		bad("min_reference_rate", "must be > 0")
	}
	if !(c.BaselineMargin >= 1) {
		bad("baseline_margin", "must be >= 1")
	}
	for _, r := range []struct {
		field string
		v     float64
	}{
		{"baseline_min", c.BaselineMin}, {"baseline_max", c.BaselineMax},
		{"truncation_baseline_min", c.TruncationBaselineMin}, {"cold_start_baseline", c.ColdStartBaseline},
		{"degraded_min_rate", c.DegradedMinRate}, {"down_rate", c.DownRate}, {"mid_rate", c.MidRate}, {"down_estimate", c.DownEstimate},
		{"truncation_min_rate", c.TruncationMinRate}, {"rate_limit_min_rate", c.RateLimitMinRate},
		{"latency_baseline", c.LatencyBaseline}, {"latency_alternative", c.LatencyAlternative},
	} {
		rate(r.field, r.v)
	}
	if c.BaselineMin >= c.BaselineMax {
		bad("baseline_min", "must be below baseline_max")
	}
	if c.DownRate <= c.BaselineMax {
		bad("down_rate", "must be above baseline_max")
	}
	if c.LatencyAlternative <= c.LatencyBaseline*c.BaselineMargin {
		bad("latency_alternative", "must be above latency_baseline × baseline_margin")
	}
	for _, f := range []struct {
		field string
		v     float64
	}{{"degraded_factor", c.DegradedFactor}, {"truncation_factor", c.TruncationFactor}, {"rate_limit_factor", c.RateLimitFactor}, {"latency_factor", c.LatencyFactor}} {
		if !(f.v >= 1) {
			bad(f.field, "must be >= 1")
		}
	}
	if !(c.RecoveryThreshold > 0) {
		bad("recovery_threshold", "must be > 0")
	}
	if !(c.SilenceKappa > 0) {
		bad("silence_kappa", "must be > 0")
	}
	if c.WarmupCalls < 0 || c.DownEstimateCalls < 1 || c.LatencyMinSamples < 1 || c.MaxRetryErrors < 1 {
		bad("warmup_calls", "warmup_calls must be >= 0, down_estimate_calls, latency_min_samples and max_retry_errors >= 1")
	}
	if c.Limits.MaxProviders < 1 || c.Limits.MaxModelsPerProvider < 1 {
		// Not a YAML field: named as the Go field the caller sets.
		errs = append(errs, errors.New("detectors: Limits.MaxProviders and Limits.MaxModelsPerProvider must be >= 1"))
	}
	return errors.Join(errs...)
}
