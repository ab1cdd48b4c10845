package ingest

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/outagewatch/outagewatch/detectors"
)

// Freshness is what ingest has received lately, so that "no traffic" can be told from
// "healthy": when the last span arrived (any span, LLM or not), and the LLM calls per second
// handed on, overall and per provider.
type Freshness struct {
	// Start is when the pipeline was built: nothing can have arrived before.
	Start time.Time
	// LastSpan is when the last span arrived, in a request that decoded; zero when none has.
	LastSpan time.Time
	// CallsPerSecond is the LLM calls handed on over the last minute (RateWindow), per second.
	CallsPerSecond float64
	// Providers are the providers that have had calls, sorted by name.
	Providers []ProviderFreshness
}

// ProviderFreshness is one provider's part of Freshness.
type ProviderFreshness struct {
	Provider string
	// LastCall is when the provider's last call was handed on.
	LastCall time.Time
	// CallsPerSecond is the provider's calls over the last minute, per second.
	CallsPerSecond float64
}

// RateWindow is the window of Freshness's calls per second: the calls of the last minute (the
// current second and the 59 before it, in one-second buckets) divided by the time they cover,
// or by the time since the first call (at least a second) when that is shorter, so that a rate
// is right from the first minute on.
const RateWindow = 60 * time.Second

const rateBuckets = int64(RateWindow / time.Second)

// Freshness returns what ingest has received lately, as of now. It is safe for concurrent use.
func (p *Pipeline) Freshness(now time.Time) Freshness { return p.fresh.snapshot(now) }

// freshness tracks arrivals. The last span's time is written by the receivers' goroutines, once
// per request; the calls are counted by the pipeline goroutine, once per batch, under mu, which
// the readers (the health API, the status page: about once a second) share.
type freshness struct {
	start time.Time
	// lastSpan is the Unix time in nanoseconds of the last span; 0 before the first.
	lastSpan atomic.Int64
	// maxProviders bounds providers: ingest's cap plus "other", into which the rest fold
	// before they get here. Calls of providers beyond it count in the total only.
	maxProviders int

	mu        sync.Mutex
	all       rate
	providers map[string]*rate
	// last is the entry of the previous call, which the next one most often shares.
	last     *rate
	lastName string
}

func newFreshness(start time.Time, maxProviders int) *freshness {
	return &freshness{start: start, maxProviders: maxProviders + 1, providers: map[string]*rate{}}
}

// span records that a request with spans arrived at t. Concurrent receivers race only to
// publish about the same instant; a time earlier than the one recorded is not written, which
// spares the shared cache line most writes.
func (f *freshness) span(t time.Time) {
	ns := t.UnixNano()
	if f.lastSpan.Load() < ns {
		f.lastSpan.Store(ns)
	}
}

// calls counts a batch of calls handed on at t: once per run of calls of one provider (batches
// come in such runs), so that a call costs a string comparison. It allocates only for a
// provider's first call.
func (f *freshness) calls(t time.Time, calls []detectors.Call) {
	if len(calls) == 0 {
		return
	}
	sec := t.Unix()
	f.mu.Lock()
	defer f.mu.Unlock()
	var all float64
	for i := 0; i < len(calls); {
		name := calls[i].Provider
		n := calls[i].AdjustedCount()
		j := i + 1
		for j < len(calls) && calls[j].Provider == name {
			n += calls[j].AdjustedCount()
			j++
		}
		if r := f.provider(name); r != nil {
			r.add(t, sec, n)
		}
		all += n
		i = j
	}
	f.all.add(t, sec, all)
}

// provider returns the rate of the provider name, made on its first call; nil beyond the bound.
func (f *freshness) provider(name string) *rate {
	if f.last != nil && name == f.lastName {
		return f.last
	}
	r := f.providers[name]
	if r == nil {
		if len(f.providers) >= f.maxProviders {
			return nil
		}
		r, name = &rate{}, strings.Clone(name) // the key outlives the batch
		f.providers[name] = r
	}
	f.last, f.lastName = r, name
	return r
}

func (f *freshness) snapshot(now time.Time) Freshness {
	out := Freshness{Start: f.start}
	if ns := f.lastSpan.Load(); ns != 0 {
		out.LastSpan = time.Unix(0, ns).UTC()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out.CallsPerSecond = f.all.perSecond(now)
	out.Providers = make([]ProviderFreshness, 0, len(f.providers))
	for name, r := range f.providers {
		out.Providers = append(out.Providers, ProviderFreshness{Provider: name, LastCall: r.lastAt, CallsPerSecond: r.perSecond(now)})
	}
	slices.SortFunc(out.Providers, func(a, b ProviderFreshness) int { return strings.Compare(a.Provider, b.Provider) })
	return out
}

// rate counts events in one-second buckets over RateWindow.
type rate struct {
	firstAt, lastAt time.Time
	// head is the Unix second of the newest bucket; counts[s%rateBuckets] is second s's count
	// for s in (head-rateBuckets, head].
	head   int64
	counts [rateBuckets]float64 // adjusted counts (Call.AdjustedCount)
}

func (r *rate) add(t time.Time, sec int64, n float64) {
	if r.firstAt.IsZero() {
		r.firstAt, r.head = t, sec
	}
	if t.After(r.lastAt) {
		r.lastAt = t
	}
	if sec > r.head {
		for s := max(r.head+1, sec-rateBuckets+1); s <= sec; s++ {
			r.counts[s%rateBuckets] = 0
		}
		r.head = sec
	}
	if sec > r.head-rateBuckets { // a clock stepped back further than the window is not counted
		r.counts[sec%rateBuckets] += n
	}
}

// perSecond is the rate over the window ending at now.
func (r *rate) perSecond(now time.Time) float64 {
	if r.firstAt.IsZero() {
		return 0
	}
	nowSec := now.Unix()
	var n float64
	for s := r.head; s > r.head-rateBuckets && s > nowSec-rateBuckets; s-- {
		if s <= nowSec {
			n += r.counts[s%rateBuckets]
		}
	}
	// The buckets cover from the start of the oldest second to now, or from the first event
	// when that is later; at least a second, so that a first call is not a burst.
	span := max(min(now.Sub(time.Unix(nowSec-rateBuckets+1, 0)), now.Sub(r.firstAt)), time.Second)
	return n / span.Seconds()
}
