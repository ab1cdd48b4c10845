// Package genaimetrics makes calls from GenAI metrics, for the applications whose traces are
// sampled or off: the GenAI semantic conventions' histogram gen_ai.client.operation.duration
// (with error.type), and the Gemini CLI's counter gemini_cli.api.request.count. Each data
// point's count since the previous point of its stream becomes that many detectors.Call values,
// one per call, which the same detectors take as they take the calls made from spans.
//
// A service that also sends GenAI spans has its metrics skipped (SpanSeen), so that no call is
// counted twice. docs/normalisation.md ("GenAI metrics") is the contract.
package genaimetrics

import (
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/outagewatch/outagewatch/detectors"
)

// Metric names read, and the convention of the calls made from them.
const (
	// MetricOperationDuration is the GenAI semantic conventions' client operation duration: a
	// histogram (explicit or exponential) with one data point per attribute set.
	MetricOperationDuration = "gen_ai.client.operation.duration"
	// MetricGeminiCLIRequests is the Gemini CLI's API request counter {model, status_code,
	// error_type}: a monotonic sum.
	MetricGeminiCLIRequests = "gemini_cli.api.request.count"
	// Convention is Call.Convention of every call made from metrics.
	Convention = "genai_metrics"
)

// Defaults of Options.
const (
	DefaultSpanOverlap      = 10 * time.Minute
	DefaultMaxStreams       = 16384
	DefaultMaxCallsPerPoint = 10000
	DefaultMaxServices      = 4096
)

// Options configure a Converter. Zero values take the defaults.
type Options struct {
	// SpanOverlap is how long after (and before) a service's last GenAI span its metrics are
	// skipped. Default 10 minutes.
	SpanOverlap time.Duration
	// MaxStreams bounds the cumulative streams whose last point is kept; beyond it the stream
	// updated least recently is forgotten. Default 16,384.
	MaxStreams int
	// MaxCallsPerPoint bounds the calls one data point makes; the rest are counted in
	// Stats.Dropped. Default 10,000.
	MaxCallsPerPoint int
	// MaxServices bounds the services remembered as sending spans. Default 4,096.
	MaxServices int
	// Now is the clock, time.Now by default. Only New reads it: a cumulative stream that
	// started before then is counted from its second point on.
	Now func() time.Time
}

// Stats counts what a Converter did since it was made.
type Stats struct {
	// Calls is the number of calls appended.
	Calls uint64
	// Dropped counts the calls beyond Options.MaxCallsPerPoint in one data point.
	Dropped uint64
	// Skipped counts the calls of services that send GenAI spans (and Gemini CLI requests of a
	// service that sends gen_ai.client.operation.duration too): counted elsewhere.
	Skipped uint64
	// Baselines counts the first points of cumulative streams that started before the
	// Converter (or that were forgotten): their counts set the baseline and make no calls.
	Baselines uint64
	// Resets counts cumulative streams that started again (a lower count or a new start time).
	Resets uint64
	// Invalid counts data points skipped: no timestamp, unspecified temporality, a
	// non-monotonic sum, a point older than its stream's last.
	Invalid uint64
	// Evicted counts streams forgotten beyond Options.MaxStreams; Streams is the number kept.
	Evicted uint64
	Streams int
}

// Converter turns GenAI metrics into calls. It keeps the last point of each cumulative stream
// and the services seen sending spans; it is safe for concurrent use.
type Converter struct {
	mu      sync.Mutex // guards all but spans
	opts    Options
	started uint64 // unix nanoseconds at New
	streams *streamTable
	hash    *hasher
	histos  seenSet // services sending gen_ai.client.operation.duration
	stats   Stats

	// spans (the services sending GenAI spans) has a lock of its own: SpanSeen is on the span
	// path's hot path and must not wait for an export being converted.
	spansMu sync.Mutex
	spans   seenSet
}

