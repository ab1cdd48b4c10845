package spangen

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// pcgStream is the fixed PCG stream constant; only the seed varies.
const pcgStream = 0x9e3779b97f4a7c15

// rng wraps a seeded PRNG with the draws the span builders need. It is not
// safe for concurrent use; each Generate call owns one.
type rng struct {
	r *rand.Rand
}

func newRNG(seed int64) *rng {
	return &rng{r: rand.New(rand.NewPCG(uint64(seed), pcgStream))}
}

// chance reports true with probability p.
func (g *rng) chance(p float64) bool { return g.r.Float64() < p }

// intn returns a uniform int in [0, n).
func (g *rng) intn(n int) int { return g.r.IntN(n) }

// between returns a uniform int in [lo, hi].
func (g *rng) between(lo, hi int) int { return lo + g.r.IntN(hi-lo+1) }

// uniform returns a uniform float64 in [lo, hi).
func (g *rng) uniform(lo, hi float64) float64 { return lo + g.r.Float64()*(hi-lo) }

// lognormal draws exp(N(ln median, sigma)) clamped to [lo, hi].
func (g *rng) lognormal(median, sigma, lo, hi float64) float64 {
	v := median * math.Exp(sigma*g.r.NormFloat64())
	return min(max(v, lo), hi)
}

// duration draws a lognormal duration clamped to [lo, hi].
func (g *rng) duration(median time.Duration, sigma float64, lo, hi time.Duration) time.Duration {
	return time.Duration(g.lognormal(float64(median), sigma, float64(lo), float64(hi)))
}

// exp draws an exponential duration with the given mean.
func (g *rng) exp(mean time.Duration) time.Duration {
	return time.Duration(g.r.ExpFloat64() * float64(mean))
}

// pick returns one element of xs uniformly.
func pick[T any](g *rng, xs []T) T { return xs[g.r.IntN(len(xs))] }

// weighted is an element with a relative weight for pickWeighted.
type weighted[T any] struct {
	w int
	v T
}

// pickWeighted returns one element with probability proportional to its weight.
func pickWeighted[T any](g *rng, xs []weighted[T]) T {
	total := 0
	for _, x := range xs {
		total += x.w
	}
	n := g.r.IntN(total)
	for _, x := range xs {
		if n < x.w {
			return x.v
		}
		n -= x.w
	}
	return xs[len(xs)-1].v
}

// traceID returns a random, valid (non-zero) trace ID.
func (g *rng) traceID() pcommon.TraceID {
	var id pcommon.TraceID
	binary.BigEndian.PutUint64(id[:8], g.r.Uint64())
	binary.BigEndian.PutUint64(id[8:], g.r.Uint64())
	if id.IsEmpty() {
		id[15] = 1
	}
	return id
}

// spanID returns a random, valid (non-zero) span ID.
func (g *rng) spanID() pcommon.SpanID {
	var id pcommon.SpanID
	binary.BigEndian.PutUint64(id[:], g.r.Uint64())
	if id.IsEmpty() {
		id[7] = 1
	}
	return id
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// token returns prefix followed by n random base62 characters, the shape of
// provider response and request IDs (msg_01…, chatcmpl-…, req_011…).
func (g *rng) token(prefix string, n int) string {
	b := make([]byte, len(prefix), len(prefix)+n)
	copy(b, prefix)
	for range n {
		b = append(b, base62[g.r.IntN(len(base62))])
	}
	return string(b)
}
