package main

import (
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// result is how one HTTP attempt ended.
type result uint8

const (
	resultOK          result = iota // 200, complete
	resultOverloaded                // 529 or 503
	resultRateLimited               // 429
	resultServerError               // 500
	resultTimeout                   // no answer within the client's timeout
	resultTruncated                 // 200, then the stream was cut after its first chunk
	numResults
)

var resultNames = [numResults]string{"ok", "overloaded", "rate_limited", "server_error", "timeout", "truncated"}

func (r result) String() string { return resultNames[r] }

// retryable reports whether the SDK retries an attempt that ended so. A cut stream is not
// retried: its output had begun.
func (r result) retryable() bool {
	return r != resultOK && r != resultTruncated
}

// finish is why a successful generation stopped.
type finish uint8

const (
	finishStop   finish = iota
	finishTool          // the model called a tool
	finishLength        // the output reached max_tokens: the caller's limit
	numFinishes
)

// toolShare is the share of successful calls that end in a tool call.
const toolShare = 0.08

// attemptPlan is one HTTP attempt of a call.
type attemptPlan struct {
	start, end time.Time
	result     result
	// ttft is the time from the attempt's start to its first chunk (attempts that got a 200).
	ttft time.Duration
	// received is the share of the output that arrived: 1, or less for a cut stream.
	received float64
}

// callPlan is one logical LLM call, decided in full when it starts.
type callPlan struct {
	target    int
	service   string // the target's own service.name; "" for the traffic's
	provider  *provider
	model     string // requested
	respModel string // answered
	shape     shapeName
	stream    bool
	start     time.Time
	end       time.Time
	attempts  []attemptPlan
	input     int64 // input tokens
	output    int64 // output tokens; the part received for a cut stream
	maxTokens int64
	finish    finish
	respID    string
	requestID string // the provider's request-id of the last attempt
}

// last returns the final attempt, whose result is the call's.
func (c *callPlan) last() *attemptPlan { return &c.attempts[len(c.attempts)-1] }

// failed reports whether the call ended in an error after its retries.
func (c *callPlan) failed() bool { return c.last().result.retryable() }

// truncated reports whether the call's stream was cut.
func (c *callPlan) truncated() bool { return c.last().result == resultTruncated }

// firstChunk returns the time from the call's start to its first chunk, 0 when none came.
func (c *callPlan) firstChunk() time.Duration {
	a := c.last()
	if !c.stream || a.ttft == 0 {
		return 0
	}
	return a.start.Add(a.ttft).Sub(c.start)
}

// params is the behaviour of one target during one phase.
type params struct {
	errors        errorMix
	truncation    float64
	latencyFactor float64
	ttftFactor    float64
	rateFactor    float64
}

// window is one phase placed on the run's clock.
type window struct {
	name     string
	from, to time.Time
	params   []params // by target index
}

// generator draws calls. It is not safe for concurrent use: the scheduler's single goroutine
// owns it, which also makes a seed reproduce the same draws.
type generator struct {
	sc      *scenario
	rng     *rand.Rand
	windows []window
	shapes  [][]weightedShape // by target index
}

type weightedShape struct {
	shape  shapeName
	weight float64
}

// newGenerator places the phases on the clock from start. A positive total cuts the timeline
// or stretches its last phase to that length.
func newGenerator(sc *scenario, seed uint64, start time.Time, total time.Duration) *generator {
	g := &generator{sc: sc, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	at := start
	for i, p := range sc.Phases {
		w := window{name: p.Name, from: at, to: at.Add(p.Duration)}
		if i == len(sc.Phases)-1 && total > 0 {
			w.to = start.Add(total)
		}
		if total > 0 && w.to.After(start.Add(total)) {
			w.to = start.Add(total)
		}
		for _, t := range sc.Traffic.Targets {
			w.params = append(w.params, phaseParams(sc, t, p))
		}
		g.windows = append(g.windows, w)
		at = w.to
		if total > 0 && !at.Before(start.Add(total)) {
			break
		}
	}
	for _, t := range sc.Traffic.Targets {
		var ws []weightedShape
		for _, name := range shapeNames { // fixed order: the seed reproduces the draws
			if w := t.Shapes[string(name)]; w > 0 {
				ws = append(ws, weightedShape{name, w})
			}
		}
		g.shapes = append(g.shapes, ws)
	}
	return g
}

// phaseParams layers the traffic's baseline, the target's own and the phase's overrides.
func phaseParams(sc *scenario, t target, p phase) params {
	pr := params{errors: sc.Traffic.Errors, truncation: sc.Traffic.Truncation, latencyFactor: 1, ttftFactor: 1, rateFactor: 1}
	if t.Errors != nil {
		pr.errors = *t.Errors
	}
	if t.Truncation != nil {
		pr.truncation = *t.Truncation
	}
	for _, o := range p.Overrides {
		if !o.selects(t) {
			continue
		}
		if o.Errors != nil {
			pr.errors = *o.Errors
		}
		setIf(&pr.truncation, o.Truncation)
		setIf(&pr.latencyFactor, o.LatencyFactor)
		setIf(&pr.ttftFactor, o.TTFTFactor)
		setIf(&pr.rateFactor, o.RateFactor)
	}
	return pr
}

func setIf(dst, src *float64) {
	if src != nil {
		*dst = *src
	}
}

// start and end bound the timeline.
func (g *generator) start() time.Time { return g.windows[0].from }
func (g *generator) end() time.Time   { return g.windows[len(g.windows)-1].to }

// windowAt returns the phase in force at t; the last one after the end.
func (g *generator) windowAt(t time.Time) *window {
	i, found := slices.BinarySearchFunc(g.windows, t, func(w window, t time.Time) int {
		switch {
		case t.Before(w.from):
			return 1
		case !t.Before(w.to):
			return -1
		}
		return 0
	})
	if !found {
		i = min(i, len(g.windows)-1)
	}
	return &g.windows[i]
}

// nextArrival returns when target ti's next call starts after one at t: an exponential gap at
// the rate in force at t. It returns false when no call comes before the end.
func (g *generator) nextArrival(ti int, t time.Time) (time.Time, bool) {
	for t.Before(g.end()) {
		w := g.windowAt(t)
		rate := g.sc.Traffic.Targets[ti].Rate * w.params[ti].rateFactor
		if rate <= 0 {
			t = w.to // silent until the next phase
			continue
		}
		next := t.Add(time.Duration(g.rng.ExpFloat64() / rate * float64(time.Second)))
		if next.After(w.to) && w.to.Before(g.end()) {
			t = w.to // the rate changes at the boundary: draw again from there
			continue
		}
		return next, next.Before(g.end())
	}
	return time.Time{}, false
}

// plan draws one call of target ti starting at start. Each attempt follows the phase in force
// when it starts, so a call that straddles a phase change behaves as the provider did.
func (g *generator) plan(ti int, start time.Time) *callPlan {
	t := &g.sc.Traffic.Targets[ti]
	c := &callPlan{
		target: ti, service: t.Service, provider: providers[t.Provider], model: t.Model, respModel: t.ResponseModel,
		shape: g.pickShape(ti), stream: g.rng.Float64() < t.Stream, start: start, maxTokens: t.MaxTokens,
		input: g.count(t.InputTokens), output: g.count(t.OutputTokens),
	}
	c.respID = c.provider.responseID(g.rng)
	c.requestID = "req_011C" + randomID(g.rng, 20)
	if c.output >= t.MaxTokens {
		c.output, c.finish = t.MaxTokens, finishLength
	} else if g.rng.Float64() < toolShare {
		c.finish = finishTool
	}
	at := start.Add(g.jitter(2 * time.Millisecond))
	for i := 0; ; i++ {
		a := g.attempt(c, t, at)
		c.attempts = append(c.attempts, a)
		if !a.result.retryable() || i >= t.retries(&g.sc.Traffic) {
			break
		}
		at = a.end.Add(backoff(c.shape, i, g.rng))
	}
	c.end = c.last().end.Add(g.jitter(2 * time.Millisecond))
	if c.truncated() {
		c.output = max(1, int64(float64(c.output)*c.last().received))
	}
	return c
}

// attempt draws one HTTP attempt of c starting at at.
func (g *generator) attempt(c *callPlan, t *target, at time.Time) attemptPlan {
	p := g.windowAt(at).params[c.target]
	a := attemptPlan{start: at, result: g.draw(p.errors)}
	switch a.result {
	case resultOverloaded:
		a.end = at.Add(g.lognormal(250*time.Millisecond, 0.5))
	case resultRateLimited:
		a.end = at.Add(g.lognormal(120*time.Millisecond, 0.5))
	case resultServerError:
		a.end = at.Add(g.lognormal(time.Second, 0.8))
	case resultTimeout:
		a.end = at.Add(g.sc.Traffic.Timeout)
	default:
		ttft := time.Duration(float64(g.lognormal(t.TTFT.Median, t.TTFT.Sigma)) * p.ttftFactor)
		gen := time.Duration(float64(g.lognormal(t.TokenTime.Median, t.TokenTime.Sigma)) * p.latencyFactor * float64(c.output))
		a.received = 1
		if c.stream && g.rng.Float64() < p.truncation {
			a.result = resultTruncated
			a.received = 0.1 + 0.8*g.rng.Float64()
			gen = time.Duration(float64(gen) * a.received)
		}
		a.ttft = ttft
		a.end = at.Add(ttft + gen)
	}
	return a
}

// draw picks an attempt result from the error mix.
func (g *generator) draw(m errorMix) result {
	u := g.rng.Float64()
	for _, c := range [...]struct {
		p float64
		r result
	}{{m.Overloaded, resultOverloaded}, {m.RateLimited, resultRateLimited}, {m.ServerError, resultServerError}, {m.Timeout, resultTimeout}} {
		if u < c.p {
			return c.r
		}
		u -= c.p
	}
	return resultOK
}

func (g *generator) pickShape(ti int) shapeName {
	ws := g.shapes[ti]
	total := 0.0
	for _, w := range ws {
		total += w.weight
	}
	u := g.rng.Float64() * total
	for _, w := range ws {
		if u < w.weight {
			return w.shape
		}
		u -= w.weight
	}
	return ws[len(ws)-1].shape
}

func (g *generator) lognormal(median time.Duration, sigma float64) time.Duration {
	return time.Duration(float64(median) * math.Exp(sigma*g.rng.NormFloat64()))
}

func (g *generator) count(d countDist) int64 {
	return max(1, int64(math.Round(d.Median*math.Exp(d.Sigma*g.rng.NormFloat64()))))
}

// jitter draws a small delay in [d/2, d): the SDK's own time around an attempt.
func (g *generator) jitter(d time.Duration) time.Duration {
	return d/2 + time.Duration(g.rng.Int64N(int64(d/2)))
}

// backoff is the pause before retry n+1. The Anthropic and OpenAI SDKs (and LiteLLM through
// them) wait 0.5 s·2ⁿ, at most 8 s, less up to 25% jitter; the Vercel AI SDK retries on its own,
// 2 s·2ⁿ without jitter.
func backoff(s shapeName, n int, r *rand.Rand) time.Duration {
	if s == shapeVercel {
		return 2 * time.Second << n
	}
	d := min(500*time.Millisecond<<n, 8*time.Second)
	return time.Duration(float64(d) * (1 - 0.25*r.Float64()))
}