// New returns a Converter with opts, defaults filled in.
func New(opts Options) *Converter {
	if opts.SpanOverlap <= 0 {
		opts.SpanOverlap = DefaultSpanOverlap
	}
	if opts.MaxStreams <= 0 {
		opts.MaxStreams = DefaultMaxStreams
	}
	if opts.MaxCallsPerPoint <= 0 {
		opts.MaxCallsPerPoint = DefaultMaxCallsPerPoint
	}
	if opts.MaxServices <= 0 {
		opts.MaxServices = DefaultMaxServices
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Converter{
		opts:    opts,
		started: uint64(max(opts.Now().UnixNano(), 0)),
		streams: newStreamTable(opts.MaxStreams),
		hash:    newHasher(),
		spans:   newSeenSet(opts.MaxServices),
		histos:  newSeenSet(opts.MaxServices),
	}
}

// Calls appends the calls that the GenAI data points of md stand for, since the last data point
// of each stream, to out, and returns it. Other metrics are ignored.
func (c *Converter) Calls(md pmetric.Metrics, out []detectors.Call) []detectors.Call {
	c.mu.Lock()
	defer c.mu.Unlock()
	rms := md.ResourceMetrics()
	for i := range rms.Len() {
		rm := rms.At(i)
		res := readResource(rm.Resource().Attributes())
		// The histogram first: a Gemini CLI that exports it too has its counter skipped.
		for _, name := range [...]string{MetricOperationDuration, MetricGeminiCLIRequests} {
			sms := rm.ScopeMetrics()
			for j := range sms.Len() {
				sm := sms.At(j)
				ms := sm.Metrics()
				for k := range ms.Len() {
					if m := ms.At(k); m.Name() == name {
						out = c.metric(m, rm, sm, &res, out)
					}
				}
			}
		}
	}
	c.stats.Streams = len(c.streams.m)
	c.stats.Evicted = c.streams.evicted
	return out
}

// SpanSeen records that service (its Call.ServiceCaller text) sent GenAI spans at time t: its
// metrics with timestamps within Options.SpanOverlap of t are then skipped, so that a call is
// never counted twice. The pipeline calls it for every call made from spans.
func (c *Converter) SpanSeen(service string, t time.Time) {
	c.spansMu.Lock()
	c.spans.mark(service, t, c.opts.SpanOverlap)
	c.spansMu.Unlock()
}

// spanned reports whether service sent GenAI spans within Options.SpanOverlap of t.
func (c *Converter) spanned(service string, t time.Time) bool {
	c.spansMu.Lock()
	defer c.spansMu.Unlock()
	return c.spans.within(service, t, c.opts.SpanOverlap)
}

// Dropped returns the number of calls dropped beyond Options.MaxCallsPerPoint.
func (c *Converter) Dropped() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats.Dropped
}

// Stats returns what the Converter has done so far.
func (c *Converter) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// seenSet remembers, per service, the latest time it was seen sending a signal; at most max
// services, those not seen for the overlap going first, then any.
type seenSet struct {
	max  int
	last map[string]time.Time
}

func newSeenSet(max int) seenSet { return seenSet{max: max, last: make(map[string]time.Time)} }

func (s *seenSet) mark(service string, t time.Time, overlap time.Duration) {
	if prev, ok := s.last[service]; ok {
		if t.After(prev) {
			s.last[service] = t
		}
		return
	}
	if len(s.last) >= s.max {
		for k, v := range s.last {
			if t.Sub(v) > overlap {
				delete(s.last, k)
			}
		}
		for k := range s.last {
			if len(s.last) < s.max {
				break
			}
			delete(s.last, k)
		}
	}
	s.last[service] = t
}

// within reports whether service was seen within overlap of t, before or after.
func (s *seenSet) within(service string, t time.Time, overlap time.Duration) bool {
	last, ok := s.last[service]
	if !ok {
		return false
	}
	d := t.Sub(last)
	return d <= overlap && d >= -overlap
}
